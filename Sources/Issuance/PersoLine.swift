import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS
import Personalization
import Reader
import Verification

/// What a line personalizes: the batch's valid records, the profile, the document signer, the CSCA the read-back
/// trusts, and the chips' transport master key.
public struct PersoJob: @unchecked Sendable {
    public var batchID: String
    /// The valid records by line number (invalid ones were rejected before the line started).
    public var records: [Int: CitizenRecord]
    public var profile: CardProfile
    public var signer: DocumentSigner
    public var trust: TrustStore
    /// Where the chips' transport keys come from (nil: a plain development applet).
    public var transportKeys: (any TransportKeyProvider)?
    public var baseDirectory: String?
    public var today: CalendarDate?
    /// This station's name in the journal (one process per name on a shared queue), and how long a record it
    /// claimed stays its own before any write (a station that dies in between gives the record back after that).
    public var station: String
    public var lease: TimeInterval
    /// The line's inspection system: the read-back opens DG3 with it and compares it byte for byte (nil: the chip
    /// must refuse DG3, and EF.SOD signs the DG3 written).
    public var terminal: TerminalCredentials? = nil

    public init(
        batchID: String, records: [Int: CitizenRecord], profile: CardProfile, signer: DocumentSigner, trust: TrustStore,
        transportKeys: (any TransportKeyProvider)?, baseDirectory: String?, today: CalendarDate? = nil, station: String = "station",
        lease: TimeInterval = 60
    ) {
        self.station = station
        self.lease = lease
        self.batchID = batchID
        self.records = records
        self.profile = profile
        self.signer = signer
        self.trust = trust
        self.transportKeys = transportKeys
        self.baseDirectory = baseDirectory
        self.today = today
    }
}

/// What the line reports as it goes (for the progress line and the log). Never a secret.
public enum LineEvent: Sendable {
    case issued(line: Int, serial: String, station: String)
    case spoiled(line: Int, serial: String, station: String, reason: String)
    case failed(line: Int, reason: String)
    case recovered(line: Int, serial: String, outcome: String)
    case refusedCard(station: String, reason: String)
    /// The journal's database cannot be reached: the line takes no new record and retries (the card in hand is
    /// finished and recorded when it is back).
    case journalUnavailable(reason: String)
    case journalBack(afterSeconds: Double)
    /// Records held by other stations mid-card: only they can account for those chips.
    case heldElsewhere(lines: [Int], stations: [String])
    /// What one reader is doing now (the operator's view of which reader needs a hand).
    case reader(name: String, state: ReaderState)
}

/// Where one reader (slot) of a station stands.
public enum ReaderState: Sendable, Equatable {
    /// Waiting for a blank card.
    case waiting
    /// Writing record `line` to chip `chip`.
    case writing(line: Int, chip: String)
    /// Reading the written card back as a terminal would.
    case readingBack(line: Int, chip: String)
    /// Done with the card (`outcome`: issued, spoiled, refused): take it out.
    case done(outcome: String, line: Int?, chip: String?)
    /// The reader stopped (a wrong transport key, the operator's stop, the end of the batch).
    case stopped(reason: String)
}

/// A station that cannot go on with its chips (a wrong transport key): the chip stays blank, the station stops.
public struct StationStopped: Error, CustomStringConvertible, Sendable {
    public let reader: String
    public let reason: String
    public var description: String { "\(reader): \(reason)" }
}

/// The totals of a run.
public struct LineSummary: Codable, Sendable {
    public var issued = 0
    public var spoiled = 0
    public var failed = 0
    public var recovered = 0
    public var seconds = 0.0
    /// Cards issued this run by each station (reader), by its name.
    public var issuedBy: [String: Int] = [:]
    /// Seconds the stations spent (summed over readers) preparing cards (data preparation and the perso script),
    /// writing them (the chip), and reading them back; the rest of `seconds × readers` is the journal and waiting.
    public var preparationSeconds = 0.0
    public var chipSeconds = 0.0
    public var readBackSeconds = 0.0
    /// When this run's first record was claimed and its last card issued.
    public var firstClaim: Date?
    public var lastIssue: Date?
    /// Cards issued this run per minute, from the first claim to the last card: the journal's figure for a
    /// station (`cccd journal`) over the same span.
    public var cardsPerMinute: Double {
        let fresh = issuedBy.values.reduce(0, +)
        guard let firstClaim, let lastIssue, lastIssue > firstClaim, fresh > 0 else { return 0 }
        return Double(fresh) / lastIssue.timeIntervalSince(firstClaim) * 60
    }
}

