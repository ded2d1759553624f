/// The journal's schema, described once and rendered for each database (DESIGN.md, "Journal"): SQLite (the
/// embedded default, through GRDB's migrator) and PostgreSQL (a line's shared queue). A migration is a list of
/// steps; each database applies, in order, the migrations it has not applied yet, by id.
public enum JournalSchema {
    public enum Dialect: Sendable { case sqlite, postgres }

    public enum ColumnType: Sendable {
        case text, integer, timestamp
        /// The table's own row id, assigned by the database.
        case rowID
    }

    public struct Column: Sendable {
        public var name: String
        public var type: ColumnType
        public var notNull: Bool
        public var defaultValue: String?
        public var references: String?

        init(
            _ name: String, _ type: ColumnType, notNull: Bool = true, default value: String? = nil,
            references: String? = nil
        ) {
            self.name = name
            self.type = type
            self.notNull = notNull
            self.defaultValue = value
            self.references = references
        }

        func sql(_ dialect: Dialect) -> String {
            var s = name + " "
            switch (type, dialect) {
            case (.text, _): s += "TEXT"
            case (.integer, .sqlite): s += "INTEGER"
            case (.integer, .postgres): s += "BIGINT"
            case (.timestamp, .sqlite): s += "DATETIME"
            case (.timestamp, .postgres): s += "TIMESTAMPTZ"
            case (.rowID, .sqlite): return s + "INTEGER PRIMARY KEY AUTOINCREMENT"
            case (.rowID, .postgres): return s + "BIGSERIAL PRIMARY KEY"
            }
            if notNull { s += " NOT NULL" }
            if let defaultValue { s += " DEFAULT " + defaultValue }
            if let references { s += " REFERENCES " + references }
            return s
        }
    }

    public enum Step: Sendable {
        case table(String, [Column], primaryKey: [String]? = nil)
        case index(String, on: String, columns: [String], unique: Bool = false, where: String? = nil)
        case addColumn(String, Column)

        func sql(_ dialect: Dialect) -> String {
            switch self {
            case .table(let name, let columns, let key):
                var parts = columns.map { $0.sql(dialect) }
                if let key { parts.append("PRIMARY KEY (\(key.joined(separator: ", ")))") }
                return "CREATE TABLE \(name) (\(parts.joined(separator: ", ")))"
            case .index(let name, let table, let columns, let unique, let condition):
                return "CREATE \(unique ? "UNIQUE " : "")INDEX \(name) ON \(table)(\(columns.joined(separator: ", ")))"
                    + (condition.map { " WHERE " + $0 } ?? "")
            case .addColumn(let table, let column):
                return "ALTER TABLE \(table) ADD COLUMN \(column.sql(dialect))"
            }
        }
    }

    public struct Migration: Sendable {
        public var id: String
        public var steps: [Step]

        public func statements(_ dialect: Dialect) -> [String] { steps.map { $0.sql(dialect) } }
    }

    /// Phases of an attempt that still owns its record.
    static let openPhases = "phase IN ('claimed', 'writing', 'locked')"

    public static let migrations: [Migration] = [
        Migration(
            id: "v1",
            steps: [
                .table(
                    "batch",
                    [
                        Column("id", .text), Column("source", .text), Column("profile", .text),
                        Column("createdAt", .timestamp), Column("recordCount", .integer),
                    ], primaryKey: ["id"]),
                .table(
                    "record",
                    [
                        Column("batchId", .text, references: "batch(id)"), Column("line", .integer),
                        Column("idNumber", .text, notNull: false), Column("recordHash", .text),
                        Column("status", .text), Column("reason", .text, notNull: false),
                        Column("chipSerial", .text, notNull: false), Column("spoiledCount", .integer, default: "0"),
                        Column("updatedAt", .timestamp),
                    ], primaryKey: ["batchId", "line"]),
                .table(
                    "chip",
                    [
                        Column("serial", .text), Column("status", .text), Column("batchId", .text, notNull: false),
                        Column("line", .integer, notNull: false), Column("reader", .text, notNull: false),
                        Column("updatedAt", .timestamp),
                    ], primaryKey: ["serial"]),
                .table(
                    "attempt",
                    [
                        Column("id", .rowID), Column("batchId", .text), Column("line", .integer),
                        Column("chipSerial", .text), Column("station", .text), Column("reader", .text),
                        Column("startedAt", .timestamp), Column("endedAt", .timestamp, notNull: false),
                        Column("phase", .text), Column("reason", .text, notNull: false),
                    ]),
                // At most one issued attempt per record, and at most one attempt that owns it.
                .index(
                    "attemptIssuedOnce", on: "attempt", columns: ["batchId", "line"], unique: true,
                    where: "phase = 'issued'"),
                .index("attemptOneOpen", on: "attempt", columns: ["batchId", "line"], unique: true, where: openPhases),
                .table(
                    "event",
                    [
                        Column("id", .rowID), Column("at", .timestamp), Column("batchId", .text, notNull: false),
                        Column("line", .integer, notNull: false), Column("chipSerial", .text, notNull: false),
                        Column("reader", .text, notNull: false), Column("kind", .text), Column("detail", .text),
                    ]),
                .table("counter", [Column("name", .text), Column("value", .integer)], primaryKey: ["name"]),
            ]),
        // Several stations on one queue: an attempt's lease (a claimed record whose station died goes back to the
        // queue when it runs out), and the stations themselves (one process per name, its heartbeat).
        Migration(
            id: "v2",
            steps: [
                .addColumn("attempt", Column("leaseUntil", .timestamp, notNull: false)),
                .index("attemptByStation", on: "attempt", columns: ["batchId", "station"]),
                .table(
                    "station",
                    [
                        Column("name", .text), Column("host", .text), Column("pid", .integer),
                        Column("startedAt", .timestamp), Column("seenAt", .timestamp),
                    ], primaryKey: ["name"]),
            ]),
        // One card per citizen, across batches and stations: each attempt carries its record's ID number, and the
        // database itself refuses a second attempt in work or issued for one citizen, unless the record is a
        // reissue (its reason is in `record.reissue` and on the attempt). Lookups by ID number are indexed
        // (`cccd journal --id`).
        Migration(
            id: "v3",
            steps: [
                .addColumn("record", Column("reissue", .text, notNull: false)),
                .addColumn("attempt", Column("idNumber", .text, notNull: false)),
                .addColumn("attempt", Column("reissue", .text, notNull: false)),
                .index("recordByCitizen", on: "record", columns: ["idNumber"]),
                .index("attemptByRecord", on: "attempt", columns: ["batchId", "line"]),
                .index("attemptByCitizen", on: "attempt", columns: ["idNumber"]),
                .index(
                    "attemptCitizenOnce", on: "attempt", columns: ["idNumber"], unique: true,
                    where: "idNumber IS NOT NULL AND reissue IS NULL AND phase IN ('claimed', 'writing', 'locked', 'issued')"),
            ]),
    ]
}
