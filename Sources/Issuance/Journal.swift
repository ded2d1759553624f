import Foundation
import GRDB

/// Where a record stands.
public enum RecordStatus: String, Codable, Sendable, CaseIterable {
    /// Waiting for a card (or back in the queue after a spoiled or interrupted card).
    case pending
    /// Refused before any card was touched (validation).
    case rejected
    /// On exactly one card that passed its read-back.
    case issued
    /// Given up on: too many spoiled cards, or a preparation that cannot succeed.
    case failed
}

/// How an attempt (one record on one chip) ended, or where it is.
public enum AttemptPhase: String, Codable, Sendable {
    /// Claimed; nothing written to the chip yet.
    case claimed
    /// Writing: the chip may hold part of the record.
    case writing
    /// The lock was answered: the chip is an issued card, its read-back pending.
    case locked
    case issued
    case spoiled
    /// Ended without an outcome for the chip (the process died, the chip left untouched or never came back).
    case interrupted
}

/// One record of a batch as the journal knows it: never its content (no biometric data, no secret), only what
/// identifies it and where it stands.
public struct RecordRow: Codable, Sendable, Hashable {
    public var batchId: String
    public var line: Int
    public var idNumber: String?
    public var status: RecordStatus
    public var reason: String?
    public var chipSerial: String?
    public var spoiledCount: Int

    public init(
        batchId: String, line: Int, idNumber: String?, status: RecordStatus, reason: String?, chipSerial: String?,
        spoiledCount: Int
    ) {
        self.batchId = batchId
        self.line = line
        self.idNumber = idNumber
        self.status = status
        self.reason = reason
        self.chipSerial = chipSerial
        self.spoiledCount = spoiledCount
    }

    enum CodingKeys: String, CodingKey { case batchId, line, idNumber, status, reason, chipSerial, spoiledCount }

    /// Every key, null included: the JSON of `cccd journal` is a contract.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batchId, forKey: .batchId)
        try c.encode(line, forKey: .line)
        try c.encode(idNumber, forKey: .idNumber)
        try c.encode(status, forKey: .status)
        try c.encode(reason, forKey: .reason)
        try c.encode(chipSerial, forKey: .chipSerial)
        try c.encode(spoiledCount, forKey: .spoiledCount)
    }
}

/// An attempt (one record on one chip), as audits and recovery see it.
public struct AttemptRow: Codable, Sendable, Hashable {
    public var id: Int64
    public var batchId: String
    public var line: Int
    public var chipSerial: String
    public var station: String
    public var reader: String
    public var phase: AttemptPhase
    public var reason: String?
    public var startedAt: Date
    public var endedAt: Date?
    /// Until when the station holds the record (a claimed record whose lease ran out goes back to the queue).
    public var leaseUntil: Date?

    public init(
        id: Int64, batchId: String, line: Int, chipSerial: String, station: String, reader: String,
        phase: AttemptPhase, reason: String? = nil, startedAt: Date = Date(), endedAt: Date? = nil,
        leaseUntil: Date? = nil
    ) {
        self.id = id
        self.batchId = batchId
        self.line = line
        self.chipSerial = chipSerial
        self.station = station
        self.reader = reader
        self.phase = phase
        self.reason = reason
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.leaseUntil = leaseUntil
    }

    public var isOpen: Bool { AttemptPhase.open.contains(phase) }
}

/// An attempt still open (its process died): what recovery must account for.
public typealias OpenAttempt = AttemptRow

/// A claimed record: the attempt that now owns it.
public struct Claim: Sendable, Hashable {
    public var attempt: Int64
    public var line: Int

    public init(attempt: Int64, line: Int) {
        self.attempt = attempt
        self.line = line
    }
}

/// What the journal knows of one chip: its last status and the record it was last claimed for.
public struct ChipRow: Codable, Sendable, Hashable {
    public var serial: String
    public var status: ChipStatus
    public var batchId: String?
    public var line: Int?

    public init(serial: String, status: ChipStatus, batchId: String?, line: Int?) {
        self.serial = serial
        self.status = status
        self.batchId = batchId
        self.line = line
    }

    /// The chip carries an issued card: it must never be claimed (written) again.
    public var issued: Bool { status == .issued }
}

