import CardCore
import Dispatch
import Foundation
import Issuance
import Logging
import PostgresNIO

/// Where a PostgreSQL journal lives: `postgres://user[:password]@host[:port]/database` (or `postgresql://`). The
/// password comes from the URL or from `PGPASSWORD`; it never appears in a message (`redacted`).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    /// Whether a `--journal` argument names a PostgreSQL journal (else it is an SQLite file path).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isURL(text), let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw JournalError("not a PostgreSQL URL (postgres://user@host[:port]/database)")
        }
        guard let user = url.user, !user.isEmpty else {
            throw JournalError("the PostgreSQL URL names no user (postgres://USER@host/database)")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw JournalError("the PostgreSQL URL names no database (postgres://user@host/DATABASE)")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        password = url.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
    }

    /// The location without its password.
    public var redacted: String { "postgres://\(user)@\(host):\(port)/\(database)" }
    public var description: String { redacted }
}

/// The journal on PostgreSQL, shared by every station of a line (DESIGN.md, "Journal"): the same schema as the
/// SQLite journal (`JournalSchema`, migrated under an advisory lock so that stations starting together do not race),
/// records claimed with `FOR UPDATE SKIP LOCKED` and leases timed by the database's clock. Every call is one
/// transaction; a call that cannot reach the database within `timeout` seconds, or loses its connection, fails
/// `unavailable` (the line retries it: `ResilientJournal`). PostgresNIO's pool reconnects by itself when the
/// server is back.
public final class PostgresJournal: PersoJournal, @unchecked Sendable {
    public let location: PostgresLocation
    public let maxSpoiled: Int
    public let timeout: TimeInterval
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger = Logger(label: "cccd.journal.postgres")