/// A personalization station: one worker per slot (reader), all on one journal, which other stations (processes,
/// machines) may share. It registers its name (one process per name), then accounts for what a previous run of
/// this station left open (the chip in the reader is read back and recognised, or known untouched, or spoiled);
/// then every reader claims records until none is left for this station, writing, locking and reading back each
/// card. Every journal call is retried while the database cannot be reached (`ResilientJournal`).
public final class PersoLine: @unchecked Sendable {
    public let job: PersoJob
    public let journal: any PersoJournal
    public let slots: [any CardSlot]
    private let report: @Sendable (LineEvent) -> Void
    private let lock = NSLock()
    private var active = 0
    private var summary = LineSummary()
    private var stopRequested = false
    private var errors: [any Error] = []
    /// Keys made ahead on idle cores for chips that cannot make their own (nil when they do): set while running.
    private var keyPool: ChipKeyPool?

    public init(
        job: PersoJob, journal: any PersoJournal, slots: [any CardSlot], patience: TimeInterval = 600,
        report: @escaping @Sendable (LineEvent) -> Void = { _ in }
    ) {
        self.job = job
        let tell: @Sendable (ResilientJournal.State) -> Void = { state in
            switch state {
            case .unavailable(let reason): report(.journalUnavailable(reason: reason))
            case .back(let seconds): report(.journalBack(afterSeconds: seconds))
            }
        }
        // Already resilient (the CLI loads the batch through one): observed, never taken as it is, or the line's
        // report would never hear of the database.
        self.journal =
            (journal as? ResilientJournal)?.observed(by: tell)
            ?? ResilientJournal(journal, patience: patience, onChange: tell)
        self.slots = slots
        self.report = report
    }

    static let host = ProcessInfo.processInfo.hostName
    static let pid = Int(ProcessInfo.processInfo.processIdentifier)

    /// The totals so far (a run that ended with an error).
    public var summarySoFar: LineSummary {
        lock.withLock { summary }
    }

    /// Asks the stations to stop after the card in hand.
    public func stop() {
        lock.withLock { stopRequested = true }
    }

    /// Runs the line to the end of the batch (or `stop()`); returns the totals.
    public func run() throws -> LineSummary {
        let start = Date()
        try journal.register(station: job.station, host: Self.host, pid: Self.pid, lease: job.lease)
        // The heartbeat tells other processes this station name is taken.
        let beating = NSCondition()
        nonisolated(unsafe) var running = true
        let beat = Thread { [journal, job] in
            beating.lock()
            while running {
                _ = beating.wait(until: Date().addingTimeInterval(max(1, job.lease / 4)))
                if running { try? journal.heartbeat(station: job.station, host: Self.host, pid: Self.pid) }
            }
            beating.unlock()
        }
        beat.start()
        defer {
            beating.lock()
            running = false
            beating.signal()
            beating.unlock()
        }
        try recover()
        // A chip that cannot make its keys gets them from the host: made ahead, off the cards' path.
        let pool = ChipKeyPool(profile: job.profile)
        lock.withLock { keyPool = pool }
        defer { pool?.stop() }
        let group = DispatchGroup()
        for index in slots.indices {
            group.enter()
            Thread {
                do { try self.station(self.slots[index]) } catch {
                    self.lock.withLock { self.errors.append(error) }
                    // One station's chips refused its key: the other readers go on (they stop at their own first
                    // such chip). Anything else stops the line.
                    if !(error is StationStopped) { self.stop() }
                }
                group.leave()
            }.start()
        }
        group.wait()
        if let first = lock.withLock({ errors.first }) { throw first }
        let open = (try? journal.openAttempts(batch: job.batchID)) ?? []
        if !open.isEmpty {
            report(.heldElsewhere(lines: open.map(\.line), stations: Array(Set(open.map(\.station))).sorted()))
        }
        try? journal.unregister(station: job.station, host: Self.host, pid: Self.pid)
        return lock.withLock {
            summary.seconds = Date().timeIntervalSince(start)
            return summary
        }
    }

