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

/// Lengths a card profile allows (bytes of UTF-8 in DG13).
public struct RecordLimits: Hashable, Sendable {
    public var fullName = 100
    public var place = 250
    public var otherText = 100
    public var portraitBytes = 30_000
    public init() {}
}

/// Checks a citizen record before a card is spent on it (CCCD.md §4–5): the ID number's structure and its
/// agreement with birth date and sex, real and ordered dates, the 25/40/60 expiry rule, names that
/// transliterate to the MRZ, lengths that fit, and a portrait that decodes.
public struct RecordValidator: Sendable {
    public var limits: RecordLimits
    /// "Today", for dates in the future (injectable for tests).
    public var today: CalendarDate

    public init(limits: RecordLimits = .init(), today: CalendarDate? = nil) {
        self.limits = limits
        self.today = today ?? CalendarDate.today()
    }

    public func validate(_ r: CitizenRecord, baseDirectory: String? = nil) -> ValidationResult {
        var result = ValidationResult()
        func error(_ field: String, _ rule: String, _ message: String) {
            result.errors.append(.init(field: field, rule: rule, message: message))
        }
        func warning(_ field: String, _ rule: String, _ message: String) {
            result.warnings.append(.init(field: field, rule: rule, message: message))
        }

        // Sex.
        let sexOK = r.sex == "M" || r.sex == "F"
        if !sexOK { error("sex", "sex.value", "must be M or F, not \"\(r.sex)\"") }

        // Dates: real, and in order.
        func date(_ field: String, _ text: String) -> CalendarDate? {
            guard let d = CalendarDate(iso: text) else {
                error(field, "date.format", "\"\(text)\" is not a real date in YYYY-MM-DD form")
                return nil
            }
            return d
        }
        let dob = date("dateOfBirth", r.dateOfBirth)
        let issue = date("dateOfIssue", r.dateOfIssue)
        let expiry = r.dateOfExpiry.flatMap { date("dateOfExpiry", $0) }
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
        for p in VietnameseIDNumber.check(r.idNumber, dateOfBirth: dob, sex: sexOK ? r.sex : nil) {
            error("idNumber", p.rule, p.message)
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
        if r.fullName.trimmingCharacters(in: .whitespaces).isEmpty {
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
                    warning(
                        "fullName", "name.truncated",
                        "the MRZ name field will be truncated (\(full.count) > 30 characters)")
                }
            } catch let problem {
                error("fullName", "name.transliteration", problem.reason)
            }
            if r.fullName.utf8.count > limits.fullName {
                error("fullName", "length", "\(r.fullName.utf8.count) bytes, the profile allows \(limits.fullName)")
            }
        }
        for (field, value, limit, required) in [
            ("placeOfOrigin", r.placeOfOrigin as String?, limits.place, true),
            ("placeOfResidence", r.placeOfResidence, limits.place, true),
            ("nationality", r.nationality, limits.otherText, true), ("ethnicity", r.ethnicity, limits.otherText, false),
            ("religion", r.religion, limits.otherText, false),
            ("identifyingMarks", r.identifyingMarks, limits.place, false),
            ("fatherName", r.fatherName, limits.fullName, false), ("motherName", r.motherName, limits.fullName, false),
            ("spouseName", r.spouseName, limits.fullName, false),
        ] {
            guard let value else { continue }
            if required && value.trimmingCharacters(in: .whitespaces).isEmpty {
                error(field, "text.required", "must not be empty")
            }
            if value.utf8.count > limit {
                error(field, "length", "\(value.utf8.count) bytes, the profile allows \(limit)")
            }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                error(field, "text.control", "contains control characters")
            }
        }
        if r.nationality != "Việt Nam" {
            warning("nationality", "nationality.value", "\"\(r.nationality)\" is not \"Việt Nam\"")
        }
        // Absent or "" (most people born from 2000 on never had a CMND), 9 digits (CMND) or 12 digits (the 12-digit
        // CMND issued from 2012, or an earlier CCCD number).
        if let old = r.oldIdNumber, !old.isEmpty,
            !([9, 12].contains(old.utf8.count) && old.utf8.allSatisfy({ (0x30...0x39).contains($0) }))
        {
            error(
                "oldIdNumber", "oldId.format",
                "must be empty, a 9-digit CMND number or a 12-digit number (\(old.utf8.count) characters given)")
        }

        // Portrait.
        if r.portrait == nil {
            error("portrait", "portrait.required", "a portrait is required (path or base64)")
        } else if let bytes = r.portraitBytes(baseDirectory: baseDirectory) {
            if ImageFormat(detecting: bytes) == nil || ImageFormat(detecting: bytes) == .wsq {
                error("portrait", "portrait.format", "not a JPEG or JPEG 2000 image")
            } else if imageDimensions(bytes) == nil {
                error("portrait", "portrait.decode", "the image header cannot be read (corrupt image)")
            } else if bytes.count > limits.portraitBytes {
                error("portrait", "portrait.size", "\(bytes.count) bytes, the profile allows \(limits.portraitBytes)")
            }
        } else {
            error("portrait", "portrait.missing", "the file cannot be read and it is not base64")
        }
        return result
    }
}

/// A batch (JSON Lines) and the result for each line.
public struct BatchValidation: Sendable {
    public struct Line: Sendable, Codable {
        public var line: Int
        public var idNumber: String?
        public var valid: Bool
        public var errors: [ValidationIssue]
        public var warnings: [ValidationIssue]
    }

    /// Validates each non-empty line; a line that is not a record is invalid with rule "record.json".
    public static func validate(jsonLines data: Data, baseDirectory: String?, validator: RecordValidator = .init())
        -> [Line]
    {
        let text = String(decoding: data, as: UTF8.self)
        var out: [Line] = []
        let decoder = JSONDecoder()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            do {
                let record = try decoder.decode(CitizenRecord.self, from: Data(line.utf8))
                let result = validator.validate(record, baseDirectory: baseDirectory)
                out.append(
                    Line(
                        line: index + 1, idNumber: record.idNumber, valid: result.isValid, errors: result.errors,
                        warnings: result.warnings))
            } catch {
                out.append(
                    Line(
                        line: index + 1, idNumber: nil, valid: false,
                        errors: [ValidationIssue(field: "record", rule: "record.json", message: Self.describe(error))],
                        warnings: []))
            }
        }
        return out
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let c):
            return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(_, let c):
            return "null at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: return "not valid JSON"
        default: return "not a record"
        }
    }
}
