import Foundation
import Issuance
import PostgresJournal

/// A `--journal` argument: a PostgreSQL URL (a line's shared queue) or an SQLite file path (one machine).
enum JournalLocation {
    /// Opens the journal; while its database cannot be reached (down, restarting), waits up to `patience` seconds,
    /// saying so once on stderr.
    static func open(_ text: String, create: Bool = true, patience: TimeInterval) throws -> any PersoJournal {
        let start = Date()
        var said = false
        while true {
            do { return try open(text, create: create) } catch let error as JournalError
                where error.kind == .unavailable && Date().timeIntervalSince(start) < patience
            {
                if !said {
                    FileHandle.standardError.write(
                        Data(
                            "warning: \(error); waiting up to \(Int(patience)) s for the database to come back\n".utf8))
                    said = true
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

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
