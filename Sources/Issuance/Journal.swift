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

/// An attempt still open (its process died): what recovery must account for.
public struct OpenAttempt: Sendable, Hashable {
    public var id: Int64
    public var batchId: String
    public var line: Int
    public var chipSerial: String
    public var station: String
    public var reader: String
    public var phase: AttemptPhase
}

/// A claimed record: the attempt that now owns it.
public struct Claim: Sendable, Hashable {
    public var attempt: Int64
    public var line: Int
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
}

/// What a journal failure is, in the operator's terms.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "journal: \(reason)" }
}

/// The line's memory (DESIGN.md, "Journal"): batches, records, chips, attempts and events. Each record ends as
/// exactly one issued card, or rejected or failed with a reason; an attempt is written before the first command
/// that touches a chip, so a crash always leaves a trace to recover from. Nothing here assumes one process or
/// SQLite: every call is a transaction of its own, and claiming is atomic.
public protocol PersoJournal: AnyObject, Sendable {
    /// Registers a batch (or finds it again, by its id) with its records; rejected ones carry their reasons.
    func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)]) throws
    /// Attempts that never ended (a previous run died), oldest first.
    func openAttempts(batch: String) throws -> [OpenAttempt]
    /// Atomically takes the next pending record for `chipSerial` in `reader`, or nil when none is left.
    func claim(batch: String, chipSerial: String, station: String, reader: String) throws -> Claim?
    /// Moves an attempt on (writing, locked).
    func advance(attempt: Int64, to phase: AttemptPhase) throws
    /// Ends an attempt: issued (the record is done), spoiled (the record goes back, or fails after too many),
    /// interrupted (the record goes back), with the reason.
    func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws
    /// Gives up on a record (its preparation cannot succeed).
    func fail(batch: String, line: Int, reason: String) throws
    func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws
    /// A number for the next emulated chip (serials never repeat across runs).
    func nextChipNumber() throws -> Int
    func records(batch: String?) throws -> [RecordRow]
    func batches() throws -> [BatchRow]
    func stations(batch: String?) throws -> [StationRow]
}

