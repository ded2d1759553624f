/// A BER-TLV tag of 1, 2 or 3 bytes (ISO/IEC 7816-4 §5.2.2.1), stored as its encoded bytes read big-endian:
/// `0x5F1F` is the two-byte tag `5F 1F`, `0x7F49` the constructed tag `7F 49`.
public struct TLVTag: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt32) { rawValue = value }

    /// Number of bytes in the encoding (1…3).
    public var byteCount: Int { rawValue > 0xFFFF ? 3 : rawValue > 0xFF ? 2 : 1 }

    /// The first tag byte (class, constructed bit, number or 1F).
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: rawValue >> (8 * UInt32(byteCount - 1))) }

    /// Bit 6 of the first byte: the value is itself a run of TLV objects.
    public var isConstructed: Bool { firstByte & 0x20 != 0 }

    /// Class bits (b8-b7 of the first byte): 0 universal, 1 application, 2 context-specific, 3 private.
    public var tagClass: UInt8 { firstByte >> 6 }

    public var bytes: [UInt8] {
        (0..<byteCount).reversed().map { UInt8(truncatingIfNeeded: rawValue >> (8 * UInt32($0))) }
    }

    public var description: String { bytes.hexString }
}