public struct BatchRow: Codable, Sendable, Hashable {
    public var id: String
    public var source: String
    public var profile: String
    public var createdAt: Date
    public var recordCount: Int

    public init(id: String, source: String, profile: String, createdAt: Date, recordCount: Int) {
        self.id = id
        self.source = source
        self.profile = profile
        self.createdAt = createdAt
        self.recordCount = recordCount
    }
}

/// Per-station figures for `cccd journal`.
public struct StationRow: Codable, Sendable, Hashable {
    public var station: String
    public var issued: Int
    public var spoiled: Int
    public var interrupted: Int
    public var open: Int
    /// The first attempt's start (its claim) and the last issued card's end: the span cards/min is taken over.
    public var firstStart: Date?
    public var lastEnd: Date?

    public init(
        station: String, issued: Int, spoiled: Int, interrupted: Int, open: Int, firstStart: Date?, lastEnd: Date?
    ) {
        self.station = station
        self.issued = issued
        self.spoiled = spoiled
        self.interrupted = interrupted
        self.open = open
        self.firstStart = firstStart
        self.lastEnd = lastEnd
    }

    /// Issued cards per minute over the station's working span.
    public var cardsPerMinute: Double? {
        guard let firstStart, let lastEnd, lastEnd > firstStart, issued > 0 else { return nil }
        return Double(issued) / lastEnd.timeIntervalSince(firstStart) * 60
    }
}

/// What a journal failure is, in the operator's terms.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The database cannot be reached (down, restarting, the connection dropped, busy): worth a retry.
        case unavailable
        /// The station no longer holds the record (its lease ran out and another station took it).
        case leaseLost
        /// Another process holds what was asked for (a station name in use, a record issued already).
        case conflict
        /// Anything else: a malformed journal, a wrong argument.
        case invalid
    }

    public let kind: Kind
    public let reason: String

    public init(_ reason: String, kind: Kind = .invalid) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "journal: \(reason)" }
}

/// Why a chip was spoiled, where the journal must tell the record's fault from the line's.
public enum SpoilReason {
    /// The line stopped (a crash, a kill) while the chip was being written: the chip is lost, but the record is
    /// not to blame, so it does not count towards giving the record up (a line killed again and again while
    /// writing the same record must not fail that citizen's record).
    public static let interrupted = "interrupted while being written (the line stopped): not the record's fault"
    /// The same for a chip that makes its own keys: it may hold keys it made but is not locked, so it is spoiled
    /// (its public keys are in no signed EF.SOD; it is never issued half-made).
    public static let interruptedWithChipKeys =
        "interrupted while being written (the line stopped): the chip may hold keys it made itself but was never locked; spoiled, not the record's fault"

    /// Whether a spoil reason is the line's stop rather than the record's fault.
    public static func isInterruption(_ reason: String?) -> Bool {
        reason == interrupted || reason == interruptedWithChipKeys
    }
}

extension AttemptPhase {
    /// Phases in which an attempt still owns its record.
    public static let open: Set<AttemptPhase> = [.claimed, .writing, .locked]
}

