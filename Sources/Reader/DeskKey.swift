import ChipAccess
import LDS

/// The keys a desk actually has, turned into the chip's access key: the CAN (6 digits), the 12-digit ID number (on
/// the Vietnamese card the CAN is its last 6 digits), the MRZ lines, the MRZ's three fields, or the text of the
/// card's QR code as a barcode scanner types it (`ID12|oldID|name|DDMMYYYY|sex|address|DDMMYYYY`).
public enum DeskKey {
    /// What the card's QR code says.
    public struct QRCode: Sendable, Hashable {
        public var idNumber: String
        public var oldIdNumber: String?
        public var fullName: String?
        /// YYYY-MM-DD.
        public var dateOfBirth: String?
        public var sex: String?
        public var address: String?
        /// YYYY-MM-DD.
        public var dateOfIssue: String?
    }

    /// Parses the QR text. Only the ID number is required (the CAN comes from it); a scanner's trailing return
    /// or spaces are ignored.
    public static func parseQR(_ text: String) throws(DeskKeyError) -> QRCode {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "|", omittingEmptySubsequences: false
        ).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let id = fields.first, isDigits(id, count: 12) else {
            throw DeskKeyError(
                "the QR text does not start with a 12-digit ID number (expected ID12|oldID|name|DDMMYYYY|sex|address|DDMMYYYY)"
            )
        }
        guard fields.count <= 8 else { throw DeskKeyError("the QR text has \(fields.count) fields; the card's has 7") }
        func field(_ i: Int) -> String? { i < fields.count && !fields[i].isEmpty ? fields[i] : nil }
        func date(_ i: Int) -> String? {
            guard let d = field(i), isDigits(d, count: 8) else { return nil }
            return "\(d.suffix(4))-\(d.dropFirst(2).prefix(2))-\(d.prefix(2))"
        }
        return QRCode(
            idNumber: id, oldIdNumber: field(1), fullName: field(2), dateOfBirth: date(3), sex: field(4),
            address: field(5), dateOfIssue: date(6))
    }

    /// The access key from whichever the desk gave (exactly one way): `can`, `idNumber` alone (→ CAN), `qr`
    /// (→ CAN), `mrz` (the lines), or `documentNumber` + `dateOfBirth` + `dateOfExpiry` (YYMMDD or YYYY-MM-DD;
    /// with a 12-digit ID number as the document number, the Vietnamese card's MRZ key).
    public static func accessKey(
        can: String? = nil, idNumber: String? = nil, qr: String? = nil, mrz: String? = nil,
        documentNumber: String? = nil, dateOfBirth: String? = nil, dateOfExpiry: String? = nil
    ) throws(DeskKeyError) -> AccessKey {
        let byFields = documentNumber != nil || dateOfBirth != nil || dateOfExpiry != nil
        let given = [can != nil, idNumber != nil, qr != nil, mrz != nil, byFields].filter { $0 }.count
        guard given == 1 else {
            throw DeskKeyError(
                given == 0
                    ? "no access key: give the CAN, the 12-digit ID number, the QR text, the MRZ, or the document number with the dates of birth and expiry"
                    : "more than one access key given: give exactly one")
        }
        if let can {
            guard !can.isEmpty, can.count <= 10, isDigits(can, count: can.count) else {
                throw DeskKeyError("the CAN must be digits (6 on the Vietnamese card)")
            }
            return .can(can)
        }
        if let idNumber {
            guard isDigits(idNumber, count: 12) else { throw DeskKeyError("the ID number must be exactly 12 digits") }
            return .can(String(idNumber.suffix(6)))
        }
        if let qr { return .can(String(try parseQR(qr).idNumber.suffix(6))) }
        if let mrz {
            do {
                // Only the digits of the fields the key uses are checked: a foreign MRZ with a wrong composite
                // digit still opens its chip (`mrzNotes` says what was not checked).
                return .mrz(try MRZ(parsing: mrz, checking: .accessKeyDigits).bacKey)
            } catch {
                throw DeskKeyError("the MRZ is not valid: \(error)")
            }
        }
        guard let documentNumber, let dateOfBirth, let dateOfExpiry else {
            throw DeskKeyError("the document number needs the dates of birth and expiry too")
        }
        guard let dob = yymmdd(dateOfBirth), let doe = yymmdd(dateOfExpiry) else {
            throw DeskKeyError("dates must be YYMMDD or YYYY-MM-DD")
        }
        do {
            if isDigits(documentNumber, count: 12) {
                return .mrz(try VietnameseCard.bacKey(idNumber: documentNumber, dateOfBirth: dob, dateOfExpiry: doe))
            }
            guard (1...9).contains(documentNumber.count),
                documentNumber.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isUppercase) })
            else { throw DeskKeyError("the document number must be 1 to 9 capital letters or digits") }
            return .mrz(BACKey(documentNumber: documentNumber, dateOfBirth: dob, dateOfExpiry: doe))
        } catch let error as DeskKeyError {
            throw error
        } catch {
            throw DeskKeyError("the MRZ key is not valid: \(error)")
        }
    }

    /// What a person should know about an MRZ given as a key: check digits that do not match but that BAC and
    /// PACE do not use. Empty when every digit matches or the MRZ does not parse.
    public static func mrzNotes(_ mrz: String) -> [String] {
        guard let parsed = try? MRZ(parsing: mrz, checking: .accessKeyDigits) else { return [] }
        return parsed.uncheckedDigits.map {
            "the MRZ's \($0) check digit does not match; not used by BAC or PACE, so the card was read all the same"
        }
    }

    static func isDigits(_ text: String, count: Int) -> Bool {
        text.count == count && text.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// YYMMDD from YYMMDD or YYYY-MM-DD.
    static func yymmdd(_ text: String) -> String? {
        if isDigits(text, count: 6) { return text }
        let parts = text.split(separator: "-")
        guard parts.count == 3, isDigits(String(parts[0]), count: 4), isDigits(String(parts[1]), count: 2),
            isDigits(String(parts[2]), count: 2)
        else { return nil }
        return "\(parts[0].suffix(2))\(parts[1])\(parts[2])"
    }
}

/// A key a desk gave that cannot open a card, in the desk's terms (never echoing the key itself).
public struct DeskKeyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
