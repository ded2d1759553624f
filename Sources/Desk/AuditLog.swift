import Foundation
import GRDB
import Reader

/// The desk's audit log (SQLite through GRDB): who asked (the token's id, the browser origin), when, which reader,
/// the ID number read, the verdicts, or why nothing was read. Never the portrait, the key or the raw files.
public final class AuditLog: @unchecked Sendable {
    let queue: DatabaseQueue

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("tokenId", .text).notNull()
                t.column("origin", .text)
                t.column("reader", .text)
                t.column("idNumber", .text)
                t.column("genuine", .boolean)
                t.column("valid", .boolean)
                t.column("authenticity", .text)
                t.column("checks", .text)
                t.column("outcome", .text).notNull()
            }
        }
        // Each time also as local ISO 8601 with its zone offset (a row read elsewhere says when, unambiguously).
        migrator.registerMigration("v2") { db in
            try db.alter(table: "audit") { t in t.add(column: "atZoned", .text) }
        }
        try migrator.migrate(queue)
        // The log names citizens: readable by its owner only.
        chmod(path, 0o600)
    }

    /// A read that gave a report.
    func record(_ who: Requester, reader: String, report: CardReport) {
        let checks = report.checks.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            "\($0.key.rawValue)=\($0.value.status.rawValue)"
        }
            .joined(separator: ",")
        insert(
            who, reader: reader, idNumber: report.holder.idNumber, genuine: report.genuine, valid: report.valid,
            authenticity: report.authenticity.rawValue, checks: checks, outcome: "report")
    }

    /// A request that gave no report (refused, no card, wrong key, …).
    public func record(_ who: Requester, reader: String?, outcome: String) {
        insert(
            who, reader: reader, idNumber: nil, genuine: nil, valid: nil, authenticity: nil, checks: nil,
            outcome: outcome)
    }

    private func insert(
        _ who: Requester, reader: String?, idNumber: String?, genuine: Bool?, valid: Bool?, authenticity: String?,
        checks: String?, outcome: String
    ) {
        // An audit row that cannot be written is said on standard error; the desk keeps serving.
        let now = Date()
        do {
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO audit (at, atZoned, tokenId, origin, reader, idNumber, genuine, valid, authenticity,
                            checks, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        now, Self.zoned(now), who.tokenID, who.origin, reader, idNumber, genuine, valid, authenticity,
                        checks, outcome,
                    ])
            }
        } catch {
            FileHandle.standardError.write(Data("warning: the audit log could not be written: \(error)\n".utf8))
        }
    }

    /// `date` in local time with its zone offset, ISO 8601 (2026-12-03T23:59:01.250+07:00).
    public static func zoned(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone.current
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    public struct Entry: Codable, Sendable {
        public var at: Date
        /// `at` in the desk's local time with its zone offset (absent on rows written before it was kept).
        public var atZoned: String?
        public var tokenId: String
        public var origin: String?
        public var reader: String?
        public var idNumber: String?
        public var genuine: Bool?
        public var valid: Bool?
        public var authenticity: String?
        public var checks: String?
        public var outcome: String
    }

    public func entries() throws -> [Entry] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map {
                Entry(
                    at: $0["at"], atZoned: $0["atZoned"], tokenId: $0["tokenId"], origin: $0["origin"], reader: $0["reader"],
                    idNumber: $0["idNumber"], genuine: $0["genuine"], valid: $0["valid"],
                    authenticity: $0["authenticity"], checks: $0["checks"], outcome: $0["outcome"])
            }
        }
    }
}
