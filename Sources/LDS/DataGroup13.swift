import CardCore

/// DG13 of the Vietnamese card (CCCD.md §6): `6D { 30 { 02 version, 06 OID (UTF-8), 31 { SEQUENCE { INTEGER
/// fieldNo, value… } … } } }`. Parsed by field number and tag, never by offsets; unknown fields are kept.
/// Field 13 holds the parents as two sibling SEQUENCEs; field 14 the spouse, empty when there is none.
public struct DataGroup13: Hashable, Sendable {
    public var idNumber: String?
    public var fullName: String?
    /// dd/mm/yyyy
    public var dateOfBirth: String?
    /// "Nam" or "Nữ".
    public var sex: String?
    public var nationality: String?
    public var ethnicity: String?
    public var religion: String?
    public var placeOfOrigin: String?
    public var placeOfResidence: String?
    public var identifyingMarks: String?
    /// dd/mm/yyyy
    public var dateOfIssue: String?
    /// dd/mm/yyyy, or the text for "no expiry".
    public var dateOfExpiry: String?
    public var fatherName: String?
    public var motherName: String?
    public var spouseName: String?
    public var oldIdNumber: String?
    /// Field 16: a 16-character string (meaning unknown; possibly a card or chip serial).
    public var field16: String?
    /// Fields this toolchain does not know, by number, as their encoded value objects.
    public var otherFields: [Int: [UInt8]] = [:]

    /// The DG13 text for a card without expiry.
    public static let noExpiryText = "Không thời hạn"
    /// OID 1.0.10646.1.0.8 (ISO/IEC 10646, UTF-8).
    static let utf8OID: [UInt8] = [0x28, 0xD3, 0x16, 0x01, 0x00, 0x08]

    public init() {}

    static let printableFields: Set<Int> = [1, 3, 11, 15, 16]

    private var simpleFields: [(Int, String?)] {
        [
            (1, idNumber), (2, fullName), (3, dateOfBirth), (4, sex), (5, nationality), (6, ethnicity), (7, religion),
            (8, placeOfOrigin), (9, placeOfResidence), (10, identifyingMarks), (11, dateOfIssue), (12, dateOfExpiry),
            (16, field16),
        ]
    }

    private mutating func set(_ field: Int, _ value: String) {
        switch field {
        case 1: idNumber = value
        case 2: fullName = value
        case 3: dateOfBirth = value
        case 4: sex = value
        case 5: nationality = value
        case 6: ethnicity = value
        case 7: religion = value
        case 8: placeOfOrigin = value
        case 9: placeOfResidence = value
        case 10: identifyingMarks = value
        case 11: dateOfIssue = value
        case 12: dateOfExpiry = value
        case 15: oldIdNumber = value
        case 16: field16 = value
        default: break
        }
    }

    public var encoded: [UInt8] {
        var fields = TLVWriter()
        var entries: [(Int, [UInt8])] = []
        for (number, value) in simpleFields {
            guard let value else { continue }
            var e = TLVWriter()
            e.write(tag: 0x02, value: [UInt8(number)])
            e.write(tag: Self.printableFields.contains(number) ? 0x13 : 0x0C, value: Array(value.utf8))
            entries.append((number, e.bytes))
        }
        if fatherName != nil || motherName != nil {
            var e = TLVWriter()
            e.write(tag: 0x02, value: [13])
            e.write(tag: 0x30) { $0.write(tag: 0x0C, value: Array((fatherName ?? "").utf8)) }
            e.write(tag: 0x30) { $0.write(tag: 0x0C, value: Array((motherName ?? "").utf8)) }
            entries.append((13, e.bytes))
        }
        // Fields 14 (spouse) and 15 (old ID) are always present: without a value, as the field number alone
        // (30 03 02 01 0E / 30 03 02 01 0F; CCCD.md §6).
        var spouse = TLVWriter()
        spouse.write(tag: 0x02, value: [14])
        if let spouseName, !spouseName.isEmpty {
            spouse.write(tag: 0x30) { $0.write(tag: 0x0C, value: Array(spouseName.utf8)) }
        }
        entries.append((14, spouse.bytes))
        var oldID = TLVWriter()
        oldID.write(tag: 0x02, value: [15])
        if let oldIdNumber, !oldIdNumber.isEmpty { oldID.write(tag: 0x13, value: Array(oldIdNumber.utf8)) }
        entries.append((15, oldID.bytes))
        for (number, value) in otherFields { entries.append((number, value)) }
        for (_, bytes) in entries.sorted(by: { $0.0 < $1.0 }) { fields.write(tag: 0x30, value: bytes) }
        var inner = TLVWriter()
        inner.write(tag: 0x02, value: [0x01])
        inner.write(tag: 0x06, value: Self.utf8OID)
        inner.write(tag: 0x31, value: fields.bytes)
        return TLVWriter.encode(tag: 0x6D, value: TLVWriter.encode(tag: 0x30, value: inner.bytes))
    }

