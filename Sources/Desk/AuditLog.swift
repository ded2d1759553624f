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
        try migrator.migrate(queue)
        // The log names citizens: readable by its owner only.
        chmod(path, 0o600)
    }

    /// A read that gave a report.
    func record(_ who: Requester, reader: String, report: CardReport) {
        let checks = report.checks.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.status.rawValue)" }
            .joined(separator: ",")
        insert(
            who, reader: reader, idNumber: report.holder.idNumber, genuine: report.genuine, valid: report.valid,
            authenticity: report.authenticity, checks: checks, outcome: "report")
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
        do {
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO audit (at, tokenId, origin, reader, idNumber, genuine, valid, authenticity, checks,
                            outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Date(), who.tokenID, who.origin, reader, idNumber, genuine, valid, authenticity, checks,
                        outcome,
                    ])
            }
        } catch {
            FileHandle.standardError.write(Data("warning: the audit log could not be written: \(error)\n".utf8))
        }
    }

    public struct Entry: Codable, Sendable {
        public var at: Date
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
                    at: $0["at"], tokenId: $0["tokenId"], origin: $0["origin"], reader: $0["reader"],
                    idNumber: $0["idNumber"], genuine: $0["genuine"], valid: $0["valid"],
                    authenticity: $0["authenticity"], checks: $0["checks"], outcome: $0["outcome"])
            }
        }
    }
}
