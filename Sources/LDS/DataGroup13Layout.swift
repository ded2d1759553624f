import CardCore
import Foundation

/// A citizen's field as the ID card carries it in DG13.
public enum CitizenField: String, CaseIterable, Codable, Sendable {
    case idNumber, fullName, dateOfBirth, sex, nationality, ethnicity, religion, placeOfOrigin, placeOfResidence,
        identifyingMarks, dateOfIssue, dateOfExpiry, fatherName, motherName, spouseName, oldIdNumber
    /// The 2021 card's field 16: a 16-character string of unknown meaning (possibly a card or chip serial).
    case field16
}

/// Where each citizen field sits in a DG13 and how it is written: data, not code. A card kind with another DG13 is
/// a new layout value (a number per field, its encoding) with a version of its own, and a profile that names it
/// (`dataGroup13Layout:` in the profile YAML). Readers choose the layout by the version the DG13 states.
public struct DataGroup13Layout: Hashable, Sendable {
    public enum Content: Hashable, Sendable {
        /// One text: PrintableString when `printable`, else UTF8String; the field is left out without a value.
        case text(CitizenField, printable: Bool)
        /// One text, the field always present: the number alone without a value.
        case alwaysText(CitizenField, printable: Bool)
        /// Names, each in a SEQUENCE of its own (an empty name for one that is missing); the field is left out
        /// when all are missing.
        case names([CitizenField])
        /// A name in a SEQUENCE, the field always present: the number alone without a name.
        case alwaysName(CitizenField)
    }

    public struct Field: Hashable, Sendable {
        public var number: Int
        public var content: Content
        public init(_ number: Int, _ content: Content) {
            self.number = number
            self.content = content
        }
    }

    /// The name a profile gives (`cccd-2021`).
    public var name: String
    /// The version the DG13 states (its first INTEGER).
    public var version: Int
    public var fields: [Field]

    public init(name: String, version: Int, fields: [Field]) {
        self.name = name
        self.version = version
        self.fields = fields
    }

    /// The 2021 card's DG13 (CCCD.md §6).
    public static let cccd2021 = DataGroup13Layout(
        name: "cccd-2021", version: 1,
        fields: [
            Field(1, .text(.idNumber, printable: true)), Field(2, .text(.fullName, printable: false)),
            Field(3, .text(.dateOfBirth, printable: true)), Field(4, .text(.sex, printable: false)),
            Field(5, .text(.nationality, printable: false)), Field(6, .text(.ethnicity, printable: false)),
            Field(7, .text(.religion, printable: false)), Field(8, .text(.placeOfOrigin, printable: false)),
            Field(9, .text(.placeOfResidence, printable: false)),
            Field(10, .text(.identifyingMarks, printable: false)), Field(11, .text(.dateOfIssue, printable: true)),
            Field(12, .text(.dateOfExpiry, printable: false)), Field(13, .names([.fatherName, .motherName])),
            Field(14, .alwaysName(.spouseName)), Field(15, .alwaysText(.oldIdNumber, printable: true)),
            Field(16, .text(.field16, printable: true)),
        ])

    private static let registry = Locked<[DataGroup13Layout]>([.cccd2021])

    /// Makes a layout known to profiles (by name) and to readers (by version). Refused: a name or version taken by
    /// another layout, a field number used twice or outside 1…127, a citizen field placed twice.
    public static func register(_ layout: DataGroup13Layout) throws(LDSError) {
        func refuse(_ reason: String) -> LDSError {
            LDSError(code: .invalidLayout, field: "DG13 layout \(layout.name)", reason: reason)
        }
        let numbers = layout.fields.map(\.number)
        guard Set(numbers).count == numbers.count, numbers.allSatisfy({ (1...127).contains($0) }) else {
            throw refuse("each field needs a number of its own, 1…127")
        }
        let keys = layout.fields.flatMap { field -> [CitizenField] in
            switch field.content {
            case .text(let k, _), .alwaysText(let k, _), .alwaysName(let k): return [k]
            case .names(let ks): return ks
            }
        }
        guard Set(keys).count == keys.count else { throw refuse("a citizen field is placed twice") }
        guard (1...0xFFFF).contains(layout.version) else { throw refuse("the version must be 1…65535") }
        let clash: String? = registry.withLock { layouts in
            if let other = layouts.first(where: {
                ($0.name == layout.name || $0.version == layout.version) && $0 != layout
            }) {
                return other.name
            }
            if !layouts.contains(layout) { layouts.append(layout) }
            return nil
        }
        if let clash { throw refuse("its name or version is taken by layout \(clash)") }
    }

    /// The layout a profile names.
    public static func registered(named name: String) -> DataGroup13Layout? {
        registry.get().first { $0.name == name }
    }

    /// The layout for the version a DG13 states.
    public static func registered(version: Int) -> DataGroup13Layout? {
        registry.get().first { $0.version == version }
    }

    /// Every layout known, by name.
    public static var registeredNames: [String] { registry.get().map(\.name) }
}
