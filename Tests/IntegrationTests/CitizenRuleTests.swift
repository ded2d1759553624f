import Foundation
import Issuance
import Personalization
import TestSupport
import Testing

/// One card per citizen, as the print centre promises it: per ID number, across lines, batches and stations.
@Suite("One card per citizen: duplicate IDs, re-runs of fixed batches, reissues, two PostgreSQL stations")
struct CitizenRuleTests {
    /// The batch's lines as JSON objects.
    static func lines(_ work: String, _ file: String = "batch.jsonl") throws -> [[String: Any]] {
        try String(contentsOfFile: work + "/" + file, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func write(_ lines: [[String: Any]], _ work: String, _ file: String) throws {
        let text = try lines.map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
        try text.write(toFile: work + "/" + file, atomically: true, encoding: .utf8)
    }

    func perso(_ work: String, _ file: String, journal: String = "j.db", extra: [String] = []) throws
        -> CommandLineRunner.Outcome
    {
        try CommandLineRunner.run(
            [
                "perso", "--batch", file, "--signer", "pki", "--journal", journal, "--emulated", "2", "--out", "out",
                "--json",
            ] + extra, in: work)
    }

    /// The cards on disk per ID number.
    func cardsPerID(_ work: String, folders: [String] = ["out"]) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for folder in folders {
            for name in try FileManager.default.contentsOfDirectory(atPath: work + "/\(folder)/cards") {
                out[String(name.prefix(12)), default: 0] += 1
            }
        }
        return out
    }

    @Test("One ID number on two lines of a batch: validate and perso refuse both lines (record.duplicateId); no card")
    func duplicateInBatch() throws {
        let work = try PersoCLITests.workspace(3, seed: 91)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var lines = try Self.lines(work)
        var twin = lines[0]
        twin["placeOfResidence"] = "Số 2 Phố Huế, Hà Nội"  // another address: still the same citizen
        lines.append(twin)
        try Self.write(lines, work, "batch.jsonl")
        let id = try #require(lines[0]["idNumber"] as? String)

        let validate = try CommandLineRunner.run(["validate", "--batch", "batch.jsonl", "--json"], in: work)
        #expect(validate.status == 2)
        let results = try #require(
            try JSONSerialization.jsonObject(with: Data(validate.stdout.utf8)) as? [[String: Any]])
        let invalid = results.filter { $0["valid"] as? Bool == false }.compactMap { $0["line"] as? Int }
        #expect(invalid == [1, 4], "\(validate.stdout)")
        #expect(validate.stdout.contains("record.duplicateId"))

        let run = try perso(work, "batch.jsonl")
        #expect(run.status == 2, "\(run.stderr)")
        let rejected = run.jsonLines.filter { $0["event"] as? String == "rejected" }
        #expect(rejected.compactMap { $0["line"] as? Int }.sorted() == [1, 4], "\(run.stdout)")
        #expect(rejected.allSatisfy { ($0["reason"] as? String ?? "").contains("record.duplicateId") })
        #expect(run.json?["issued"] as? Int == 2)
        #expect(try cardsPerID(work)[id] == nil, "a card was made for the duplicated ID")
    }

