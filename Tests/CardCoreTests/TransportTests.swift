import CardCore
import TestSupport
import Testing

@Suite("Transports: scripted replay and T=0 response handling")
struct TransportTests {
    func exchange(_ command: String, _ response: String) throws -> ScriptedTransport.Exchange {
        .init(command: try Hex.decode(command), response: try Hex.decode(response))
    }

    @Test("A scripted transport replays and refuses any deviation")
    func scripted() throws {
        let t = ScriptedTransport([try exchange("0084000008", "4608F919887022129000")])
        let r = try t.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8))
        #expect(r.data == (try Hex.decode("4608F91988702212")))
        #expect(t.isFinished)
        do {
            _ = try t.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8))
            Issue.record("command after the end was accepted")
        } catch {
            #expect(error.code == .unexpectedCommand)
        }
        let other = ScriptedTransport([try exchange("0084000008", "9000")])
        #expect(throws: TransportError.self) { try other.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 16)) }
    }

    @Test("61xx: GET RESPONSE until complete")
    func getResponse() throws {
        let base = ScriptedTransport([
            try exchange("00B0000000", "0102036103"),
            try exchange("00C0000003", "0405066101"),
            try exchange("00C0000001", "079000"),
        ])
        let t = T0ResponseHandling(base)
        let r = try t.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        #expect(r.data == [1, 2, 3, 4, 5, 6, 7])
        #expect(r.statusWord == .success)
        #expect(base.isFinished)
    }

    @Test("6Cxx: the command again with the exact Le")
    func wrongLe() throws {
        let base = ScriptedTransport([
            try exchange("00B0000000", "6C04"),
            try exchange("00B0000004", "0A0B0C0D9000"),
        ])
        let r = try T0ResponseHandling(base).transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        #expect(r.data == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(base.isFinished)
    }

    @Test("A card that answers 61xx forever is stopped")
    func endless() throws {
        let script =
            [try exchange("00B0000000", "6101")]
            + (0..<5).map { _ in try! exchange("00C0000001", "AA6101") }
        let t = T0ResponseHandling(ScriptedTransport(script), maxGetResponses: 4)
        #expect(throws: TransportError.self) { try t.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256)) }
    }
}
