/// A malformed command or response APDU (shape of swift-asn1's `ASN1Error`).
public struct APDUError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case tooShort, lengthMismatch, invalidLc, invalidLe, dataTooLong
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String

    public var description: String { "malformed APDU (\(code)): \(reason)" }

    static func tooShort(_ reason: String) -> APDUError { APDUError(code: .tooShort, reason: reason) }
    static func lengthMismatch(_ reason: String) -> APDUError { APDUError(code: .lengthMismatch, reason: reason) }
    static func invalidLc(_ reason: String) -> APDUError { APDUError(code: .invalidLc, reason: reason) }
    static func invalidLe(_ reason: String) -> APDUError { APDUError(code: .invalidLe, reason: reason) }
    static func dataTooLong(_ reason: String) -> APDUError { APDUError(code: .dataTooLong, reason: reason) }
}
