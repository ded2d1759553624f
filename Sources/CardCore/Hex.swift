/// Hexadecimal text ↔ bytes, for vectors, logs of non-secret values and the CLI.
public enum Hex {
    /// Parses hex text; white space and `:` separators are ignored. Throws on odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) throws(HexError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        for (offset, c) in text.utf8.enumerated() {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ":"):
                continue
            default: throw HexError(message: "not a hex digit at position \(offset)")
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        if high != nil { throw HexError(message: "odd number of hex digits") }
        return out
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