/// The line's memory (DESIGN.md, "Journal"): batches, records, chips, attempts, events and stations. Each record
/// ends as exactly one issued card, or rejected or failed with a reason; an attempt is written before the first
/// command that touches a chip, so a crash always leaves a trace to recover from. Every call is a transaction of
/// its own; claiming is atomic across processes and machines; every call is safe to retry after an `unavailable`
/// error (a commit whose answer was lost is found done).
public protocol PersoJournal: AnyObject, Sendable {
    /// Registers a batch (or finds it again, by its id) with its records; rejected ones carry their reasons.
    func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)]) throws
    /// The attempts of a batch, oldest first: all, or only those in `phases`, or only one station's.
    func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow]
    /// Atomically takes the next pending record for `chipSerial` in `station`'s `reader`, for `lease` seconds, or
    /// nil when none is left. Claimed records of other stations whose lease ran out before any write go back to the
    /// queue first.
    func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval) throws
        -> Claim?
    /// Moves an attempt on: `writing` only from `claimed` (a station whose lease ran out and lost the record gets
    /// `leaseLost` and must not touch the chip), `locked` only from `writing`; renews the lease.
    func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws
    /// Ends an attempt: issued (the record is done), spoiled (the record goes back, or fails after too many),
    /// interrupted (the record goes back), with the reason. Ending it again the same way is a no-op.
    func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws
    /// Gives up on a record (its preparation cannot succeed).
    func fail(batch: String, line: Int, reason: String) throws
    func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws
    /// A number for the next emulated chip (serials never repeat across runs and stations).
    func nextChipNumber() throws -> Int
    func records(batch: String?) throws -> [RecordRow]
    /// The chip with this serial, if the journal has seen it.
    func chip(serial: String) throws -> ChipRow?
    func batches() throws -> [BatchRow]
    func stations(batch: String?) throws -> [StationRow]
    /// Registers a station process under `name` (one at a time): refused (`conflict`) while another process with
    /// that name has been seen within `lease` seconds, unless it is this host's and no longer runs.
    func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws
    /// The station's heartbeat.
    func heartbeat(station name: String, host: String, pid: Int) throws
    /// Lets the name go (a station that ends cleanly).
    func unregister(station name: String, host: String, pid: Int) throws
    /// Every issued record of these citizens (ID numbers), in any batch: the per-citizen guarantee's lookup.
    func issuedRecords(idNumbers: [String]) throws -> [RecordRow]
    /// Refuses a pending record (or one refused before), with its reason: no card is made for it. A record allowed
    /// a reissue stays allowed.
    func refuse(batch: String, line: Int, reason: String) throws
    /// Lets a record whose citizen holds a card already be issued once more, for `reason` (kept on the record, on
    /// its attempts and as an event). A record refused as `record.alreadyIssued` goes back to the queue.
    func allowReissue(batch: String, line: Int, reason: String) throws
    /// One citizen across every batch: each record of that ID number, its batch and its attempts.
    func citizen(idNumber: String) throws -> [CitizenRecordHistory]
}

/// One record of a citizen, where it stands and every chip it went to (`cccd journal --id`).
public struct CitizenRecordHistory: Codable, Sendable, Hashable {
    public var record: RecordRow
    /// The batch's file name.
    public var batchSource: String?
    public var batchCreatedAt: Date?
    /// When the record last changed.
    public var updatedAt: Date?
    /// Why the citizen got another card (`--reissue`), if this record is a reissue.
    public var reissue: String?
    /// Every attempt of the record, oldest first: issued, spoiled (with the reason), interrupted, in work.
    public var attempts: [AttemptRow]

    public init(
        record: RecordRow, batchSource: String?, batchCreatedAt: Date?, updatedAt: Date?, reissue: String?,
        attempts: [AttemptRow]
    ) {
        self.record = record
        self.batchSource = batchSource
        self.batchCreatedAt = batchCreatedAt
        self.updatedAt = updatedAt
        self.reissue = reissue
        self.attempts = attempts
    }
}

/// The reason codes of records the per-citizen rule refuses.
public enum CitizenRule {
    /// One ID number on two lines of one batch: both are refused.
    public static let duplicateID = "record.duplicateId"
    /// The citizen holds a card from an earlier record (any batch): refused unless reissued with a reason.
    public static let alreadyIssued = "record.alreadyIssued"

    /// The refusal of a record whose citizen holds `card`.
    public static func alreadyIssuedReason(_ card: RecordRow) -> String {
        "\(alreadyIssued): ID number \(card.idNumber ?? "?") is issued already (batch \(card.batchId), line \(card.line), chip \(card.chipSerial ?? "?")); give --reissue REASON to issue another card"
    }
}

extension PersoJournal {
    /// A claimed record's default lease: far longer than preparing a card takes.
    public static var defaultLease: TimeInterval { 60 }

    public func openAttempts(batch: String, station: String? = nil) throws -> [OpenAttempt] {
        try attempts(batch: batch, phases: AttemptPhase.open, station: station)
    }

    public func claim(batch: String, chipSerial: String, station: String, reader: String) throws -> Claim? {
        try claim(batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: 60)
    }

