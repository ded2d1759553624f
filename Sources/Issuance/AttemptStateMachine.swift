import Foundation

/// What the journal knows of a chip.
public enum ChipStatus: String, Codable, Sendable, CaseIterable {
    /// Claimed for a record: it may be being written.
    case claimed
    /// It carries an issued card: never to be written again.
    case issued
    /// Written in part, or failed its read-back: not to be used.
    case spoiled
    /// Claimed, but nothing was written to it (it may take another record).
    case untouched
}

/// The exactly-once rules of an attempt (one record on one chip), written once: each store (`SQLiteJournal`,
/// `PostgresJournal`) reads the rows in its transaction, asks here what follows, and writes what it is told. The
/// stores hold no rule of their own beyond their dialect's atomic claim.
///
///     claimed ──advance──▶ writing ──advance──▶ locked
///        │                    │                   │
///        └──finish──▶ issued | spoiled | interrupted ◀──┘
///
/// An attempt ends once: ending it again the same way is a no-op (a retry whose first commit went through), ending
/// it another way is a conflict. A record is issued by one attempt only.
public enum AttemptStateMachine {
    /// The phases an attempt may be in to move to `phase` (a repeat of the same move is allowed: a retry).
    public static func sources(advancingTo phase: AttemptPhase) throws -> [AttemptPhase] {
        switch phase {
        case .writing: return [.claimed, .writing]
        case .locked: return [.writing, .locked]
        default: throw JournalError("an attempt cannot move to \(phase.rawValue)")
        }
    }

    /// What ending an attempt writes.
    public struct Ending: Sendable, Equatable {
        /// The attempt's last phase.
        public var phase: AttemptPhase
        /// The record after it (nil: the record is left as it is).
        public var record: RecordAfter?
        /// The chip's status after it.
        public var chip: ChipStatus
    }

    /// A record's row after an attempt ended.
    public struct RecordAfter: Sendable, Equatable {
        public var status: RecordStatus
        public var reason: String?
        /// The chip it is issued on (only for `issued`).
        public var chipSerial: String?
        public var spoiledCount: Int
    }

    /// Ending attempt `attempt` (now in `current`) as `phase`, its record now `record`: what to write, or nil when
    /// it ended so already. Throws `conflict` for an attempt that ended another way or a record issued by another
    /// attempt, `invalid` for a phase that is not an ending.
    public static func finish(
        attempt: Int64, current: AttemptPhase, as phase: AttemptPhase, reason: String?, chipSerial: String,
        record: RecordRow, maxSpoiled: Int
    ) throws -> Ending? {
        guard [.issued, .spoiled, .interrupted].contains(phase) else {
            throw JournalError("an attempt cannot end as \(phase.rawValue)")
        }
        if current == phase { return nil }
        guard AttemptPhase.open.contains(current) else {
            throw JournalError("attempt \(attempt) ended as \(current.rawValue) already", kind: .conflict)
        }
        switch phase {
        case .issued:
            guard record.status != .issued else {
                throw JournalError(
                    "record \(record.line) of batch \(record.batchId) is issued already", kind: .conflict)
            }
            return Ending(
                phase: .issued,
                record: RecordAfter(
                    status: .issued, reason: nil, chipSerial: chipSerial, spoiledCount: record.spoiledCount),
                chip: .issued)
        case .spoiled:
            // Only a record still waiting for its card is charged; a chip the line's own stop spoiled is not the
            // record's fault and does not count (SpoilReason).
            guard record.status == .pending else { return Ending(phase: .spoiled, record: nil, chip: .spoiled) }
            let count = record.spoiledCount + (SpoilReason.isInterruption(reason) ? 0 : 1)
            return Ending(
                phase: .spoiled,
                record: RecordAfter(
                    status: count >= maxSpoiled ? .failed : .pending, reason: reason, chipSerial: record.chipSerial,
                    spoiledCount: count),
                chip: .spoiled)
        default:
            // Interrupted: nothing was written; the record goes back to the queue as it is.
            return Ending(phase: .interrupted, record: nil, chip: .untouched)
        }
    }
}

extension AttemptPhase {
    /// A phase as stored; a value no version of the journal writes is an error, never a guess.
    public init(stored text: String) throws {
        guard let phase = AttemptPhase(rawValue: text) else {
            throw JournalError("the journal holds an attempt phase \"\(text)\" this version does not know")
        }
        self = phase
    }
}

extension RecordStatus {
    /// A record status as stored; an unknown one is an error.
    public init(stored text: String) throws {
        guard let status = RecordStatus(rawValue: text) else {
            throw JournalError("the journal holds a record status \"\(text)\" this version does not know")
        }
        self = status
    }
}

extension ChipStatus {
    /// A chip status as stored; an unknown one is an error.
    public init(stored text: String) throws {
        guard let status = ChipStatus(rawValue: text) else {
            throw JournalError("the journal holds a chip status \"\(text)\" this version does not know")
        }
        self = status
    }
}
