import Foundation
import LDS

/// One reason a record is not fit for a card (error) or deserves a look (warning).
public struct ValidationIssue: Codable, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var rule: String
    public var message: String
    public init(field: String, rule: String, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }
    public var description: String { "\(field): \(message) [\(rule)]" }
}

/// The outcome of validating one record.
public struct ValidationResult: Codable, Hashable, Sendable {
    public var errors: [ValidationIssue] = []
    public var warnings: [ValidationIssue] = []
    public var isValid: Bool { errors.isEmpty }
}

/// Checks a citizen record before a card is spent on it (CCCD.md §4–5): the ID number's structure and its
/// agreement with birth date and sex, real and ordered dates, the 25/40/60 expiry rule, names that
/// transliterate to the MRZ, files that fit the chip (the profile's capacities), and a portrait that decodes.
/// Every rule name is part of the contract (README, "Validation rules").
public struct RecordValidator: Sendable {
    /// What the chip's files hold; a record is refused for length only when its files would not fit.
    public var capacities: FileCapacities
    /// The profile's name, for messages.
    public var profileName: String
    /// How the profile truncates a name too long for the MRZ.
    public var nameTruncation: MRZNameTruncation
    /// "Today", for dates in the future (injectable for tests).
    public var today: CalendarDate
    /// Where DG13 puts each field (its size is what must fit).
    public var dataGroup13Layout: DataGroup13Layout
    /// The profile's cards hold fingerprints: a record without any is refused (`finger.required`).
    public var fingerprintsRequired: Bool

    public init(profile: CardProfile = .vietnamese2021, today: CalendarDate? = nil) {
        self.capacities = profile.capacities
        self.dataGroup13Layout = profile.dataGroup13Layout
        self.profileName = profile.name
        self.nameTruncation = profile.mrzNameTruncation
        self.fingerprintsRequired =
            profile.fingerprintsRequired && profile.extendedAccessControl && profile.dataGroups.contains(3)
        self.today = today ?? CalendarDate.today()
    }

    /// The text fields of DG13, as the record names them.
    static func dataGroup13Text(_ r: CitizenRecord) -> [(field: String, value: String?)] {
        [
            ("idNumber", r.idNumber), ("fullName", r.fullName), ("dateOfBirth", r.dateOfBirth), ("sex", r.sex),
            ("nationality", r.nationality), ("ethnicity", r.ethnicity), ("religion", r.religion),
            ("placeOfOrigin", r.placeOfOrigin), ("placeOfResidence", r.placeOfResidence),
            ("identifyingMarks", r.identifyingMarks), ("dateOfIssue", r.dateOfIssue), ("dateOfExpiry", r.dateOfExpiry),
            ("fatherName", r.fatherName), ("motherName", r.motherName), ("spouseName", r.spouseName),
            ("oldIdNumber", r.oldIdNumber),
        ]
    }

    static func bytes(_ n: Int) -> String {
        n.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US"))) + " bytes"
    }

    /// Length first, before any other work: a field its file cannot hold fails at once (a 10 MB field costs
    /// no transliteration), and a record whose DG13 as a whole would not fit names its longest field.
    func checkLengths(_ r: CitizenRecord, error: (String, String, String) -> Void) -> (Set<String>, [UInt8]?) {
        var tooLong: Set<String> = []
        guard let dg13 = capacities[.dataGroup(13)] else { return (tooLong, nil) }
        let fields = Self.dataGroup13Text(r)
        for (field, value) in fields {
            guard let value, value.utf8.count > dg13 else { continue }
            tooLong.insert(field)
            error(
                field, "length",
                "\(Self.bytes(value.utf8.count)) cannot fit: DG13 holds at most \(Self.bytes(dg13)) in profile \(profileName)"
            )
        }
        guard tooLong.isEmpty else { return (tooLong, nil) }
        let encoded = r.dataGroup13(layout: dataGroup13Layout).encoded
        let size = encoded.count
        if size > dg13, let longest = fields.max(by: { ($0.value?.utf8.count ?? 0) < ($1.value?.utf8.count ?? 0) }) {
            tooLong.insert(longest.field)
            error(
                longest.field, "length",
                "DG13 would be \(Self.bytes(size)), more than the \(Self.bytes(dg13)) it holds in profile \(profileName); "
                    + "this is its longest field (\(Self.bytes(longest.value?.utf8.count ?? 0)))")
        }
        return (tooLong, encoded)
    }

