/// A BER-TLV object that cannot be read (shape of swift-asn1's `ASN1Error`: a code, a reason, the place).
public struct TLVError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case truncatedTag, invalidTag, truncatedLength, unsupportedLength, truncatedValue, trailingData, tooDeep, missingObject, unexpectedTag
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String
    /// Offset of the problem in the outermost input, when known.
    public let offset: Int?

    public var description: String {
        "invalid TLV data (\(code)): \(reason)" + (offset.map { " at offset \($0)" } ?? "")
    }

    public static func truncatedTag(at offset: Int) -> TLVError {
        TLVError(code: .truncatedTag, reason: "tag runs past the end of the data", offset: offset)
    }
    public static func invalidTag(_ reason: String, at offset: Int) -> TLVError {
        TLVError(code: .invalidTag, reason: reason, offset: offset)
    }
    public static func truncatedLength(at offset: Int) -> TLVError {
        TLVError(code: .truncatedLength, reason: "length field runs past the end of the data", offset: offset)
    }
    public static func unsupportedLength(_ reason: String, at offset: Int) -> TLVError {
        TLVError(code: .unsupportedLength, reason: reason, offset: offset)
    }
    public static func truncatedValue(length: Int, available: Int, at offset: Int) -> TLVError {
        TLVError(
            code: .truncatedValue, reason: "value of \(length) bytes but only \(available) remain", offset: offset)
    }
    public static func trailingData(_ count: Int, at offset: Int) -> TLVError {
        TLVError(code: .trailingData, reason: "\(count) bytes after the object", offset: offset)
    }
    public static func tooDeep(limit: Int, at offset: Int) -> TLVError {
        TLVError(code: .tooDeep, reason: "nesting deeper than \(limit)", offset: offset)
    }
    public static func missingObject(_ tag: TLVTag) -> TLVError {
        TLVError(code: .missingObject, reason: "no object with tag \(tag)", offset: nil)
    }
    public static func unexpectedTag(_ found: TLVTag, expected: TLVTag, at offset: Int? = nil) -> TLVError {
        TLVError(code: .unexpectedTag, reason: "found tag \(found), expected \(expected)", offset: offset)
    }
}
