import ChipAccess

/// A machine-readable zone (ICAO 9303-3/-5/-4): TD1 (3 × 30, ID cards such as the CCCD) and TD3 (2 × 44,
/// passports). Parsing checks every check digit; generating computes them.
public struct MRZ: Hashable, Sendable, CustomStringConvertible {
    public enum Format: String, Hashable, Sendable {
        case td1 = "TD1"
        case td3 = "TD3"
        var width: Int { self == .td1 ? 30 : 44 }
    }

    public var format: Format
    /// Document code ("ID", "I<", "P<").
    public var documentCode: String
    public var issuingState: String
    public var documentNumber: String
    /// TD1 line 1 optional data (15), or TD3 personal number (14).
    public var optionalData1: String
    public var dateOfBirth: String
    /// "M", "F" or "<".
    public var sex: String
    public var dateOfExpiry: String
    public var nationality: String
    /// TD1 line 2 optional data (11); empty for TD3.
    public var optionalData2: String
    /// Name field (MRZ characters): PRIMARY<<SECONDARY<NAMES.
    public var nameField: String
    /// Check digits that did not match but were not checked (parsed with `.accessKeyDigits`): "composite",
    /// "personal number". Empty otherwise.
    public var uncheckedDigits: [String] = []

    /// Which check digits parsing enforces.
    public enum CheckDigits: Sendable {
        /// Every one (an MRZ this toolchain writes, a record's).
        case all
        /// Only those of the fields BAC and PACE-MRZ use (document number, dates of birth and expiry); the others
        /// (composite, personal number) are noted in `uncheckedDigits`. For foreign documents whose other digits
        /// are wrong or computed by other rules: the chip decides, not the composite digit.
        case accessKeyDigits
    }

    public init(
        format: Format, documentCode: String, issuingState: String, documentNumber: String,
        optionalData1: String = "", dateOfBirth: String, sex: String, dateOfExpiry: String, nationality: String,
        optionalData2: String = "", nameField: String
    ) {
        self.format = format
        self.documentCode = documentCode
        self.issuingState = issuingState
        self.documentNumber = documentNumber.padded(9)
        // Fields are kept at their MRZ widths, so that generate → parse gives the same value.
        self.optionalData1 = optionalData1.padded(format == .td1 ? 15 : 14)
        self.dateOfBirth = dateOfBirth
        self.sex = sex
        self.dateOfExpiry = dateOfExpiry
        self.nationality = nationality
        self.optionalData2 = format == .td1 ? optionalData2.padded(11) : ""
        self.nameField = nameField.padded(format == .td1 ? 30 : 39)
    }