    public func validate(_ r: CitizenRecord, baseDirectory: String? = nil) -> ValidationResult {
        examine(r, baseDirectory: baseDirectory).result
    }

    /// Validates `r` and, when it is fit for a card, hands it on with what preparation needs, made once here: its
    /// dates, its portrait and finger images read once, its DG13 encoded once in the profile's layout. Only the
    /// validator makes a `ValidatedRecord`.
    public func accept(_ r: CitizenRecord, baseDirectory: String? = nil) -> Result<ValidatedRecord, ValidationFailure> {
        let (result, parts) = examine(r, baseDirectory: baseDirectory)
        guard result.isValid, let dob = parts.dateOfBirth, let portrait = parts.portrait else {
            return .failure(ValidationFailure(record: r.idNumber, result: result))
        }
        return .success(
            ValidatedRecord(
                record: r, warnings: result.warnings, dateOfBirth: dob, dateOfExpiry: parts.dateOfExpiry,
                portrait: portrait, fingers: parts.fingers, dataGroup13: parts.dataGroup13,
                layout: dataGroup13Layout))
    }

    /// What validation read and made on its way, for `accept`.
    struct Parts {
        var dateOfBirth: CalendarDate?
        var dateOfExpiry: CalendarDate?
        var portrait: [UInt8]?
        var fingers: [DataGroup3.Finger] = []
        var dataGroup13: [UInt8]?
    }

    func examine(_ r: CitizenRecord, baseDirectory: String?) -> (result: ValidationResult, parts: Parts) {
        var result = ValidationResult()
        var parts = Parts()
        func error(_ field: String, _ rule: String, _ message: String) {
            result.errors.append(.init(field: field, rule: rule, message: message))
        }
        func warning(_ field: String, _ rule: String, _ message: String) {
            result.warnings.append(.init(field: field, rule: rule, message: message))
        }

        // Length first: a field the card cannot hold is refused at once, and skips the other checks.
        let (tooLong, dataGroup13) = checkLengths(r, error: error)
        parts.dataGroup13 = dataGroup13

        // Sex.
        let sexOK = r.sex == "M" || r.sex == "F"
        if !sexOK && !tooLong.contains("sex") { error("sex", "sex.value", "must be M or F, not \(Self.quote(r.sex))") }

        // Dates: real, and in order.
        func date(_ field: String, _ text: String) -> CalendarDate? {
            guard !tooLong.contains(field) else { return nil }
            guard let d = CalendarDate(iso: text) else {
                error(field, "date.format", "\(Self.quote(text)) is not a real date in YYYY-MM-DD form")
                return nil
            }
            return d
        }
        let dob = date("dateOfBirth", r.dateOfBirth)
        let issue = date("dateOfIssue", r.dateOfIssue)
        let expiry = r.dateOfExpiry.flatMap { date("dateOfExpiry", $0) }
        (parts.dateOfBirth, parts.dateOfExpiry) = (dob, expiry)
        if let dob, dob > today { error("dateOfBirth", "date.future", "\(dob) is in the future") }
        if let dob, dob.year < 1900 { error("dateOfBirth", "date.range", "birth year \(dob.year) is before 1900") }
        if let issue, issue > today { error("dateOfIssue", "date.future", "\(issue) is in the future") }
        if let dob, let issue, issue < dob {
            error("dateOfIssue", "date.order", "the card is issued (\(issue)) before the holder's birth (\(dob))")
        }
        if let issue, let expiry, expiry <= issue {
            error("dateOfExpiry", "date.order", "expiry \(expiry) is not after issue \(issue)")
        }

        // ID number against the holder.
        if !tooLong.contains("idNumber") {
            for p in VietnameseIDNumber.check(r.idNumber, dateOfBirth: dob, sex: sexOK ? r.sex : nil) {
                error("idNumber", p.rule, p.message)
            }
        }

        // Expiry by the 25/40/60 rule.
        if let dob, let issue, issue >= dob, r.dateOfExpiry == nil || expiry != nil {
            let expected = VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: issue)
            switch (expected, expiry) {
            case (nil, nil): break
            case (nil, let got?):
                error(
                    "dateOfExpiry", "expiry.rule",
                    "a card issued at age \(dob.age(on: issue)) has no expiry (must be null), not \(got)")
            case (let want?, nil):
                error(
                    "dateOfExpiry", "expiry.rule",
                    "a card issued at age \(dob.age(on: issue)) expires on \(want), not never")
            case (let want?, let got?) where want != got:
                error(
                    "dateOfExpiry", "expiry.rule",
                    "expected \(want) (25/40/60 rule, issued at age \(dob.age(on: issue))), not \(got)")
            default: break
            }
        }
        if let expiry, expiry < today {
            warning("dateOfExpiry", "expiry.past", "the card would already be expired (\(expiry))")
        }

