import CardCore

/// The elementary files of an eMRTD (ICAO 9303-10 §3.6–4.7): EF.CardAccess/EF.CardSecurity in the master file,
/// EF.COM, EF.SOD and DG1–DG16 in the LDS1 application, with their file and short file identifiers.
public enum LDSFile: Hashable, Sendable, Comparable, CustomStringConvertible {
    case cardAccess
    case cardSecurity
    case com
    case sod
    case dataGroup(Int)

    /// The data group number (1…16), nil for the other files.
    public var dataGroupNumber: Int? {
        if case .dataGroup(let n) = self { return n }
        return nil
    }

    /// Every file an eMRTD can hold, in reading order.
    public static let all: [LDSFile] = [.cardAccess, .cardSecurity, .com] + (1...16).map { .dataGroup($0) } + [.sod]

    public var fileID: UInt16 {
        switch self {
        case .cardAccess: return 0x011C
        case .cardSecurity: return 0x011D
        case .com: return 0x011E
        case .sod: return 0x011D
        case .dataGroup(let n): return 0x0100 + UInt16(n)
        }
    }

    public var shortFileID: UInt8 {
        switch self {
        case .cardAccess: return 0x1C
        case .cardSecurity: return 0x1D
        case .com: return 0x1E
        case .sod: return 0x1D
        case .dataGroup(let n): return UInt8(n)
        }
    }

    /// True for the files of the master file (read before selecting the application).
    public var isInMasterFile: Bool { self == .cardAccess || self == .cardSecurity }

    /// The tag of the file's outer TLV object (EF.COM 60, DG1 61, …, EF.SOD 77); nil for EF.CardAccess/Security.
    public var tag: TLVTag? {
        switch self {
        case .com: return 0x60
        case .sod: return 0x77
        case .dataGroup(let n): return Self.dataGroupTags[n - 1]
        default: return nil
        }
    }

    static let dataGroupTags: [TLVTag] = [
        0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
    ]

    /// The data group whose tag EF.COM lists.
    public static func dataGroup(tag: TLVTag) -> LDSFile? {
        Self.dataGroupTags.firstIndex(of: tag).map { .dataGroup($0 + 1) }
    }

    /// "EF.COM", "EF.SOD", "DG2", "EF.CardAccess".
    public var name: String {
        switch self {
        case .cardAccess: return "EF.CardAccess"
        case .cardSecurity: return "EF.CardSecurity"
        case .com: return "EF.COM"
        case .sod: return "EF.SOD"
        case .dataGroup(let n): return "DG\(n)"
        }
    }

    public init?(name: String) {
        guard let found = Self.all.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// DG3 and DG4 (fingerprints, iris) need Terminal Authentication (EAC).
    public var needsTerminalAuthentication: Bool { self == .dataGroup(3) || self == .dataGroup(4) }

    public var description: String { name }

    private var order: Int { Self.all.firstIndex(of: self) ?? 0 }
    public static func < (a: LDSFile, b: LDSFile) -> Bool { a.order < b.order }
}

/// EF.COM (ICAO 9303-10 §4.6.1): LDS version, Unicode version and the list of data groups present.
public struct EFCOM: Hashable, Sendable {
    /// "0107" for LDS 1.7.
    public var ldsVersion: String
    /// "040000" for Unicode 4.0.0.
    public var unicodeVersion: String
    public var dataGroups: [LDSFile]

    public init(ldsVersion: String = "0107", unicodeVersion: String = "040000", dataGroups: [LDSFile]) {
        self.ldsVersion = ldsVersion
        self.unicodeVersion = unicodeVersion
        self.dataGroups = dataGroups
    }

    public init(bytes: [UInt8]) throws(LDSError) {
        let parsed: (String, String, [LDSFile]) = try LDSError.parsing("EF.COM") {
            let outer = try LDSError.outerObject(bytes, tag: 0x60, field: "EF.COM")
            let ldsVersion = String(decoding: try outer.child(0x5F01)?.value ?? [], as: UTF8.self)
            let unicodeVersion = String(decoding: try outer.child(0x5F36)?.value ?? [], as: UTF8.self)
            let list = try outer.requiredChild(0x5C).value
            var groups: [LDSFile] = []
            var reader = ByteReader(list)
            while let first = reader.readByte() {
                var tag = UInt32(first)
                if first & 0x1F == 0x1F, let second = reader.readByte() { tag = tag << 8 | UInt32(second) }
                guard let group = LDSFile.dataGroup(tag: TLVTag(rawValue: tag)) else {
                    throw LDSError(
                        code: .malformedFile, field: "EF.COM", reason: "unknown data group tag \(TLVTag(rawValue: tag))"
                    )
                }
                groups.append(group)
            }
            return (ldsVersion, unicodeVersion, groups)
        }
        (ldsVersion, unicodeVersion, dataGroups) = parsed
    }

    /// The data groups of an EF.COM that does not parse, where its tag list can still be recognised: the list
    /// written as ASCII hex with the length of the binary form (`5C 02 36 31 37 35`, "6175", FIELD.md §1.5), or
    /// binary tags with a wrong length. Nil when there is no tag list to recognise. A hint only, like EF.COM.
    public static func dataGroupsLeniently(_ bytes: [UInt8]) -> Set<Int>? {
        guard bytes.count >= 4, bytes[0] == 0x60 else { return nil }
        var i = 1
        var end = bytes.count
        if bytes[1] < 0x80 {
            end = min(end, 2 + Int(bytes[1]))
            i = 2
        } else if bytes[1] == 0x81, bytes.count > 2 {
            end = min(end, 3 + Int(bytes[2]))
            i = 3
        } else {
            return nil
        }
        while i + 1 < end {
            var tag = UInt32(bytes[i])
            var next = i + 1
            if bytes[i] & 0x1F == 0x1F {
                tag = tag << 8 | UInt32(bytes[next])
                next += 1
            }
            guard next < end else { return nil }
            let length = Int(bytes[next])
            let start = next + 1
            guard length < 0x80 else { return nil }
            if tag == 0x5C {
                let rest = Array(bytes[start..<end])
                var list = rest
                let hexDigits = rest.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) }
                if hexDigits, rest.count % 2 == 0, let decoded = try? Hex.decode(String(decoding: rest, as: UTF8.self))
                {
                    list = decoded
                } else {
                    list = Array(rest.prefix(length))
                }
                var groups = Set<Int>()
                var reader = ByteReader(list)
                while let first = reader.readByte() {
                    var t = UInt32(first)
                    if first & 0x1F == 0x1F, let second = reader.readByte() { t = t << 8 | UInt32(second) }
                    if let n = LDSFile.dataGroup(tag: TLVTag(rawValue: t))?.dataGroupNumber { groups.insert(n) }
                }
                return groups
            }
            i = start + length
        }
        return nil
    }

    public var encoded: [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x60) { inner in
            inner.write(tag: 0x5F01, value: Array(ldsVersion.utf8))
            inner.write(tag: 0x5F36, value: Array(unicodeVersion.utf8))
            inner.write(tag: 0x5C, value: dataGroups.compactMap { $0.tag }.flatMap { $0.bytes })
        }
        return w.bytes
    }
}
