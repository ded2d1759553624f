import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Issuance
import IssuanceSlots
import LDS
import Personalization
import Reader
import TestSupport
import Testing

/// A folder with a batch of synthetic records and their portrait.
struct BatchFolder {
    let path: String
    let records: [CitizenRecord]

    init(count: Int, seed: UInt64 = 7) throws {
        path = NSTemporaryDirectory() + "cccdkit-line-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try SampleRecord.writeImages(to: path)
        records = SampleRecord.batch(count: count, seed: seed, portrait: "portrait.jpg", today: Line.today)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func job(batchID: String = "B1", profile: CardProfile = .vietnamese2021) -> PersoJob {
        PersoJob(
            batchID: batchID,
            records: Dictionary(uniqueKeysWithValues: records.enumerated().map { ($0.offset + 1, $0.element) }),
            profile: profile, signer: Line.pki.signer, trust: Line.trust, transportKeys: SoftwareTransportKeys(master: Line.master),
            baseDirectory: path, today: Line.today)
    }

    func begin(_ journal: any PersoJournal, batchID: String = "B1") throws {
        try journal.begin(
            batch: BatchRow(
                id: batchID, source: "test", profile: "vn-cccd-2021", createdAt: Date(), recordCount: records.count),
            records: records.enumerated().map { ($0.offset + 1, $0.element.idNumber, "h\($0.offset)", nil) })
    }

    func slots(_ n: Int, journal: any PersoJournal, commandSet: PersoCommandSet = .secure, answersSerial: Bool = true)
        throws -> [EmulatedSlot]
    {
        try (0..<n).map { i in
            try EmulatedSlot(
                index: i, folder: path + "/out", master: Line.master, commandSet: commandSet,
                aid: VietnameseCard.applicationID, answersSerial: answersSerial,
                nextSerial: { BlankChip.serial(batch: 9, index: try journal.nextChipNumber()) })
        }
    }
}

/// A journal that dies (throws) at the chosen moment, as a process killed there would.
final class DyingJournal: PersoJournal, @unchecked Sendable {
    let base: SQLiteJournal
    let diesAt: AttemptPhase
    /// Dies just after the commit of `diesAt` (the answer never reaches the line) rather than before it.
    let afterCommit: Bool
    private var died = false
    init(_ base: SQLiteJournal, diesAt: AttemptPhase, afterCommit: Bool = false) {
        self.base = base
        self.diesAt = diesAt
        self.afterCommit = afterCommit
    }
    struct Death: Error {}
    func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)]) throws {
        try base.begin(batch: batch, records: records)
    }
    func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        try base.attempts(batch: batch, phases: phases, station: station)
    }
    func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval) throws
        -> Claim?
    {
        if died { throw Death() }
        return try base.claim(batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: lease)
    }
    func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        // The phase reaches the journal, then the process dies.
        try base.advance(attempt: attempt, to: phase, lease: lease)
        if phase == diesAt && diesAt != .issued {
            died = true
            throw Death()
        }
    }
    func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        if phase == .issued && diesAt == .issued && !died && !afterCommit {
            died = true
            throw Death()
        }
        try base.finish(attempt: attempt, phase, reason: reason)
        if phase == .issued && diesAt == .issued && !died && afterCommit {
            died = true
            throw Death()
        }
    }
    func fail(batch: String, line: Int, reason: String) throws {
        try base.fail(batch: batch, line: line, reason: reason)
    }
    func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        try base.event(batch: batch, line: line, chip: chip, reader: reader, kind: kind, detail: detail)
    }
    func nextChipNumber() throws -> Int { try base.nextChipNumber() }
    func records(batch: String?) throws -> [RecordRow] { try base.records(batch: batch) }
    func chip(serial: String) throws -> ChipRow? { try base.chip(serial: serial) }
    func batches() throws -> [BatchRow] { try base.batches() }
    func stations(batch: String?) throws -> [StationRow] { try base.stations(batch: batch) }
    func issuedRecords(idNumbers: [String]) throws -> [RecordRow] { try base.issuedRecords(idNumbers: idNumbers) }
    func refuse(batch: String, line: Int, reason: String) throws { try base.refuse(batch: batch, line: line, reason: reason) }
    func allowReissue(batch: String, line: Int, reason: String) throws {
        try base.allowReissue(batch: batch, line: line, reason: reason)
    }
    func citizen(idNumber: String) throws -> [CitizenRecordHistory] { try base.citizen(idNumber: idNumber) }
    func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        try base.register(station: name, host: host, pid: pid, lease: lease)
    }
    func heartbeat(station name: String, host: String, pid: Int) throws {
        try base.heartbeat(station: name, host: host, pid: pid)
    }
    func unregister(station name: String, host: String, pid: Int) throws {
        try base.unregister(station: name, host: host, pid: pid)
    }
}

