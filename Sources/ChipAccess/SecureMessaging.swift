import CardCore

/// One secure-messaging channel: the session keys and the send sequence counter, with exactly one owner.
/// The SSC is incremented before every command and before every response (ICAO 9303-11 §9.8.2). Any failure
/// ends the session for good: a new access control is needed. Used by the terminal (protect/unprotect) and
/// by the chip (unprotectCommand/protectResponse).
public final class SecureMessaging: CustomStringConvertible {
    public private(set) var keys: SecureMessagingKeys
    private var ssc: [UInt8]
    public private(set) var isEnded = false

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
        try step { try SecureMessagingCodec.unprotect(response, ssc: $0, keys: keys) }
    }

    // MARK: Chip role

    public func unprotectCommand(_ command: CommandAPDU) throws -> CommandAPDU {
        try step { try SecureMessagingCodec.unprotect(command: command, ssc: $0, keys: keys) }
    }

    public func protectResponse(_ response: ResponseAPDU, ins: UInt8) throws -> ResponseAPDU {
        try step { try SecureMessagingCodec.protect(response: response, ins: ins, ssc: $0, keys: keys) }
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
        let protected = try session.protect(command)
        let response: ResponseAPDU
        do {
            response = try base.transmit(protected)
        } catch {
            session.end()
            throw error
        }
        return try session.unprotect(response)
    }
}
