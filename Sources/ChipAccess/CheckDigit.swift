import CardCrypto

/// ICAO 9303-3 §4.9 check digit: weights 7, 3, 1 repeating; digits count as themselves, A–Z as 10–35, `<` as 0.
public enum CheckDigit {
    /// The check digit of `text`, or nil when it holds a character outside 0–9, A–Z, `<`.
    public static func compute(_ text: some StringProtocol) -> Int? {
        let weights = [7, 3, 1]
        var sum = 0
        for (i, c) in text.utf8.enumerated() {
            let value: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = Int(c - UInt8(ascii: "A")) + 10
            case UInt8(ascii: "<"): value = 0
            default: return nil
            }
            sum += value * weights[i % 3]
        }
        return sum % 10
    }

    /// The check digit as a character ("0"…"9"); `<` characters for text that has no digit.
    public static func character(_ text: some StringProtocol) -> Character {
        compute(text).map { Character(String($0)) } ?? "<"
    }
}

/// The key a reader proves it knows: the MRZ (BAC, PACE-MRZ) or the CAN (PACE-CAN).
public enum AccessKey: Hashable, Sendable, CustomStringConvertible {
    case mrz(BACKey)
    case can(String)
    case pin(String)
    case puk(String)

    /// The name users see ("MRZ", "CAN").
    public var kind: String {
        switch self {
        case .mrz: return "MRZ"
        case .can: return "CAN"
        case .pin: return "PIN"
        case .puk: return "PUK"
        }
    }

    /// The PACE password reference of MSE:Set AT tag 83 (ICAO 9303-11 §9.5.2): 1 MRZ, 2 CAN, 3 PIN, 4 PUK.
    public var paceReference: UInt8 {
        switch self {
        case .mrz: return 1
        case .can: return 2
        case .pin: return 3
        case .puk: return 4
        }
    }

    /// The PACE password as key material K: SHA-1(MRZ_information) for the MRZ, the characters otherwise.
    public var paceKeyMaterial: [UInt8] {
        switch self {
        case .mrz(let key): return HashAlgorithm.sha1.hash(Array(key.mrzInformation.utf8))
        case .can(let s), .pin(let s), .puk(let s): return Array(s.utf8)
        }
    }

    public var description: String { "AccessKey(\(kind), <redacted>)" }
}

/// Document number, date of birth and date of expiry: the MRZ part that keys BAC and PACE-MRZ
/// (ICAO 9303-11 §4.3.2, §9.7.2). Dates are YYMMDD. `description` never shows the values.
public struct BACKey: Hashable, Sendable, CustomStringConvertible {
    public let documentNumber: String
    public let dateOfBirth: String
    public let dateOfExpiry: String

    public init(documentNumber: String, dateOfBirth: String, dateOfExpiry: String) {
        self.documentNumber = documentNumber
        self.dateOfBirth = dateOfBirth
        self.dateOfExpiry = dateOfExpiry
    }

    /// MRZ_information = document number (padded to at least 9 with `<`) ‖ cd ‖ DOB ‖ cd ‖ DOE ‖ cd.
    public var mrzInformation: String {
        var number = documentNumber.uppercased()
        while number.count < 9 { number += "<" }
        return number + String(CheckDigit.character(number)) + dateOfBirth + String(CheckDigit.character(dateOfBirth))
            + dateOfExpiry + String(CheckDigit.character(dateOfExpiry))
    }

    /// True when the three fields have the shape BAC needs (digits/letters, six-digit dates).
    public var isWellFormed: Bool {
        func isDate(_ s: String) -> Bool { s.count == 6 && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
        return !documentNumber.isEmpty && CheckDigit.compute(documentNumber.uppercased()) != nil && isDate(dateOfBirth)
            && isDate(dateOfExpiry)
    }

    public var description: String { "BACKey(<redacted>)" }
}
