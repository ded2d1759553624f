/// Consumes bytes from a slice without copying (swift-nio's `read…` shape: nil when too few bytes remain).
public struct ByteReader: Sendable {
    public private(set) var remaining: ArraySlice<UInt8>

    public init(_ bytes: ArraySlice<UInt8>) { remaining = bytes }
    public init(_ bytes: [UInt8]) { remaining = bytes[...] }

    public var isEmpty: Bool { remaining.isEmpty }
    public var count: Int { remaining.count }

    public func peekByte() -> UInt8? { remaining.first }

    public mutating func readByte() -> UInt8? { remaining.popFirst() }

    public mutating func readBytes(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, n <= remaining.count else { return nil }
        let start = remaining.startIndex
        let part = remaining[start..<start + n]
        remaining = remaining[(start + n)...]
        return part
    }

    /// Big-endian unsigned integer of `width` bytes (1...8).
    public mutating func readUInt(width: Int) -> UInt64? {
        guard width >= 1, width <= 8, let part = readBytes(width) else { return nil }
        return part.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func readRest() -> ArraySlice<UInt8> {
        let rest = remaining
        remaining = remaining[remaining.endIndex...]
        return rest
    }
}

/// Appends bytes (swift-nio's `write…` shape).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ byte: UInt8) { bytes.append(byte) }
    public mutating func write(_ part: some Sequence<UInt8>) { bytes.append(contentsOf: part) }

    /// Big-endian unsigned integer in `width` bytes.
    public mutating func write(uint value: UInt64, width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