    public func advance(attempt: Int64, to phase: AttemptPhase) throws {
        try advance(attempt: attempt, to: phase, lease: 60)
    }

    public func batch(id: String) throws -> BatchRow? { try batches().first { $0.id == id } }

    /// How many issued attempts each line has (audits and tests: never more than one).
    public func issuedAttemptsPerRecord(batch: String) throws -> [Int: Int] {
        var out: [Int: Int] = [:]
        for a in try attempts(batch: batch, phases: [.issued], station: nil) { out[a.line, default: 0] += 1 }
        return out
    }
}

/// Whether process `pid` runs on this host.
public func processRuns(_ pid: Int) -> Bool {
    guard pid > 0, pid <= Int(Int32.max) else { return false }
    return kill(Int32(pid), 0) == 0 || errno == EPERM
}

// The journal's enums are database values (stored as their raw strings; an unknown one fails to decode, never
// guessed) and its rows are fetched by column name from their Codable keys.
extension RecordStatus: DatabaseValueConvertible {}
extension AttemptPhase: DatabaseValueConvertible {}
extension ChipStatus: DatabaseValueConvertible {}
extension RecordRow: FetchableRecord {}
extension AttemptRow: FetchableRecord {}
extension ChipRow: FetchableRecord {}
extension BatchRow: FetchableRecord {}
extension StationRow: FetchableRecord {}

/// The embedded journal: one SQLite file in WAL mode through GRDB, the schema from `JournalSchema` through GRDB's
/// migrator. Several processes on one machine may share it (SQLite's locks make each call atomic).
public final class SQLiteJournal: PersoJournal, @unchecked Sendable {
    let db: DatabaseQueue
    /// Spoiled cards after which a record is given up on.
    public let maxSpoiled: Int

