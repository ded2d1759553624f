/// Card data or a document field that does not have the form ICAO 9303 requires. Messages say which field and
/// why; they never quote an MRZ, a key or a CAN.
public struct LDSError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let invalidMRZ = Code(name: "invalidMRZ")
        public static let checkDigit = Code(name: "checkDigit")
        public static let cannotTransliterate = Code(name: "cannotTransliterate")
        public static let invalidIDNumber = Code(name: "invalidIDNumber")
        public static let malformedFile = Code(name: "malformedFile")
        public static let invalidImage = Code(name: "invalidImage")
        public var description: String { name }
    }

    public let code: Code
    public let field: String
    public let reason: String

    public init(code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