    /// The most fields a DG13 may hold (the Vietnamese card has 16).
    public static let maximumFieldCount = 64

    public init(bytes: [UInt8]) throws(LDSError) {
        func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }
        func fail(_ reason: String) -> LDSError { LDSError(code: .malformedFile, field: "DG13", reason: reason) }
        try LDSError.parsing("DG13") {
            let outer = try LDSError.outerObject(bytes, tag: 0x6D, field: "DG13")
            guard let body = try outer.children().first(where: { $0.tag == 0x30 }) else { throw fail("no SEQUENCE") }
            guard let fieldSet = try body.child(0x31) else { throw fail("no SET of fields") }
            let entries = try fieldSet.children()
            guard entries.count <= Self.maximumFieldCount else {
                throw fail("\(entries.count) fields; at most \(Self.maximumFieldCount) are accepted")
            }
            for entry in entries where entry.tag == 0x30 {
                let parts = try entry.children()
                guard let numberTLV = parts.first, numberTLV.tag == 0x02, (1...3).contains(numberTLV.value.count) else {
                    throw fail("a field without its number")
                }
                let number = numberTLV.value.reduce(0) { $0 << 8 | Int($1) }
                let values = parts.dropFirst()
                func text(_ t: TLV) throws(LDSError) -> String {
                    guard let s = String(validating: Array(t.value), as: UTF8.self) else {
                        throw fail("field \(number) is not UTF-8")
                    }
                    return s
                }
                switch number {
                // Fields 13 and 14 hold names in sequences; an empty name is no name (the card writes an empty
                // father's name when only the mother's is known, and no spouse as the field number alone).
                case 13:
                    let sequences = values.filter { $0.tag == 0x30 }
                    if let father = try sequences.first?.children().first { fatherName = nonEmpty(try text(father)) }
                    if sequences.count > 1,
                        let mother = try sequences[sequences.index(after: sequences.startIndex)].children().first
                    {
                        motherName = nonEmpty(try text(mother))
                    }
                case 14:
                    if let spouse = try values.first(where: { $0.tag == 0x30 })?.children().first {
                        spouseName = nonEmpty(try text(spouse))
                    }
                case 15 where values.isEmpty:
                    oldIdNumber = nil  // the field number alone: no old ID
                case 1...12, 15, 16:
                    guard let value = values.first(where: { [0x0C, 0x13, 0x14, 0x16, 0x1E].contains($0.tag.rawValue) })
                    else {
                        throw fail("field \(number) has no text")
                    }
                    let string = try text(value)
                    // No old ID is the field number alone; an empty one is the same.
                    if number == 15 && string.isEmpty { oldIdNumber = nil } else { self.set(number, string) }
                default:
                    var w = TLVWriter()
                    for p in parts { w.write(p) }
                    otherFields[number] = w.bytes
                }
            }
        }
    }
}
