import ChipAccess
import LDS
import Testing

@Suite("MRZ (ICAO 9303-3/4/5) and the Vietnamese TD1 layout")
struct MRZTests {
    static let vietnameseLines = [
        "IDVNM0900000007001090000000<<8", "9001011M3001019VNM<<<<<<<<<<<4", "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<",
    ]

    @Test("The CCCD.md sample MRZ is generated exactly from the ID, dates, sex and name")
    func vietnameseGenerate() throws {
        let mrz = try VietnameseCard.mrz(
            idNumber: "001090000000", dateOfBirth: "900101", sex: "M", dateOfExpiry: "300101", fullName: "Nguyễn Văn A")
        #expect(mrz.lines == Self.vietnameseLines)
        #expect(mrz.lines.allSatisfy { $0.count == 30 })
    }

    @Test("The sample parses: fields, check digits, ID from the optional data, BAC key and CAN")
    func vietnameseParse() throws {
        let mrz = try MRZ(parsing: Self.vietnameseLines.joined(separator: "\n"))
        #expect(mrz.format == .td1)
        #expect(mrz.documentNumber == "090000000")
        #expect(mrz.dateOfBirth == "900101" && mrz.dateOfExpiry == "300101" && mrz.sex == "M")
        #expect(mrz.primaryIdentifier == "NGUYEN" && mrz.secondaryIdentifier == "VAN A")
        #expect(VietnameseCard.idNumber(from: mrz) == "001090000000")
        #expect(
            mrz.bacKey
                == (try VietnameseCard.bacKey(idNumber: "001090000000", dateOfBirth: "900101", dateOfExpiry: "300101")))
        #expect(mrz.bacKey.mrzInformation == "090000000790010113001019")
        #expect(try VietnameseCard.can(idNumber: "001090000000") == "000000")
        #expect(try VietnameseCard.can(idNumber: "079203123456") == "123456")
        #expect(try VietnameseCard.documentNumber(idNumber: "079203123456") == "203123456")
        #expect(!"\(mrz)".contains("0900000007"))
    }

    @Test("No expiry: DOE 991231")
    func noExpiry() throws {
        let mrz = try VietnameseCard.mrz(
            idNumber: "001060000001", dateOfBirth: "600101", sex: "F", dateOfExpiry: nil, fullName: "Trần Thị Bình")
        #expect(mrz.dateOfExpiry == "991231")
        #expect(try MRZ(parsing: mrz.text) == mrz)
        #expect(mrz.lines[2].hasPrefix("TRAN<<THI<BINH<"))
    }

    @Test("TD3: the ICAO 9303 specimen parses and regenerates")
    func td3() throws {
        let lines = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
        let mrz = try MRZ(parsing: lines.joined(separator: "\n"))
        #expect(mrz.format == .td3)
        #expect(mrz.documentNumber == "L898902C3" && mrz.optionalData1 == "ZE184226B<<<<<")
        #expect(mrz.primaryIdentifier == "ERIKSSON" && mrz.secondaryIdentifier == "ANNA MARIA")
        #expect(mrz.lines == lines)
    }

    @Test(
        "A wrong check digit names its field",
        arguments: [(14, "document number"), (36, "date of birth"), (44, "date of expiry"), (59, "composite")])
    func wrongCheckDigit(_ position: Int, _ field: String) throws {
        var chars = Array(Self.vietnameseLines.joined())
        chars[position] = chars[position] == "0" ? "1" : "0"
        do {
            _ = try MRZ(parsing: String(chars))
            Issue.record("accepted")
        } catch {
            #expect(error.code == .checkDigit)
            #expect(error.field == field)
        }
    }

    @Test(
        "Malformed MRZ text is rejected",
        arguments: ["", "IDVNM", String(repeating: "a", count: 90), String(repeating: "<", count: 89)])
    func malformed(_ text: String) {
        #expect(throws: LDSError.self) { try MRZ(parsing: text) }
    }

    @Test("Transliteration: Vietnamese diacritics, Đ, hyphens, apostrophes; decomposed input")
    func transliteration() throws {
        #expect(try MRZTransliteration.transliterate("Nguyễn Văn Đức") == "NGUYEN<VAN<DUC")
        #expect(try MRZTransliteration.transliterate("Lê Thị Ánh-Nguyệt") == "LE<THI<ANH<NGUYET")
        #expect(try MRZTransliteration.transliterate("Phạm  Hữu Ơn") == "PHAM<HUU<ON")
        #expect(try MRZTransliteration.transliterate("O'Neil") == "ONEIL")
        #expect(try MRZTransliteration.transliterate("Tra\u{0300}n") == "TRAN")
        #expect(try MRZTransliteration.transliterate("đoàn") == "DOAN")
        #expect(throws: LDSError.self) { try MRZTransliteration.transliterate("阮") }
        // Every Vietnamese letter maps to A-Z.
        let letters = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
        let out = try MRZTransliteration.transliterate(letters + letters.uppercased())
        #expect(out.allSatisfy { $0 >= "A" && $0 <= "Z" })
        #expect(out.count == 2 * letters.count)
    }

    @Test("Long names are truncated the ICAO way: given names to initials first, then cut")
    func truncation() throws {
        let field = try MRZTransliteration.nameField(
            primary: "Tôn Nữ", secondary: "Hoàng Thị Thanh Tuyết Mai", width: 30)
        #expect(field.count == 30)
        #expect(field.hasPrefix("TON<NU<<"))
        #expect(field == "TON<NU<<HOANG<THI<THANH<T<M<<<")
        let cut = try MRZTransliteration.nameField(
            primary: String(repeating: "Nguyễn", count: 8), secondary: "Văn", width: 30)
        #expect(cut.count == 30 && cut.last != "<")
    }

    @Test("A name of 40,000 words truncates in linear time to the ICAO form")
    func longNameIsLinear() throws {
        let words = Array(repeating: "Văn", count: 40_000).joined(separator: " ")
        let start = ContinuousClock.now
        let field = try MRZTransliteration.nameField(primary: "Nguyễn", secondary: words, width: 30)
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(field == "NGUYEN<<" + String(repeating: "V<", count: 11))
        #expect(field.count == 30)
        // Short names are unchanged.
        #expect(
            try MRZTransliteration.nameField(primary: "Nguyễn", secondary: "Văn A", width: 30)
                == "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<")
    }
}
