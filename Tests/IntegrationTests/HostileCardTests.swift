import CardCore
import CardEmulator
import CardFixtures
import ChipAccess
import LDS
import Reader
import TestSupport
import Testing

/// A card that lies: one answer of the conversation is mutated, truncated or replaced.
final class HostileTransport: CardTransport {
    let base: any CardTransport
    let target: Int
    let kind: Int
    var rng: SeededGenerator
    var count = 0
    init(_ base: any CardTransport, target: Int, kind: Int, seed: UInt64) {
        self.base = base
        self.target = target
        self.kind = kind
        rng = SeededGenerator(seed: seed)
    }
    var capabilities: TransportCapabilities { base.capabilities }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        count += 1
        let answer = try base.transmit(command)
        guard count == target else { return answer }
        var bytes = answer.encoded
        switch kind {
        case 0 where bytes.count > 2:
            bytes[Int.random(in: 0..<(bytes.count - 2), using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        case 1: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))) + [0x90, 0x00]
        case 2: bytes = rng.bytes(Int.random(in: 0...300, using: &rng)) + [0x90, 0x00]
        default: bytes = [0x6F, 0x00]
        }
        return try ResponseAPDU(bytes: bytes)
    }
}

@Suite("A hostile card cannot crash the terminal")
struct HostileCardTests {
    @Test("400 reads with one answer corrupted: a typed ReaderError, or verdicts over byte-identical files")
    func corruptedAnswers() throws {
        let forge = try Forge()
        let image = forge.image
        var rng = SeededGenerator(seed: 0xBAD_CA4D)
        var errors = 0
        var noticed = 0
        for run in 0..<400 {
            let target = Int.random(in: 1...17, using: &rng)
            let kind = Int.random(in: 0...3, using: &rng)
            let transport = HostileTransport(
                try EmulatedChip(image: image), target: target, kind: kind, seed: UInt64(run))
            do {
                let result = try ReaderSession(transport: transport).readCard(
                    .can(SampleCards.can), options: ReadOptions(trust: forge.trust, today: Forge.today))
                // Whatever was read is what the chip holds: a corrupted answer never becomes data.
                for (file, content) in result.files {
                    #expect(
                        content == image.content(of: file),
                        "run \(run): \(file) differs after answer \(target) was corrupted")
                }
                let recovered = result.notes.contains { $0.contains("opened again") }
                if !result.assessment.genuine || recovered || !result.unreadable.isEmpty { noticed += 1 }
                if result.assessment.genuine {
                    // Only EF.COM (not signed) may be missing from a genuine read; every signed file is there.
                    #expect(result.unreadable.keys.allSatisfy { $0 == .com }, "run \(run): \(result.unreadable)")
                    for n in result.securityObjectGroups ?? [] {
                        #expect(result.files[.dataGroup(n)] != nil || result.skipped[.dataGroup(n)] != nil)
                    }
                }
            } catch is ReaderError {
                errors += 1
            }
        }
        // Most corruptions are caught: by an error before access control, or by verdicts after it.
        #expect(errors + noticed > 200, "errors \(errors), noticed \(noticed)")
    }
}
