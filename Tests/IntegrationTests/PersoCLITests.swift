import CardEmulator
import ChipImage
import Foundation
import Issuance
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

#if canImport(Glibc)
    import Glibc
#endif

/// `cccd perso` and `cccd journal` as a print centre runs them.
@Suite("cccd perso: batches to emulated cards, crashes, the journal")
struct PersoCLITests {
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!

    /// A work folder with a TEST PKI, a portrait and a batch of `count` synthetic records (plus `invalid` lines).
    static func workspace(_ count: Int, seed: UInt64, invalid: [String] = []) throws -> String {
        let work = NSTemporaryDirectory() + "cccdkit-perso-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try TestPKI().write(to: work + "/pki")
        try SampleRecord.writeImages(to: work)
        let records = SampleRecord.batch(count: count, seed: seed, portrait: "portrait.jpg", today: today)
        let text = try SampleRecord.jsonLines(records) + invalid.map { $0 + "\n" }.joined()
        try text.write(toFile: work + "/batch.jsonl", atomically: true, encoding: .utf8)
        return work
    }

    func perso(_ work: String, emulated: Int = 2, extra: [String] = []) throws -> CommandLineRunner.Outcome {
        try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--emulated", "\(emulated)",
                "--out", "out", "--json",
            ] + extra, in: work)
    }

    @Test(
        "100 records to emulated cards in one command: every card read back, the journal accounts for all, cards/min reported"
    )
    func hundred() throws { try batch(100, seed: 100) }

    /// `make soak`: the same at 1,000 records (about 8 minutes of a debug build on two cores).
    @Test(
        "Soak: 1,000 records to emulated cards in one command: every card read back, the journal accounts for all, cards/min reported"
    )
    func soakThousand() throws { try batch(1000, seed: 1000) }

    func batch(_ n: Int, seed: UInt64) throws {
        let work = try Self.workspace(n, seed: seed)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let run = try perso(work)
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(run.json)
        #expect(json["issued"] as? Int == n && json["records"] as? Int == n)
        #expect(json["spoiled"] as? Int == 0 && json["failed"] as? Int == 0)
        #expect((json["cardsPerMinute"] as? Double ?? 0) > 0)
        let journal = try CommandLineRunner.run(["journal", "--journal", "j.db", "--json"], in: work)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(journal.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == n)
        #expect(rows.allSatisfy { $0["status"] as? String == "issued" && $0["chipSerial"] is String })
        #expect(rows.allSatisfy { $0.keys.contains("reason") && $0.keys.contains("idNumber") })
        #expect(Set(rows.compactMap { $0["chipSerial"] as? String }).count == n)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/out/cards").count == n)
    }

    @Test(
        "Killed with SIGKILL at random moments, again and again, then resumed: every record issued exactly once, none lost"
    )
    func killedAndResumed() throws {
        let work = try Self.workspace(24, seed: 77)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var generator = SeededGenerator(seed: 0xC0FFEE)
        var kills = 0
        for _ in 0..<6 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
            process.arguments = [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--emulated", "2", "--out",
                "out",
            ]
            process.currentDirectoryURL = URL(fileURLWithPath: work)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.5, using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        #expect(kills >= 3, "the batch finished before enough kills; make it longer")
        let last = try perso(work)
        let events = try CommandLineRunner.run(["journal", "--journal", "j.db", "--json"], in: work)
        #expect(last.status == 0, "\(last.stderr) \(last.stdout) \(events.stdout)")
        let journal = try SQLiteJournal(path: work + "/j.db")
        let batch = try #require(try journal.batches().first).id
        let rows = try journal.records(batch: batch)
        #expect(
            rows.count == 24 && rows.allSatisfy { $0.status == .issued },
            "\(rows.filter { $0.status != .issued }.map { "line \($0.line): \($0.status) \($0.reason ?? "")" })")
        #expect(try journal.issuedAttemptsPerRecord(batch: batch).values.allSatisfy { $0 == 1 })
        #expect(try journal.openAttempts(batch: batch).isEmpty)
        // One card per record on disk, and each is a genuine card of its record.
        let cards = try FileManager.default.contentsOfDirectory(atPath: work + "/out/cards").sorted()
        #expect(cards.count == 24)
        #expect(Set(cards.map { String($0.prefix(12)) }) == Set(rows.compactMap(\.idNumber)))
        let trust = try TrustStore.load(paths: [work + "/pki/csca.crt"])
        for name in cards.prefix(3) {
            let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/out/cards/" + name)))
            let key = try #require(ReadBack.accessKey(for: image))
            let read = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
                key, options: ReadOptions(trust: trust, today: Self.today))
            #expect(read.assessment.genuine, "\(name)")
        }
    }

    @Test("Invalid records are rejected before any card is written, each with its reason; exit 2")
    func rejectedUpFront() throws {
        let work = try Self.workspace(
            3, seed: 3,
            invalid: [
                #"{"idNumber":"001290000123","fullName":"Nguyễn Văn An","dateOfBirth":"1990-01-01","sex":"M","nationality":"Việt Nam","placeOfOrigin":"Hà Nội","placeOfResidence":"Hà Nội","dateOfIssue":"2021-06-15","dateOfExpiry":"2030-01-01","portrait":"portrait.jpg"}"#,
                #"{"idNumber": 1}"#,
            ])
        defer { try? FileManager.default.removeItem(atPath: work) }
        let run = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--emulated", "1", "--out",
                "out",
            ], in: work)
        #expect(run.status == 2, "\(run.stderr)")
        let lines = run.stdout.components(separatedBy: "\n")
        let firstIssue = try #require(lines.firstIndex { $0.contains("issued on chip") })
        let rejections = lines.indices.filter { lines[$0].contains("REJECTED") }
        #expect(rejections.count == 2 && rejections.allSatisfy { $0 < firstIssue }, "rejections come before any card")
        #expect(lines[rejections[0]].contains("idNumber.century"))
        #expect(lines[rejections[1]].contains("record.type"))
        let journal = try CommandLineRunner.run(["journal", "--journal", "j.db", "--json"], in: work)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(journal.stdout.utf8)) as? [[String: Any]])
        #expect(rows.filter { $0["status"] as? String == "rejected" }.count == 2)
        #expect(rows.filter { $0["status"] as? String == "issued" }.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/out/cards").count == 3)
    }

    @Test("prepare --batch: every valid record prepared in parallel into its own image; invalid ones listed; exit 2")
    func prepareBatch() throws {
        let work = try Self.workspace(6, seed: 8, invalid: [#"{"idNumber": "1"}"#])
        defer { try? FileManager.default.removeItem(atPath: work) }
        let run = try CommandLineRunner.run(
            ["prepare", "--batch", "batch.jsonl", "--signer", "pki", "--out", "images"], in: work)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stdout.contains("line 7: REJECTED") && run.stdout.contains("6 of 7 records prepared"))
        let images = try FileManager.default.contentsOfDirectory(atPath: work + "/images").sorted()
        #expect(images.count == 6)
        let trust = try TrustStore.load(paths: [work + "/pki/csca.crt"])
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/images/" + images[0])))
        let read = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
            try #require(ReadBack.accessKey(for: image)), options: ReadOptions(trust: trust, today: Self.today))
        #expect(read.assessment.genuine)
    }

    @Test(
        "prepare --batch --seed: the same seed gives the same chips (keys and every file but EF.SOD's signature) on any run; another seed other keys"
    )
    func seededBatch() throws {
        let work = try Self.workspace(4, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for (folder, seed) in [("a", "s1"), ("b", "s1"), ("c", "s2")] {
            let run = try CommandLineRunner.run(
                ["prepare", "--batch", "batch.jsonl", "--signer", "pki", "--out", folder, "--seed", seed], in: work)
            #expect(run.status == 0, "\(run.stderr)")
        }
        func images(_ folder: String) throws -> [String: CardImage] {
            var out: [String: CardImage] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: work + "/" + folder) {
                out[name] = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/\(folder)/\(name)")))
            }
            return out
        }
        let (a, b, c) = (try images("a"), try images("b"), try images("c"))
        #expect(a.count == 4 && Set(a.keys) == Set(b.keys) && Set(a.keys) == Set(c.keys))
        for (name, x) in a {
            let y = try #require(b[name])
            let z = try #require(c[name])
            #expect(x.secrets == y.secrets, "\(name): the same seed gave other secrets")
            #expect(x.secrets.activeAuthenticationKey != z.secrets.activeAuthenticationKey)
            #expect(x.secrets.chipAuthenticationKey != z.secrets.chipAuthenticationKey)
            for (file, content) in x.lDSFiles where file != .sod {
                #expect(y.lDSFiles[file] == content, "\(name): \(file.name) differs")
            }
            // EF.SOD signs the same hashes (its signature and signing time are the signer's, not the seed's).
            let sodX = try SecurityObjectDocument(bytes: try #require(x.lDSFiles[.sod]))
            let sodY = try SecurityObjectDocument(bytes: try #require(y.lDSFiles[.sod]))
            #expect(try sodX.securityObject() == (try sodY.securityObject()))
            // Seeded keys are real keys: the card reads back genuine (CA and AA pass).
            let trust = try TrustStore.load(paths: [work + "/pki/csca.crt"])
            let read = try ReaderSession(transport: try EmulatedChip(image: x)).readCard(
                try #require(ReadBack.accessKey(for: x)), options: ReadOptions(trust: trust, today: Self.today))
            #expect(read.assessment.genuine, "\(read.assessment.reasons)")
        }
    }
}
