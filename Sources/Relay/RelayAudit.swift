import CardCore
import Foundation
import RelayWire
import GRDB
import Logging
import PostgresJournal
import PostgresNIO

/// One relay session as the audit store keeps it: who (the token's client), which session, when, the outcome and
/// the verdicts, the ID number read; never a key, a CAN, an APDU or the portrait.
public struct RelayAuditRow: Sendable, Hashable {
    public var sid: String
    public var client: String
    /// The relay software the hello named.
    public var relay: String?
    public var startedAt: Date
    public var endedAt: Date?
    /// "genuine", "notGenuine", "signerUnverified", "tampering" or an error code.
    public var outcome: String
    public var idNumber: String?
    public var checks: String?
    public var apdus: Int
    public var bytes: Int
    public var milliseconds: Int

    public init(sid: String, client: String, relay: String?, startedAt: Date) {
        self.sid = sid
        self.client = client
        self.relay = relay
        self.startedAt = startedAt
        outcome = "open"
        apdus = 0
        bytes = 0
        milliseconds = 0
    }
}

/// Where the relay's audit rows go. `begin` is also the single-use rule of tokens: a session id it has seen fails
/// `tokenUsed`, on every instance that shares the store (PostgreSQL), so a token is good for one read.
public protocol RelayAuditStore: Sendable {
    /// Records a session's start; throws `tokenUsed` for a session id already seen, `unavailable` when the store
    /// cannot be reached (the session is then refused: a token's single use cannot be checked).
    func begin(_ row: RelayAuditRow) async throws(RelayError)
    /// Records how it ended (best effort: a failure is logged, the report is still given).
    func finish(_ row: RelayAuditRow) async
    /// The rows, newest first (tests, `cccd relay audit`).
    func rows(limit: Int) async throws -> [RelayAuditRow]
}

/// No store: session ids are remembered in memory (one instance; a restart forgets them, tokens still expire).
public final class RelayMemoryAudit: RelayAuditStore, @unchecked Sendable {
    let seen = Locked<[String: RelayAuditRow]>([:])
    public init() {}
    public func begin(_ row: RelayAuditRow) async throws(RelayError) {
        let fresh = seen.withLock { s -> Bool in
            guard s[row.sid] == nil else { return false }
            s[row.sid] = row
            return true
        }
        guard fresh else { throw RelayError(.tokenUsed, "this token's read was already made") }
    }
    public func finish(_ row: RelayAuditRow) async { seen.withLock { $0[row.sid] = row } }
    public func rows(limit: Int) async throws -> [RelayAuditRow] {
        Array(seen.get().values.sorted { $0.startedAt > $1.startedAt }.prefix(limit))
    }
}

/// SQLite (GRDB) on one machine.
public final class RelaySQLiteAudit: RelayAuditStore, @unchecked Sendable {
    let queue: DatabaseQueue
    let logger = Logger(label: "cccd.relay.audit")

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("relay-v1") { db in
            try db.execute(sql: RelayAuditSchema.create)
        }
        try migrator.migrate(queue)
        // The rows name citizens: readable by the owner only.
        chmod(path, 0o600)
    }

    public func begin(_ row: RelayAuditRow) async throws(RelayError) {
        do {
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO relay_session (sid, client, relay, started_at, outcome) VALUES (?, ?, ?, ?, 'open')",
                    arguments: [row.sid, row.client, row.relay, row.startedAt.timeIntervalSince1970])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw RelayError(.tokenUsed, "this token's read was already made")
        } catch {
            throw RelayError(.unavailable, "the audit store did not record the session: \(error)")
        }
    }

    public func finish(_ row: RelayAuditRow) async {
        do {
            try await queue.write { db in
                try db.execute(
                    sql: """
                        UPDATE relay_session SET ended_at = ?, outcome = ?, id_number = ?, checks = ?, apdus = ?, bytes = ?,
                        milliseconds = ? WHERE sid = ?
                        """,
                    arguments: [
                        row.endedAt?.timeIntervalSince1970, row.outcome, row.idNumber, row.checks, row.apdus, row.bytes,
                        row.milliseconds, row.sid,
                    ])
            }
        } catch {
            logger.error("the audit store did not record the end of session \(row.sid): \(error)")
        }
    }

    public func rows(limit: Int) async throws -> [RelayAuditRow] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM relay_session ORDER BY started_at DESC LIMIT ?", arguments: [limit])
                .map(RelayAuditSchema.row)
        }
    }
}

