import CardCore

/// One secure-messaging channel: the session keys and the send sequence counter, with exactly one owner.
/// The SSC is incremented before every command and before every response (ICAO 9303-11 §9.8.2). Any failure
/// ends the session for good: a new access control is needed. Used by the terminal (protect/unprotect) and
/// by the chip (unprotectCommand/protectResponse).
public final class SecureMessaging: CustomStringConvertible {
    public private(set) var keys: SecureMessagingKeys
    private var ssc: [UInt8]
    public private(set) var isEnded = false
    /// Whether an unprotected status answer (an error or warning the chip sent without a DO'8E') counts in the
    /// SSC. The chip did not protect it, so the presumption is that it did not step its counter for it either (as
    /// the chips of FIELD.md §1 do); a reader that finds otherwise re-opens the channel with this set to true.
    public var countsPlainAnswers = false
    /// Status answers taken as a status only because their protection was absent or did not verify (no data is
    /// ever accepted without a MAC).
    public private(set) var plainAnswers = 0
    /// Of those, answers that carried data (a DO'87' without a MAC): the data was discarded.
    public private(set) var discardedAnswers = 0
    /// Of those, answers whose DO'8E' was there but did not verify.
    public private(set) var failedChecksumAnswers = 0
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

    /// Checks and unwraps an answer. One rule for answers that cannot be verified (ICAO 9303-11 §9.8, FIELD.md
    /// §1): a success (9000, 61xx) must be protected, or the session ends; any other status whose protection is
    /// absent (a bare status word, a bare DO'99', a DO'87' without DO'8E') or does not verify is a status only:
    /// its data is discarded, never decrypted, parsed or hashed. 6987/6988 without data end the session.
    public func unprotect(_ response: ResponseAPDU) throws -> ResponseAPDU {
        guard !isEnded else { throw SecureMessagingError.ended("the secure messaging session has ended") }
        let status = response.statusWord
        if status != .success && status.sw1 != 0x61 {
            if response.data.isEmpty, status == .incorrectSMDataObjects || status == .expectedSMDataObjectsMissing {
                isEnded = true
                failedAfterPlainAnswer = lastAnswerWasPlain
                throw SecureMessagingError.ended("the chip ended secure messaging with \(status)")
            }
            guard SecureMessagingCodec.carriesChecksum(response) else {
                // Unprotected: the chip did not step its counter for it, unless this chip is known to.
                if countsPlainAnswers { increment() }
                plainAnswers += 1
                if !response.data.isEmpty { discardedAnswers += 1 }
                lastAnswerWasPlain = true
                return ResponseAPDU(statusWord: status)
            }
            // Protected (so counted by the chip): its data only if its checksum verifies.
            increment()
            lastAnswerWasPlain = false
            if let (plain, withoutStatus) = try? SecureMessagingCodec.unprotectNoting(response, ssc: ssc, keys: keys) {
                if withoutStatus { answersWithoutStatusObject += 1 }
                return plain
            }
            plainAnswers += 1
            failedChecksumAnswers += 1
            if !response.data.isEmpty { discardedAnswers += 1 }
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

    /// Chip: data encrypted as DO'87' under the counter the next answer would use, without counting it and
    /// without a MAC (the over-long read answer of FIELD.md §1.1). The session stays as it was.
    public func unauthenticatedCryptogram(_ data: [UInt8], ins: UInt8) throws -> [UInt8] {
        guard !isEnded else { throw SecureMessagingError.ended("the secure messaging session has ended") }
        var next = ssc
        Self.increment(&next)
        var writer = TLVWriter(capacity: data.count + 24)
        try SecureMessagingCodec.writeCryptogram(data, ins: ins, ssc: next, keys: keys, into: &writer)
        return writer.bytes
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

    private func increment() { Self.increment(&ssc) }

    private static func increment(_ counter: inout [UInt8]) {
        var i = counter.count - 1
        while i >= 0 {
            counter[i] &+= 1
            if counter[i] != 0 { break }
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
