import ArgumentParser
import Foundation
import Issuance

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Show a personalization journal: batches, records, stations, leases, spoiled cards, one citizen.",
        discussion: """
            The text view summarises each batch: its records by status; per station its issued, spoiled and \
            interrupted cards, the records it holds now and its throughput (cards/min from its first claim to its \
            last card, as `cccd perso` reports it); every open attempt with its lease (a record claimed by a \
            station; "expired" means the station stopped); the latest spoiled cards with their reasons; and the \
            rejected and failed records (pending ones are counted, not listed). --view lists one table in full: \
            records, stations or attempts.

            --id NUMBER answers "where is this citizen's card?" across every batch: each record with that ID \
            number (batch, line, status, chip, reissue reason) and each of its attempts (issued, spoiled with the \
            reason, interrupted, in work) with the time of each phase. ID numbers are indexed: milliseconds on a \
            journal of a million records.

            With --json: the same as JSON. --view chooses the array printed: records (the default; one object per \
            record: batchId, line, idNumber, status (issued, rejected, failed, pending), reason, chipSerial, \
            spoiledCount, null when empty), stations, or attempts; --id prints one object per record of the \
            citizen. Times are ISO 8601 in UTC. The journal holds no private key and no biometric data.

            Example: cccd journal --journal postgres://cccd@db.local/line --batch 1A2B3C4D5E6F7081
            Example: cccd journal --journal out/perso.db --id 001090000123
            """
    )

    enum View: String, ExpressibleByArgument, CaseIterable { case records, stations, attempts }

    @Option(
        help: ArgumentHelp(
            "The journal: an SQLite file, or postgres://user[:password]@host[:port]/db.", valueName: "file|url"))
    var journal: String

    @Option(help: "Only this batch (its id, as `cccd perso` prints it).")
    var batch: String?

    @Option(help: ArgumentHelp("One citizen, by ID number, across every batch.", valueName: "number"))
    var id: String?

    @Flag(help: "Print JSON (see --view).")
    var json = false

    @Option(help: "One table in full: records, stations or attempts (with --json: the array printed; default records).")
    var view: View?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if id != nil && (batch != nil || view != nil) {
            throw ValidationError("--id looks across every batch: no --batch or --view with it")
        }
        if let id, id.isEmpty || id.utf8.count > 32 { throw ValidationError("--id must be an ID number (1…32 bytes)") }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    func run() throws {
        logging.bootstrap()
        let store: any PersoJournal
        do { store = try JournalLocation.open(journal, create: false) } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        if let id { return try citizen(id, in: store) }
        let rows: [RecordRow]
        let batches: [BatchRow]
        do {
            let all = try store.batches()
            batches = all.filter { batch == nil || $0.id == batch }
            if let batch, batches.isEmpty {
                throw JournalError(
                    "no batch \(batch) in \(JournalLocation.redacted(journal)); its batches: "
                        + (all.isEmpty ? "none" : all.map { "\($0.id) (\($0.source))" }.joined(separator: ", ")))
            }
            rows = try store.records(batch: batch)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let encoder = Self.encoder
        do {
            switch (json, view ?? (json ? .records : nil)) {
            case (true, .records?):
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            case (true, .stations?):
                let out = try batches.flatMap { b in
                    try store.stations(batch: b.id).map { StationJSON(batchId: b.id, row: $0) }
                }
                print(String(decoding: try encoder.encode(out), as: UTF8.self))
            case (true, .attempts?):
                let out = try batches.flatMap { try store.attempts(batch: $0.id, phases: nil, station: nil) }
                print(String(decoding: try encoder.encode(out), as: UTF8.self))
            case (false, .records?):
                for r in rows {
                    print(
                        "\(r.batchId)  line \(r.line)  \(r.idNumber ?? "?")  \(r.status.rawValue)"
                            + (r.chipSerial.map { "  chip \($0)" } ?? "") + (r.reason.map { "  \($0)" } ?? ""))
                }
            case (false, .stations?):
                for b in batches {
                    for s in try store.stations(batch: b.id) { print("\(b.id)  " + Self.describe(s)) }
                }
            case (false, .attempts?):
                for b in batches {
                    for a in try store.attempts(batch: b.id, phases: nil, station: nil) {
                        print("\(b.id)  " + Self.describe(a))
                    }
                }
            default:
                summarise(batches, rows, store)
            }
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
    }

    /// The text view: each batch in a few lines, whatever its size.
    func summarise(_ batches: [BatchRow], _ rows: [RecordRow], _ store: any PersoJournal) {
        let now = Date()
        let listed = 20
        if batches.isEmpty { print("the journal holds no batch yet") }
        for b in batches {
            let mine = rows.filter { $0.batchId == b.id }
            let counts = RecordStatus.allCases.map { s in "\(mine.filter { $0.status == s }.count) \(s.rawValue)" }
            print(
                "batch \(b.id)  \(b.source)  profile \(b.profile)  \(plural(b.recordCount, "record")): \(counts.joined(separator: ", "))"
            )
            for s in (try? store.stations(batch: b.id)) ?? [] { print("  " + Self.describe(s)) }
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
            let spoiled = attempts.filter { $0.phase == .spoiled }
            for a in spoiled.suffix(listed) {
                print(
                    "  spoiled: chip \(a.chipSerial) (line \(a.line), \(a.station) / \(a.reader)): \(a.reason ?? "no reason")"
                )
            }
            if spoiled.count > listed {
                print("  … \(spoiled.count - listed) earlier spoiled cards (--view attempts lists them all)")
            }
            for status in [RecordStatus.failed, .rejected] {
                let these = mine.filter { $0.status == status }
                for r in these.prefix(listed) {
                    print("  line \(r.line)  \(r.idNumber ?? "?")  \(status.rawValue.uppercased())  \(r.reason ?? "")")
                }
                if these.count > listed {
                    print("  … \(these.count - listed) more \(status.rawValue) (--view records lists them all)")
                }
            }
        }
    }

    /// Every record of one citizen, across every batch, with its attempts.
    func citizen(_ id: String, in store: any PersoJournal) throws {
        let history: [CitizenRecordHistory]
        do { history = try store.citizen(idNumber: id) } catch { throw fail("\(error)", code: CCCDExit.failure) }
        if json {
            print(String(decoding: try Self.encoder.encode(history), as: UTF8.self))
            if history.isEmpty { throw ExitCode(CCCDExit.failure) }
            return
        }
        guard !history.isEmpty else {
            throw fail("no record with ID number \(id) in \(JournalLocation.redacted(journal))", code: CCCDExit.failure)
        }
        let issued = history.filter { $0.record.status == .issued }
        print(
            "ID number \(id): \(plural(history.count, "record")), \(plural(issued.count, "card")) issued"
                + (issued.last.map { ", the latest on chip \($0.record.chipSerial ?? "?")" } ?? ""))
        for h in history {
            let r = h.record
            print(
                "  batch \(r.batchId) (\(h.batchSource ?? "?")), line \(r.line): \(r.status.rawValue.uppercased())"
                    + (r.chipSerial.map { " on chip \($0)" } ?? "") + (h.updatedAt.map { " at \(Self.time($0))" } ?? "")
                    + (r.reason.map { ": \($0)" } ?? ""))
            if let reissue = h.reissue { print("    reissue: \(reissue)") }
            for a in h.attempts { print("    " + Self.describe(a)) }
        }
    }

    static func time(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func describe(_ s: StationRow) -> String {
        let rate = s.cardsPerMinute.map { String(format: ", %.1f cards/min", $0) } ?? ""
        return
            "station \(s.station): \(s.issued) issued, \(s.spoiled) spoiled, \(s.interrupted) interrupted, \(s.open) held now\(rate)"
    }

    static func describe(_ a: AttemptRow) -> String {
        "attempt \(a.id): line \(a.line), chip \(a.chipSerial), \(a.station) / \(a.reader), \(a.phase.rawValue), "
            + "started \(time(a.startedAt))" + (a.endedAt.map { ", ended \(time($0))" } ?? "")
            + (a.reason.map { ": \($0)" } ?? "")
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
