/// An Answer To Reset (ISO/IEC 7816-3 §8.2): protocols offered and the historical bytes, with the card
/// capabilities of ISO/IEC 7816-4 §8.1.1.2.7 (extended Lc/Le, command chaining).
public struct ATR: Hashable, Sendable {
    public let bytes: [UInt8]
    public let historicalBytes: [UInt8]
    public let protocols: Set<Int>
    /// The third software function table of the card capabilities, if present.
    public let cardCapabilities: [UInt8]?

    /// Parses an ATR; nil when the interface bytes run past the end.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 2, bytes[0] == 0x3B || bytes[0] == 0x3F else { return nil }
        self.bytes = bytes
        var i = 1
        var y = bytes[1] >> 4
        let k = Int(bytes[1] & 0x0F)
        var protocols: Set<Int> = []
        i = 2
        while true {
            if y & 0x1 != 0 { i += 1 }  // TA
            if y & 0x2 != 0 { i += 1 }  // TB
            if y & 0x4 != 0 { i += 1 }  // TC
            guard y & 0x8 != 0 else { break }
            guard i < bytes.count else { return nil }
            let td = bytes[i]
            protocols.insert(Int(td & 0x0F))
            y = td >> 4
            i += 1
        }
        if protocols.isEmpty { protocols.insert(0) }
        guard i + k <= bytes.count else { return nil }
        historicalBytes = Array(bytes[i..<i + k])
        self.protocols = protocols
        // Compact-TLV historical bytes (category 00 or 80): tag 7 = card capabilities.
        var caps: [UInt8]? = nil
        if let category = historicalBytes.first, category == 0x00 || category == 0x80 {
            var j = 1
            let end = category == 0x00 ? historicalBytes.count - 3 : historicalBytes.count
            while j < end {
                let tag = historicalBytes[j] >> 4
                let length = Int(historicalBytes[j] & 0x0F)
                guard j + 1 + length <= historicalBytes.count else { break }
                if tag == 0x7 { caps = Array(historicalBytes[(j + 1)..<(j + 1 + length)]) }
                j += 1 + length
            }
        }
        cardCapabilities = caps
    }

    /// Extended Lc and Le fields announced (third software function table, b7).
    public var supportsExtendedLength: Bool {
        guard let caps = cardCapabilities, caps.count >= 3 else { return false }
        return caps[2] & 0x40 != 0
    }
}
