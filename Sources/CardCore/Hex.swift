/// Hexadecimal text ↔ bytes, for vectors, logs of non-secret values and the CLI.
public enum Hex {
    /// Parses hex text; white space and `:` separators are ignored. Throws on odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) throws(HexError) -> [UInt8] {
        // One pass over contiguous UTF-8 (relay answers carry 64 KiB of hex; a generic walk costs 10× more).
        var string = String(text)
        return try string.withUTF8 { decode(utf8: $0) }.get()
    }

    static func decode(utf8: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], HexError> {
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8 = 0
        var haveHigh = false
        for offset in 0..<utf8.count {
            let c = utf8[offset]
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c &- UInt8(ascii: "A") &+ 10
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ":"):
                continue
            default: return .failure(HexError(message: "not a hex digit at position \(offset)"))
            }
            if haveHigh {
                out.append(high << 4 | nibble)
                haveHigh = false
            } else {
                high = nibble
                haveHigh = true
            }
        }
        if haveHigh { return .failure(HexError(message: "odd number of hex digits")) }
        return .success(out)
    }

    /// Upper-case hex without separators.
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789ABCDEF"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { d in
                for (i, b) in bytes.enumerated() {
                    out[2 * i] = d[Int(b >> 4)]
                    out[2 * i + 1] = d[Int(b & 0x0F)]
                }
            }
            return bytes.count * 2
        }
    }

    /// Upper-case hex without separators.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}

public struct HexError: Error, Hashable, CustomStringConvertible {
    public let message: String
    public var description: String { "invalid hex: \(message)" }
}

extension Sequence where Element == UInt8 {
    /// Upper-case hex of these bytes (never use it on secrets in logs).
    public var hexString: String { Hex.encode(self) }
}

extension Array where Element == UInt8 {
    /// Bytes from hex text; throws on malformed text.
    public init(hex: some StringProtocol) throws(HexError) { self = try Hex.decode(hex) }
}
