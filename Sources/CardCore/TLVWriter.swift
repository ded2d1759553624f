/// Builds BER-TLV encodings (ISO/IEC 7816-4 §5.2): minimal length fields unless an object asks otherwise.
public struct TLVWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Minimal number of bytes for a length field carrying `length` (1 for < 128, else 1 + 1…4).
    public static func lengthFieldWidth(_ length: Int) -> Int {
        switch length {
        case ..<0x80: return 1
        case ...0xFF: return 2
        case ...0xFFFF: return 3
        case ...0xFF_FFFF: return 4
        default: return 5
        }
    }

    /// Appends a length field; `width` (≥ minimal, ≤ 5) reproduces a non-minimal encoding.
    public mutating func writeLength(_ length: Int, width: Int? = nil) {
        precondition(length >= 0 && UInt64(length) <= UInt64(UInt32.max), "TLV length out of range")
        let w = max(width ?? 1, Self.lengthFieldWidth(length))
        if w == 1 {
            bytes.append(UInt8(length))
            return
        }
        bytes.append(0x80 | UInt8(w - 1))
        for shift in stride(from: (w - 2) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: length >> shift))
        }
    }

    public mutating func writeTag(_ tag: TLVTag) { bytes.append(contentsOf: tag.bytes) }

    /// Appends tag, length and value.
    public mutating func write(tag: TLVTag, value: some Collection<UInt8>) {
        writeTag(tag)
        writeLength(value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func write(_ object: TLV) {
        writeTag(object.tag)
        writeLength(object.value.count, width: object.explicitLengthWidth)
        bytes.append(contentsOf: object.value)
    }

    /// Appends a constructed object whose value the closure writes (length patched in afterwards).
    public mutating func write(tag: TLVTag, _ content: (inout TLVWriter) throws -> Void) rethrows {
        var inner = TLVWriter()
        try content(&inner)
        write(tag: tag, value: inner.bytes)
    }

    /// Appends raw bytes (padding, or an already encoded object).
    public mutating func writeRaw(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// Convenience: one object's encoding.
    /// A non-negative INTEGER's content octets, minimal (a leading 00 when the high bit is set).
    public static func integerContent(_ value: Int) -> [UInt8] {
        var out: [UInt8] = []
        var x = max(0, value)
        repeat {
            out.insert(UInt8(x & 0xFF), at: 0)
            x >>= 8
        } while x > 0
        if out[0] & 0x80 != 0 { out.insert(0, at: 0) }
        return out
    }

    public static func encode(tag: TLVTag, value: some Collection<UInt8>) -> [UInt8] {
        var writer = TLVWriter(capacity: value.count + 6)
        writer.write(tag: tag, value: value)
        return writer.bytes
    }
}
