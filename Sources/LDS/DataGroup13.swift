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

    /// The layout's version, as the DG13 states it (`02 01 01` on the 2021 card): it chooses the layout that reads
    /// and writes the fields (`DataGroup13Layout`); a version no layout is registered for is read with the 2021
    /// layout's numbers, and its other fields are kept.
    public var version = 1

    public init() {}

    /// The value of a citizen field.
    public subscript(field: CitizenField) -> String? {
        get {
            switch field {
            case .idNumber: return idNumber
            case .fullName: return fullName
            case .dateOfBirth: return dateOfBirth
            case .sex: return sex
            case .nationality: return nationality
            case .ethnicity: return ethnicity
            case .religion: return religion
            case .placeOfOrigin: return placeOfOrigin
            case .placeOfResidence: return placeOfResidence
            case .identifyingMarks: return identifyingMarks
            case .dateOfIssue: return dateOfIssue
            case .dateOfExpiry: return dateOfExpiry
            case .fatherName: return fatherName
            case .motherName: return motherName
            case .spouseName: return spouseName
            case .oldIdNumber: return oldIdNumber
            case .field16: return field16
            }
        }
        set {
            switch field {
            case .idNumber: idNumber = newValue
            case .fullName: fullName = newValue
            case .dateOfBirth: dateOfBirth = newValue
            case .sex: sex = newValue
            case .nationality: nationality = newValue
            case .ethnicity: ethnicity = newValue
            case .religion: religion = newValue
            case .placeOfOrigin: placeOfOrigin = newValue
            case .placeOfResidence: placeOfResidence = newValue
            case .identifyingMarks: identifyingMarks = newValue
            case .dateOfIssue: dateOfIssue = newValue
            case .dateOfExpiry: dateOfExpiry = newValue
            case .fatherName: fatherName = newValue
            case .motherName: motherName = newValue
            case .spouseName: spouseName = newValue
            case .oldIdNumber: oldIdNumber = newValue
            case .field16: field16 = newValue
            }
        }
    }

    /// The layout this DG13 is read and written with.
    public var layout: DataGroup13Layout { DataGroup13Layout.registered(version: version) ?? .cccd2021 }

    public var encoded: [UInt8] {
        var entries: [(Int, [UInt8])] = []
        for field in layout.fields {
            var e = TLVWriter()
            e.write(tag: 0x02, value: TLVWriter.integerContent(field.number))
            switch field.content {
            case .text(let key, let printable):
                guard let value = self[key] else { continue }
                e.write(tag: printable ? 0x13 : 0x0C, value: Array(value.utf8))
            case .alwaysText(let key, let printable):
                if let value = self[key], !value.isEmpty {
                    e.write(tag: printable ? 0x13 : 0x0C, value: Array(value.utf8))
                }
            case .names(let keys):
                guard keys.contains(where: { self[$0] != nil }) else { continue }
                for key in keys { e.write(tag: 0x30) { $0.write(tag: 0x0C, value: Array((self[key] ?? "").utf8)) } }
            case .alwaysName(let key):
                if let value = self[key], !value.isEmpty {
                    e.write(tag: 0x30) { $0.write(tag: 0x0C, value: Array(value.utf8)) }
                }
            }
            entries.append((field.number, e.bytes))
        }
        for (number, value) in otherFields { entries.append((number, value)) }
        var fields = TLVWriter()
        for (_, bytes) in entries.sorted(by: { $0.0 < $1.0 }) { fields.write(tag: 0x30, value: bytes) }
        var inner = TLVWriter()
        inner.write(tag: 0x02, value: TLVWriter.integerContent(version))
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
            if let stated = try body.child(0x02), (1...2).contains(stated.value.count) {
                version = stated.value.reduce(0) { $0 << 8 | Int($1) }
            }
            let layout = self.layout
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
                func firstText() throws(LDSError) -> String? {
                    guard let t = values.first(where: { [0x0C, 0x13, 0x14, 0x16, 0x1E].contains($0.tag.rawValue) })
                    else { return nil }
                    return try text(t)
                }
                switch layout.fields.first(where: { $0.number == number })?.content {
                // Names sit in sequences; an empty name is no name (the card writes an empty father's name when
                // only the mother's is known, and no spouse as the field number alone).
                case .names(let keys)?:
                    let sequences = Array(values.filter { $0.tag == 0x30 })
                    for (key, sequence) in zip(keys, sequences) {
                        if let name = try sequence.children().first { self[key] = nonEmpty(try text(name)) }
                    }
                case .alwaysName(let key)?:
                    if let name = try values.first(where: { $0.tag == 0x30 })?.children().first {
                        self[key] = nonEmpty(try text(name))
                    }
                // Present always: the field number alone, or an empty value, is no value.
                case .alwaysText(let key, _)?:
                    self[key] = try firstText().flatMap(nonEmpty)
                case .text(let key, _)?:
                    guard let value = try firstText() else { throw fail("field \(number) has no text") }
                    self[key] = value
                case nil:
                    var w = TLVWriter()
                    for p in parts { w.write(p) }
                    otherFields[number] = w.bytes
                }
            }
        }
    }
}
