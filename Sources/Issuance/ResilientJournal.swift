import Foundation

/// A journal that waits out a database it cannot reach: every call that fails `unavailable` is retried, with a
/// backoff from 0.1 s to 2 s, for up to `patience` seconds, and the line is told when the database goes away and
/// when it is back. Every journal call is safe to retry (`PersoJournal`), so a commit whose answer was lost is
/// found done. While it waits, the caller waits: a station takes no new record, and a card in hand is recorded
/// (issued or spoiled) only once the database has committed it.
public final class ResilientJournal: PersoJournal, @unchecked Sendable {
    public enum State: Sendable {
        case unavailable(String)
        case back(Double)
    }

    public let base: any PersoJournal
    public let patience: TimeInterval
    private let onChange: @Sendable (State) -> Void
    private let lock = NSLock()
    private var downSince: Date?

    public init(
        _ base: any PersoJournal, patience: TimeInterval = 600, onChange: @escaping @Sendable (State) -> Void = { _ in }
    ) {
        self.base = base
        self.patience = patience
        self.onChange = onChange
    }

    /// The same journal (its base and patience) telling `onChange` as well as whoever this one tells: a line handed
    /// a journal that is already resilient still tells its operator when the database goes away and comes back.
    public func observed(by onChange: @escaping @Sendable (State) -> Void) -> ResilientJournal {
        let before = self.onChange
        return ResilientJournal(base, patience: patience) { state in
            before(state)
            onChange(state)
        }
    }

    func retrying<T>(_ body: () throws -> T) throws -> T {
        let start = Date()
        var delay = 0.1
        while true {
            do {
                let value = try body()
                let back: Double? = lock.withLock {
                    defer { downSince = nil }
                    return downSince.map { Date().timeIntervalSince($0) }
                }
                if let back { onChange(.back(back)) }
                return value
            } catch let error as JournalError where error.kind == .unavailable {
                let first = lock.withLock {
                    defer { if downSince == nil { downSince = Date() } }
                    return downSince == nil
                }
                if first { onChange(.unavailable(error.reason)) }
                guard Date().timeIntervalSince(start) + delay < patience else {
                    throw JournalError(
                        "the database was unreachable for \(Int(patience)) s: \(error.reason)", kind: .unavailable)
                }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    public func begin(batch: BatchRow, records: [(line: Int, idNumber: String?, hash: String, rejection: String?)])
        throws
    { try retrying { try base.begin(batch: batch, records: records) } }

    public func attempts(batch: String, phases: Set<AttemptPhase>?, station: String?) throws -> [AttemptRow] {
        try retrying { try base.attempts(batch: batch, phases: phases, station: station) }
    }

    public func claim(batch: String, chipSerial: String, station: String, reader: String, lease: TimeInterval)
        throws -> Claim?
    {
        try retrying {
            try base.claim(batch: batch, chipSerial: chipSerial, station: station, reader: reader, lease: lease)
        }
    }

    public func advance(attempt: Int64, to phase: AttemptPhase, lease: TimeInterval) throws {
        try retrying { try base.advance(attempt: attempt, to: phase, lease: lease) }
    }

    public func finish(attempt: Int64, _ phase: AttemptPhase, reason: String?) throws {
        try retrying { try base.finish(attempt: attempt, phase, reason: reason) }
    }

    public func fail(batch: String, line: Int, reason: String) throws {
        try retrying { try base.fail(batch: batch, line: line, reason: reason) }
    }

    public func event(batch: String?, line: Int?, chip: String?, reader: String?, kind: String, detail: String) throws {
        try retrying {
            try base.event(batch: batch, line: line, chip: chip, reader: reader, kind: kind, detail: detail)
        }
    }

    public func nextChipNumber() throws -> Int { try retrying { try base.nextChipNumber() } }
    public func records(batch: String?) throws -> [RecordRow] { try retrying { try base.records(batch: batch) } }
    public func chip(serial: String) throws -> ChipRow? { try retrying { try base.chip(serial: serial) } }
    public func batches() throws -> [BatchRow] { try retrying { try base.batches() } }
    public func stations(batch: String?) throws -> [StationRow] { try retrying { try base.stations(batch: batch) } }

    public func register(station name: String, host: String, pid: Int, lease: TimeInterval) throws {
        try retrying { try base.register(station: name, host: host, pid: pid, lease: lease) }
    }

    public func heartbeat(station name: String, host: String, pid: Int) throws {
        // A missed heartbeat is not worth waiting for: the next one comes soon.
        try base.heartbeat(station: name, host: host, pid: pid)
    }

    public func unregister(station name: String, host: String, pid: Int) throws {
        try retrying { try base.unregister(station: name, host: host, pid: pid) }
    }

    public func issuedRecords(idNumbers: [String]) throws -> [RecordRow] {
        try retrying { try base.issuedRecords(idNumbers: idNumbers) }
    }

    public func refuse(batch: String, line: Int, reason: String) throws {
        try retrying { try base.refuse(batch: batch, line: line, reason: reason) }
    }

    public func allowReissue(batch: String, line: Int, reason: String) throws {
        try retrying { try base.allowReissue(batch: batch, line: line, reason: reason) }
    }

    public func citizen(idNumber: String) throws -> [CitizenRecordHistory] {
        try retrying { try base.citizen(idNumber: idNumber) }
    }
}
