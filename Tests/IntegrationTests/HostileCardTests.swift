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
    @Test("400 reads with one answer corrupted: each throws a typed ReaderError or completes with byte-identical files")
    func corruptedAnswers() throws {
        let image = try SampleCards.image(dg2Size: 2000)
        var rng = SeededGenerator(seed: 0xBAD_CA4D)
        var failures = 0
        for run in 0..<400 {
            let target = Int.random(in: 1...17, using: &rng)
            let kind = Int.random(in: 0...3, using: &rng)
            let transport = HostileTransport(
                try EmulatedChip(image: image), target: target, kind: kind, seed: UInt64(run))
            do {
                let result = try ReaderSession(transport: transport).readCard(.can(SampleCards.can))
                // Completing despite a corrupted answer is only acceptable when no corruption reached the data.
                for (file, content) in result.files {
                    #expect(
                        content == image.content(of: file),
                        "run \(run): \(file) differs after answer \(target) was corrupted")
                }
            } catch is ReaderError {
                failures += 1
            }
        }
        #expect(failures > 200)
    }
}
