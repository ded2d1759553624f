/// A fully parsed BER-TLV tree: constructed objects are split into their children down to a depth limit, and
/// `00`/`FF` padding between objects is kept, so that `encoded` reproduces the input byte for byte.
/// Use it to validate a structure completely; use `TLV` to pick values lazily.
public indirect enum TLVNode: Hashable, Sendable {
    case primitive(tag: TLVTag, value: ArraySlice<UInt8>, explicitLengthWidth: Int?)
    case constructed(tag: TLVTag, children: [TLVNode], explicitLengthWidth: Int?)
    case padding(ArraySlice<UInt8>)

    public static let defaultDepthLimit = 16

    /// Parses a run of objects completely. Throws on anything truncated, malformed or nested past `depthLimit`.
    public static func parseRun(_ bytes: ArraySlice<UInt8>, depthLimit: Int = defaultDepthLimit) throws(TLVError)
        -> [TLVNode]
    {
        try parseRun(bytes, base: bytes.startIndex, depth: 0, limit: depthLimit)
    }

    public static func parseRun(_ bytes: [UInt8], depthLimit: Int = defaultDepthLimit) throws(TLVError) -> [TLVNode] {
        try parseRun(bytes[...], depthLimit: depthLimit)
    }

    private static func parseRun(_ bytes: ArraySlice<UInt8>, base: Int, depth: Int, limit: Int) throws(TLVError)
        -> [TLVNode]
    {
        guard depth <= limit else { throw .tooDeep(limit: limit, at: bytes.startIndex - base) }
        var nodes: [TLVNode] = []
        var rest = bytes
        while !rest.isEmpty {
            var padEnd = rest.startIndex
            while padEnd < rest.endIndex, rest[padEnd] == 0x00 || rest[padEnd] == 0xFF { padEnd += 1 }
            if padEnd > rest.startIndex {
                nodes.append(.padding(rest[rest.startIndex..<padEnd]))
                rest = rest[padEnd...]
                continue
            }
            let header = try TLVReader.readHeader(rest, base: base)
            let value = rest[header.valueStart..<header.valueStart + header.length]
            if header.tag.isConstructed {
                let children = try parseRun(value, base: base, depth: depth + 1, limit: limit)
                nodes.append(
                    .constructed(tag: header.tag, children: children, explicitLengthWidth: header.explicitLengthWidth))
            } else {
                nodes.append(.primitive(tag: header.tag, value: value, explicitLengthWidth: header.explicitLengthWidth))
            }
            rest = rest[(header.valueStart + header.length)...]
        }
        return nodes
    }

    public var tag: TLVTag? {
        switch self {
        case .primitive(let tag, _, _), .constructed(let tag, _, _): return tag
        case .padding: return nil
        }
    }

    /// Re-encodes the node (children encoded recursively, not copied from the input).
    public func encode(into writer: inout TLVWriter) {
        switch self {
        case .primitive(let tag, let value, let width):
            writer.writeTag(tag)
            writer.writeLength(value.count, width: width)
            writer.writeRaw(value)
        case .constructed(let tag, let children, let width):
            var inner = TLVWriter()
            for child in children { child.encode(into: &inner) }
            writer.writeTag(tag)
            writer.writeLength(inner.bytes.count, width: width)
            writer.writeRaw(inner.bytes)
        case .padding(let bytes):
            writer.writeRaw(bytes)
        }
    }

    public static func encode(_ nodes: [TLVNode]) -> [UInt8] {
        var writer = TLVWriter()
        for node in nodes { node.encode(into: &writer) }
        return writer.bytes
    }
}