    /// Nothing left for this station: no card in hand, and no pending record it could take (free, or claimed by
    /// another station that has not written yet, whose lease may run out). Records other stations hold mid-card
    /// are theirs to account for.
    func finished() -> Bool {
        let (busy, stopping) = lock.withLock { (active, stopRequested) }
        if stopping { return true }
        if busy > 0 { return false }
        guard let records = try? journal.records(batch: job.batchID),
            let open = try? journal.openAttempts(batch: job.batchID)
        else { return false }
        let held = Dictionary(open.map { ($0.line, $0) }, uniquingKeysWith: { a, _ in a })
        for r in records where r.status == .pending {
            guard let attempt = held[r.line], attempt.phase != .claimed else { return false }
        }
        return true
    }

    // MARK: Recovery

    /// Accounts for every attempt a previous run left open, before any new card is touched.
    func recover() throws {
        var open = try journal.openAttempts(batch: job.batchID, station: job.station)
        guard !open.isEmpty else { return }
        for slot in slots {
            guard let card = slot.presentCard(),
                let chip = try? PersoWriter.identify(
                    on: card, aid: job.profile.applicationID, commandSet: job.profile.persoCommandSet)
            else { continue }
            // A chip with a serial of its own is known by it; one without (its serial was assigned) by the reader
            // its open attempt was in.
            let serial = chip.serial.hexString
            guard
                let index = open.firstIndex(where: {
                    chip.assigned
                        ? PersoWriter.ChipIdentity.isAssigned($0.chipSerial) && $0.reader == slot.name
                        : $0.chipSerial == serial && $0.reader == slot.name
                })
            else { continue }
            let attempt = open.remove(at: index)
            try resolve(attempt, card: card, slot: slot)
        }
        for attempt in open {
            if attempt.phase == .claimed {
                try journal.finish(
                    attempt: attempt.id, .interrupted, reason: "the line stopped before writing; the chip left")
            } else {
                // It may be an issued card somewhere: never issue its record again without someone looking.
                try journal.finish(
                    attempt: attempt.id, .interrupted,
                    reason:
                        "chip \(attempt.chipSerial) left the reader while being written; find it before issuing this record"
                )
                try journal.fail(
                    batch: job.batchID, line: attempt.line,
                    reason: "chip \(attempt.chipSerial) left \(attempt.reader) mid-issuance (it may be an issued card)")
            }
            report(.recovered(line: attempt.line, serial: attempt.chipSerial, outcome: "chip not found"))
        }
    }

    /// The chip of an open attempt is in `slot`: issued (it reads back as its record's card), untouched, or
    /// spoiled.
    func resolve(_ attempt: OpenAttempt, card: any CardTransport, slot: any CardSlot) throws {
        guard let record = job.records[attempt.line] else {
            try journal.finish(attempt: attempt.id, .interrupted, reason: "the record is no longer in the batch")
            return
        }
        if attempt.phase == .claimed {
            try journal.finish(
                attempt: attempt.id, .interrupted, reason: "the line stopped before writing (chip untouched)")
            report(.recovered(line: attempt.line, serial: attempt.chipSerial, outcome: "untouched"))
            return
        }
        try? slot.reset(card)
        if let image = recognise(record, on: card) {
            try journal.finish(attempt: attempt.id, .issued, reason: "recognised after a restart: reads back genuine")
            try slot.release(card, outcome: .issued(image, label: record.idNumber), stop: { true })
            lock.withLock {
                summary.issued += 1
                summary.recovered += 1
            }
            report(.recovered(line: attempt.line, serial: attempt.chipSerial, outcome: "issued"))
        } else {
            try journal.finish(
                attempt: attempt.id, .spoiled,
                reason: job.profile.keysMadeOnChip ? SpoilReason.interruptedWithChipKeys : SpoilReason.interrupted)
            try slot.release(card, outcome: .spoiled, stop: { true })
            lock.withLock {
                summary.spoiled += 1
                summary.recovered += 1
            }
            report(.recovered(line: attempt.line, serial: attempt.chipSerial, outcome: "spoiled"))
        }
    }

