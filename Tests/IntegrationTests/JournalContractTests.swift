import Foundation
import GRDB
import Issuance
import PostgresJournal
import TestSupport
import Testing

/// The journal's contract, one suite run against both stores: whatever a station sees of SQLite it sees of
/// PostgreSQL (claims, leases, crash phases, idempotent retries, spoil counts, stored values it does not know).
enum JournalStore: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue == "sqlite" ? "SQLite" : "PostgreSQL" }

    /// A new, empty journal of this kind, and a way to write a raw SQL statement into it (to plant what no version
    /// of the journal writes).
    func open(maxSpoiled: Int = 3) throws -> (journal: any PersoJournal, poke: (String) throws -> Void) {
        switch self {
        case .sqlite:
            let path = NSTemporaryDirectory() + "cccdkit-contract-\(UUID().uuidString).db"
            let journal = try SQLiteJournal(path: path, maxSpoiled: maxSpoiled)
            return (journal, { sql in try DatabaseQueue(path: path).write { try $0.execute(sql: sql) } })
        case .postgres:
            let url = try TestPostgres.freshDatabase()
            let journal = try PostgresJournal(url: url, maxSpoiled: maxSpoiled)
            let bin = try #require(TestPostgres.environment["CCCDKIT_POSTGRES_BIN"])
            return (
                journal,
                { sql in
                    let psql = Process()
                    psql.executableURL = URL(fileURLWithPath: bin + "/psql")
                    psql.arguments = ["-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
                    try psql.run()
                    psql.waitUntilExit()
                    try #require(psql.terminationStatus == 0, "psql failed: \(sql)")
                }
            )
        }
    }
}

@Suite("The journal's contract, against SQLite and PostgreSQL alike")
struct JournalContractTests {
    /// A batch "B" of `count` records (line 1…count, ID numbers 0010000000nn); `rejected` lines refused at load.
    func begin(_ journal: any PersoJournal, count: Int, rejected: Set<Int> = []) throws {
        try journal.begin(
            batch: BatchRow(id: "B", source: "b.jsonl", profile: "cccd-2021", createdAt: Date(), recordCount: count),
            records: (1...count).map {
                (line: $0, idNumber: String(format: "0010000000%02d", $0), hash: "h\($0)",
                 rejection: rejected.contains($0) ? "invalid" : nil)
            })
    }

    func record(_ journal: any PersoJournal, _ line: Int) throws -> RecordRow {
        try #require(try journal.records(batch: "B").first { $0.line == line })
    }

