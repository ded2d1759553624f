import CardCore
import Foundation
import RelayWire

/// The server's side of the relay as a `CardTransport`: each command goes out as a `command` message with the next
/// sequence number, and `transmit` waits (on the read's own thread) for the answer with that number. Anything else
/// (an answer for another command, a second answer, an answer nobody asked for) ends the session as tampering;
/// the caps on APDUs and bytes, the answer timeout and the session's deadline end it with their own errors. After
/// the first failure every `transmit` fails at once: nothing more goes to the phone.
final class RelayTransport: CardTransport, @unchecked Sendable {
    struct Limits: Sendable {
        var maxAPDUs: Int
        var maxBytes: Int
        var answerTimeout: TimeInterval
        var deadline: Date
    }

    let capabilities: TransportCapabilities
    let limits: Limits
    /// Sends one text message to the client (queued; never blocks).
    let send: @Sendable (String) -> Void

    private let condition = NSCondition()
    private var seq = 0
    private var awaiting: Int?
    private var answer: [UInt8]?
    private(set) var failure: RelayError?
    private(set) var apdus = 0
    private(set) var bytes = 0
    /// Seconds from each command sent to its answer (the link's round trip plus the card's time).
    private(set) var roundTrips: [Double] = []

    init(capabilities: TransportCapabilities, limits: Limits, send: @escaping @Sendable (String) -> Void) {
        self.capabilities = capabilities
        self.limits = limits
        self.send = send
    }

    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        let encoded = command.encoded()
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw Self.stop(failure) }
        guard apdus < limits.maxAPDUs else {
            throw Self.stop(fail(RelayError(.tooManyAPDUs, "the session's cap of \(limits.maxAPDUs) APDUs was reached")))
        }
        guard bytes + encoded.count <= limits.maxBytes else {
            throw Self.stop(fail(RelayError(.tooManyBytes, "the session's cap of \(limits.maxBytes) bytes was reached")))
        }
        seq += 1
        apdus += 1
        bytes += encoded.count
        awaiting = seq
        answer = nil
        let started = Date()
        send(RelayServerMessage.command(seq: seq, apdu: encoded).json())
        let until = min(started.addingTimeInterval(limits.answerTimeout), limits.deadline)
        while answer == nil && failure == nil {
            if !condition.wait(until: until) {
                if answer != nil || failure != nil { break }
                let error =
                    until == limits.deadline
                    ? RelayError(.timeout, "the session's time ran out waiting for the answer to command \(seq)")
                    : RelayError(.timeout, "no answer to command \(seq) within \(Int(limits.answerTimeout)) s")
                throw Self.stop(fail(error))
            }
        }
        if let failure { throw Self.stop(failure) }
        let bytesIn = answer!
        awaiting = nil
        answer = nil
        roundTrips.append(Date().timeIntervalSince(started))
        guard bytes + bytesIn.count <= limits.maxBytes else {
            throw Self.stop(fail(RelayError(.tooManyBytes, "the session's cap of \(limits.maxBytes) bytes was reached")))
        }
        bytes += bytesIn.count
        do { return try ResponseAPDU(bytes: bytesIn) } catch {
            throw Self.stop(fail(RelayError(.badMessage, "answer \(seq) has no status word")))
        }
    }

    /// An answer from the client (the connection's reading task).
    func deliver(_ relayed: RelayAnswer) {
        condition.lock()
        defer { condition.unlock() }
        guard failure == nil else { return }
        guard let awaiting, answer == nil else {
            fail(
                RelayError(
                    .tampering,
                    "an answer numbered \(relayed.seq) arrived when no command was waiting for one (after command \(seq))"))
            return
        }
        guard relayed.seq == awaiting else {
            fail(
                RelayError(
                    .tampering, "an answer numbered \(relayed.seq) arrived while command \(awaiting) was waiting"))
            return
        }
        answer = relayed.apdu
        condition.broadcast()
    }

    /// Ends the session (first failure wins); wakes a waiting `transmit`.
    @discardableResult
    func fail(_ error: RelayError) -> RelayError {
        if failure == nil && !closed { failure = error }
        condition.broadcast()
        return failure ?? error
    }

    private var closed = false

    /// `fail` from outside the lock.
    func end(_ error: RelayError) {
        condition.lock()
        fail(error)
        condition.unlock()
    }

    /// The read is over: the failure so far, and no later one is recorded (the connection closing after the read
    /// is not the session's failure).
    func close() -> RelayError? {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        return failure
    }

    var recordedFailure: RelayError? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    var statistics: (apdus: Int, bytes: Int, roundTrips: [Double]) {
        condition.lock()
        defer { condition.unlock() }
        return (apdus, bytes, roundTrips)
    }

    /// What the reader sees: the link is gone (the read ends; the session reports `failure`).
    static func stop(_ error: RelayError) -> TransportError {
        TransportError(code: .cardRemoved, reason: "relay session ended: \(error.code.rawValue)")
    }
}
