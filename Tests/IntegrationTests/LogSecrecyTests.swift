import Foundation
import TestSupport
import Testing

/// `--trace` shows every APDU's header, lengths and status, and nothing else: a personalization and a read at trace
/// level are searched for every secret the test can know (the chips' private keys, the CAN, the MRZ key) in text,
/// hex and base64, and every trace line must have the header-only shape.
@Suite("Logs that never hold a secret")
struct LogSecrecyTests {
    static let shape = try! NSRegularExpression(
        pattern:
            #"^\S+ trace cccd\.apdu: \[\w+\] (wire|SM plain|perso) (→ [0-9A-F]{2} [0-9A-F]{2} [0-9A-F]{2} [0-9A-F]{2}, Lc \d+, Le (\d+|none)|← [0-9A-F]{4}, \d+ bytes)$"#
    )

    @Test(
        "A personalization and a read at --trace: every APDU traced by header only; no key, CAN or MRZ key in any form")
    func traceHoldsNoSecret() throws {
        let work = try PersoCLITests.workspace(2, seed: 77)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let perso = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--emulated", "1", "--out",
                "out", "--trace",
            ], in: work)
        #expect(perso.status == 0, "\(perso.stderr.suffix(2000))")
        let cards = try FileManager.default.contentsOfDirectory(atPath: work + "/out/cards").filter {
            $0.hasSuffix(".json")
        }
        #expect(cards.count == 2)
        var output = perso.stderr
        var secrets: [(String, String)] = []
        for card in cards {
            let path = work + "/out/cards/" + card
            let image = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
            let s = try #require(image["secrets"] as? [String: Any])
            let can = try #require(s["can"] as? String)
            let read = try CommandLineRunner.run(
                ["read", "--card", path, "--can", can, "--trust", "pki/csca.crt", "--trace", "--verbose"], in: work)
            #expect([0, 9].contains(read.status), "\(read.stderr.suffix(2000))")  // genuine (9: expired by now)
            output += read.stderr
            secrets.append(("the CAN", can))
            secrets.append(("the CAN (hex of its digits)", Array(can.utf8).map { String(format: "%02X", $0) }.joined()))
            if let mrz = s["mrz"] as? [String: String] {
                let key = (mrz["documentNumber"] ?? "") + (mrz["dateOfBirth"] ?? "") + (mrz["dateOfExpiry"] ?? "")
                secrets.append(("the MRZ key", key))
                secrets.append(("the MRZ key (hex)", Array(key.utf8).map { String(format: "%02X", $0) }.joined()))
                secrets.append(("the document number", mrz["documentNumber"] ?? ""))
            }
            for name in ["activeAuthenticationKey", "chipAuthenticationKey"] {
                guard let text = s[name] as? String else { continue }
                let der = [UInt8](Data(base64Encoded: text) ?? Data(text.utf8))
                // Windows of the key's bytes past the DER header: hex (both cases) and base64.
                for start in stride(from: 24, to: max(25, der.count - 24), by: 40) {
                    let slice = Array(der[start..<min(der.count, start + 24)])
                    let hex = slice.map { String(format: "%02X", $0) }.joined()
                    secrets.append(("\(name) (hex)", hex))
                    secrets.append(("\(name) (hex)", hex.lowercased()))
                    secrets.append(
                        ("\(name) (spaced hex)", slice.map { String(format: "%02X", $0) }.joined(separator: " ")))
                    secrets.append(("\(name) (base64)", String(Data(slice).base64EncodedString().prefix(24))))
                }
                secrets.append((name, String(text.prefix(40))))
            }
        }
        let traced = output.split(separator: "\n").filter { $0.contains(" trace ") }
        #expect(traced.count > 100, "the trace is missing: \(traced.count) lines")
        #expect(traced.contains { $0.contains(" perso → ") } && traced.contains { $0.contains(" SM plain → ") })
        for line in traced {
            let text = String(line)
            let range = NSRange(text.startIndex..., in: text)
            #expect(
                Self.shape.firstMatch(in: text, range: range) != nil, "a trace line with more than a header: \(text)")
        }
        #expect(output.contains(" debug cccd.read: "), "--verbose said nothing")
        for (name, secret) in secrets where !secret.isEmpty {
            // Digits (the CAN, the MRZ key) as a whole token only: timestamps and lengths are digits too.
            let found =
                secret.allSatisfy(\.isNumber)
                ? output.range(of: "(?<![0-9])\(secret)(?![0-9])", options: .regularExpression) != nil
                : output.contains(secret)
            #expect(!found, "\(name) is in the log")
        }
    }
}
