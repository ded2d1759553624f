import CardCore

/// One secure-messaging channel: the session keys and the send sequence counter, with exactly one owner.
/// The SSC is incremented before every command and before every response (ICAO 9303-11 §9.8.2). Any failure
/// ends the session for good: a new access control is needed. Used by the terminal (protect/unprotect) and
/// by the chip (unprotectCommand/protectResponse).
public final class SecureMessaging: CustomStringConvertible {
    public private(set) var keys: SecureMessagingKeys
    private var ssc: [UInt8]
    public private(set) var isEnded = false
    /// Whether a plain status answer (an error or warning sent without MAC) counts in the SSC. Chips differ: most
    /// count it (the default); a reader that finds otherwise re-opens the channel with this set to false.
    public var countsPlainAnswers = true
    /// Plain status answers taken so far (their status only; no data is ever accepted without a MAC).
    public private(set) var plainAnswers = 0
    /// Whether the last answer was a plain status (a failure right after one points at the SSC rule).
    public private(set) var lastAnswerWasPlain = false
    /// The session failed on the answer right after a plain status answer: the chip and this side may disagree
    /// on whether that answer counted in the SSC.
    public private(set) var failedAfterPlainAnswer = false
    /// Protected answers accepted without DO'99' (status from the trailer).
    public private(set) var answersWithoutStatusObject = 0

    public init(keys: SecureMessagingKeys, ssc: [UInt8]) {
        precondition(ssc.count == keys.sscLength, "SSC length must match the cipher's block size")
        self.keys = keys
        self.ssc = ssc
    }

    /// The counter's current value (for tests of the protocol; never logged).
    public var sendSequenceCounter: [UInt8] { ssc }

    /// Switches to new keys and counter (after Chip Authentication).
    public func rekey(_ keys: SecureMessagingKeys, ssc: [UInt8]) {
        precondition(ssc.count == keys.sscLength)
        self.keys = keys
        self.ssc = ssc
        isEnded = false
    }

    /// Ends the session (link lost, failure, plain command on the chip side).
    public func end() { isEnded = true }

    // MARK: Terminal role

    public func protect(_ command: CommandAPDU) throws -> CommandAPDU {
        try step { try SecureMessagingCodec.protect(command, ssc: $0, keys: keys) }
    }

    public func unprotect(_ response: ResponseAPDU) throws -> ResponseAPDU {
        if let status = SecureMessagingCodec.plainStatus(of: response) {
            guard !isEnded else { throw SecureMessagingError.ended("the secure messaging session has ended") }
            if countsPlainAnswers { increment() }
            plainAnswers += 1
            lastAnswerWasPlain = true
            return ResponseAPDU(statusWord: status)
        }
        let afterPlain = lastAnswerWasPlain
        lastAnswerWasPlain = false
        let (plain, withoutStatus): (ResponseAPDU, Bool)
        do {
            (plain, withoutStatus) = try step {
                try SecureMessagingCodec.unprotectNoting(response, ssc: $0, keys: keys)
            }
        } catch {
            failedAfterPlainAnswer = afterPlain
            throw error
        }
        if withoutStatus { answersWithoutStatusObject += 1 }
        return plain
    }

    // MARK: Chip role

    public func unprotectCommand(_ command: CommandAPDU) throws -> CommandAPDU {
        try step { try SecureMessagingCodec.unprotect(command: command, ssc: $0, keys: keys) }
    }

    public func protectResponse(_ response: ResponseAPDU, ins: UInt8, withoutStatusObject: Bool = false) throws
        -> ResponseAPDU
    {
        try step {
            try SecureMessagingCodec.protect(
                response: response, ins: ins, ssc: $0, keys: keys, withoutStatusObject: withoutStatusObject)
        }
    }

    /// Chip: an answer sent as a plain status word; `counted` says whether this chip counts it in the SSC.
    public func sendPlainAnswer(counted: Bool) {
        if counted { increment() }
    }

    private func step<T>(_ body: ([UInt8]) throws -> T) throws -> T {
        guard !isEnded else { throw SecureMessagingError.ended("the secure messaging session has ended") }
        increment()
        do {
            return try body(ssc)
        } catch {
            isEnded = true
            throw error
        }
    }

    /// Counts one exchange that did not happen: the send sequence counter slips a step out of the peer's (a chip
    /// out of step, for fault injection).
    public func slipSequenceCounter() { increment() }

    private func increment() {
        var i = ssc.count - 1
        while i >= 0 {
            ssc[i] &+= 1
            if ssc[i] != 0 { break }
            i -= 1
        }
    }

    public var description: String { "SecureMessaging(\(keys.cipher.rawValue), \(isEnded ? "ended" : "open"))" }
}

/// A transport that protects every command with a secure-messaging session and unwraps every answer.
/// If the link fails mid-exchange the session ends: the counters can no longer be trusted.
public final class SecureMessagingTransport: CardTransport {
    public let base: any CardTransport
    public let session: SecureMessaging

    public init(_ base: any CardTransport, session: SecureMessaging) {
        self.base = base
        self.session = session
    }

    public var capabilities: TransportCapabilities { base.capabilities }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        CardLog.sent(command, layer: "SM plain")
        let protected = try session.protect(command)
        let response: ResponseAPDU
        do {
            response = try base.transmit(protected)
        } catch {
            session.end()
            throw error
        }
        let plain = try session.unprotect(response)
        CardLog.received(plain, layer: "SM plain")
        return plain
    }
}
