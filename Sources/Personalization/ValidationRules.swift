/// Every rule a record can break, with its meaning: the names are a contract (print centres filter and count by
/// them), so they stay stable. The README's "Validation rules" table is this list; a test keeps the two equal, and
/// `cccd validate --rules` prints it.
public enum ValidationRules {
    public enum Severity: String, Sendable, Codable {
        /// The record gets no card.
        case error
        /// The record gets a card; someone should look.
        case warning
    }

    public struct Rule: Sendable, Codable, Hashable {
        public var name: String
        public var severity: Severity
        public var meaning: String
    }

    public static let all: [Rule] = [
        // Reading the file (RecordDecoder).
        .init(
            name: "record.encoding", severity: .error,
            meaning: "The file is not UTF-8 without a byte-order mark (a BOM, UTF-16 or UTF-32 is named)."),
        .init(
            name: "record.utf8", severity: .error,
            meaning: "Bytes that are not valid UTF-8, at the line and byte given (never replaced)."),
        .init(
            name: "record.syntax", severity: .error,
            meaning: "Not strict JSON at the line and column given (one whole record per line in a batch)."),
        .init(name: "record.notObject", severity: .error, meaning: "The line holds JSON that is not an object."),
        .init(
            name: "record.unknownKey", severity: .error,
            meaning: "A key no record has; the nearest known key is suggested."),
        .init(name: "record.duplicateKey", severity: .error, meaning: "A key given twice in one record."),
        .init(
            name: "record.type", severity: .error,
            meaning: "A value of the wrong type for its field (text in quotes; null only where optional)."),
        .init(name: "record.missing", severity: .error, meaning: "A required key is absent."),
        .init(name: "record.empty", severity: .error, meaning: "A record file holds no record."),
        .init(name: "batch.empty", severity: .error, meaning: "A batch holds no records."),
        // The ID number (CCCD.md §4).
        .init(name: "idNumber.format", severity: .error, meaning: "The ID number is not exactly 12 ASCII digits."),
        .init(
            name: "idNumber.province", severity: .error,
            meaning: "Digits 1–3 are neither a province code nor a country code (101–295)."),
        .init(
            name: "idNumber.century", severity: .error,
            meaning: "Digit 4 gives another century than the date of birth (0/1 1900s, 2/3 2000s, …)."),
        .init(
            name: "idNumber.sex", severity: .error,
            meaning: "Digit 4 gives the other sex (even male, odd female)."),
        .init(
            name: "idNumber.birthYear", severity: .error,
            meaning: "Digits 5–6 are not the last two digits of the year of birth."),
        // Sex and dates.
        .init(name: "sex.value", severity: .error, meaning: "Sex is not M or F."),
        .init(name: "date.format", severity: .error, meaning: "Not a real date in YYYY-MM-DD form."),
        .init(name: "date.future", severity: .error, meaning: "A birth or issue date after today."),
        .init(name: "date.range", severity: .error, meaning: "A birth year before 1900."),
        .init(
            name: "date.order", severity: .error,
            meaning: "Issued before the holder's birth, or expiring on or before the issue date."),
        .init(
            name: "expiry.rule", severity: .error,
            meaning: "The expiry is not what the 25/40/60 rule gives (null from age 58 on)."),
        .init(name: "expiry.past", severity: .warning, meaning: "The card would already be expired."),
        // One card per citizen.
        .init(
            name: "record.duplicateId", severity: .error,
            meaning: "The ID number is on another line of the batch too: both lines are refused."),
        .init(
            name: "record.alreadyIssued", severity: .error,
            meaning:
                "cccd perso: the journal has issued this ID number already (any batch); refused unless --reissue REASON."
        ),
        // Text.
        .init(name: "text.required", severity: .error, meaning: "A required text is empty."),
        .init(name: "text.control", severity: .error, meaning: "A text holds control characters."),
        .init(
            name: "length", severity: .error,
            meaning:
                "The field cannot fit its file on the chip (the profile's capacity): alone, or as the longest field of a DG13 that would overflow."
        ),
        .init(
            name: "name.transliteration", severity: .error,
            meaning: "The name has a character with no MRZ equivalent (ICAO 9303-3 §6)."),
        .init(name: "name.single", severity: .warning, meaning: "Only one name: the MRZ holds no given names."),
        .init(
            name: "name.truncated", severity: .warning,
            meaning: "The name is longer than the MRZ's name field; the message shows it as written (§4.6)."),
        .init(name: "nationality.value", severity: .warning, meaning: "Nationality is not \"Việt Nam\"."),
        .init(
            name: "oldId.format", severity: .error,
            meaning: "The old ID is not absent, empty, 9 digits (CMND) or 12 digits (12-digit CMND or earlier CCCD)."),
        // Portrait and fingers.
        .init(name: "portrait.required", severity: .error, meaning: "No portrait is given."),
        .init(
            name: "portrait.missing", severity: .error,
            meaning: "The portrait is neither a readable file nor base64."),
        .init(name: "portrait.format", severity: .error, meaning: "The portrait is not JPEG or JPEG 2000."),
        .init(name: "portrait.decode", severity: .error, meaning: "The portrait's image header cannot be read."),
        .init(
            name: "portrait.bounds", severity: .error,
            meaning: "The portrait's header declares more than readers decode (pixels, components, bit depth, tiles)."),
        .init(
            name: "portrait.size", severity: .error,
            meaning: "The portrait makes DG2 larger than the profile's capacity."),
        .init(
            name: "finger.required", severity: .error,
            meaning: "The profile's cards hold fingerprints (DG3, behind EAC) and the record gives none."),
        .init(name: "finger.position", severity: .error, meaning: "A finger position outside 1–10 (ISO 19794-4)."),
        .init(
            name: "finger.missing", severity: .error, meaning: "A finger image is neither a readable file nor base64."),
        .init(
            name: "finger.format", severity: .error,
            meaning: "A finger image is not WSQ, JPEG or JPEG 2000 that decodes."
        ),
        .init(name: "finger.duplicate", severity: .error, meaning: "A finger position is given twice."),
        .init(
            name: "finger.size", severity: .error,
            meaning: "The finger images make DG3 larger than the profile's capacity."),
    ]

    /// The rule of this name.
    public static func rule(named name: String) -> Rule? { all.first { $0.name == name } }
}