    /// The card is `record`'s, complete and locked: it opens with the record's key and reads back genuine against
    /// the batch's CSCA, and holds the record's ID number. Returns what it read, as an image.
    func recognise(_ record: CitizenRecord, on card: any CardTransport) -> CardImage? {
        var keys: [AccessKey] = []
        if job.profile.offersPACE, let can = try? VietnameseCard.can(idNumber: record.idNumber) {
            keys.append(.can(can))
        }
        if let dob = CalendarDate(iso: record.dateOfBirth),
            let key = try? VietnameseCard.bacKey(
                idNumber: record.idNumber, dateOfBirth: dob.mrz,
                dateOfExpiry: record.dateOfExpiry.flatMap { CalendarDate(iso: $0)?.mrz })
        {
            keys.append(.mrz(key))
        }
        var options = ReadOptions(trust: job.trust, today: job.today)
        options.readsEFCOM = true  // the card's image is rebuilt from every file
        for key in keys {
            guard
                let result = try? ReaderSession(transport: card).readCard(key, options: options),
                result.assessment.genuine,
                let dg1 = result.files[.dataGroup(1)], let mrz = try? DataGroup1(bytes: dg1).mrz,
                VietnameseCard.idNumber(from: mrz) == record.idNumber
            else { continue }
            return CardImage.eMRTD(files: result.files, bac: nil, aid: job.profile.applicationID)
        }
        return nil
    }

    // MARK: Stations

    func station(_ slot: any CardSlot) throws {
        let writer = PersoWriter(transportKeys: job.transportKeys)
        defer { report(.reader(name: slot.name, state: .stopped(reason: stopReason(slot)))) }
        while !finished() {
            report(.reader(name: slot.name, state: .waiting))
            guard let card = try slot.awaitCard(stop: { self.finished() }) else { continue }
            let chip: PersoWriter.ChipIdentity
            do {
                chip = try PersoWriter.identify(
                    on: card, aid: job.profile.applicationID, commandSet: job.profile.persoCommandSet)
            } catch {
                try journal.event(
                    batch: job.batchID, line: nil, chip: nil, reader: slot.name, kind: "refused", detail: "\(error)")
                report(.refusedCard(station: slot.name, reason: "\(error)"))
                try slot.release(card, outcome: .refused, stop: { self.finished() })
                continue
            }
            // A card the journal has as issued (the line stopped between the journal's commit and the card leaving
            // the reader, or someone put an issued card back): it leaves as what it is, and is never written again.
            if !chip.assigned, let known = try journal.chip(serial: chip.serial.hexString), known.issued {
                try leaveIssued(card, known, slot: slot)
                continue
            }
            // Only a claimed record makes the line busy (a claim in flight, or the wait after finding none, must not:
            // two readers waiting would keep each other's line open for ever). Until this reader counts as busy, the
            // claimed attempt itself tells the others there is work. The card's release (which may wait for the card
            // to be taken away) comes after, so waiting readers never hold the line open.
            // The operator's stop: no new record once it is asked for (the chip stays untouched).
            if lock.withLock({ stopRequested }) { break }
            guard
                let claim = try journal.claim(
                    batch: job.batchID, chipSerial: chip.serial.hexString, station: job.station, reader: slot.name,
                    lease: job.lease)
            else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let outcome: SlotOutcome?
            do {
                lock.withLock {
                    active += 1
                    if summary.firstClaim == nil { summary.firstClaim = Date() }
                }
                defer { lock.withLock { active -= 1 } }
                outcome = try personalize(claim, card: card, chip: chip, slot: slot, writer: writer)
            }
            if let outcome {
                report(.reader(name: slot.name, state: .done(outcome: outcome.name, line: claim.line, chip: chip.serial.hexString)))
                try slot.release(card, outcome: outcome, stop: { self.finished() })
            }
        }
    }