        // Names and text.
        if tooLong.contains("fullName") {
        } else if r.fullName.trimmingCharacters(in: .whitespaces).isEmpty {
            error("fullName", "text.required", "must not be empty")
        } else {
            do {
                let split = MRZTransliteration.splitVietnameseName(r.fullName)
                if split.secondary.isEmpty {
                    warning("fullName", "name.single", "only one name: the MRZ will hold no given names")
                }
                let full =
                    try MRZTransliteration.transliterate(split.primary) + "<<"
                    + (try MRZTransliteration.transliterate(split.secondary))
                if full.count > 30 {
                    let field = try MRZTransliteration.nameField(
                        primary: split.primary, secondary: split.secondary, width: 30, truncation: nameTruncation)
                    warning(
                        "fullName", "name.truncated",
                        "\(full.count) characters in the MRZ, more than its 30: written as \(field) (\(nameTruncation) form, ICAO 9303-3 §4.6)"
                    )
                }
            } catch let problem {
                error("fullName", "name.transliteration", problem.reason)
            }
        }
        for (field, value, required) in [
            ("placeOfOrigin", r.placeOfOrigin as String?, true), ("placeOfResidence", r.placeOfResidence, true),
            ("nationality", r.nationality, true), ("ethnicity", r.ethnicity, false), ("religion", r.religion, false),
            ("identifyingMarks", r.identifyingMarks, false), ("fullName", r.fullName, true),
            ("fatherName", r.fatherName, false), ("motherName", r.motherName, false),
            ("spouseName", r.spouseName, false),
        ] {
            guard let value, !tooLong.contains(field) else { continue }
            if required && field != "fullName" && value.trimmingCharacters(in: .whitespaces).isEmpty {
                error(field, "text.required", "must not be empty")
            }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
                error(field, "text.control", "contains control characters")
            }
        }
        if r.nationality != "Việt Nam" && !tooLong.contains("nationality") {
            warning("nationality", "nationality.value", "\(Self.quote(r.nationality)) is not \"Việt Nam\"")
        }
        // Absent or "" (most people born from 2000 on never had a CMND), 9 digits (CMND) or 12 digits (the 12-digit
        // CMND issued from 2012, or an earlier CCCD number).
        if let old = r.oldIdNumber, !old.isEmpty, !tooLong.contains("oldIdNumber"),
            !([9, 12].contains(old.utf8.count) && old.utf8.allSatisfy({ (0x30...0x39).contains($0) }))
        {
            error(
                "oldIdNumber", "oldId.format",
                "must be empty, a 9-digit CMND number or a 12-digit number (\(old.utf8.count) characters given)")
        }

        // Portrait: an image that decodes, and a DG2 that fits.
        let dg2Capacity = capacities[.dataGroup(2)]
        if r.portrait == nil {
            error("portrait", "portrait.required", "a portrait is required (path or base64)")
        } else if let dg2Capacity, let text = r.portrait, text.utf8.count / 4 * 3 > 2 * dg2Capacity + 1024,
            CitizenRecord.looksLikeBase64(text)
        {
            // Refused before decoding: a huge base64 text cannot become a DG2 the chip holds.
            error(
                "portrait", "portrait.size",
                "about \(Self.bytes(text.utf8.count / 4 * 3)) of image; DG2 holds at most \(Self.bytes(dg2Capacity)) in profile \(profileName)"
            )
        } else if let bytes = r.portraitBytes(baseDirectory: baseDirectory) {
            parts.portrait = bytes
            if ImageFormat(detecting: bytes) == nil || ImageFormat(detecting: bytes) == .wsq {
                error("portrait", "portrait.format", "not a JPEG or JPEG 2000 image")
            } else if imageDimensions(bytes) == nil {
                error("portrait", "portrait.decode", "the image header cannot be read (corrupt image)")
            } else if let header = try? ImageHeader(bytes), let why = ImageBounds.standard.refusal(header) {
                error("portrait", "portrait.bounds", "\(why): readers would refuse to show it")
            } else if let dg2Capacity,
                let dg2 = try? DataGroup2(faces: [DataGroup2.FaceImage(image: bytes)]).encoded, dg2.count > dg2Capacity
            {
                error(
                    "portrait", "portrait.size",
                    "the portrait (\(Self.bytes(bytes.count))) makes DG2 \(Self.bytes(dg2.count)); DG2 holds at most \(Self.bytes(dg2Capacity)) in profile \(profileName)"
                )
            }
        } else {
            error("portrait", "portrait.missing", "the file cannot be read and it is not base64")
        }

        // Fingers (DG3): positions 1–10 of ISO 19794-4, images that decode, a DG3 that fits.
        if fingerprintsRequired, r.fingerprints?.isEmpty ?? true {
            error(
                "fingerprints", "finger.required",
                "profile \(profileName) writes the holder's fingerprints (DG3, behind EAC) and the record has none")
        }
        if let prints = r.fingerprints, !prints.isEmpty {
            var fingers: [DataGroup3.Finger] = []
            for (i, p) in prints.enumerated() {
                let field = "fingerprints[\(i)]"
                if !(1...10).contains(p.position) {
                    error(field + ".position", "finger.position", "\(p.position) is not a finger position (1–10)")
                }
                guard let image = CitizenRecord.imageBytes(p.image, baseDirectory: baseDirectory) else {
                    error(field + ".image", "finger.missing", "the file cannot be read and it is not base64")
                    continue
                }
                guard let format = ImageFormat(detecting: image),
                    let dims = imageDimensions(image) ?? (format == .wsq ? (0, 0) : nil)
                else {
                    error(field + ".image", "finger.format", "not a WSQ, JPEG or JPEG 2000 image that decodes")
                    continue
                }
                fingers.append(
                    .init(
                        position: UInt8(clamping: p.position),
                        compression: format == .wsq ? 2 : format == .jpeg ? 4 : 5,
                        width: dims.0, height: dims.1, image: image))
            }
            if Set(prints.map(\.position)).count != prints.count {
                error("fingerprints", "finger.duplicate", "a finger position is given twice")
            }
            parts.fingers = fingers
            if let capacity = capacities[.dataGroup(3)], fingers.count == prints.count {
                let size = DataGroup3(fingers: fingers).encoded.count
                if size > capacity {
                    error(
                        "fingerprints", "finger.size",
                        "the finger images make DG3 \(Self.bytes(size)); DG3 holds at most \(Self.bytes(capacity)) in profile \(profileName)"
                    )
                }
            }
        }
        return (result, parts)
    }

    /// A value for a message: quoted, and cut to 40 characters (a 10 MB value never lands in a message).
    static func quote(_ text: String) -> String {
        text.utf8.count <= 40 || (text.utf8.count <= 160 && text.count <= 40)
            ? "\"\(text)\"" : "\"\(text.prefix(37))…\" (\(Self.bytes(text.utf8.count)))"
    }
}

