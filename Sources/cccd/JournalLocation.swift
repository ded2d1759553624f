import Foundation
import Issuance
import PostgresJournal

/// A `--journal` argument: a PostgreSQL URL (a line's shared queue) or an SQLite file path (one machine).
enum JournalLocation {
    static func open(_ text: String, create: Bool = true) throws -> any PersoJournal {
        if PostgresLocation.isURL(text) { return try PostgresJournal(url: text) }
        if !create && !FileManager.default.fileExists(atPath: text) {
            throw JournalError("\(text): no such journal")
        }
        return try SQLiteJournal(path: text)
    }

    /// The argument as it may be shown: a URL without its password.
    static func redacted(_ text: String) -> String {
        guard PostgresLocation.isURL(text) else { return text }
        return (try? PostgresLocation(url: text).redacted) ?? "postgres://…"
    }
}