/// PostgreSQL (the journal's database): every instance behind the load balancer writes here, and the unique session
/// id makes a token good for one read across all of them.
public final class RelayPostgresAudit: RelayAuditStore, @unchecked Sendable {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let location: PostgresLocation
    let logger = Logger(label: "cccd.relay.audit")

    public init(url: String) async throws {
        location = try PostgresLocation(url: url)
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 16
        // One direct connection first: a server that is down or a wrong password is said at once, in its words
        // (the pool would only keep trying until the timeout).
        var direct = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        direct.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(configuration: direct, id: 1, logger: logger)
            try await connection.close()
        } catch {
            throw RelayError(.unavailable, "the audit database \(location) cannot be reached: \(Self.describe(error))")
        }
        let client = PostgresClient(configuration: configuration)
        self.client = client
        runner = Task { await client.run() }
        let schema = RelayAuditSchema.create
        do {
            try await withTimeout(seconds: 10) {
                try await client.query(PostgresQuery(unsafeSQL: schema))
            }
        } catch {
            runner.cancel()
            throw RelayError(.unavailable, "the audit database \(location) cannot be reached: \(Self.describe(error))")
        }
    }

    deinit { runner.cancel() }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            return error.serverInfo?[.message] ?? "\(error.code)"
        }
        return "\(error)"
    }

    public func begin(_ row: RelayAuditRow) async throws(RelayError) {
        let (sid, who, relay, started) = (row.sid, row.client, row.relay, row.startedAt.timeIntervalSince1970)
        do {
            try await withTimeout(seconds: 5) { [client] in
                try await client.query(
                    "INSERT INTO relay_session (sid, client, relay, started_at, outcome) VALUES (\(sid), \(who), \(relay), \(started), 'open')"
                )
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw RelayError(.tokenUsed, "this token's read was already made")
        } catch {
            throw RelayError(.unavailable, "the audit database \(location) did not record the session: \(Self.describe(error))")
        }
    }

    public func finish(_ row: RelayAuditRow) async {
        let r = row
        do {
            try await withTimeout(seconds: 5) { [client] in
                try await client.query(
                    """
                    UPDATE relay_session SET ended_at = \(r.endedAt?.timeIntervalSince1970), outcome = \(r.outcome),
                    id_number = \(r.idNumber), checks = \(r.checks), apdus = \(r.apdus), bytes = \(r.bytes),
                    milliseconds = \(r.milliseconds) WHERE sid = \(r.sid)
                    """)
            }
        } catch {
            logger.error("the audit database did not record the end of session \(row.sid): \(Self.describe(error))")
        }
    }

    public func rows(limit: Int) async throws -> [RelayAuditRow] {
        let rows = try await client.query(
            "SELECT sid, client, relay, started_at, ended_at, outcome, id_number, checks, apdus, bytes, milliseconds FROM relay_session ORDER BY started_at DESC LIMIT \(limit)"
        )
        var out: [RelayAuditRow] = []
        for try await (sid, client, relay, started, ended, outcome, idNumber, checks, apdus, bytes, ms) in rows.decode(
            (String, String, String?, Double, Double?, String, String?, String?, Int, Int, Int).self)
        {
            var row = RelayAuditRow(sid: sid, client: client, relay: relay, startedAt: Date(timeIntervalSince1970: started))
            row.endedAt = ended.map { Date(timeIntervalSince1970: $0) }
            row.outcome = outcome
            row.idNumber = idNumber
            row.checks = checks
            row.apdus = apdus
            row.bytes = bytes
            row.milliseconds = ms
            out.append(row)
        }
        return out
    }
}

/// The one table, the same on SQLite and PostgreSQL.
enum RelayAuditSchema {
    static let create = """
        CREATE TABLE IF NOT EXISTS relay_session (
            sid TEXT PRIMARY KEY,
            client TEXT NOT NULL,
            relay TEXT,
            started_at DOUBLE PRECISION NOT NULL,
            ended_at DOUBLE PRECISION,
            outcome TEXT NOT NULL,
            id_number TEXT,
            checks TEXT,
            apdus INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            milliseconds INTEGER NOT NULL DEFAULT 0
        )
        """

    static func row(_ r: Row) -> RelayAuditRow {
        var row = RelayAuditRow(
            sid: r["sid"], client: r["client"], relay: r["relay"], startedAt: Date(timeIntervalSince1970: r["started_at"]))
        row.endedAt = (r["ended_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
        row.outcome = r["outcome"]
        row.idNumber = r["id_number"]
        row.checks = r["checks"]
        row.apdus = r["apdus"]
        row.bytes = r["bytes"]
        row.milliseconds = r["milliseconds"]
        return row
    }
}

/// Runs `body`, failing with `CancellationError` after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