    private var stoppedReaders: [String: String] = [:]

    func stopReason(_ slot: any CardSlot) -> String {
        lock.withLock { stoppedReaders[slot.name] ?? (stopRequested ? "stopped by the operator" : "nothing left for this station") }
    }

    /// An issued chip found in a reader: this batch's card that reads back as its record's leaves as issued;
    /// anything else is refused, untouched.
    func leaveIssued(_ card: any CardTransport, _ known: ChipRow, slot: any CardSlot) throws {
        try? slot.reset(card)
        if known.batchId == job.batchID, let line = known.line, let record = job.records[line],
            let image = recognise(record, on: card)
        {
            try slot.release(card, outcome: .issued(image, label: record.idNumber), stop: { self.finished() })
            lock.withLock { summary.recovered += 1 }
            report(.recovered(line: line, serial: known.serial, outcome: "issued card still in the reader"))
            return
        }
        let reason =
            "chip \(known.serial) is issued already (batch \(known.batchId ?? "?"), record \(known.line.map(String.init) ?? "?"))"
        try journal.event(
            batch: job.batchID, line: nil, chip: known.serial, reader: slot.name, kind: "refused", detail: reason)
        report(.refusedCard(station: slot.name, reason: reason))
        try slot.release(card, outcome: .refused, stop: { self.finished() })
    }

