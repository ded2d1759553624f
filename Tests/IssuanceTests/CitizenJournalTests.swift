import Foundation
import GRDB
import Issuance
import Testing

/// The journal's per-citizen rule, call by call, and the database's own guard under it.
@Suite("Journal: one card per citizen across batches")
struct CitizenJournalTests {
    static func journal() throws -> (SQLiteJournal, String) {
        let folder = NSTemporaryDirectory() + "cccdkit-citizen-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return (try SQLiteJournal(path: folder + "/j.db"), folder)
    }

    static func begin(_ journal: SQLiteJournal, _ id: String, _ ids: [String]) throws {
        try journal.begin(
            batch: BatchRow(id: id, source: id + ".jsonl", profile: "p", createdAt: Date(), recordCount: ids.count),
            records: ids.enumerated().map { (line: $0.offset + 1, idNumber: $0.element, hash: "h", rejection: nil) })
    }

    @Test(
        "A citizen in work in one batch is skipped by the other; once issued, the other batch's record is refused as record.alreadyIssued at its claim; a reissue is claimed and kept"
    )
    func acrossBatches() throws {
        let (journal, folder) = try Self.journal()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.begin(journal, "A", ["001090000001", "001090000002"])
        try Self.begin(journal, "B", ["001090000002", "001090000003"])
        // A takes line 1, B line 1 (citizen 2), then A cannot take citizen 2: it is in work in B.
        let a1 = try #require(try journal.claim(batch: "A", chipSerial: "C1", station: "S", reader: "r1"))
        let b1 = try #require(try journal.claim(batch: "B", chipSerial: "C2", station: "S", reader: "r2"))
        #expect(a1.line == 1 && b1.line == 1)
        #expect(try journal.claim(batch: "A", chipSerial: "C3", station: "S", reader: "r3") == nil)
        try journal.advance(attempt: b1.attempt, to: .writing)
        try journal.advance(attempt: b1.attempt, to: .locked)
        try journal.finish(attempt: b1.attempt, .issued, reason: nil)
        // Citizen 2 holds a card now: A's line 2 is refused at its claim, naming B's card.
        #expect(try journal.claim(batch: "A", chipSerial: "C3", station: "S", reader: "r3") == nil)
        let a2 = try #require(try journal.records(batch: "A").first { $0.line == 2 })
        #expect(a2.status == .rejected)
        #expect(a2.reason == CitizenRule.alreadyIssuedReason(try #require(journal.records(batch: "B").first)))
        #expect(try journal.issuedRecords(idNumbers: ["001090000002", "001090000009"]).map(\.batchId) == ["B"])
        // A reissue: back in the queue, claimed, issued, with its reason on record.
        try journal.allowReissue(batch: "A", line: 2, reason: "card damaged")
        let again = try #require(try journal.claim(batch: "A", chipSerial: "C4", station: "S", reader: "r3"))
        #expect(again.line == 2)
        try journal.advance(attempt: again.attempt, to: .writing)
        try journal.finish(attempt: again.attempt, .issued, reason: nil)
        let history = try journal.citizen(idNumber: "001090000002")
        #expect(history.count == 2 && history.allSatisfy { $0.record.status == .issued })
        // In the order the batches came (A first): A's record is the reissue.
        #expect(history.map(\.record.batchId) == ["A", "B"])
        #expect(history.map(\.reissue) == ["card damaged", nil])
        #expect(history.allSatisfy { $0.attempts.count == 1 })
        // A refusal never undoes an allowed reissue.
        try journal.refuse(batch: "A", line: 2, reason: "x")
        #expect(try journal.records(batch: "A").first { $0.line == 2 }?.status == .issued)
    }

    @Test("The database itself refuses a second attempt for one citizen, in work or issued, unless it is a reissue")
    func databaseGuard() throws {
        let (journal, folder) = try Self.journal()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.begin(journal, "A", ["001090000001"])
        try Self.begin(journal, "B", ["001090000001"])
        let a = try #require(try journal.claim(batch: "A", chipSerial: "C1", station: "S", reader: "r"))
        let db = try DatabaseQueue(path: folder + "/j.db")
        func insert(_ batch: String, reissue: String?) throws {
            try db.write {
                try $0.execute(
                    sql: """
                        INSERT INTO attempt (batchId, line, chipSerial, station, reader, startedAt, phase, idNumber, reissue)
                        VALUES (?, 1, 'X', 'S', 'r', ?, 'claimed', '001090000001', ?)
                        """, arguments: [batch, Date(), reissue])
            }
        }
        #expect(throws: (any Error).self) { try insert("B", reissue: nil) }
        try journal.advance(attempt: a.attempt, to: .writing)
        try journal.finish(attempt: a.attempt, .issued, reason: nil)
        #expect(throws: (any Error).self) { try insert("B", reissue: nil) }
        try insert("B", reissue: "lost")
    }

    @Test(
        "A chip spoiled because the line stopped mid-write does not count towards giving its record up; three chips spoiled by the card do"
    )
    func crashSpoilsDoNotFailTheRecord() throws {
        let (journal, folder) = try Self.journal()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.begin(journal, "A", ["001090000001", "001090000002"])
        func spoil(_ line: Int, _ reason: String, _ n: Int) throws {
            let claim = try #require(try journal.claim(batch: "A", chipSerial: "C\(line)-\(n)-\(reason.count)", station: "S", reader: "r"))
            #expect(claim.line == line)
            try journal.advance(attempt: claim.attempt, to: .writing)
            try journal.finish(attempt: claim.attempt, .spoiled, reason: reason)
        }
        for n in 0..<5 { try spoil(1, SpoilReason.interrupted, n) }
        let first = try #require(try journal.records(batch: "A").first { $0.line == 1 })
        #expect(first.status == .pending && first.spoiledCount == 0)
        for n in 0..<3 { try spoil(1, "read-back: DG2 differs", n) }
        let failed = try #require(try journal.records(batch: "A").first { $0.line == 1 })
        #expect(failed.status == .failed && failed.spoiledCount == 3)
    }
}
