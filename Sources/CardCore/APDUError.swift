/// A malformed command or response APDU (shape of swift-asn1's `ASN1Error`).
public struct APDUError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let tooShort = Code(name: "tooShort")
        public static let lengthMismatch = Code(name: "lengthMismatch")
        public static let invalidLc = Code(name: "invalidLc")
        public static let invalidLe = Code(name: "invalidLe")
        public static let dataTooLong = Code(name: "dataTooLong")
        public var description: String { name }
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
