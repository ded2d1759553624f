/// One BER-TLV data object whose value is kept as raw bytes (ISO/IEC 7816-4 §5.2).
///
/// Parsed objects hold a slice of the input: nothing is copied. A constructed object's children are read on
/// demand with `children()`. The length field width is remembered when the input used a longer form than needed
/// (`81 05` instead of `05`), so that re-encoding reproduces the input byte for byte.
public struct TLV: Hashable, Sendable {
    public var tag: TLVTag
    public var value: ArraySlice<UInt8>
    /// Width of the length field (1…5) when the encoding used more bytes than the minimum; nil for minimal.
    public var explicitLengthWidth: Int?

    public init(tag: TLVTag, value: ArraySlice<UInt8>, explicitLengthWidth: Int? = nil) {
        self.tag = tag
        self.value = value
        self.explicitLengthWidth = explicitLengthWidth
    }

    public init(tag: TLVTag, value: [UInt8]) { self.init(tag: tag, value: value[...]) }

    /// Parses exactly one object; bytes after it are an error (00/FF padding too, unless `allowTrailingPadding`).
    public init(parsing bytes: ArraySlice<UInt8>, allowTrailingPadding: Bool = false) throws(TLVError) {
        var reader = TLVReader(bytes)
        guard let first = try reader.readObject() else {
            throw TLVError(code: .missingObject, reason: "no TLV object in \(bytes.count) bytes", offset: 0)
        }
        if !reader.isAtEnd {
            let rest = reader.remaining
            if !(allowTrailingPadding && rest.allSatisfy({ $0 == 0x00 || $0 == 0xFF })) {
                throw .trailingData(rest.count, at: rest.startIndex - bytes.startIndex)
            }
        }
        self = first
    }

    public init(parsing bytes: [UInt8], allowTrailingPadding: Bool = false) throws(TLVError) {
        try self.init(parsing: bytes[...], allowTrailingPadding: allowTrailingPadding)
    }

    /// The objects inside this object's value (padding skipped).
    public func children() throws(TLVError) -> [TLV] { try TLVReader.readAll(value) }

    /// The first child with `tag`, or nil.
    public func child(_ tag: TLVTag) throws(TLVError) -> TLV? {
        var reader = TLVReader(value)
        while let object = try reader.readObject() {
            if object.tag == tag { return object }
        }
        return nil
    }

    /// The first child with `tag`; throws `missingObject` when absent.
    public func requiredChild(_ tag: TLVTag) throws(TLVError) -> TLV {
        guard let found = try child(tag) else { throw .missingObject(tag) }
        return found
    }

    /// This object's encoding.
    public var encoded: [UInt8] {
        var writer = TLVWriter()
        writer.write(self)
        return writer.bytes
    }
}

/// Reads a run of concatenated BER-TLV objects, skipping `00`/`FF` padding between them (ISO 7816-4 §5.2.2).
///
/// Tags of 1–3 bytes; lengths in short form or long form with 1–4 length bytes (`81`…`84`); the indefinite
/// form (`80`) and longer forms are rejected. Every step checks what remains and throws; nothing traps.
public struct TLVReader: Sendable {
    public private(set) var remaining: ArraySlice<UInt8>
    private let base: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        remaining = bytes
        base = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public var isAtEnd: Bool { remaining.isEmpty }

    /// Skips padding and returns the next object, or nil at the end of the run.
    public mutating func readObject() throws(TLVError) -> TLV? {
        _ = skipPadding()
        guard !remaining.isEmpty else { return nil }
        let header = try TLVReader.readHeader(remaining, base: base)
        let value = remaining[header.valueStart..<header.valueStart + header.length]
        remaining = remaining[(header.valueStart + header.length)...]
        return TLV(tag: header.tag, value: value, explicitLengthWidth: header.explicitLengthWidth)
    }

    /// Consumes `00`/`FF` padding and returns it.
    @discardableResult
    public mutating func skipPadding() -> ArraySlice<UInt8> {
        let start = remaining.startIndex
        var i = start
        while i < remaining.endIndex, remaining[i] == 0x00 || remaining[i] == 0xFF { i += 1 }
        let padding = remaining[start..<i]
        remaining = remaining[i...]
        return padding
    }

    /// Every object of a run, padding skipped.
    public static func readAll(_ bytes: ArraySlice<UInt8>) throws(TLVError) -> [TLV] {
        var reader = TLVReader(bytes)
        var out: [TLV] = []
        while let object = try reader.readObject() { out.append(object) }
        return out
    }

    public static func readAll(_ bytes: [UInt8]) throws(TLVError) -> [TLV] { try readAll(bytes[...]) }

    struct Header {
        var tag: TLVTag
        var explicitLengthWidth: Int?
        var valueStart: Int
        var length: Int
    }

    /// Reads tag and length at the start of `bytes` and checks that the value fits.
    static func readHeader(_ bytes: ArraySlice<UInt8>, base: Int) throws(TLVError) -> Header {
        var i = bytes.startIndex
        let end = bytes.endIndex
        func offset(_ index: Int) -> Int { index - base }

        guard i < end else { throw .truncatedTag(at: offset(i)) }
        let first = bytes[i]
        if first == 0x00 || first == 0xFF {
            throw .invalidTag("\(first == 0 ? "00" : "FF") is padding, not a tag", at: offset(i))
        }
        var raw = UInt32(first)
        i += 1
        if first & 0x1F == 0x1F {
            guard i < end else { throw .truncatedTag(at: offset(i)) }
            let second = bytes[i]
            raw = raw << 8 | UInt32(second)
            i += 1
            if second & 0x80 != 0 {
                guard i < end else { throw .truncatedTag(at: offset(i)) }
                let third = bytes[i]
                guard third & 0x80 == 0 else { throw .invalidTag("tag longer than 3 bytes", at: offset(i)) }
                raw = raw << 8 | UInt32(third)
                i += 1
            }
        }

        guard i < end else { throw .truncatedLength(at: offset(i)) }
        let lengthStart = i
        let l0 = bytes[i]
        i += 1
        var length: Int
        var width = 1
        if l0 < 0x80 {
            length = Int(l0)
        } else if l0 == 0x80 {
            throw .unsupportedLength("indefinite length (80) is not allowed", at: offset(lengthStart))
        } else {
            let n = Int(l0 & 0x7F)
            guard n <= 4 else {
                throw .unsupportedLength("length field of \(n) bytes (at most 4)", at: offset(lengthStart))
            }
            guard end - i >= n else { throw .truncatedLength(at: offset(lengthStart)) }
            length = 0
            for _ in 0..<n {
                length = length << 8 | Int(bytes[i])
                i += 1
            }
            width = 1 + n
        }
        let minimal = TLVWriter.lengthFieldWidth(length)
        guard end - i >= length else {
            throw .truncatedValue(length: length, available: end - i, at: offset(lengthStart))
        }
        return Header(
            tag: TLVTag(rawValue: raw), explicitLengthWidth: width == minimal ? nil : width, valueStart: i,
            length: length)
    }
}