    @Test(
        "A fixed batch run again on the same journal issues only the fixed record; the others are refused as record.alreadyIssued (naming batch, line and chip), exit 0; every citizen has one card"
    )
    func fixedBatchRerun() throws {
        let work = try PersoCLITests.workspace(6, seed: 92)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let good = try Self.lines(work)
        var broken = good
        broken[5]["dateOfBirth"] = "1990-02-30"
        try Self.write(broken, work, "batch.jsonl")
        let first = try perso(work, "batch.jsonl")
        #expect(first.status == 2, "\(first.stderr)")
        #expect(first.json?["issued"] as? Int == 5 && first.json?["rejected"] as? Int == 1)

        try Self.write(good, work, "batch.jsonl")  // the operator fixes line 6
        let second = try perso(work, "batch.jsonl")
        #expect(second.status == 0, "\(second.stdout) \(second.stderr)")
        #expect(second.json?["issuedThisRun"] as? Int == 1, "\(second.stdout)")
        #expect(second.json?["alreadyIssued"] as? Int == 5 && second.json?["rejected"] as? Int == 0)
        let refused = second.jsonLines.filter { $0["event"] as? String == "alreadyIssued" }
        #expect(refused.count == 5)
        let batches = try SQLiteJournal(path: work + "/j.db").batches()
        #expect(batches.count == 2)
        for r in refused {
            let reason = r["reason"] as? String ?? ""
            #expect(
                reason.hasPrefix("record.alreadyIssued") && reason.contains("batch \(batches[0].id), line \(r["line"] as? Int ?? 0)")
                    && reason.contains("chip "), "\(reason)")
        }
        let cards = try cardsPerID(work)
        #expect(cards.count == 6 && cards.values.allSatisfy { $0 == 1 }, "\(cards)")
        // A third run changes nothing.
        let third = try perso(work, "batch.jsonl")
        #expect(third.status == 0 && third.json?["issuedThisRun"] as? Int == 0)
    }

    @Test(
        "--reissue REASON issues another card to a citizen who holds one, and the journal keeps the reason (cccd journal --id shows both cards)"
    )
    func reissueRecorded() throws {
        let work = try PersoCLITests.workspace(2, seed: 93)
        defer { try? FileManager.default.removeItem(atPath: work) }
        #expect(try perso(work, "batch.jsonl").status == 0)
        let lines = try Self.lines(work)
        let id = try #require(lines[0]["idNumber"] as? String)
        try Self.write([lines[0]], work, "lost.jsonl")
        let refused = try perso(work, "lost.jsonl")
        #expect(refused.status == 0 && refused.json?["issuedThisRun"] as? Int == 0 && refused.json?["alreadyIssued"] as? Int == 1)
        let again = try perso(work, "lost.jsonl", extra: ["--reissue", "card lost, police report 2026/117"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json?["issuedThisRun"] as? Int == 1, "\(again.stdout)")
        #expect(try cardsPerID(work)[id] == 2)

        let history = try CommandLineRunner.run(["journal", "--journal", "j.db", "--id", id, "--json"], in: work)
        #expect(history.status == 0, "\(history.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(records.count == 2)
        let statuses = records.compactMap { ($0["record"] as? [String: Any])?["status"] as? String }
        #expect(statuses == ["issued", "issued"])
        #expect(records.last?["reissue"] as? String == "card lost, police report 2026/117")
        #expect(records.allSatisfy { ($0["attempts"] as? [[String: Any]])?.contains { $0["phase"] as? String == "issued" } == true })
        let text = try CommandLineRunner.run(["journal", "--journal", "j.db", "--id", id], in: work)
        #expect(text.status == 0 && text.stdout.contains("2 cards issued") && text.stdout.contains("reissue: card lost"))
        let unknown = try CommandLineRunner.run(["journal", "--journal", "j.db", "--id", "000000000000"], in: work)
        #expect(unknown.status == 1 && unknown.stderr.contains("no record with ID number"))
    }

    @Test("--strict refuses a record with a warning (an expiry already past); without it the card is issued and the warning said")
    func strictWarnings() throws {
        let work = try PersoCLITests.workspace(1, seed: 94)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var lines = try Self.lines(work)
        // Born 1977, issued 2014 at 37: the card expires at 40, on 2017-01-01 (the 25/40/60 rule), long past.
        lines[0]["idNumber"] = "001077000777"
        lines[0]["dateOfBirth"] = "1977-01-01"
        lines[0]["sex"] = "M"
        lines[0]["dateOfIssue"] = "2014-06-01"
        lines[0]["dateOfExpiry"] = "2017-01-01"
        try Self.write(lines, work, "batch.jsonl")
        let strict = try perso(work, "batch.jsonl", journal: "strict.db", extra: ["--strict"])
        #expect(strict.status == 2, "\(strict.stdout) \(strict.stderr)")
        #expect(strict.stdout.contains("expiry.past"))
        let lenient = try perso(work, "batch.jsonl")
        #expect(lenient.status == 0, "\(lenient.stdout) \(lenient.stderr)")
        let warnings = lenient.jsonLines.filter { $0["event"] as? String == "warning" }
        #expect(warnings.count == 1 && (warnings.first?["warnings"] as? String ?? "").contains("expiry.past"))
        #expect(lenient.json?["issued"] as? Int == 1)
    }

    @Test(
        "Two PostgreSQL stations on two batches that share ID numbers, started together: each citizen issued exactly once; the other record refused as record.alreadyIssued"
    )
    func postgresTwoBatches() throws {
        let work = try PersoCLITests.workspace(12, seed: 95)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let journal = try TestPostgres.freshDatabase()
        let all = try Self.lines(work)
        // Batch A: records 1-8; batch B: records 5-12 (4 citizens in both), in the same order.
        try Self.write(Array(all[0..<8]), work, "a.jsonl")
        try Self.write(Array(all[4..<12]), work, "b.jsonl")
        for file in ["a.jsonl", "b.jsonl"] {
            let load = try CommandLineRunner.run(
                ["perso", "--batch", file, "--journal", journal, "--load-only"], in: work)
            #expect(load.status == 0, "\(load.stderr)")
        }
        var stations: [Process] = []
        for (name, file) in [("A", "a.jsonl"), ("B", "b.jsonl")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
            p.arguments = [
                "perso", "--batch", file, "--signer", "pki", "--journal", journal, "--station", name, "--emulated",
                "2", "--out", "out-\(name)", "--json",
            ]
            p.currentDirectoryURL = URL(fileURLWithPath: work)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            stations.append(p)
        }
        for p in stations { try p.run() }
        for p in stations { p.waitUntilExit() }
        #expect(stations.allSatisfy { $0.terminationStatus == 0 })
        let cards = try cardsPerID(work, folders: ["out-A", "out-B"])
        #expect(cards.count == 12 && cards.values.allSatisfy { $0 == 1 }, "\(cards)")
        let records = try CommandLineRunner.run(["journal", "--journal", journal, "--json"], in: work)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(records.stdout.utf8)) as? [[String: Any]])
        let issued = rows.filter { $0["status"] as? String == "issued" }
        #expect(issued.count == 12)
        #expect(Set(issued.compactMap { $0["idNumber"] as? String }).count == 12)
        let refused = rows.filter { ($0["reason"] as? String ?? "").hasPrefix("record.alreadyIssued") }
        #expect(refused.count == 4, "\(rows)")
    }
}
