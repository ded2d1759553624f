/// Card data or a document field that does not have the form ICAO 9303 requires. Messages say which field and
/// why; they never quote an MRZ, a key or a CAN.
import CardCore

public struct LDSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case invalidMRZ, checkDigit, cannotTransliterate, invalidIDNumber, malformedFile, invalidImage
        /// A layout or setting that cannot stand (a DG13 layout with a field number twice, …).
        case invalidLayout
        public var description: String { rawValue }
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

extension LDSError {
    /// Runs a parser, turning any lower-level error (TLV, ASN.1) into an LDSError about `field`.
    static func parsing<T>(_ field: String, _ body: () throws -> T) throws(LDSError) -> T {
        do {
            return try body()
        } catch let error as LDSError {
            throw error
        } catch {
            throw LDSError(code: .malformedFile, field: field, reason: "\(error)")
        }
    }

    /// The single outer object of a file, which must carry `tag` (00/FF padding after it is allowed).
    static func outerObject(_ bytes: [UInt8], tag: TLVTag, field: String) throws -> TLV {
        let outer = try TLV(parsing: bytes, allowTrailingPadding: true)
        guard outer.tag == tag else {
            throw LDSError(code: .malformedFile, field: field, reason: "outer tag \(outer.tag), expected \(tag)")
        }
        return outer
    }
}
