import CardCore
import Foundation
import Issuance
import LDS
import PCSC
import Personalization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's stop and a wrong transport key, through pcscd with blank chips in the four virtual readers (in
/// PCSCReadTests' serialized suite: one pcscd).
extension PCSCReadTests {
    static let fourReaders = ["Virtual PCD 00 00", "Virtual PCD 00 01", "Virtual PCD B 00 00", "Virtual PCD B 00 01"]
    static let fourPorts = [35963, 35964, 35965, 35966]

    /// A work folder with a test PKI, `count` records and the chips' transport key.
    static func persoWork(_ count: Int, seed: UInt64) throws -> String {
        let work = NSTemporaryDirectory() + "cccdkit-perso-stop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try TestPKI().write(to: work + "/pki")
        try SampleRecord.writeImages(to: work)
        let records = SampleRecord.batch(count: count, seed: seed, portrait: "portrait.jpg", today: today)
        try SampleRecord.jsonLines(records).write(toFile: work + "/batch.jsonl", atomically: true, encoding: .utf8)
        try "00112233445566778899AABBCCDDEEFF\n".write(
            toFile: work + "/transport.key", atomically: true, encoding: .utf8)
        try "FFEEDDCCBBAA99887766554433221100\n".write(toFile: work + "/wrong.key", atomically: true, encoding: .utf8)
        return work
    }

    /// Blank chips (diversified from transport.key) in the four readers; each saves its card when issued. Returns
    /// the emulators (the caller ends them with `endChips`).
    static func blankChips(
        _ work: String, tag: Int, transportKey: [String]? = nil, saveIn: String? = nil,
        environment: [String: String]? = nil
    ) throws -> [Process] {
        let context = try PCSCContext()
        let present = try context.readers()
        for r in fourReaders {
            try #require(
                present.contains(r),
                "pcscd has no reader \"\(r)\" (it has \(present)): run `make deps` (scripts/vpcd-readers.sh, as root) and restart pcscd"
            )
            try context.waitForRemoval(reader: r, timeout: 15)
        }
        var emulators: [Process] = []
        for (i, port) in fourPorts.enumerated() {
            let e = Process()
            e.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
            e.arguments =
                ["emulate", "--blank"] + (transportKey ?? ["--transport-key", work + "/transport.key"]) + [
                    "--serial", String(format: "4343%02X000000000000%02X", tag, i), "--save",
                    (saveIn ?? work) + "/issued-\(i).json", "--vpcd", "127.0.0.1:\(port)",
                ]
            if let environment {
                e.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            e.standardError = FileHandle.nullDevice
            try e.run()
            emulators.append(e)
        }
        for r in fourReaders { _ = try context.waitForCard(reader: r, timeout: 15) }
        return emulators
    }

    static func endChips(_ emulators: [Process]) {
        for e in emulators {
            e.terminate()
            e.waitUntilExit()
        }
        if let context = try? PCSCContext() {
            for r in fourReaders { try? context.waitForRemoval(reader: r, timeout: 15) }
        }
    }

    @Test(
        "SIGINT in the middle of the cards through pcscd, output piped: each card in hand is finished (none spoiled, none left open), the piped log holds every issued card, exit 130, and the same command goes on"
    )
    func operatorStopThroughPCSC() throws {
        let work = try Self.persoWork(8, seed: 81)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let emulators = try Self.blankChips(work, tag: 0x81)
        defer { Self.endChips(emulators) }

        let perso = Process()
        perso.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
        perso.arguments = [
            "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers", "all",
            "--transport-key", "transport.key",
        ]
        perso.currentDirectoryURL = URL(fileURLWithPath: work)
        let pipe = Pipe()
        perso.standardOutput = pipe
        perso.standardError = FileHandle.nullDevice
        try perso.run()
        // The moment a chip is being written (the journal says so), the operator presses Ctrl-C.
        var writing = false
        let deadline = Date().addingTimeInterval(60)
        while !writing && Date() < deadline && perso.isRunning {
            if FileManager.default.fileExists(atPath: work + "/j.db"), let journal = try? SQLiteJournal(path: work + "/j.db"),
                let batch = try? journal.batches().first?.id
            {
                writing = ((try? journal.openAttempts(batch: batch)) ?? []).contains { $0.phase == .writing }
            }
            if !writing { Thread.sleep(forTimeInterval: 0.01) }
        }
        try #require(writing, "no chip was ever being written")
        kill(perso.processIdentifier, SIGINT)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        perso.waitUntilExit()
        #expect(perso.terminationStatus == 130, "\(output)")

        let journal = try SQLiteJournal(path: work + "/j.db")
        let batch = try #require(try journal.batches().first).id
        let attempts = try journal.attempts(batch: batch, phases: nil, station: nil)
        let issued = attempts.filter { $0.phase == .issued }
        #expect(!issued.isEmpty, "the card in hand was not finished")
        #expect(!attempts.contains { $0.phase == .spoiled }, "a card was spoiled by the stop")
        #expect(try journal.openAttempts(batch: batch).isEmpty, "a card was left mid-write")
        let rows = try journal.records(batch: batch)
        #expect(rows.filter { $0.status == .pending }.count == 8 - issued.count)
        // The piped log has every issued card, line by line.
        for a in issued {
            #expect(output.contains("line \(a.line): issued on chip \(a.chipSerial)"), "line \(a.line) missing: \(output)")
        }
        #expect(output.contains("stopped by the operator"), "\(output)")
        // Each chip is either its record's genuine card (saved by its emulator) or still blank.
        let saved = (0..<4).filter { FileManager.default.fileExists(atPath: work + "/issued-\($0).json") }
        #expect(saved.count == issued.count)
    }

    @Test(
        "A wrong --transport-key through pcscd: each station stops at its first chip with 'wrong --transport-key for this batch', no chip spoiled, the records back in the queue; the right key then issues on the same chips"
    )
    func wrongTransportKeyThroughPCSC() throws {
        let work = try Self.persoWork(4, seed: 82)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let emulators = try Self.blankChips(work, tag: 0x82)
        defer { Self.endChips(emulators) }
        let wrong = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers", "all",
                "--transport-key", "wrong.key", "--json",
            ], in: work)
        #expect(wrong.status == 1, "\(wrong.stdout) \(wrong.stderr)")
        #expect(wrong.stderr.contains("wrong --transport-key for this batch"), "\(wrong.stderr)")
        let stops = wrong.jsonLines.filter { $0["event"] as? String == "readerStopped" }
        #expect(
            stops.count == 4 && stops.allSatisfy { ($0["reason"] as? String ?? "").hasPrefix("wrong --transport-key") },
            "\(wrong.stdout)")
        #expect(wrong.json?["spoiled"] as? Int == 0 && wrong.json?["issued"] as? Int == 0, "\(wrong.stdout)")
        let journal = try SQLiteJournal(path: work + "/j.db")
        let batch = try #require(try journal.batches().first).id
        let attempts = try journal.attempts(batch: batch, phases: nil, station: nil)
        #expect(attempts.count == 4 && attempts.allSatisfy { $0.phase == .interrupted }, "one attempt per chip, none spoiled")
        #expect(try journal.records(batch: batch).allSatisfy { $0.status == .pending })

        let right = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers", "all",
                "--transport-key", "transport.key", "--json",
            ], in: work)
        #expect(right.status == 0, "\(right.stdout) \(right.stderr)")
        #expect(right.json?["issued"] as? Int == 4 && right.json?["spoiled"] as? Int == 0, "\(right.stdout)")
    }
}