/// A record fit for a card, with what preparation needs, each made once by the validator (`RecordValidator.accept`):
/// nobody else can make one, so preparation never validates again, reads an image again or encodes DG13 again.
public struct ValidatedRecord: Sendable {
    public let record: CitizenRecord
    /// What the validator warned of (the record is issued all the same, unless the line is strict).
    public let warnings: [ValidationIssue]
    public let dateOfBirth: CalendarDate
    public let dateOfExpiry: CalendarDate?
    /// The portrait's bytes, read once.
    public let portrait: [UInt8]
    /// DG3's finger records (empty without fingerprints), their images read once.
    public let fingers: [DataGroup3.Finger]
    /// DG13 in the layout it was checked against (nil for a profile whose chip has no DG13 capacity).
    let dataGroup13: [UInt8]?
    let layout: DataGroup13Layout

    fileprivate init(
        record: CitizenRecord, warnings: [ValidationIssue], dateOfBirth: CalendarDate, dateOfExpiry: CalendarDate?,
        portrait: [UInt8], fingers: [DataGroup3.Finger], dataGroup13: [UInt8]?, layout: DataGroup13Layout
    ) {
        self.record = record
        self.warnings = warnings
        self.dateOfBirth = dateOfBirth
        self.dateOfExpiry = dateOfExpiry
        self.portrait = portrait
        self.fingers = fingers
        self.dataGroup13 = dataGroup13
        self.layout = layout
    }