@Suite("The line: stations, journal, exactly once, recovery")
struct LineTests {
    @Test("Synthetic batches are valid records the law allows (1,000 of them)")
    func syntheticBatchIsValid() {
        let records = SampleRecord.batch(
            count: 1000, seed: 42, portrait: SampleRecord.portraitBase64Public, today: Line.today)
        #expect(Set(records.map(\.idNumber)).count == 1000)
        let validator = RecordValidator(today: Line.today)
        let invalid = records.filter { !validator.validate($0).isValid }
        #expect(invalid.isEmpty, "\(invalid.prefix(3).map { validator.validate($0).errors })")
    }

    @Test("Two stations issue every record once; the cards in cards/ read genuine; a second run issues nothing")
    func batchOnce() throws {
        let folder = try BatchFolder(count: 12)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let summary = try PersoLine(job: folder.job(), journal: journal, slots: try folder.slots(2, journal: journal))
            .run()
        #expect(summary.issued == 12 && summary.spoiled == 0)
        let rows = try journal.records(batch: "B1")
        #expect(rows.allSatisfy { $0.status == .issued && $0.chipSerial != nil })
        #expect(Set(rows.compactMap(\.chipSerial)).count == 12)
        #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 })
        let cards = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/cards")
        #expect(cards.count == 12)
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: folder.path + "/out/cards/" + cards[0])))
        let key = try #require(ReadBack.accessKey(for: image))
        let read = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
            key, options: ReadOptions(trust: Line.trust, today: Line.today))
        #expect(read.assessment.genuine)
        let again = try PersoLine(job: folder.job(), journal: journal, slots: try folder.slots(2, journal: journal))
            .run()
        #expect(again.issued == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/cards").count == 12)
    }

    @Test(
        "A crash at each moment of a card (writing begun, lock answered, before the journal's commit): the restart accounts for the chip in the slot and issues every record once",
        arguments: [AttemptPhase.writing, .locked, .issued])
    func crashAndResume(_ moment: AttemptPhase) throws {
        let folder = try BatchFolder(count: 4, seed: 11)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let dying = DyingJournal(journal, diesAt: moment)
        #expect(throws: (any Error).self) {
            _ = try PersoLine(job: folder.job(), journal: dying, slots: try folder.slots(1, journal: dying)).run()
        }
        let open = try journal.openAttempts(batch: "B1")
        #expect(open.count == 1, "the crash left one attempt open")
        // The restart: new slots loaded from disk, the same journal.
        nonisolated(unsafe) var events: [String] = []
        let lock = NSLock()
        let summary = try PersoLine(job: folder.job(), journal: journal, slots: try folder.slots(1, journal: journal)) {
            e in
            if case .recovered(_, _, let outcome) = e { lock.withLock { events.append(outcome) } }
        }.run()
        // Written, or only about to be: the chip's state is unknown, so it is spoiled (never a second card for the
        // record without the first accounted for). Locked: it reads back as the record's card, so it is issued.
        let expected = moment == .writing ? "spoiled" : "issued"
        #expect(events == [expected], "\(events)")
        #expect(try journal.records(batch: "B1").allSatisfy { $0.status == .issued })
        #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 })
        #expect(try journal.openAttempts(batch: "B1").isEmpty)
        let cards = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/cards")
        #expect(cards.count == 4)
        #expect(Set(cards.map { String($0.prefix(12)) }).count == 4, "one card per record")
        #expect(summary.recovered == 1)
    }

    @Test(
        "A crash after the journal's issued commit, before the card left the reader: the restart releases that card as issued (never refused, spoiled or written again)"
    )
    func crashAfterIssuedCommit() throws {
        let folder = try BatchFolder(count: 3, seed: 13)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let dying = DyingJournal(journal, diesAt: .issued, afterCommit: true)
        #expect(throws: (any Error).self) {
            _ = try PersoLine(job: folder.job(), journal: dying, slots: try folder.slots(1, journal: dying)).run()
        }
        #expect(try journal.openAttempts(batch: "B1").isEmpty)
        #expect(try journal.records(batch: "B1").filter { $0.status == .issued }.count == 1)
        let cardsFolder = folder.path + "/out/cards"
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cardsFolder).isEmpty, "the card is still in the slot")
        nonisolated(unsafe) var events: [String] = []
        let lock = NSLock()
        let summary = try PersoLine(job: folder.job(), journal: journal, slots: try folder.slots(1, journal: journal)) {
            e in
            lock.withLock {
                switch e {
                case .recovered(_, _, let outcome): events.append(outcome)
                case .refusedCard(_, let reason): events.append("refused: \(reason)")
                case .spoiled(_, _, _, let reason): events.append("spoiled: \(reason)")
                default: break
                }
            }
        }.run()
        #expect(events == ["issued card still in the reader"], "\(events)")
        #expect(summary.issued == 2 && summary.spoiled == 0)
        let records = try journal.records(batch: "B1")
        #expect(records.allSatisfy { $0.status == .issued })
        #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 })
        let cards = try FileManager.default.contentsOfDirectory(atPath: cardsFolder)
        #expect(Set(cards.map { String($0.prefix(12)) }) == Set(records.compactMap(\.idNumber)))
        #expect(Set(cards.map { String($0.dropFirst(13).dropLast(5)) }) == Set(records.compactMap(\.chipSerial)))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/spoiled"))?.isEmpty ?? true)
        #expect(try journal.chip(serial: records[0].chipSerial ?? "")?.issued == true)
    }

    @Test(
        "Chips without a serial (JMRTD's applet): the line assigns each one (FF…), and after a crash recognises the chip by its reader",
        arguments: [AttemptPhase.writing, .locked])
    func assignedSerials(_ moment: AttemptPhase) throws {
        let folder = try BatchFolder(count: 3, seed: 12)
        defer { folder.remove() }
        var profile = CardProfile.vietnamese2021
        profile.persoCommandSet = .jmrtdApplet
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let dying = DyingJournal(journal, diesAt: moment)
        #expect(throws: (any Error).self) {
            _ = try PersoLine(
                job: folder.job(profile: profile), journal: dying,
                slots: try folder.slots(1, journal: dying, commandSet: .jmrtdApplet, answersSerial: false)
            ).run()
        }
        let open = try journal.openAttempts(batch: "B1")
        #expect(open.count == 1 && open.allSatisfy { PersoWriter.ChipIdentity.isAssigned($0.chipSerial) }, "\(open)")
        nonisolated(unsafe) var events: [String] = []
        let lock = NSLock()
        let summary = try PersoLine(
            job: folder.job(profile: profile), journal: journal,
            slots: try folder.slots(1, journal: journal, commandSet: .jmrtdApplet, answersSerial: false)
        ) { e in
            if case .recovered(_, _, let outcome) = e { lock.withLock { events.append(outcome) } }
        }.run()
        #expect(events == [moment == .writing ? "spoiled" : "issued"], "\(events)")
        #expect(summary.recovered == 1)
        let records = try journal.records(batch: "B1")
        #expect(records.allSatisfy { $0.status == .issued })
        #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 })
        let serials = records.compactMap(\.chipSerial)
        #expect(
            serials.count == 3 && Set(serials).count == 3 && serials.allSatisfy(PersoWriter.ChipIdentity.isAssigned))
    }

    @Test("The journal is exactly-once under racing stations: one issued attempt per record, claims never shared")
    func racingClaims() throws {
        let folder = try BatchFolder(count: 1)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try journal.begin(
            batch: BatchRow(id: "R", source: "t", profile: "p", createdAt: Date(), recordCount: 200),
            records: (1...200).map { ($0, nil, "h", nil) })
        let claimed = NSLock()
        nonisolated(unsafe) var lines: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 8) { station in
            while let claim = try? journal.claim(
                batch: "R", chipSerial: "S\(station)-\(UUID())", station: "s\(station)", reader: "r")
            {
                claimed.withLock { lines.append(claim.line) }
                try? journal.finish(attempt: claim.attempt, .issued, reason: nil)
            }
        }
        #expect(lines.count == 200 && Set(lines).count == 200)
        #expect(try journal.records(batch: "R").allSatisfy { $0.status == .issued })
    }

    @Test(
        "A spoiled card sends its record to the next card; after three spoiled cards the record fails with the reason")
    func spoiledThenFailed() throws {
        let folder = try BatchFolder(count: 1)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        for i in 0..<3 {
            let claim = try #require(try journal.claim(batch: "B1", chipSerial: "C\(i)", station: "s", reader: "r"))
            try journal.advance(attempt: claim.attempt, to: .writing)
            try journal.finish(attempt: claim.attempt, .spoiled, reason: "UPDATE BINARY refused (6581)")
        }
        let row = try #require(try journal.records(batch: "B1").first)
        #expect(row.status == .failed && row.spoiledCount == 3 && row.reason == "UPDATE BINARY refused (6581)")
        #expect(try journal.claim(batch: "B1", chipSerial: "C9", station: "s", reader: "r") == nil)
    }

    @Test(
        "A database that drops calls and loses answers: the line waits, retries, says so, and still issues every record exactly once (a bare journal, and one handed in already resilient)",
        arguments: [false, true]
    )
    func unreliableDatabase(handedInResilient: Bool) throws {
        let folder = try BatchFolder(count: 6, seed: handedInResilient ? 16 : 14)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let flaky = FlakyJournal(journal)
        nonisolated(unsafe) var said: [String] = []
        let lock = NSLock()
        var job = folder.job()
        job.lease = 1
        let given: any PersoJournal = handedInResilient ? ResilientJournal(flaky) : flaky
        let summary = try PersoLine(job: job, journal: given, slots: try folder.slots(2, journal: journal)) { e in
            switch e {
            case .journalUnavailable: lock.withLock { said.append("down") }
            case .journalBack: lock.withLock { said.append("back") }
            default: break
            }
        }.run()
        #expect(
            flaky.dropped > 5 && flaky.lost > 5, "the database misbehaved too little: \(flaky.dropped), \(flaky.lost)")
        #expect(said.contains("down") && said.contains("back"), "\(said)")
        #expect(summary.issued == 6)
        #expect(try journal.records(batch: "B1").allSatisfy { $0.status == .issued })
        #expect(try journal.issuedAttemptsPerRecord(batch: "B1").values.allSatisfy { $0 == 1 })
        #expect(try journal.openAttempts(batch: "B1").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/cards").count == 6)
    }

    @Test("A database away for longer than the line's patience: a typed `unavailable` error, nothing issued")
    func databaseGone() throws {
        let folder = try BatchFolder(count: 2, seed: 15)
        defer { folder.remove() }
        let journal = try SQLiteJournal(path: folder.path + "/journal.db")
        try folder.begin(journal)
        let flaky = FlakyJournal(journal)
        flaky.down = true
        do {
            _ = try PersoLine(
                job: folder.job(), journal: flaky, slots: try folder.slots(1, journal: journal), patience: 1
            )
            .run()
            Issue.record("the line ran without its journal")
        } catch let error as JournalError {
            #expect(error.kind == .unavailable && error.reason.contains("unreachable"), "\(error)")
        }
        #expect(try journal.records(batch: "B1").allSatisfy { $0.status == .pending })
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out/cards").isEmpty)
    }
}

