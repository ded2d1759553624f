import CardCrypto
import ChipImage
import Foundation
import TestSupport
import Testing

/// Issue 27's line through pcscd: chips that make their own keys, the transport master key in SoftHSM2, and a
/// station whose output holds no chip secret (in PCSCReadTests' serialized suite: one pcscd).
extension PCSCReadTests {
    @Test(
        "vn-cccd-2021 through pcscd, keys made in the chips, the transport master key in SoftHSM2: every card genuine with CA and AA passed; the station's output folder and journal hold no private key, CAN or MRZ key"
    )
    func onChipKeysThroughPCSC() throws {
        let work = try Self.persoWork(4, seed: 27)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let label = "transport-" + UUID().uuidString.prefix(8)
        try SoftHSM.token(String(label))
        let environment = ["SOFTHSM2_CONF": SoftHSM.folder + "/softhsm2.conf", "CCCD_PKCS11_PIN": SoftHSM.pin]
        let uri = "pkcs11:token=\(label);object=transport"

        // The card maker's key file goes into the station's token (sensitive, never extractable); the card maker
        // keeps its own copy for its chips, as a card maker does. The station has only the token.
        let imported = try CommandLineRunner.run(
            ["pki", "transport-key", "--pkcs11", SoftHSM.module, "--token", String(label), "--import", "transport.key"],
            in: work, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("not extractable"), "\(imported.stdout)")
        let token = try PKCS11Token(module: SoftHSM.module, token: String(label))
        try token.login(pin: SoftHSM.pin)
        #expect(try token.selectSecretKey(label: "transport") == 16)
        // A key made in the token itself, never outside it.
        let made = try CommandLineRunner.run(
            ["pki", "transport-key", "--pkcs11", SoftHSM.module, "--token", String(label), "--label", "spare", "--bits", "256"],
            in: work, environment: environment)
        #expect(made.status == 0 && made.stdout.contains("made a 256-bit"), "\(made.stdout) \(made.stderr)")
        #expect(try token.selectSecretKey(label: "spare") == 32)

        // The card maker's chips: their keys diversified from its copy, their own memory in chips/.
        let chips = work + "/chips"
        try FileManager.default.createDirectory(atPath: chips, withIntermediateDirectories: true)
        let emulators = try Self.blankChips(work, tag: 0x27, saveIn: chips)
        defer { Self.endChips(emulators) }

        // The station: its output folder holds the journal and what it prints.
        let station = work + "/station"
        try FileManager.default.createDirectory(atPath: station, withIntermediateDirectories: true)
        let perso = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "station/j.db", "--readers", "all",
                "--transport-key", uri, "--pkcs11", SoftHSM.module, "--json",
            ], in: work, environment: environment)
        try perso.stdout.write(toFile: station + "/perso.out", atomically: true, encoding: .utf8)
        try perso.stderr.write(toFile: station + "/perso.err", atomically: true, encoding: .utf8)
        #expect(perso.status == 0, "\(perso.stdout) \(perso.stderr)")
        #expect(perso.json?["issued"] as? Int == 4)
        #expect(!perso.stderr.contains("file on this station"), "\(perso.stderr)")

        // Each card, read by a terminal through pcscd: genuine, with the chip's own keys behind CA and AA.
        var images: [CardImage] = []
        for (i, reader) in Self.fourReaders.enumerated() {
            let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: chips + "/issued-\(i).json")))
            images.append(image)
            let read = try CommandLineRunner.run(
                ["read", "--reader", reader, "--can", try #require(image.secrets.can), "--trust", "pki/csca.crt",
                 "--json", "--wait", "5"], in: work)
            #expect(read.status == 0, "\(reader): \(read.stderr)")
            #expect(read.json?["genuine"] as? Bool == true)
            let checks = read.json?["checks"] as? [String: [String: Any]] ?? [:]
            #expect(checks["chipAuthentication"]?["status"] as? String == "passed", "\(reader): \(checks)")
            #expect(checks["activeAuthentication"]?["status"] as? String == "passed", "\(reader): \(checks)")
            #expect(image.secrets.activeAuthenticationKey != nil && image.secrets.chipAuthenticationKey != nil)
        }

        // Every file of the station's output (the journal with its WAL, what perso printed): no chip secret.
        var secrets: [(String, [UInt8])] = []
        for image in images {
            for part in PCSCSecrets.parts(of: image) { secrets.append(part) }
        }
        // The search finds what it looks for: every secret is in the chips' own memory.
        let chipBytes = try images.indices.map { try Array(Data(contentsOf: URL(fileURLWithPath: chips + "/issued-\($0).json"))) }
        let chipText = chipBytes.map { String(decoding: $0, as: UTF8.self) }.joined()
        let chipsHoldTheCANs = chipText.contains(#""can""#) && images.allSatisfy { chipText.contains($0.secrets.can ?? "-") }
        #expect(chipsHoldTheCANs)
        var searched = 0
        let files = FileManager.default.enumerator(atPath: station)?.compactMap { $0 as? String } ?? []
        for name in files {
            let path = station + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            searched += 1
            let bytes = Array(data)
            for (what, secret) in secrets {
                let found = bytes.contains(secret)
                #expect(!found, "\(name) holds \(what)")
            }
        }
        #expect(searched >= 3, "the station's folder: \(files)")
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return indices.dropLast(needle.count - 1).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