    /// Writes, locks and reads back one card; returns how the card leaves the slot (nil: it stays, still blank).
    func personalize(
        _ claim: Claim, card: any CardTransport, chip: PersoWriter.ChipIdentity, slot: any CardSlot,
        writer: PersoWriter
    ) throws -> SlotOutcome? {
        let serial = chip.serial.hexString
        guard let record = job.records[claim.line] else {
            try journal.finish(attempt: claim.attempt, .interrupted, reason: "no such record")
            return nil
        }
        // What is written: a whole image with host-made keys, or, for a chip that makes its own keys, the content
        // that waits for the chip's public keys (DG14, DG15 and EF.SOD are made once the chip has answered them).
        enum Prepared {
            case image(CardImage, PersoScript)
            case content(CardContent)
        }
        let prepared: Prepared
        let extendedLength = card.capabilities.supportsExtendedLength
        let preparing = DispatchTime.now().uptimeNanoseconds
        do {
            let validator = RecordValidator(profile: job.profile, today: job.today)
            if job.profile.keysMadeOnChip {
                prepared = .content(
                    try DataPreparation.content(
                        record, profile: job.profile, baseDirectory: job.baseDirectory, validator: validator))
            } else {
                let image = try DataPreparation.prepare(
                    record, profile: job.profile, signer: job.signer, baseDirectory: job.baseDirectory,
                    validator: validator, keys: lock.withLock { keyPool }.map { .pool($0) } ?? .random)
                prepared = .image(
                    image,
                    try PersoScript.compile(image, commandSet: job.profile.persoCommandSet, extendedLength: extendedLength))
            }
        } catch {
            // Not the chip's fault: the chip stays blank for the next record.
            try journal.finish(attempt: claim.attempt, .interrupted, reason: "preparation failed")
            try journal.fail(batch: job.batchID, line: claim.line, reason: "preparation failed: \(error)")
            lock.withLock { summary.failed += 1 }
            report(.failed(line: claim.line, reason: "\(error)"))
            return nil
        }
        let preparation = Self.since(preparing)
        lock.withLock { summary.preparationSeconds += preparation }
        do {
            try journal.advance(attempt: claim.attempt, to: .writing, lease: job.lease)
        } catch let error as JournalError where error.kind == .leaseLost {
            // Another station took the record after this one's lease ran out: the chip stays blank, untouched.
            report(.refusedCard(station: slot.name, reason: "record \(claim.line) went to another station: \(error)"))
            return nil
        }
        var journalFailure: (any Error)? = nil
        report(.reader(name: slot.name, state: .writing(line: claim.line, chip: serial)))
        let writing = DispatchTime.now().uptimeNanoseconds
        let lockStep: (PersoScript.Step) -> Void = { step in
            guard step.kind == .lock else { return }
            do { try self.journal.advance(attempt: claim.attempt, to: .locked, lease: self.job.lease) } catch {
                journalFailure = error
            }
        }
        var written: CardImage? = nil
        do {
            switch prepared {
            case .image(let image, let script):
                written = image
                _ = try writer.write(script, to: card, identity: chip, step: lockStep)
            case .content(let content):
                _ = try writer.write(
                    generating: job.profile.chipKeyRequests, aid: job.profile.applicationID, to: card, identity: chip,
                    extendedLength: extendedLength,
                    complete: { keys in
                        let signing = DispatchTime.now().uptimeNanoseconds
                        let image = try content.finish(
                            chipAuthentication: keys[.chipAuthenticationKey],
                            activeAuthenticationKeyInfo: try keys[.activeAuthenticationKey]?.subjectPublicKeyInfo(),
                            signer: job.signer)
                        written = image
                        let script = try PersoScript.compile(image, commandSet: .secure, extendedLength: extendedLength)
                        let spent = Self.since(signing)
                        lock.withLock { summary.preparationSeconds += spent }
                        return script
                    }, step: lockStep)
            }
            // The journal could not follow: stop here, as a crash would; the restart recognises the card.
            if let journalFailure { throw journalFailure }
        } catch let error as PersoError where error.kind == .notBlank {
            try journal.finish(attempt: claim.attempt, .interrupted, reason: "not a blank chip: \(error)")
            report(.refusedCard(station: slot.name, reason: "\(error)"))
            return .refused
        } catch let error as PersoError where error.kind == .wrongTransportKey {
            // Nothing was written (the channel never opened): the chip stays blank, the record goes back, and this
            // station stops: every chip would meet the same key.
            let reason = "wrong --transport-key for this batch (chip \(serial): \(error.reason))"
            try journal.finish(attempt: claim.attempt, .interrupted, reason: reason)
            try journal.event(
                batch: job.batchID, line: claim.line, chip: serial, reader: slot.name, kind: "stopped", detail: reason)
            lock.withLock { stoppedReaders[slot.name] = reason }
            report(.refusedCard(station: slot.name, reason: reason))
            throw StationStopped(reader: slot.name, reason: reason)
        } catch let error as PersoError {
            try spoil(claim, serial: serial, reason: "\(error)", slot: slot)
            return .spoiled
        }
        let writeSpent = Self.since(writing)
        lock.withLock { summary.chipSeconds += writeSpent }
        guard let image = written else {
            try spoil(claim, serial: serial, reason: "the card's files were never made", slot: slot)
            return .spoiled
        }
        try? slot.reset(card)
        report(.reader(name: slot.name, state: .readingBack(line: claim.line, chip: serial)))
        let readingBack = DispatchTime.now().uptimeNanoseconds
        let outcome = ReadBack.verify(image, on: card, trust: job.trust, today: job.today, terminal: job.terminal)
        let readBackSpent = Self.since(readingBack)
        lock.withLock { summary.readBackSeconds += readBackSpent }
        guard outcome.passed else {
            try spoil(claim, serial: serial, reason: "read-back: \(outcome.reason)", slot: slot)
            return .spoiled
        }
        try journal.finish(attempt: claim.attempt, .issued, reason: nil)
        lock.withLock {
            summary.issued += 1
            summary.issuedBy[slot.name, default: 0] += 1
            summary.lastIssue = Date()
        }
        report(.issued(line: claim.line, serial: serial, station: slot.name))
        return .issued(image, label: record.idNumber)
    }

    static func since(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    func spoil(_ claim: Claim, serial: String, reason: String, slot: any CardSlot) throws {
        try journal.finish(attempt: claim.attempt, .spoiled, reason: reason)
        lock.withLock { summary.spoiled += 1 }
        report(.spoiled(line: claim.line, serial: serial, station: slot.name, reason: reason))
    }
}