    @Test("Claims: in line order, never a rejected record, never one record twice, nil when none is left; a batch begun again is found", arguments: JournalStore.allCases)
    func claims(store: JournalStore) throws {
        let (journal, _) = try store.open()
        try begin(journal, count: 4, rejected: [2])
        try begin(journal, count: 4, rejected: [2])  // again: found, not doubled
        #expect(try journal.records(batch: "B").count == 4)
        var lines: [Int] = []
        for n in 0..<4 {
            guard let claim = try journal.claim(batch: "B", chipSerial: "C\(n)", station: "S", reader: "R", lease: 60)
            else { break }
            lines.append(claim.line)
        }
        #expect(lines == [1, 3, 4])
        #expect(try journal.claim(batch: "B", chipSerial: "C9", station: "S", reader: "R", lease: 60) == nil)
        #expect(try journal.chip(serial: "C0")?.status == .claimed)
        #expect(try journal.chip(serial: "C0")?.line == 1)
        #expect(try journal.attempts(batch: "B", phases: AttemptPhase.open, station: nil).count == 3)
        #expect(try journal.attempts(batch: "B", phases: nil, station: "other").isEmpty)
        #expect(throws: JournalError.self, "a batch begun again with another record count") {
            try begin(journal, count: 5)
        }
    }

    @Test("Leases: a claimed record whose lease ran out goes back to the queue; the station that lost it gets leaseLost", arguments: JournalStore.allCases)
    func leases(store: JournalStore) throws {
        let (journal, _) = try store.open()
        try begin(journal, count: 1)
        let first = try #require(try journal.claim(batch: "B", chipSerial: "C1", station: "A", reader: "R", lease: 0.5))
        #expect(try journal.claim(batch: "B", chipSerial: "C2", station: "B", reader: "R", lease: 60) == nil)
        Thread.sleep(forTimeInterval: 1.2)
        let second = try #require(try journal.claim(batch: "B", chipSerial: "C2", station: "B", reader: "R", lease: 60))
        #expect(second.line == 1 && second.attempt != first.attempt)
        let attempts = try journal.attempts(batch: "B", phases: nil, station: nil)
        #expect(attempts.first { $0.id == first.attempt }?.phase == .interrupted)
        #expect(throws: JournalError.self) { try journal.advance(attempt: first.attempt, to: .writing, lease: 60) }
        do {
            try journal.advance(attempt: first.attempt, to: .writing, lease: 60)
        } catch let error as JournalError {
            #expect(error.kind == .leaseLost)
        }
        // A record being written is never taken back, whatever its lease.
        try journal.advance(attempt: second.attempt, to: .writing, lease: 0.2)
        Thread.sleep(forTimeInterval: 0.6)
        #expect(try journal.claim(batch: "B", chipSerial: "C3", station: "A", reader: "R", lease: 60) == nil)
    }

    @Test("Crash phases: what a dead station left open is listed with its phase; each way of ending it does what recovery needs", arguments: JournalStore.allCases)
    func crashPhases(store: JournalStore) throws {
        let (journal, _) = try store.open()
        try begin(journal, count: 3)
        let claimed = try #require(try journal.claim(batch: "B", chipSerial: "C1", station: "S", reader: "R", lease: 60))
        let writing = try #require(try journal.claim(batch: "B", chipSerial: "C2", station: "S", reader: "R", lease: 60))
        try journal.advance(attempt: writing.attempt, to: .writing, lease: 60)
        let locked = try #require(try journal.claim(batch: "B", chipSerial: "C3", station: "S", reader: "R", lease: 60))
        try journal.advance(attempt: locked.attempt, to: .writing, lease: 60)
        try journal.advance(attempt: locked.attempt, to: .locked, lease: 60)
        let open = try journal.attempts(batch: "B", phases: AttemptPhase.open, station: "S")
        #expect(open.map(\.phase) == [.claimed, .writing, .locked])
        #expect(open.allSatisfy { $0.isOpen && $0.endedAt == nil && $0.station == "S" && $0.reader == "R" })
        // Claimed, chip untouched: interrupted, the record back in the queue, the chip free.
        try journal.finish(attempt: claimed.attempt, .interrupted, reason: "restart")
        #expect(try record(journal, claimed.line).status == .pending)
        #expect(try journal.chip(serial: "C1")?.status == .untouched)
        // Writing when the line stopped: spoiled, not the record's fault (no charge).
        try journal.finish(attempt: writing.attempt, .spoiled, reason: SpoilReason.interrupted)
        #expect(try record(journal, writing.line).spoiledCount == 0)
        #expect(try record(journal, writing.line).status == .pending)
        #expect(try journal.chip(serial: "C2")?.status == .spoiled)
        // Locked, read back after the restart: issued on that chip.
        try journal.finish(attempt: locked.attempt, .issued, reason: nil)
        let issued = try record(journal, locked.line)
        #expect(issued.status == .issued && issued.chipSerial == "C3" && issued.reason == nil)
        #expect(try journal.chip(serial: "C3")?.issued == true)
        #expect(try journal.attempts(batch: "B", phases: AttemptPhase.open, station: nil).isEmpty)
        // The two records back in the queue are claimed again, in line order.
        let again = try #require(try journal.claim(batch: "B", chipSerial: "C4", station: "S", reader: "R", lease: 60))
        #expect(again.line == claimed.line)
    }

    @Test("Retries: each call repeated after a lost answer is a no-op; ending an attempt another way is a conflict; a move that is no move is refused", arguments: JournalStore.allCases)
    func retries(store: JournalStore) throws {
        let (journal, _) = try store.open()
        try begin(journal, count: 2)
        let claim = try #require(try journal.claim(batch: "B", chipSerial: "C1", station: "S", reader: "R", lease: 60))
        try journal.advance(attempt: claim.attempt, to: .writing, lease: 60)
        try journal.advance(attempt: claim.attempt, to: .writing, lease: 60)
        try journal.advance(attempt: claim.attempt, to: .locked, lease: 60)
        try journal.advance(attempt: claim.attempt, to: .locked, lease: 60)
        try journal.finish(attempt: claim.attempt, .issued, reason: nil)
        try journal.finish(attempt: claim.attempt, .issued, reason: nil)
        #expect(try record(journal, 1).status == .issued)
        for ending in [AttemptPhase.spoiled, .interrupted] {
            do {
                try journal.finish(attempt: claim.attempt, ending, reason: "late")
                Issue.record("an issued attempt ended again as \(ending)")
            } catch let error as JournalError {
                #expect(error.kind == .conflict, "\(error)")
            }
        }
        #expect(try record(journal, 1).status == .issued && record(journal, 1).spoiledCount == 0)
        for move in [AttemptPhase.claimed, .issued, .spoiled, .interrupted] {
            #expect(throws: JournalError.self, "advance to \(move)") {
                try journal.advance(attempt: claim.attempt, to: move, lease: 60)
            }
        }
        let next = try #require(try journal.claim(batch: "B", chipSerial: "C2", station: "S", reader: "R", lease: 60))
        #expect(throws: JournalError.self) { try journal.finish(attempt: next.attempt, .locked, reason: nil) }
        #expect(throws: JournalError.self) { try journal.finish(attempt: 999_999, .issued, reason: nil) }
        // The chip counter never repeats.
        let numbers = try (0..<5).map { _ in try journal.nextChipNumber() }
        #expect(Set(numbers).count == 5 && numbers == numbers.sorted())
    }

    @Test("Spoil counts: each spoiled card charges its record (a retried spoil once); at the limit the record fails and leaves the queue", arguments: JournalStore.allCases)
    func spoilCounts(store: JournalStore) throws {
        let (journal, _) = try store.open(maxSpoiled: 3)
        try begin(journal, count: 1)
        for n in 1...3 {
            let claim = try #require(
                try journal.claim(batch: "B", chipSerial: "C\(n)", station: "S", reader: "R", lease: 60),
                "spoil \(n): the record left the queue early")
            try journal.advance(attempt: claim.attempt, to: .writing, lease: 60)
            try journal.finish(attempt: claim.attempt, .spoiled, reason: "UPDATE BINARY refused (6581)")
            try journal.finish(attempt: claim.attempt, .spoiled, reason: "UPDATE BINARY refused (6581)")
            let row = try record(journal, 1)
            #expect(row.spoiledCount == n && row.reason == "UPDATE BINARY refused (6581)")
            #expect(row.status == (n < 3 ? .pending : .failed))
        }
        #expect(try journal.claim(batch: "B", chipSerial: "C9", station: "S", reader: "R", lease: 60) == nil)
        #expect(try journal.stations(batch: "B").first?.spoiled == 3)
    }

    @Test("A stored value no version writes (an attempt phase, a chip status) is a typed error, never a guess", arguments: JournalStore.allCases)
    func unknownValues(store: JournalStore) throws {
        let (journal, poke) = try store.open()
        try begin(journal, count: 1)
        let claim = try #require(try journal.claim(batch: "B", chipSerial: "C1", station: "S", reader: "R", lease: 60))
        try poke("UPDATE attempt SET phase = 'hovering' WHERE id = \(claim.attempt)")
        #expect(throws: JournalError.self) { try journal.attempts(batch: "B", phases: nil, station: nil) }
        #expect(throws: JournalError.self) { try journal.finish(attempt: claim.attempt, .issued, reason: nil) }
        try poke("UPDATE chip SET status = 'melted' WHERE serial = 'C1'")
        #expect(throws: JournalError.self) { try journal.chip(serial: "C1") }
    }
}