    /// The surname part of the name field, with fillers as spaces.
    public var primaryIdentifier: String {
        let parts = nameField.split(separator: "<<", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.first.map { $0.replacingFillers() } ?? ""
    }

    /// The given names, with fillers as spaces.
    public var secondaryIdentifier: String {
        let parts = nameField.split(separator: "<<", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? parts[1].replacingFillers() : ""
    }

    /// The BAC / PACE-MRZ key.
    public var bacKey: BACKey {
        BACKey(documentNumber: documentNumber.trimmingFillers(), dateOfBirth: dateOfBirth, dateOfExpiry: dateOfExpiry)
    }

    // MARK: Generation

    public var lines: [String] {
        let w = format.width
        let number = documentNumber.padded(9)
        let cdNumber = String(CheckDigit.character(number))
        let cdBirth = String(CheckDigit.character(dateOfBirth))
        let cdExpiry = String(CheckDigit.character(dateOfExpiry))
        switch format {
        case .td1:
            let line1 = (documentCode.padded(2) + issuingState.padded(3) + number + cdNumber + optionalData1.padded(15))
            let line2Head =
                dateOfBirth + cdBirth + sex.padded(1) + dateOfExpiry + cdExpiry + nationality.padded(3)
                + optionalData2.padded(11)
            let compositeInput =
                String(line1.dropFirst(5)) + dateOfBirth + cdBirth + dateOfExpiry + cdExpiry
                + optionalData2.padded(11)
            let line2 = line2Head + String(CheckDigit.character(compositeInput))
            return [line1, line2, nameField.padded(w)]
        case .td3:
            let line1 = (documentCode.padded(2) + issuingState.padded(3) + nameField).padded(w)
            let personal = optionalData1.padded(14)
            let cdPersonal = personal.allSatisfy { $0 == "<" } ? "<" : String(CheckDigit.character(personal))
            let compositeInput =
                number + cdNumber + dateOfBirth + cdBirth + dateOfExpiry + cdExpiry + personal
                + cdPersonal
            let line2 =
                number + cdNumber + nationality.padded(3) + dateOfBirth + cdBirth + sex.padded(1)
                + dateOfExpiry + cdExpiry + personal + cdPersonal + String(CheckDigit.character(compositeInput))
            return [line1, line2]
        }
    }

    /// The lines joined by newlines.
    public var text: String { lines.joined(separator: "\n") }

    /// Redacted: an MRZ is a secret (it keys BAC).
    public var description: String { "MRZ(\(format.rawValue), <redacted>)" }

    // MARK: Parsing

    /// Parses TD1 (3 lines of 30) or TD3 (2 lines of 44); line breaks optional. Every check digit is verified.
    public init(parsing text: String, checking: CheckDigits = .all) throws(LDSError) {
        let compact = String(text.unicodeScalars.filter { $0 != "\n" && $0 != "\r" && $0 != " " })
        let chars = Array(compact)
        guard chars.allSatisfy({ ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "<" }) else {
            throw LDSError(code: .invalidMRZ, field: "MRZ", reason: "only A-Z, 0-9 and < may appear")
        }
        func s(_ from: Int, _ length: Int) -> String { String(chars[from..<from + length]) }
        var unchecked: [String] = []
        func check(_ field: String, _ value: String, _ digit: Character) throws(LDSError) {
            let keyField = field == "document number" || field == "date of birth" || field == "date of expiry"
            if checking == .accessKeyDigits && !keyField {
                if CheckDigit.character(value) != digit { unchecked.append(field) }
                return
            }
            guard CheckDigit.character(value) == digit else {
                throw LDSError(code: .checkDigit, field: field, reason: "check digit does not match")
            }
        }
        switch chars.count {
        case 90:
            format = .td1
            documentCode = s(0, 2)
            issuingState = s(2, 3)
            documentNumber = s(5, 9)
            try check("document number", documentNumber, chars[14])
            optionalData1 = s(15, 15)
            dateOfBirth = s(30, 6)
            try check("date of birth", dateOfBirth, chars[36])
            sex = s(37, 1)
            dateOfExpiry = s(38, 6)
            try check("date of expiry", dateOfExpiry, chars[44])
            nationality = s(45, 3)
            optionalData2 = s(48, 11)
            try check("composite", s(5, 25) + s(30, 7) + s(38, 7) + s(48, 11), chars[59])
            nameField = s(60, 30)
            uncheckedDigits = unchecked
        case 88:
            format = .td3
            documentCode = s(0, 2)
            issuingState = s(2, 3)
            nameField = s(5, 39)
            documentNumber = s(44, 9)
            try check("document number", documentNumber, chars[53])
            nationality = s(54, 3)
            dateOfBirth = s(57, 6)
            try check("date of birth", dateOfBirth, chars[63])
            sex = s(64, 1)
            dateOfExpiry = s(65, 6)
            try check("date of expiry", dateOfExpiry, chars[71])
            optionalData1 = s(72, 14)
            if !(optionalData1.allSatisfy { $0 == "<" } && chars[86] == "<") {
                try check("personal number", optionalData1, chars[86])
            }
            optionalData2 = ""
            try check("composite", s(44, 10) + s(57, 7) + s(65, 22), chars[87])
            uncheckedDigits = unchecked
        default:
            throw LDSError(
                code: .invalidMRZ, field: "MRZ", reason: "\(chars.count) characters; TD1 has 90, TD3 has 88")
        }
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? String(prefix(width)) : self + String(repeating: "<", count: width - count)
    }
    func trimmingFillers() -> String {
        var s = Substring(self)
        while s.last == "<" { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func replacingFillers() -> String {
        var s = self
        while s.last == "<" { s.removeLast() }
        return String(s.map { $0 == "<" ? " " : $0 })
    }
}