    public init(url: String, maxSpoiled: Int = 3, timeout: TimeInterval = 15) throws {
        location = try PostgresLocation(url: url)
        self.maxSpoiled = maxSpoiled
        self.timeout = timeout
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration)
        self.client = client
        runner = Task(executorPreference: Self.executor) { await client.run() }
        try probe()
        try migrate()
    }

    /// One direct connection first: a server that is down, a wrong password or a missing database is said at once
    /// and in its own words (the pool would only keep trying until the timeout).
    func probe() throws {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        let location = self.location
        let fixed = configuration
        try run("connecting to \(location)") { _, logger in
            let connection = try await PostgresConnection.connect(configuration: fixed, id: 1, logger: logger)
            try await connection.close()
        }
    }

    deinit { runner.cancel() }

    /// The threads the bridge's tasks run on: never the shared task pool, which a caller blocked in `run` may be
    /// holding (a synchronous journal call made from async code would otherwise wait for itself until its timeout).
    static let executor = ThreadExecutor(threads: 2, name: "cccd-journal-postgres")

    // MARK: The bridge: the journal's interface is synchronous (station threads), PostgresNIO's is async.

    final class Outcome<T>: @unchecked Sendable { var value: Result<T, any Error>? }

    func run<T>(_ what: String, _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        let (client, logger) = (self.client, self.logger)
        let task = Task(executorPreference: Self.executor) {
            do { outcome.value = .success(try await body(client, logger)) } catch { outcome.value = .failure(error) }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            task.cancel()
            throw JournalError(
                "\(what): no answer from \(location) in \(Int(timeout)) s", kind: .unavailable)
        }
        switch outcome.value {
        case .success(let value): return value
        case .failure(let error): throw Self.journalError(error, what, location)
        case nil: throw JournalError("\(what): no outcome", kind: .unavailable)
        }
    }

    /// A PostgreSQL or connection failure in the operator's terms (never a password, never a record's content).
    static func journalError(_ error: any Error, _ what: String, _ location: PostgresLocation) -> JournalError {
        if let error = error as? JournalError { return error }
        if let error = error as? PostgresTransactionError {
            return journalError(
                error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error, what,
                location)
        }
        guard let error = error as? PSQLError else {
            if error is CancellationError {
                return JournalError("\(what): cancelled (no answer in time)", kind: .unavailable)
            }
            return JournalError("\(what): \(location): \(error)", kind: .unavailable)
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?"
            let message = error.serverInfo?[.message] ?? "server error"
            let kind: JournalError.Kind
            switch state {
            case "23505": kind = .conflict  // unique violation: another station won a race
            case "40001", "40P01", "53300", "55P03": kind = .unavailable  // serialization, deadlock, too many, lock
            case _ where state.hasPrefix("08") || state.hasPrefix("57P"): kind = .unavailable  // connection, shutdown
            default: kind = .invalid
            }
            return JournalError("\(what): \(message) (SQLSTATE \(state))", kind: kind)
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .queryCancelled:
            return JournalError("\(what): the database cannot be reached (\(error.code))", kind: .unavailable)
        default:
            return JournalError("\(what): \(location): \(error.code)", kind: .invalid)
        }
    }

    // MARK: Schema

    static let migrationLock: Int64 = 0x4343_4344_4A52_4E4C  // "CCCDJRNL"

    func migrate() throws {
        let migrations = JournalSchema.migrations
        try run("migrating the journal") { client, logger in
            try await client.withTransaction(logger: logger) { c in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await c.query(
                    "CREATE TABLE IF NOT EXISTS cccd_migrations (id TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL)",
                    logger: logger)
                var applied: Set<String> = []
                for try await id in try await c.query("SELECT id FROM cccd_migrations", logger: logger).decode(
                    String.self)
                {
                    applied.insert(id)
                }
                for m in migrations where !applied.contains(m.id) {
                    for sql in m.statements(.postgres) {
                        try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    }
                    try await c.query(
                        "INSERT INTO cccd_migrations (id, appliedAt) VALUES (\(m.id), now())", logger: logger)
                }
            }
        }
    }

    // MARK: PersoJournal

    public func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)])
        throws
    {
        let rows = records.map { (Int64($0.line), $0.idNumber, $0.hash, $0.rejection) }
        try run("registering batch \(batch.id)") { client, logger in
            try await client.withTransaction(logger: logger) { c in
                let existing = try await c.query(
                    "SELECT recordCount FROM batch WHERE id = \(batch.id) FOR UPDATE", logger: logger
                ).collect()
                if let row = existing.first {
                    let count = try row.decode(Int64.self)
                    guard count == Int64(records.count) else {
                        throw JournalError("batch \(batch.id) was begun with \(count) records, not \(records.count)")
                    }
                    return
                }
                try await c.query(
                    """
                    INSERT INTO batch (id, source, profile, createdAt, recordCount)
                    VALUES (\(batch.id), \(batch.source), \(batch.profile), \(batch.createdAt), \(Int64(batch.recordCount)))
                    """, logger: logger)
                // Many records per statement: a 100,000-record batch loads in seconds.
                for chunk in stride(from: 0, to: rows.count, by: 500) {
                    let part = rows[chunk..<min(chunk + 500, rows.count)]
                    var bindings = PostgresBindings()
                    bindings.append(batch.id)
                    func optional(_ value: String?) {
                        if let value { bindings.append(value) } else { bindings.appendNull() }
                    }
                    var values: [String] = []
                    for (i, r) in part.enumerated() {
                        let base = i * 5
                        values.append(
                            "($1, $\(base + 2), $\(base + 3), $\(base + 4), $\(base + 5), $\(base + 6), now())")
                        bindings.append(r.0)
                        optional(r.1)
                        bindings.append(r.2)
                        bindings.append(r.3 == nil ? RecordStatus.pending.rawValue : RecordStatus.rejected.rawValue)
                        optional(r.3)
                    }
                    try await c.query(
                        PostgresQuery(
                            unsafeSQL:
                                "INSERT INTO record (batchId, line, idNumber, recordHash, status, reason, updatedAt) VALUES "
                                + values.joined(separator: ", "), binds: bindings), logger: logger)
                }
            }
        }
    }

    public func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        let phaseList = phases.map { $0.map(\.rawValue).sorted() } ?? []
        let filterPhases = phases != nil
        return try run("reading attempts") { client, logger in
            var out: [AttemptRow] = []
            let rows = try await client.query(
                """
                SELECT id, batchId, line, chipSerial, station, reader, phase, reason, startedAt, endedAt, leaseUntil
                FROM attempt WHERE batchId = \(batch)
                    AND (\(!filterPhases) OR phase = ANY(\(phaseList)))
                    AND (\(station == nil) OR station = \(station ?? ""))
                ORDER BY id
                """, logger: logger)
            for try await r in rows.decode(AttemptColumns.self) { out.append(try Self.attempt(r)) }
            return out
        }
    }

    public func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval)
        throws -> Claim?
    {
        // Two stations racing for the same line: the loser's insert breaks the one-open-attempt index; it tries
        // again and gets the next line.
        for attempt in 1...5 {
            do {
                return try claimOnce(
                    batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: lease)
            } catch let error as JournalError where error.kind == .conflict && attempt < 5 {
                continue
            }
        }
        return nil
    }

    func claimOnce(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval)
        throws -> Claim?
    {
        try run("claiming a record") { client, logger in
            try await client.withTransaction(logger: logger) { c -> Claim? in
                // Records claimed by a station that died before writing: back to the queue.
                try await c.query(
                    """
                    UPDATE attempt SET phase = 'interrupted', endedAt = now(),
                        reason = 'the lease ran out before any write (the station stopped): the record went back'
                    WHERE batchId = \(batch) AND phase = 'claimed' AND leaseUntil < now()
                    """, logger: logger)
                // The next pending record no attempt holds, whose citizen has no card in work anywhere; a citizen
                // who holds a card already (another record, any batch) is refused here unless this is a reissue.
                // Two stations racing for one citizen: the loser's insert breaks attemptCitizenOnce and it tries again.
                var found: (line: Int64, idNumber: String?, reissue: String?)? = nil
                while found == nil {
                    let candidates = try await c.query(
                        """
                        SELECT r.line, r.idNumber, r.reissue FROM record r
                        WHERE r.batchId = \(batch) AND r.status = 'pending' AND NOT EXISTS (
                            SELECT 1 FROM attempt a WHERE a.batchId = r.batchId AND a.line = r.line
                                AND a.phase IN ('claimed', 'writing', 'locked'))
                            AND (r.idNumber IS NULL OR NOT EXISTS (SELECT 1 FROM attempt a
                                WHERE a.idNumber = r.idNumber AND a.phase IN ('claimed', 'writing', 'locked')))
                        ORDER BY r.line LIMIT 1 FOR UPDATE OF r SKIP LOCKED
                        """, logger: logger
                    ).collect()
                    guard let first = candidates.first else { return nil }
                    let candidate = try first.decode((Int64, String?, String?).self)
                    if let id = candidate.1, candidate.2 == nil {
                        let cards = try await c.query(
                            """
                            SELECT batchId, line, chipSerial FROM record WHERE idNumber = \(id) AND status = 'issued'
                                AND NOT (batchId = \(batch) AND line = \(candidate.0)) LIMIT 1
                            """, logger: logger
                        ).collect()
                        if let card = cards.first {
                            let (b, l, chip) = try card.decode((String, Int64, String?).self)
                            let reason = CitizenRule.alreadyIssuedReason(
                                RecordRow(
                                    batchId: b, line: Int(l), idNumber: id, status: .issued, reason: nil,
                                    chipSerial: chip, spoiledCount: 0))
                            try await c.query(
                                """
                                UPDATE record SET status = 'rejected', reason = \(reason), updatedAt = now()
                                WHERE batchId = \(batch) AND line = \(candidate.0)
                                """, logger: logger)
                            continue
                        }
                    }
                    found = candidate
                }
                guard let (next, idNumber, reissue) = found else { return nil }
                let rows = try await c.query(
                    """
                    INSERT INTO attempt (batchId, line, chipSerial, station, reader, startedAt, phase, leaseUntil,
                        idNumber, reissue)
                    VALUES (\(batch), \(next), \(chipSerial), \(station), \(reader), now(), 'claimed',
                        now() + make_interval(secs => \(lease)), \(idNumber), \(reissue))
                    RETURNING id, line
                    """, logger: logger
                ).collect()
                guard let row = rows.first else { return nil }
                let (id, line) = try row.decode((Int64, Int64).self)
                try await c.query(
                    """
                    INSERT INTO chip (serial, status, batchId, line, reader, updatedAt)
                    VALUES (\(chipSerial), 'claimed', \(batch), \(line), \(reader), now())
                    ON CONFLICT (serial) DO UPDATE SET status = 'claimed', batchId = excluded.batchId,
                        line = excluded.line, reader = excluded.reader, updatedAt = excluded.updatedAt
                    """, logger: logger)
                return Claim(attempt: id, line: Int(line))
            }
        }
    }

    public func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        let from = try AttemptStateMachine.sources(advancingTo: phase).map(\.rawValue)
        let changed = try run("recording attempt \(attempt) as \(phase.rawValue)") { client, logger in
            try await client.query(
                """
                UPDATE attempt SET phase = \(phase.rawValue), leaseUntil = now() + make_interval(secs => \(lease))
                WHERE id = \(attempt) AND phase = ANY(\(from)) RETURNING id
                """, logger: logger
            ).collect().count
        }
        guard changed == 1 else {
            throw JournalError(
                "attempt \(attempt) no longer holds its record (its lease ran out and the record went back)",
                kind: .leaseLost)
        }
    }

    public func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        let maxSpoiled = self.maxSpoiled
        try run("recording attempt \(attempt) as \(phase.rawValue)") { client, logger in
            try await client.withTransaction(logger: logger) { c in
                let rows = try await c.query(
                    "SELECT batchId, line, chipSerial, phase FROM attempt WHERE id = \(attempt) FOR UPDATE",
                    logger: logger
                ).collect()
                guard let row = rows.first else { throw JournalError("no attempt \(attempt)") }
                let (batch, line, serial, currentText) = try row.decode((String, Int64, String, String).self)
                let records = try await c.query(
                    """
                    SELECT batchId, line, idNumber, status, reason, chipSerial, spoiledCount FROM record
                    WHERE batchId = \(batch) AND line = \(line) FOR UPDATE
                    """, logger: logger
                ).collect()
                guard let recordRow = records.first else {
                    throw JournalError("attempt \(attempt) names record \(line) of batch \(batch), which is not there")
                }
                let record = try Self.record(
                    recordRow.decode((String, Int64, String?, String, String?, String?, Int64).self))
                guard
                    let ending = try AttemptStateMachine.finish(
                        attempt: attempt, current: try AttemptPhase(stored: currentText), as: phase, reason: reason,
                        chipSerial: serial, record: record, maxSpoiled: maxSpoiled)
                else { return }
                try await c.query(
                    """
                    UPDATE attempt SET phase = \(ending.phase.rawValue), reason = \(reason), endedAt = now()
                    WHERE id = \(attempt)
                    """, logger: logger)
                if let after = ending.record {
                    try await c.query(
                        """
                        UPDATE record SET status = \(after.status.rawValue), reason = \(after.reason),
                            chipSerial = \(after.chipSerial), spoiledCount = \(Int64(after.spoiledCount)),
                            updatedAt = now()
                        WHERE batchId = \(batch) AND line = \(line)
                        """, logger: logger)
                }
                try await c.query(
                    "UPDATE chip SET status = \(ending.chip.rawValue), updatedAt = now() WHERE serial = \(serial)",
                    logger: logger)
            }
        }
    }

    public func fail(batch: String, line: Int, reason: String) throws {
        try run("failing record \(line)") { client, logger in
            try await client.query(
                """
                UPDATE record SET status = 'failed', reason = \(reason), updatedAt = now()
                WHERE batchId = \(batch) AND line = \(Int64(line)) AND status = 'pending'
                """, logger: logger)
        }
    }

    public func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        let l = line.map(Int64.init)
        try run("recording an event") { client, logger in
            try await client.query(
                """
                INSERT INTO event (at, batchId, line, chipSerial, reader, kind, detail)
                VALUES (now(), \(batch), \(l), \(chip), \(reader), \(kind), \(detail))
                """, logger: logger)
        }
    }

    public func nextChipNumber() throws -> Int {
        try run("numbering a chip") { client, logger in
            let rows = try await client.query(
                """
                INSERT INTO counter (name, value) VALUES ('chip', 1)
                ON CONFLICT (name) DO UPDATE SET value = counter.value + 1 RETURNING value
                """, logger: logger
            ).collect()
            return Int(try rows.first?.decode(Int64.self) ?? 1)
        }
    }

    public func records(batch: String?) throws -> [RecordRow] {
        try run("reading records") { client, logger in
            var out: [RecordRow] = []
            let rows = try await client.query(
                """
                SELECT batchId, line, idNumber, status, reason, chipSerial, spoiledCount FROM record
                WHERE \(batch == nil) OR batchId = \(batch ?? "") ORDER BY batchId, line
                """, logger: logger)
            for try await r in rows.decode((String, Int64, String?, String, String?, String?, Int64).self) {
                out.append(try Self.record(r))
            }
            return out
        }
    }

    public func issuedRecords(idNumbers: [String]) throws -> [RecordRow] {
        let ids = Array(Set(idNumbers)).sorted()
        return try run("reading issued citizens") { client, logger in
            var out: [RecordRow] = []
            for start in stride(from: 0, to: ids.count, by: 1000) {
                let chunk = Array(ids[start..<min(start + 1000, ids.count)])
                let rows = try await client.query(
                    """
                    SELECT batchId, line, idNumber, status, reason, chipSerial, spoiledCount FROM record
                    WHERE status = 'issued' AND idNumber = ANY(\(chunk)) ORDER BY batchId, line
                    """, logger: logger)
                for try await r in rows.decode((String, Int64, String?, String, String?, String?, Int64).self) {
                    out.append(try Self.record(r))
                }
            }
            return out
        }
    }

    /// An attempt row as selected: id, batchId, line, chipSerial, station, reader, phase, reason, startedAt,
    /// endedAt, leaseUntil.
    typealias AttemptColumns = (Int64, String, Int64, String, String, String, String, String?, Date, Date?, Date?)

    static func attempt(_ a: AttemptColumns) throws -> AttemptRow {
        AttemptRow(
            id: a.0, batchId: a.1, line: Int(a.2), chipSerial: a.3, station: a.4, reader: a.5,
            phase: try AttemptPhase(stored: a.6), reason: a.7, startedAt: a.8, endedAt: a.9, leaseUntil: a.10)
    }

    static func record(_ r: (String, Int64, String?, String, String?, String?, Int64)) throws -> RecordRow {
        RecordRow(
            batchId: r.0, line: Int(r.1), idNumber: r.2, status: try RecordStatus(stored: r.3), reason: r.4,
            chipSerial: r.5, spoiledCount: Int(r.6))
    }

    public func refuse(batch: String, line: Int, reason: String) throws {
        try run("refusing record \(line)") { client, logger in
            try await client.query(
                """
                UPDATE record SET status = 'rejected', reason = \(reason), updatedAt = now()
                WHERE batchId = \(batch) AND line = \(Int64(line)) AND status IN ('pending', 'rejected')
                    AND reissue IS NULL
                """, logger: logger)
        }
    }

    public func allowReissue(batch: String, line: Int, reason: String) throws {
        let refused = CitizenRule.alreadyIssued + "%"
        try run("allowing record \(line) a reissue") { client, logger in
            try await client.withTransaction(logger: logger) { c in
                let changed = try await c.query(
                    """
                    UPDATE record SET reissue = \(reason), updatedAt = now(),
                        status = CASE WHEN status = 'rejected' AND reason LIKE \(refused) THEN 'pending' ELSE status END,
                        reason = CASE WHEN status = 'rejected' AND reason LIKE \(refused) THEN NULL ELSE reason END
                    WHERE batchId = \(batch) AND line = \(Int64(line)) AND status IN ('pending', 'rejected')
                        AND (reissue IS NULL OR reissue <> \(reason))
                    RETURNING line
                    """, logger: logger
                ).collect()
                guard !changed.isEmpty else { return }
                try await c.query(
                    """
                    INSERT INTO event (at, batchId, line, kind, detail)
                    VALUES (now(), \(batch), \(Int64(line)), 'reissue', \(reason))
                    """, logger: logger)
            }
        }
    }

    public func citizen(idNumber: String) throws -> [CitizenRecordHistory] {
        try run("reading one citizen") { client, logger in
            var out: [CitizenRecordHistory] = []
            let rows = try await client.query(
                """
                SELECT r.batchId, r.line, r.idNumber, r.status, r.reason, r.chipSerial, r.spoiledCount, r.updatedAt,
                    r.reissue, b.source, b.createdAt
                FROM record r LEFT JOIN batch b ON b.id = r.batchId WHERE r.idNumber = \(idNumber)
                ORDER BY b.createdAt, r.batchId, r.line
                """, logger: logger
            ).collect()
            for row in rows {
                let r = try row.decode(
                    (String, Int64, String?, String, String?, String?, Int64, Date?, String?, String?, Date?).self)
                let record = try Self.record((r.0, r.1, r.2, r.3, r.4, r.5, r.6))
                var attempts: [AttemptRow] = []
                let found = try await client.query(
                    """
                    SELECT id, batchId, line, chipSerial, station, reader, phase, reason, startedAt, endedAt, leaseUntil
                    FROM attempt WHERE batchId = \(r.0) AND line = \(r.1) ORDER BY id
                    """, logger: logger)
                for try await a in found.decode(AttemptColumns.self) { attempts.append(try Self.attempt(a)) }
                out.append(
                    CitizenRecordHistory(
                        record: record, batchSource: r.9, batchCreatedAt: r.10, updatedAt: r.7, reissue: r.8,
                        attempts: attempts))
            }
            return out
        }
    }

    public func chip(serial: String) throws -> ChipRow? {
        try run("reading a chip") { client, logger in
            let rows = try await client.query(
                "SELECT serial, status, batchId, line FROM chip WHERE serial = \(serial)", logger: logger)
            for try await r in rows.decode((String, String, String?, Int64?).self) {
                return ChipRow(serial: r.0, status: try ChipStatus(stored: r.1), batchId: r.2, line: r.3.map(Int.init))
            }
            return nil
        }
    }

    public func batches() throws -> [BatchRow] {
        try run("reading batches") { client, logger in
            var out: [BatchRow] = []
            let rows = try await client.query(
                "SELECT id, source, profile, createdAt, recordCount FROM batch ORDER BY createdAt", logger: logger)
            for try await r in rows.decode((String, String, String, Date, Int64).self) {
                out.append(BatchRow(id: r.0, source: r.1, profile: r.2, createdAt: r.3, recordCount: Int(r.4)))
            }
            return out
        }
    }

    public func stations(batch: String?) throws -> [StationRow] {
        try run("reading stations") { client, logger in
            var out: [StationRow] = []
            let rows = try await client.query(
                """
                SELECT station, COUNT(*) FILTER (WHERE phase = 'issued'), COUNT(*) FILTER (WHERE phase = 'spoiled'),
                    COUNT(*) FILTER (WHERE phase = 'interrupted'),
                    COUNT(*) FILTER (WHERE phase IN ('claimed', 'writing', 'locked')), MIN(startedAt), MAX(endedAt) FILTER (WHERE phase = 'issued')
                FROM attempt WHERE \(batch == nil) OR batchId = \(batch ?? "") GROUP BY station ORDER BY station
                """, logger: logger)
            for try await r in rows.decode((String, Int64, Int64, Int64, Int64, Date?, Date?).self) {
                out.append(
                    StationRow(
                        station: r.0, issued: Int(r.1), spoiled: Int(r.2), interrupted: Int(r.3), open: Int(r.4),
                        firstStart: r.5, lastEnd: r.6))
            }
            return out
        }
    }

    public func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        let mine = Int64(pid)
        try run("registering station \(name)") { client, logger in
            try await client.withTransaction(logger: logger) { c in
                let rows = try await c.query(
                    """
                    SELECT host, pid, EXTRACT(EPOCH FROM now() - seenAt)::float8 FROM station
                    WHERE name = \(name) FOR UPDATE
                    """, logger: logger
                ).collect()
                if let row = rows.first {
                    let (otherHost, otherPID, age) = try row.decode((String, Int64, Double).self)
                    let isMe = otherHost == host && otherPID == mine
                    let dead = otherHost == host && !processRuns(Int(otherPID))
                    if !isMe && !dead && age < lease {
                        throw JournalError(
                            "station \(name) is running (host \(otherHost), process \(otherPID), seen \(Int(age)) s ago): give this one another --station name",
                            kind: .conflict)
                    }
                }
                try await c.query(
                    """
                    INSERT INTO station (name, host, pid, startedAt, seenAt) VALUES (\(name), \(host), \(mine), now(), now())
                    ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                        startedAt = excluded.startedAt, seenAt = excluded.seenAt
                    """, logger: logger)
            }
        }
    }

    public func heartbeat(station name: String, host: String, pid: Int) throws {
        let mine = Int64(pid)
        try run("station heartbeat") { client, logger in
            try await client.query(
                "UPDATE station SET seenAt = now() WHERE name = \(name) AND host = \(host) AND pid = \(mine)",
                logger: logger)
        }
    }

    public func unregister(station name: String, host: String, pid: Int) throws {
        let mine = Int64(pid)
        try run("unregistering station \(name)") { client, logger in
            try await client.query(
                "DELETE FROM station WHERE name = \(name) AND host = \(host) AND pid = \(mine)", logger: logger)
        }
    }
}