    public init(path: String, maxSpoiled: Int = 3) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            db = try DatabaseQueue(path: path, configuration: config)
            try db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            // Two processes opening a new journal at once race the migration: the loser's attempt fails (a table
            // exists already, or the database is busy) and, tried again, finds the schema in place.
            for attempt in 1...20 {
                do {
                    try Self.migrator.migrate(db)
                    break
                } catch where attempt < 20 {
                    Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
                }
            }
        } catch {
            throw JournalError("cannot open \(path): \(error)", kind: Self.isBusy(error) ? .unavailable : .invalid)
        }
        self.maxSpoiled = maxSpoiled
    }

    /// The schema's migrations, rendered for SQLite.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for migration in JournalSchema.migrations {
            let statements = migration.statements(.sqlite)
            m.registerMigration(migration.id) { db in
                for sql in statements { try db.execute(sql: sql) }
            }
        }
        return m
    }

    static func isBusy(_ error: any Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.write(body)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError("\(error)", kind: Self.isBusy(error) ? .unavailable : .invalid)
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.read(body)
        } catch {
            throw JournalError("\(error)", kind: Self.isBusy(error) ? .unavailable : .invalid)
        }
    }

    public func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)])
        throws
    {
        try write { db in
            if let existing = try Row.fetchOne(
                db, sql: "SELECT recordCount FROM batch WHERE id = ?", arguments: [batch.id])
            {
                let count: Int = existing["recordCount"]
                guard count == records.count else {
                    throw JournalError("batch \(batch.id) was begun with \(count) records, not \(records.count)")
                }
                return
            }
            try db.execute(
                sql: "INSERT INTO batch (id, source, profile, createdAt, recordCount) VALUES (?, ?, ?, ?, ?)",
                arguments: [batch.id, batch.source, batch.profile, batch.createdAt, batch.recordCount])
            let now = Date()
            for r in records {
                try db.execute(
                    sql: """
                        INSERT INTO record (batchId, line, idNumber, recordHash, status, reason, updatedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        batch.id, r.line, r.idNumber, r.hash,
                        (r.rejection == nil ? RecordStatus.pending : .rejected).rawValue, r.rejection, now,
                    ])
            }
        }
    }

    public func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        try read { db in
            var sql = "SELECT \(Self.attemptColumns) FROM attempt WHERE batchId = ?"
            var arguments: [any DatabaseValueConvertible] = [batch]
            if let phases {
                sql += " AND phase IN (\(phases.map { _ in "?" }.joined(separator: ", ")))"
                arguments += phases.sorted { $0.rawValue < $1.rawValue } as [AttemptPhase]
            }
            if let station {
                sql += " AND station = ?"
                arguments.append(station)
            }
            return try AttemptRow.fetchAll(db, sql: sql + " ORDER BY id", arguments: StatementArguments(arguments))
        }
    }

    static let attemptColumns =
        "id, batchId, line, chipSerial, station, reader, phase, reason, startedAt, endedAt, leaseUntil"

    static let recordColumns = "batchId, line, idNumber, status, reason, chipSerial, spoiledCount"

    public func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval)
        throws -> Claim?
    {
        try write { db in
            let now = Date()
            // Records claimed by a station that died before writing: back to the queue.
            try db.execute(
                sql: """
                    UPDATE attempt SET phase = 'interrupted', endedAt = ?,
                        reason = 'the lease ran out before any write (the station stopped): the record went back'
                    WHERE batchId = ? AND phase = 'claimed' AND leaseUntil IS NOT NULL AND leaseUntil < ?
                    """, arguments: [now, batch, now])
            // The next pending record no attempt holds, whose citizen has no card in work anywhere; a citizen who
            // holds a card already (another record, any batch) is refused here, unless this record is a reissue.
            var next: (line: Int, idNumber: String?, reissue: String?)? = nil
            while next == nil {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT r.line, r.idNumber, r.reissue FROM record r
                            WHERE r.batchId = ? AND r.status = 'pending'
                                AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.batchId = r.batchId AND a.line = r.line
                                    AND a.\(JournalSchema.openPhases))
                                AND (r.idNumber IS NULL OR NOT EXISTS (SELECT 1 FROM attempt a
                                    WHERE a.idNumber = r.idNumber AND a.\(JournalSchema.openPhases)))
                            ORDER BY r.line LIMIT 1
                            """, arguments: [batch])
                else { return nil }
                let candidate: (line: Int, idNumber: String?, reissue: String?) = (
                    row["line"], row["idNumber"], row["reissue"]
                )
                if let id = candidate.idNumber, candidate.reissue == nil,
                    let card = try RecordRow.fetchOne(
                        db,
                        sql: """
                            SELECT \(Self.recordColumns) FROM record
                            WHERE idNumber = ? AND status = 'issued' AND NOT (batchId = ? AND line = ?) LIMIT 1
                            """, arguments: [id, batch, candidate.line])
                {
                    try db.execute(
                        sql: "UPDATE record SET status = 'rejected', reason = ?, updatedAt = ? WHERE batchId = ? AND line = ?",
                        arguments: [CitizenRule.alreadyIssuedReason(card), now, batch, candidate.line])
                    continue
                }
                next = candidate
            }
            guard let (line, idNumber, reissue) = next else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO attempt (batchId, line, chipSerial, station, reader, startedAt, phase, leaseUntil,
                        idNumber, reissue)
                    VALUES (?, ?, ?, ?, ?, ?, 'claimed', ?, ?, ?)
                    """,
                arguments: [
                    batch, line, chipSerial, station, reader, now, now.addingTimeInterval(lease), idNumber, reissue,
                ])
            let attempt = db.lastInsertedRowID
            try db.execute(
                sql: """
                    INSERT INTO chip (serial, status, batchId, line, reader, updatedAt) VALUES (?, 'claimed', ?, ?, ?, ?)
                    ON CONFLICT(serial) DO UPDATE SET status = 'claimed', batchId = excluded.batchId,
                        line = excluded.line, reader = excluded.reader, updatedAt = excluded.updatedAt
                    """, arguments: [chipSerial, batch, line, reader, now])
            return Claim(attempt: attempt, line: line)
        }
    }

    public func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        let from = try AttemptStateMachine.sources(advancingTo: phase)
        try write { db in
            try db.execute(
                sql: "UPDATE attempt SET phase = ?, leaseUntil = ? WHERE id = ? AND phase IN (?, ?)",
                arguments: [phase, Date().addingTimeInterval(lease), attempt, from[0], from[1]])
            guard db.changesCount == 1 else {
                throw JournalError(
                    "attempt \(attempt) no longer holds its record (its lease ran out and the record went back)",
                    kind: .leaseLost)
            }
        }
    }

    public func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        let maxSpoiled = self.maxSpoiled
        try write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT batchId, line, chipSerial, phase FROM attempt WHERE id = ?", arguments: [attempt])
            else { throw JournalError("no attempt \(attempt)") }
            let (batch, line, serial): (String, Int, String) = (row["batchId"], row["line"], row["chipSerial"])
            let current = try AttemptPhase(stored: row["phase"])
            guard
                let record = try RecordRow.fetchOne(
                    db, sql: "SELECT \(Self.recordColumns) FROM record WHERE batchId = ? AND line = ?",
                    arguments: [batch, line])
            else { throw JournalError("attempt \(attempt) names record \(line) of batch \(batch), which is not there") }
            guard
                let ending = try AttemptStateMachine.finish(
                    attempt: attempt, current: current, as: phase, reason: reason, chipSerial: serial, record: record,
                    maxSpoiled: maxSpoiled)
            else { return }
            let now = Date()
            try db.execute(
                sql: "UPDATE attempt SET phase = ?, reason = ?, endedAt = ? WHERE id = ?",
                arguments: [ending.phase, reason, now, attempt])
            if let after = ending.record {
                try db.execute(
                    sql: """
                        UPDATE record SET status = ?, reason = ?, chipSerial = ?, spoiledCount = ?, updatedAt = ?
                        WHERE batchId = ? AND line = ?
                        """,
                    arguments: [after.status, after.reason, after.chipSerial, after.spoiledCount, now, batch, line])
            }
            try db.execute(
                sql: "UPDATE chip SET status = ?, updatedAt = ? WHERE serial = ?", arguments: [ending.chip, now, serial])
        }
    }

    public func fail(batch: String, line: Int, reason: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE record SET status = 'failed', reason = ?, updatedAt = ?
                    WHERE batchId = ? AND line = ? AND status = 'pending'
                    """,
                arguments: [reason, Date(), batch, line])
        }
    }

    public func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO event (at, batchId, line, chipSerial, reader, kind, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [Date(), batch, line, chip, reader, kind, detail])
        }
    }

    public func nextChipNumber() throws -> Int {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO counter (name, value) VALUES ('chip', 1)
                    ON CONFLICT(name) DO UPDATE SET value = value + 1
                    """)
            return try Int.fetchOne(db, sql: "SELECT value FROM counter WHERE name = 'chip'") ?? 1
        }
    }

    public func records(batch: String?) throws -> [RecordRow] {
        try read { db in
            let sql =
                "SELECT \(Self.recordColumns) FROM record"
                + (batch == nil ? "" : " WHERE batchId = ?") + " ORDER BY batchId, line"
            return try RecordRow.fetchAll(db, sql: sql, arguments: StatementArguments(batch.map { [$0] } ?? []))
        }
    }

    public func issuedRecords(idNumbers: [String]) throws -> [RecordRow] {
        try read { db in
            var out: [RecordRow] = []
            var start = 0
            let ids = Array(Set(idNumbers)).sorted()
            while start < ids.count {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                start += chunk.count
                out += try RecordRow.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.recordColumns) FROM record
                        WHERE status = 'issued' AND idNumber IN (\(chunk.map { _ in "?" }.joined(separator: ", ")))
                        ORDER BY batchId, line
                        """, arguments: StatementArguments(chunk))
            }
            return out
        }
    }

    public func refuse(batch: String, line: Int, reason: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE record SET status = 'rejected', reason = ?, updatedAt = ?
                    WHERE batchId = ? AND line = ? AND status IN ('pending', 'rejected') AND reissue IS NULL
                    """, arguments: [reason, Date(), batch, line])
        }
    }

    public func allowReissue(batch: String, line: Int, reason: String) throws {
        try write { db in
            let now = Date()
            try db.execute(
                sql: """
                    UPDATE record SET reissue = ?, updatedAt = ?,
                        status = CASE WHEN status = 'rejected' AND reason LIKE '\(CitizenRule.alreadyIssued)%'
                            THEN 'pending' ELSE status END,
                        reason = CASE WHEN status = 'rejected' AND reason LIKE '\(CitizenRule.alreadyIssued)%'
                            THEN NULL ELSE reason END
                    WHERE batchId = ? AND line = ? AND status IN ('pending', 'rejected')
                        AND (reissue IS NULL OR reissue <> ?)
                    """, arguments: [reason, now, batch, line, reason])
            guard db.changesCount == 1 else { return }
            try db.execute(
                sql: "INSERT INTO event (at, batchId, line, kind, detail) VALUES (?, ?, ?, 'reissue', ?)",
                arguments: [now, batch, line, reason])
        }
    }

    public func citizen(idNumber: String) throws -> [CitizenRecordHistory] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.batchId, r.line, r.idNumber, r.status, r.reason, r.chipSerial, r.spoiledCount,
                        r.updatedAt, r.reissue, b.source, b.createdAt
                    FROM record r LEFT JOIN batch b ON b.id = r.batchId WHERE r.idNumber = ?
                    ORDER BY b.createdAt, r.batchId, r.line
                    """, arguments: [idNumber])
            return try rows.map { row in
                let record = try RecordRow(row: row)
                let attempts = try AttemptRow.fetchAll(
                    db,
                    sql: "SELECT \(Self.attemptColumns) FROM attempt WHERE batchId = ? AND line = ? ORDER BY id",
                    arguments: [record.batchId, record.line])
                return CitizenRecordHistory(
                    record: record, batchSource: row["source"], batchCreatedAt: row["createdAt"],
                    updatedAt: row["updatedAt"], reissue: row["reissue"], attempts: attempts)
            }
        }
    }

    public func chip(serial: String) throws -> ChipRow? {
        try read { db in
            try ChipRow.fetchOne(
                db, sql: "SELECT serial, status, batchId, line FROM chip WHERE serial = ?", arguments: [serial])
        }
    }

    public func batches() throws -> [BatchRow] {
        try read { db in
            try BatchRow.fetchAll(
                db, sql: "SELECT id, source, profile, createdAt, recordCount FROM batch ORDER BY createdAt")
        }
    }

    public func stations(batch: String?) throws -> [StationRow] {
        try read { db in
            let sql = """
                SELECT station,
                    SUM(phase = 'issued') AS issued, SUM(phase = 'spoiled') AS spoiled,
                    SUM(phase = 'interrupted') AS interrupted, SUM(\(JournalSchema.openPhases)) AS open,
                    MIN(startedAt) AS firstStart, MAX(CASE WHEN phase = 'issued' THEN endedAt END) AS lastEnd
                FROM attempt \(batch == nil ? "" : "WHERE batchId = ?") GROUP BY station ORDER BY station
                """
            return try StationRow.fetchAll(db, sql: sql, arguments: StatementArguments(batch.map { [$0] } ?? []))
        }
    }

    public func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        try write { db in
            let now = Date()
            if let row = try Row.fetchOne(
                db, sql: "SELECT host, pid, seenAt FROM station WHERE name = ?", arguments: [name])
            {
                let (otherHost, otherPID, seen): (String, Int, Date) = (row["host"], row["pid"], row["seenAt"])
                let isMe = otherHost == host && otherPID == pid
                let dead = otherHost == host && !processRuns(otherPID)
                if !isMe && !dead && now.timeIntervalSince(seen) < lease {
                    throw JournalError(
                        "station \(name) is running (host \(otherHost), process \(otherPID), seen \(Int(now.timeIntervalSince(seen))) s ago): give this one another --station name",
                        kind: .conflict)
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO station (name, host, pid, startedAt, seenAt) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                        startedAt = excluded.startedAt, seenAt = excluded.seenAt
                    """, arguments: [name, host, pid, now, now])
        }
    }

    public func heartbeat(station name: String, host: String, pid: Int) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE station SET seenAt = ? WHERE name = ? AND host = ? AND pid = ?",
                arguments: [Date(), name, host, pid])
        }
    }

    public func unregister(station name: String, host: String, pid: Int) throws {
        try write { db in
            try db.execute(
                sql: "DELETE FROM station WHERE name = ? AND host = ? AND pid = ?", arguments: [name, host, pid])
        }
    }
}
