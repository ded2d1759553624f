import CardCore
import PCSC
import Testing

@Suite("ATR and PC/SC errors")
struct ATRTests {
    @Test("The emulator's ATRs: T=1, card capabilities with and without extended length")
    func emulatorATR() throws {
        let ext = try #require(ATR(try Hex.decode("3B85800180738000C0B7")))
        #expect(ext.protocols == [0, 1] || ext.protocols.contains(1))
        #expect(ext.historicalBytes == [0x80, 0x73, 0x80, 0x00, 0xC0])
        #expect(ext.supportsExtendedLength)
        let short = try #require(ATR(try Hex.decode("3B8580018073800080F7")))
        #expect(!short.supportsExtendedLength)
    }

    @Test("A T=0 ATR without historical card capabilities; truncated ATRs are refused")
    func others() throws {
        let t0 = try #require(ATR(try Hex.decode("3B6800000073C84013009000")))
        #expect(t0.protocols == [0])
        #expect(!t0.supportsExtendedLength)
        // Category 00 with the status at the end: 73 C8 40 13 → third byte 13 has no extended-length bit.
        #expect(t0.cardCapabilities == [0xC8, 0x40, 0x13])
        #expect(ATR([0x3B]) == nil)
        #expect(ATR(try Hex.decode("3B8F80")) == nil)
        #expect(ATR(try Hex.decode("12345678")) == nil)
    }

    @Test(
        "PC/SC statuses map to typed errors in the user's words",
        arguments: [
            (0x8010_001D, PCSCError.Code.noService, TransportError.Code.noService),
            (0x8010_002E, .noReader, .noReader),
            (0x8010_000C, .noCard, .cardRemoved),
            (0x8010_0069, .cardRemoved, .cardRemoved),
            (0x8010_000A, .timeout, .timeout),
            (0x8010_0002, .cancelled, .cancelled),
            (0x8010_0013, .communication, .cardRemoved),
        ])
    func errors(_ status: Int, _ code: PCSCError.Code, _ transport: TransportError.Code) {
        let e = PCSCError(status: status, operation: "SCardTransmit")
        #expect(e.code == code)
        #expect(e.transportError.code == transport)
        #expect(e.description.contains(String(status, radix: 16, uppercase: true)))
    }
}