    /// DG13's bytes in `layout`: the ones validation encoded when it is the same layout.
    public func dataGroup13(layout wanted: DataGroup13Layout) -> [UInt8] {
        if let dataGroup13, wanted == layout { return dataGroup13 }
        return record.dataGroup13(layout: wanted).encoded
    }
}

/// A record not fit for a card, with every issue the validator found.
public struct ValidationFailure: Error, Sendable {
    public let record: String
    public let result: ValidationResult
}

/// A batch (JSON Lines) and the result for each line.
public struct BatchValidation: Sendable {
    /// One card per citizen: each line whose ID number is on another line of the batch too, with its issue
    /// (`record.duplicateId`). Both lines are refused: which one is right is for the operator to say.
    public static func duplicateIDs(_ entries: [RecordDecoder.Entry]) -> [Int: ValidationIssue] {
        var lines: [String: [Int]] = [:]
        for entry in entries {
            if case .success(let record) = entry.result { lines[record.idNumber, default: []].append(entry.line) }
        }
        var out: [Int: ValidationIssue] = [:]
        for (id, same) in lines where same.count > 1 {
            for line in same {
                let others = same.filter { $0 != line }.map(String.init).joined(separator: ", ")
                out[line] = ValidationIssue(
                    field: "idNumber", rule: "record.duplicateId",
                    message: "ID number \(RecordValidator.quote(id)) is also on line \(others) of this batch")
            }
        }
        return out
    }

    public struct Line: Sendable, Codable {
        public var line: Int
        public var idNumber: String?
        public var valid: Bool
        public var errors: [ValidationIssue]
        public var warnings: [ValidationIssue]
        public init(line: Int, idNumber: String?, valid: Bool, errors: [ValidationIssue], warnings: [ValidationIssue]) {
            self.line = line
            self.idNumber = idNumber
            self.valid = valid
            self.errors = errors
            self.warnings = warnings
        }
    }

    /// Decodes the batch with `RecordDecoder` and validates each record. A line that cannot be read is invalid
    /// with its decoding problems (rules `record.*`); a file that cannot be read at all (its encoding, or no
    /// records) throws.
    public static func validate(jsonLines data: [UInt8], baseDirectory: String?, validator: RecordValidator = .init())
        throws(RecordDecodingError) -> [Line]
    {
        let entries = try RecordDecoder.decodeBatch(data)
        let duplicates = duplicateIDs(entries)
        return entries.map { entry in
            switch entry.result {
            case .success(let record):
                var result = validator.validate(record, baseDirectory: baseDirectory)
                if let issue = duplicates[entry.line] { result.errors.append(issue) }
                return Line(
                    line: entry.line, idNumber: record.idNumber.utf8.count <= 64 ? record.idNumber : nil,
                    valid: result.isValid, errors: result.errors, warnings: result.warnings)
            case .failure(let error):
                return Line(
                    line: entry.line, idNumber: nil, valid: false, errors: error.problems.map(\.issue), warnings: [])
            }
        }
    }
}
