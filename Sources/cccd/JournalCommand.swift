import ArgumentParser
import Foundation
import Issuance

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Show a personalization journal: batches, records, stations, leases, spoiled cards.",
        discussion: """
            The text view gives, per batch: the records by status; per station its issued, spoiled and \
            interrupted cards, the records it holds now and its throughput (cards/min over its working span); every \
            open attempt with its lease (a record claimed by a station; "expired" means the station stopped); the \
            spoiled cards with their reasons; and every record not issued.

            With --json, --view chooses the array printed: records (the default; one object per record: batchId, \
            line, idNumber, status (issued, rejected, failed, pending), reason, chipSerial, spoiledCount, null when \
            empty), stations, or attempts. The journal holds no private key and no biometric data.

            Example: cccd journal --journal postgres://cccd@db.local/line --batch 1A2B3C4D5E6F7081
            """
    )

    enum View: String, ExpressibleByArgument, CaseIterable { case records, stations, attempts }

    @Option(
        help: ArgumentHelp(
            "The journal: an SQLite file, or postgres://user[:password]@host[:port]/db.", valueName: "file|url"))
    var journal: String

    @Option(help: "Only this batch (its id, as `cccd perso` prints it).")
    var batch: String?

    @Flag(help: "Print JSON (see --view).")
    var json = false

    @Option(help: "With --json: records, stations or attempts.")
    var view: View = .records

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let store: any PersoJournal
        let rows: [RecordRow]
        let batches: [BatchRow]
        do {
            store = try JournalLocation.open(journal, create: false)
            rows = try store.records(batch: batch)
            batches = try store.batches().filter { batch == nil || $0.id == batch }
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        if json {
            do {
                switch view {
                case .records:
                    print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                case .stations:
                    let out = try batches.flatMap { b in
                        try store.stations(batch: b.id).map { StationJSON(batchId: b.id, row: $0) }
                    }
                    print(String(decoding: try encoder.encode(out), as: UTF8.self))
                case .attempts:
                    let out = try batches.flatMap { try store.attempts(batch: $0.id, phases: nil, station: nil) }
                    print(String(decoding: try encoder.encode(out), as: UTF8.self))
                }
            } catch {
                throw fail("\(error)", code: CCCDExit.failure)
            }
            return
        }
        let now = Date()
        for b in batches {
            let mine = rows.filter { $0.batchId == b.id }
            let counts = RecordStatus.allCases.map { s in "\(mine.filter { $0.status == s }.count) \(s.rawValue)" }
            print(
                "batch \(b.id)  \(b.source)  profile \(b.profile)  \(b.recordCount) records: \(counts.joined(separator: ", "))"
            )
            for s in (try? store.stations(batch: b.id)) ?? [] {
                let rate = s.cardsPerMinute.map { String(format: ", %.1f cards/min", $0) } ?? ""
                print(
                    "  station \(s.station): \(s.issued) issued, \(s.spoiled) spoiled, \(s.interrupted) interrupted, \(s.open) held now\(rate)"
                )
            }
            let attempts = (try? store.attempts(batch: b.id, phases: nil, station: nil)) ?? []
            for a in attempts where a.isOpen {
                let lease: String
                if let until = a.leaseUntil {
                    let left = until.timeIntervalSince(now)
                    lease = left >= 0 ? "lease \(Int(left)) s left" : "lease expired \(Int(-left)) s ago"
                } else {
                    lease = "no lease"
                }
                print(
                    "  held: line \(a.line) by \(a.station) / \(a.reader), chip \(a.chipSerial), \(a.phase.rawValue), \(lease)"
                )
            }
            for a in attempts where a.phase == .spoiled {
                print(
                    "  spoiled: chip \(a.chipSerial) (line \(a.line), \(a.station) / \(a.reader)): \(a.reason ?? "no reason")"
                )
            }
            for r in mine where r.status != .issued {
                print("  line \(r.line)  \(r.idNumber ?? "?")  \(r.status.rawValue.uppercased())  \(r.reason ?? "")")
            }
        }
    }

    struct StationJSON: Encodable {
        var batchId: String
        var row: StationRow

        enum Keys: String, CodingKey {
            case batchId, station, issued, spoiled, interrupted, open, firstStart, lastEnd, cardsPerMinute
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(batchId, forKey: .batchId)
            try c.encode(row.station, forKey: .station)
            try c.encode(row.issued, forKey: .issued)
            try c.encode(row.spoiled, forKey: .spoiled)
            try c.encode(row.interrupted, forKey: .interrupted)
            try c.encode(row.open, forKey: .open)
            try c.encode(row.firstStart, forKey: .firstStart)
            try c.encode(row.lastEnd, forKey: .lastEnd)
            try c.encode(row.cardsPerMinute, forKey: .cardsPerMinute)
        }
    }
}