/// A journal whose database misbehaves: every 4th call is dropped before it reaches the database, every 5th
/// reaches it and commits but its answer is lost (the connection broke after COMMIT), or every call fails (`down`).
final class FlakyJournal: PersoJournal, @unchecked Sendable {
    let base: SQLiteJournal
    private let lock = NSLock()
    private var calls = 0
    private(set) var dropped = 0
    private(set) var lost = 0
    var down = false

    init(_ base: SQLiteJournal) { self.base = base }

    func call<T>(_ body: () throws -> T) throws -> T {
        let n = lock.withLock {
            calls += 1
            return calls
        }
        if down || n % 4 == 0 {
            lock.withLock { dropped += 1 }
            throw JournalError("connection refused", kind: .unavailable)
        }
        let value = try body()
        if n % 5 == 0 {
            lock.withLock { lost += 1 }
            throw JournalError("the connection broke before the answer", kind: .unavailable)
        }
        return value
    }

    func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)]) throws {
        try call { try base.begin(batch: batch, records: records) }
    }
    func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        try call { try base.attempts(batch: batch, phases: phases, station: station) }
    }
    func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval) throws
        -> Claim?
    {
        try call {
            try base.claim(batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: lease)
        }
    }
    func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        try call { try base.advance(attempt: attempt, to: phase, lease: lease) }
    }
    func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        try call { try base.finish(attempt: attempt, phase, reason: reason) }
    }
    func fail(batch: String, line: Int, reason: String) throws {
        try call { try base.fail(batch: batch, line: line, reason: reason) }
    }
    func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        try call { try base.event(batch: batch, line: line, chip: chip, reader: reader, kind: kind, detail: detail) }
    }
    func nextChipNumber() throws -> Int { try call { try base.nextChipNumber() } }
    func records(batch: String?) throws -> [RecordRow] { try call { try base.records(batch: batch) } }
    func chip(serial: String) throws -> ChipRow? { try call { try base.chip(serial: serial) } }
    func batches() throws -> [BatchRow] { try call { try base.batches() } }
    func stations(batch: String?) throws -> [StationRow] { try call { try base.stations(batch: batch) } }
    func issuedRecords(idNumbers: [String]) throws -> [RecordRow] { try call { try base.issuedRecords(idNumbers: idNumbers) } }
    func refuse(batch: String, line: Int, reason: String) throws { try call { try base.refuse(batch: batch, line: line, reason: reason) } }
    func allowReissue(batch: String, line: Int, reason: String) throws {
        try call { try base.allowReissue(batch: batch, line: line, reason: reason) }
    }
    func citizen(idNumber: String) throws -> [CitizenRecordHistory] { try call { try base.citizen(idNumber: idNumber) } }
    func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        try call { try base.register(station: name, host: host, pid: pid, lease: lease) }
    }
    func heartbeat(station name: String, host: String, pid: Int) throws {
        try call { try base.heartbeat(station: name, host: host, pid: pid) }
    }
    func unregister(station name: String, host: String, pid: Int) throws {
        try call { try base.unregister(station: name, host: host, pid: pid) }
    }
}
