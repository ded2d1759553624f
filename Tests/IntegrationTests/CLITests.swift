import ChipImage
import Foundation
import LDS
import TestSupport
import Testing

/// The command line as terminal software and print centres use it: exit codes and the JSON contract.
@Suite("cccd: exit codes and the JSON contract")
struct CLITests {
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let outcome = try CommandLineRunner.run(arguments)
        return (outcome.status, outcome.stdout, outcome.stderr)
    }

    @Test("read --json of the sample card: every contract key, genuine, exit 0")
    func readJSON() throws {
        let r = try run([
            "read", "--card", "Vectors/sample-card/card.json", "--can", "000000", "--trust",
            "Vectors/sample-card/csca.crt", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["holder", "document", "accessControl", "checks", "files", "apdus", "bytes", "genuine"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["accessControl"] as? String == "PACE-CAN")
        #expect(object["genuine"] as? Bool == true)
        let holder = try #require(object["holder"] as? [String: Any])
        #expect(holder["fullName"] as? String == "Nguyễn Văn A")
        #expect(holder["dateOfBirth"] as? String == "1990-01-01")
        let checks = try #require(object["checks"] as? [String: [String: String]])
        #expect(
            Set(checks.keys) == [
                "passiveAuthentication", "chipAuthentication", "activeAuthentication", "terminalAuthentication",
                "documentValidity",
                "recordConsistency",
            ])
        // Every check passed but Terminal Authentication, which needs an inspection system (--terminal) and is no
        // part of genuine.
        #expect(checks.filter { $0.key != "terminalAuthentication" }.values.allSatisfy { $0["status"] == "passed" })
        #expect(checks["terminalAuthentication"]?["status"] == "notChecked")
        let document = try #require(object["document"] as? [String: Any])
        #expect(document["documentNumber"] as? String == "090000000")
    }

    @Test("A wrong CAN: exit 3 and a JSON error object")
    func wrongCAN() throws {
        let r = try run(["read", "--card", "Vectors/sample-card/card.json", "--can", "000001", "--json"])
        #expect(r.status == 3)
        #expect(r.stdout.contains("\"code\" : \"accessDenied\""))
        #expect(r.stderr.contains("wrong CAN (6300)"))
        #expect(!r.stderr.contains("000001"))
    }

    @Test("read --card --json of an image the software chip refuses: one JSON error object on standard output, exit 1")
    func refusedImageJSON() throws {
        var image = try CardImage(
            json: Data(contentsOf: URL(fileURLWithPath: CommandLineRunner.root + "/Vectors/sample-card/card.json")))
        // A Chip Authentication key that is no key: the emulator will not run it.
        image.secrets.chipAuthenticationKey = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        let path = NSTemporaryDirectory() + "cccdkit-refused-\(UUID().uuidString).json"
        try image.json().write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run(["read", "--card", path, "--can", "000000", "--json"])
        #expect(r.status == 1, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["code"] as? String == "failure" && error["exitCode"] as? Int == 1)
        #expect((error["message"] as? String)?.contains("software chip cannot run") == true, "\(error)")
    }

    @Test("read --mrz with a wrong composite check digit reads the card (BAC does not use it) and notes it; a wrong date digit is exit 64")
    func foreignMRZ() throws {
        let image = try CardImage(
            json: Data(contentsOf: URL(fileURLWithPath: CommandLineRunner.root + "/Vectors/sample-card/card.json")))
        let mrz = try DataGroup1(bytes: try #require(image.content(of: .dataGroup(1)))).mrz.text
        var chars = Array(mrz.filter { $0 != "\n" })
        chars[59] = chars[59] == "0" ? "1" : "0"  // TD1: the composite digit ends line 2
        let r = try run([
            "read", "--card", "Vectors/sample-card/card.json", "--mrz", String(chars), "--trust",
            "Vectors/sample-card/csca.crt", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("composite check digit does not match"), "\(r.stderr)")
        var bad = Array(mrz.filter { $0 != "\n" })
        bad[36] = bad[36] == "0" ? "1" : "0"  // the date of birth's digit: the key uses it
        let refused = try run(["read", "--card", "Vectors/sample-card/card.json", "--mrz", String(bad)])
        #expect(refused.status == 64 && refused.stderr.contains("date of birth"), "\(refused.stderr)")
    }

    @Test("Usage errors say what to do; validate exits 2 on an invalid batch")
    func usageAndValidate() throws {
        let usage = try run(["read", "--card", "Vectors/sample-card/card.json"])
        #expect(usage.status == 64 && usage.stderr.contains("--can"))
        let v = try run(["validate", "--batch", "Vectors/sample-card/batch.jsonl", "--json"])
        #expect(v.status == 2)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 4)
        #expect(rows.map { $0["valid"] as? Bool } == [true, true, false, false])
    }

    @Test("prepare --profile vn-cccd-2021 works from outside the repository; an unknown name lists the built-in ones")
    func builtInProfile() throws {
        let work = NSTemporaryDirectory() + "cccdkit-prepare-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let root = CommandLineRunner.root
        #expect(try CommandLineRunner.run(["pki", "init", "--out", work + "/pki"], in: work).status == 0)
        let prepared = try CommandLineRunner.run(
            [
                "prepare", "--profile", "vn-cccd-2021", "--signer", work + "/pki", "--record",
                root + "/Vectors/sample-card/record.json", "--out", work + "/card.json",
            ], in: work)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/card.json"))
        let read = try CommandLineRunner.run(
            ["read", "--card", work + "/card.json", "--can", "000000", "--trust", work + "/pki/csca.crt", "--json"],
            in: work)
        #expect(read.status == 0, "\(read.stderr)")
        let unknown = try CommandLineRunner.run(
            [
                "prepare", "--profile", "vn-cccd-1999", "--signer", work + "/pki", "--record",
                root + "/Vectors/sample-card/record.json", "--out", work + "/other.json",
            ], in: work)
        #expect(unknown.status != 0 && unknown.stderr.contains("vn-cccd-2021"))
    }

    @Test("validate and prepare read records through one decoder: same rules, exit 2, no card from a bad record")
    func oneDecoder() throws {
        let work = NSTemporaryDirectory() + "cccdkit-decoder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let root = CommandLineRunner.root
        #expect(try CommandLineRunner.run(["pki", "init", "--out", work + "/pki"], in: work).status == 0)
        let sample = try String(contentsOfFile: root + "/Vectors/sample-card/record.json", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\"portrait.jpg\"", with: "\"\(root)/Vectors/sample-card/portrait.jpg\"")
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = work + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let cases: [(file: String, bytes: [UInt8], rule: String, says: String)] = [
            ("bom.jsonl", [0xEF, 0xBB, 0xBF] + Array(sample.utf8), "record.encoding", "byte-order mark"),
            (
                "misspelt.jsonl", Array(sample.replacingOccurrences(of: "\"spouseName\"", with: "\"spouseNmae\"").utf8),
                "record.unknownKey", "did you mean \"spouseName\""
            ),
            (
                "syntax.jsonl", Array(sample.replacingOccurrences(of: "\"sex\":\"M\",", with: "\"sex\":\"M\",,").utf8),
                "record.syntax", "column"
            ),
            (
                "huge.jsonl",
                Array(
                    sample.replacingOccurrences(
                        of: "\"placeOfResidence\":\"",
                        with: "\"placeOfResidence\":\"" + String(repeating: "x", count: 10_000_000)
                    ).utf8),
                "length", "DG13 holds at most 4,096 bytes"
            ),
        ]
        for c in cases {
            let path = try write(c.file, c.bytes)
            let validated = try CommandLineRunner.run(["validate", "--batch", path], in: work)
            #expect(validated.status == 2, "\(c.file): \(validated.stderr)")
            #expect((validated.stdout + validated.stderr).contains(c.rule), "\(c.file)")
            #expect((validated.stdout + validated.stderr).contains(c.says), "\(c.file)")
            let out = work + "/\(c.file).card.json"
            let prepared = try CommandLineRunner.run(
                ["prepare", "--signer", work + "/pki", "--record", path, "--out", out], in: work)
            #expect(prepared.status == 2, "\(c.file): \(prepared.stderr)")
            #expect(
                prepared.stderr.contains(c.rule) && prepared.stderr.contains(c.says), "\(c.file): \(prepared.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "no card from \(c.file)")
        }
        let empty = try CommandLineRunner.run(
            ["validate", "--batch", try write("empty.jsonl", Array("\n\n".utf8))], in: work)
        #expect(empty.status == 2 && empty.stderr.contains("no records"), "\(empty.stderr)")
    }

    @Test("--allow-bac-fallback on a card whose PACE works but whose application is missing: exit 7, no BAC")
    func noBACAfterPACE() throws {
        var image = OddChipFixture.prepared.image
        image.applications[0].aid = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x99]
        let card = try Forge.write(image, name: "no-application")
        defer { try? FileManager.default.removeItem(atPath: card) }
        let outcome = try run([
            "read", "--card", card, "--id", "001090000000", "--dob", "900101", "--doe", "300101",
            "--allow-bac-fallback",
        ])
        #expect(outcome.status == 7, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("no eMRTD application"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("BAC"), "\(outcome.stderr)")
    }

    @Test("cccd sample-card makes a real card: genuine (exit 0) by PACE, by BAC with --bac-only; --clone is exit 4")
    func sampleCard() throws {
        let work = NSTemporaryDirectory() + "cccdkit-sample-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let bac = ["--id", "001090000000", "--dob", "900101", "--doe", "300101"]
        for (flags, key, status) in [
            ([String](), ["--can", "000000"], Int32(0)), (["--bac-only"], bac, 0),
            (["--clone"], ["--can", "000000"], 4),
        ] {
            let name = flags.first.map { String($0.drop { $0 == "-" }) } ?? "plain"
            let made = try CommandLineRunner.run(
                ["sample-card", "--out", "\(name).json", "--pki", "\(name)-pki"] + flags, in: work)
            #expect(made.status == 0, "\(made.stderr)")
            let read = try CommandLineRunner.run(
                ["read", "--card", "\(name).json", "--trust", "\(name)-pki/csca.crt", "--json"] + key, in: work)
            #expect(read.status == status, "\(name): \(read.stderr)")
            #expect(read.json?["genuine"] as? Bool == (status == 0), "\(name)")
            if name == "bac-only" { #expect(read.json?["accessControl"] as? String == "BAC") }
        }
    }

    @Test("Help reads well at 80 columns: no line too long, no paragraph broken mid-sentence")
    func helpWrapping() throws {
        let commands: [[String]] = [
            [], ["read"], ["readers"], ["emulate"], ["prepare"], ["validate"], ["pki", "init"], ["sample-card"],
            ["tlv"], ["apdu"],
        ]
        for command in commands {
            let help = try CommandLineRunner.run(command + ["--help"], environment: ["COLUMNS": "80"])
            #expect(help.status == 0)
            let lines = help.stdout.components(separatedBy: "\n")
            // (The USAGE line is argument-parser's own, one line whatever the width.)
            for line in lines where !line.hasPrefix("USAGE:") { #expect(line.count <= 80, "\(command): \(line)") }
            // The discussion: paragraphs up to USAGE; a line followed by more of its paragraph is a full line.
            let discussion = lines.prefix { !$0.hasPrefix("USAGE:") }
            for (line, next) in zip(discussion, discussion.dropFirst())
            where !line.isEmpty && !next.isEmpty && !next.hasPrefix("Example") && !next.hasPrefix(" ") {
                #expect(line.count >= 55, "\(command): a short line inside a paragraph: \"\(line)\"")
            }
        }
    }

    @Test("emulate: a vpcd host that does not resolve is a clear error (exit 1), not an endless wait")
    func emulateUnresolvableHost() throws {
        let outcome = try run([
            "emulate", "--card", "Vectors/sample-card/card.json", "--vpcd", "no-such-host.invalid:35963",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("cannot resolve vpcd's host \"no-such-host.invalid\""), "\(outcome.stderr)")
        let malformed = try run(["emulate", "--card", "Vectors/sample-card/card.json", "--vpcd", "35963"])
        #expect(malformed.status == 64 && malformed.stderr.contains("HOST:PORT"))
    }
}
