import ArgumentParser
import Foundation
import Issuance

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Show a personalization journal: batches, records, stations, spoiled cards.",
        discussion: """
            With --json, one object per record: batch, line, idNumber, status (issued, rejected, failed, \
            pending), reason, chipSerial, spoiledCount. The journal holds no private key and no biometric data.
            """
    )

    @Option(help: "The journal (SQLite file) `cccd perso` wrote.")
    var journal: String

    @Option(help: "Only this batch (its id, as `cccd perso` prints it).")
    var batch: String?

    @Flag(help: "Print the records as a JSON array.")
    var json = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: journal) else {
            throw fail("\(journal): no such journal", code: CCCDExit.failure)
        }
        let store: SQLiteJournal
        let rows: [RecordRow]
        do {
            store = try SQLiteJournal(path: journal)
            rows = try store.records(batch: batch)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        for b in (try? store.batches()) ?? [] where batch == nil || b.id == batch {
            let mine = rows.filter { $0.batchId == b.id }
            let counts = RecordStatus.allCases.map { s in "\(mine.filter { $0.status == s }.count) \(s.rawValue)" }
            print(
                "batch \(b.id)  \(b.source)  profile \(b.profile)  \(b.recordCount) records: \(counts.joined(separator: ", "))"
            )
            for s in (try? store.stations(batch: b.id)) ?? [] {
                print(
                    "  station \(s.station): \(s.issued) issued, \(s.spoiled) spoiled, \(s.interrupted) interrupted, \(s.open) open"
                )
            }
            for r in mine where r.status != .issued {
                print("  line \(r.line)  \(r.idNumber ?? "?")  \(r.status.rawValue.uppercased())  \(r.reason ?? "")")
            }
        }
    }
}