/// The embedded journal: one SQLite file in WAL mode through GRDB; the schema comes from a migrator.
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
            try Self.migrator.migrate(db)
        } catch {
            throw JournalError("cannot open \(path): \(error)")
        }
        self.maxSpoiled = maxSpoiled
    }

    /// The schema, one migration per version.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE batch (
                        id TEXT PRIMARY KEY, source TEXT NOT NULL, profile TEXT NOT NULL,
                        createdAt DATETIME NOT NULL, recordCount INTEGER NOT NULL);
                    CREATE TABLE record (
                        batchId TEXT NOT NULL REFERENCES batch(id), line INTEGER NOT NULL, idNumber TEXT,
                        recordHash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, chipSerial TEXT,
                        spoiledCount INTEGER NOT NULL DEFAULT 0, updatedAt DATETIME NOT NULL,
                        PRIMARY KEY (batchId, line));
                    CREATE TABLE chip (
                        serial TEXT PRIMARY KEY, status TEXT NOT NULL, batchId TEXT, line INTEGER, reader TEXT,
                        updatedAt DATETIME NOT NULL);
                    CREATE TABLE attempt (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, batchId TEXT NOT NULL, line INTEGER NOT NULL,
                        chipSerial TEXT NOT NULL, station TEXT NOT NULL, reader TEXT NOT NULL,
                        startedAt DATETIME NOT NULL, endedAt DATETIME, phase TEXT NOT NULL, reason TEXT);
                    CREATE UNIQUE INDEX attemptIssuedOnce ON attempt(batchId, line) WHERE phase = 'issued';
                    CREATE UNIQUE INDEX attemptOneOpen ON attempt(batchId, line)
                        WHERE phase IN ('claimed', 'writing', 'locked');
                    CREATE TABLE event (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME NOT NULL, batchId TEXT, line INTEGER,
                        chipSerial TEXT, reader TEXT, kind TEXT NOT NULL, detail TEXT NOT NULL);
                    CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    """)
        }
        return m
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.write(body)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError("\(error)")
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.read(body)
        } catch {
            throw JournalError("\(error)")
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

    public func openAttempts(batch: String) throws -> [OpenAttempt] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, batchId, line, chipSerial, station, reader, phase FROM attempt
                    WHERE batchId = ? AND phase IN ('claimed', 'writing', 'locked') ORDER BY id
                    """, arguments: [batch]
            ).map {
                OpenAttempt(
                    id: $0["id"], batchId: $0["batchId"], line: $0["line"], chipSerial: $0["chipSerial"],
                    station: $0["station"], reader: $0["reader"],
                    phase: AttemptPhase(rawValue: $0["phase"]) ?? .writing)
            }
        }
    }

    public func claim(batch: String, chipSerial: String, station: String, reader: String) throws -> Claim? {
        try write { db in
            guard
                let line = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT line FROM record WHERE batchId = ? AND status = 'pending' AND line NOT IN (
                            SELECT line FROM attempt WHERE batchId = ? AND phase IN ('claimed', 'writing', 'locked'))
                        ORDER BY line LIMIT 1
                        """, arguments: [batch, batch])
            else { return nil }
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO attempt (batchId, line, chipSerial, station, reader, startedAt, phase)
                    VALUES (?, ?, ?, ?, ?, ?, 'claimed')
                    """, arguments: [batch, line, chipSerial, station, reader, now])
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

    public func advance(attempt: Int64, to phase: AttemptPhase) throws {
        try write { db in
            try db.execute(sql: "UPDATE attempt SET phase = ? WHERE id = ?", arguments: [phase.rawValue, attempt])
        }
    }

    public func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        try write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT batchId, line, chipSerial, phase FROM attempt WHERE id = ?", arguments: [attempt])
            else { throw JournalError("no attempt \(attempt)") }
            let batch: String = row["batchId"]
            let line: Int = row["line"]
            let serial: String = row["chipSerial"]
            let now = Date()
            try db.execute(
                sql: "UPDATE attempt SET phase = ?, reason = ?, endedAt = ? WHERE id = ?",
                arguments: [phase.rawValue, reason, now, attempt])
            switch phase {
            case .issued:
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM record WHERE batchId = ? AND line = ?", arguments: [batch, line])
                guard status != RecordStatus.issued.rawValue else {
                    throw JournalError("record \(line) of batch \(batch) is issued already")
                }
                try db.execute(
                    sql: """
                        UPDATE record SET status = 'issued', reason = NULL, chipSerial = ?, updatedAt = ?
                        WHERE batchId = ? AND line = ?
                        """, arguments: [serial, now, batch, line])
                try db.execute(
                    sql: "UPDATE chip SET status = 'issued', updatedAt = ? WHERE serial = ?", arguments: [now, serial])
            case .spoiled:
                try db.execute(
                    sql: """
                        UPDATE record SET spoiledCount = spoiledCount + 1, reason = ?, updatedAt = ?,
                            status = CASE WHEN spoiledCount + 1 >= ? THEN 'failed' ELSE status END
                        WHERE batchId = ? AND line = ? AND status = 'pending'
                        """, arguments: [reason, now, maxSpoiled, batch, line])
                try db.execute(
                    sql: "UPDATE chip SET status = 'spoiled', updatedAt = ? WHERE serial = ?", arguments: [now, serial])
            case .interrupted:
                try db.execute(
                    sql: "UPDATE chip SET status = 'untouched', updatedAt = ? WHERE serial = ?",
                    arguments: [now, serial])
            default:
                throw JournalError("an attempt cannot end as \(phase.rawValue)")
            }
        }
    }

    public func fail(batch: String, line: Int, reason: String) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE record SET status = 'failed', reason = ?, updatedAt = ? WHERE batchId = ? AND line = ?",
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
                "SELECT batchId, line, idNumber, status, reason, chipSerial, spoiledCount FROM record"
                + (batch == nil ? "" : " WHERE batchId = ?") + " ORDER BY batchId, line"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(batch.map { [$0] } ?? [])).map {
                RecordRow(
                    batchId: $0["batchId"], line: $0["line"], idNumber: $0["idNumber"],
                    status: RecordStatus(rawValue: $0["status"]) ?? .pending, reason: $0["reason"],
                    chipSerial: $0["chipSerial"], spoiledCount: $0["spoiledCount"])
            }
        }
    }

    public func batches() throws -> [BatchRow] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, source, profile, createdAt, recordCount FROM batch ORDER BY createdAt"
            )
            .map {
                BatchRow(
                    id: $0["id"], source: $0["source"], profile: $0["profile"], createdAt: $0["createdAt"],
                    recordCount: $0["recordCount"])
            }
        }
    }

    public func stations(batch: String?) throws -> [StationRow] {
        try read { db in
            let sql = """
                SELECT station,
                    SUM(phase = 'issued') AS issued, SUM(phase = 'spoiled') AS spoiled,
                    SUM(phase = 'interrupted') AS interrupted, SUM(phase IN ('claimed', 'writing', 'locked')) AS open
                FROM attempt \(batch == nil ? "" : "WHERE batchId = ?") GROUP BY station ORDER BY station
                """
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(batch.map { [$0] } ?? [])).map {
                StationRow(
                    station: $0["station"], issued: $0["issued"], spoiled: $0["spoiled"],
                    interrupted: $0["interrupted"], open: $0["open"])
            }
        }
    }

    /// Every attempt's phase per record (for tests and audits): how many issued attempts each line has.
    public func issuedAttemptsPerRecord(batch: String) throws -> [Int: Int] {
        try read { db in
            var out: [Int: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT line, COUNT(*) AS n FROM attempt WHERE batchId = ? AND phase = 'issued' GROUP BY line",
                arguments: [batch])
            {
                out[row["line"]] = row["n"]
            }
            return out
        }
    }
}
