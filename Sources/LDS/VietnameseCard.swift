import ChipAccess

/// What the Vietnamese chip ID card (CCCD) derives from the 12-digit personal identification number
/// (CCCD.md §2–3): the BAC / PACE-MRZ document number is its last 9 digits, the PACE CAN its last 6, and the
/// TD1 optional data carries the whole number plus `<<` and its check digit.
public enum VietnameseCard {
    /// The eMRTD application identifier.
    public static let applicationID: [UInt8] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01]
    /// DOE in the MRZ of a card without expiry ("Không thời hạn").
    public static let noExpiry = "991231"

    /// Checks that `id` is exactly 12 ASCII digits.
    public static func requireIDNumber(_ id: String) throws(LDSError) {
        guard id.utf8.count == 12, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw LDSError(code: .invalidIDNumber, field: "idNumber", reason: "must be exactly 12 digits")
        }
    }

    public static func documentNumber(idNumber: String) throws(LDSError) -> String {
        try requireIDNumber(idNumber)
        return String(idNumber.suffix(9))
    }

    public static func can(idNumber: String) throws(LDSError) -> String {
        try requireIDNumber(idNumber)
        return String(idNumber.suffix(6))
    }

    /// The BAC key from the ID number and YYMMDD dates (`dateOfExpiry` nil → 991231).
    public static func bacKey(idNumber: String, dateOfBirth: String, dateOfExpiry: String?) throws(LDSError) -> BACKey {
        BACKey(
            documentNumber: try documentNumber(idNumber: idNumber), dateOfBirth: dateOfBirth,
            dateOfExpiry: dateOfExpiry ?? noExpiry)
    }

    /// The card's TD1 MRZ. Dates YYMMDD; sex "M"/"F"; `fullName` in Vietnamese (family name first); a name too long
    /// for the 30 positions is truncated in the given form (ICAO 9303-3 §4.6).
    public static func mrz(
        idNumber: String, dateOfBirth: String, sex: String, dateOfExpiry: String?, fullName: String,
        nameTruncation: MRZNameTruncation = .cut
    ) throws(LDSError) -> MRZ {
        let number = try documentNumber(idNumber: idNumber)
        let name = MRZTransliteration.splitVietnameseName(fullName)
        return MRZ(
            format: .td1, documentCode: "ID", issuingState: "VNM", documentNumber: number,
            optionalData1: idNumber + "<<" + String(CheckDigit.character(idNumber)), dateOfBirth: dateOfBirth,
            sex: sex, dateOfExpiry: dateOfExpiry ?? noExpiry, nationality: "VNM",
            nameField: try MRZTransliteration.nameField(
                primary: name.primary, secondary: name.secondary, width: 30, truncation: nameTruncation))
    }

    /// The 12-digit ID read from a Vietnamese TD1 MRZ's optional data (not from the document number).
    public static func idNumber(from mrz: MRZ) -> String? {
        let candidate = String(mrz.optionalData1.prefix(12))
        return (try? requireIDNumber(candidate)) != nil ? candidate : nil
    }
}
