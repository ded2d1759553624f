import CardCore

/// Secure messaging failed (ICAO 9303-11 §9.8). Messages never contain keys, SSC or plaintext.
public struct SecureMessagingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// A checksum (DO'8E') did not verify: 6988 on the chip side.
        case badMAC
        /// A mandatory data object is missing: 6987 on the chip side.
        case missingDataObject
        /// Data objects are malformed or in the wrong place.
        case malformed
        /// The session ended (after a failure, or the chip aborted it); a new access control is needed.
        case sessionEnded
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String

    public var description: String { "secure messaging failed (\(code)): \(reason)" }

    /// The status word a chip answers for this failure (ICAO 9303-11 §9.8.6).
    public var chipStatus: StatusWord {
        code == .badMAC ? .incorrectSMDataObjects : .expectedSMDataObjectsMissing
    }

    static func badMAC(_ what: String) -> Self { .init(code: .badMAC, reason: "\(what) checksum does not verify") }
    static func missing(_ what: String) -> Self { .init(code: .missingDataObject, reason: "no \(what)") }
    static func malformed(_ what: String) -> Self { .init(code: .malformed, reason: what) }
    static func ended(_ what: String) -> Self { .init(code: .sessionEnded, reason: what) }
}

/// Access control (BAC, PACE) or chip authentication failed, in the user's terms.
public struct AccessControlError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The chip refused the password or key derived from it (MRZ, CAN): 6300 / 63Cx.
        case wrongPassword
        /// The chip's answer did not prove knowledge of the key (bad cryptogram, MAC or nonce).
        case chipNotAuthenticated
        /// The chip answered a status word the protocol does not allow here.
        case unexpectedStatus
        /// The chip's data was malformed.
        case malformedResponse
        /// The chip (or the caller) does not support what was asked.
        case unsupported
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String
    public let statusWord: StatusWord?

    public init(code: Code, reason: String, statusWord: StatusWord? = nil) {
        self.code = code
        self.reason = reason
        self.statusWord = statusWord
    }

    public var description: String {
        reason + (statusWord.map { " (\($0.hex))" } ?? "")
    }
}
