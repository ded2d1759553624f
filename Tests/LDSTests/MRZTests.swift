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

    /// Names too long for a TD1 MRZ (30 positions), in each truncation form (ICAO 9303-3 §4.6). The README's
    /// table of examples is this one.
    static let truncations: [(name: String, cut: String, initials: String)] = [
        // Fits: unchanged in both forms.
        ("Nguyễn Văn A", "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<", "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"),
        // 33 characters: cut after the last whole name that fits; initials shorten names from the last back.
        ("Tôn Nữ Hoàng Thị Thanh Tuyết Mai", "TON<<NU<HOANG<THI<THANH<TUYET<", "TON<<NU<HOANG<THI<THANH<T<M<<<"),
        // Cut inside a name: the last position is a letter, which says the name may go on.
        (
            "Công Tôn Nữ Hoàng Thị Thanh Tuyết Mai Hương", "CONG<<TON<NU<HOANG<THI<THANH<T",
            "CONG<<TON<NU<HOANG<THI<T<T<M<H"
        ),
        // Many middle names.
        (
            "Nguyễn Phước Vĩnh Thụy Bảo Long Hoàng Thái Tử", "NGUYEN<<PHUOC<VINH<THUY<BAO<LO",
            "NGUYEN<<PHUOC<VINH<T<B<L<H<T<T"
        ),
    ]

    @Test("Long names follow ICAO 9303-3 §4.6 in the profile's form: cut (Vietnamese profile) or initials")
    func truncation() throws {
        for t in Self.truncations {
            let split = MRZTransliteration.splitVietnameseName(t.name)
            let cut = try MRZTransliteration.nameField(
                primary: split.primary, secondary: split.secondary, width: 30, truncation: .cut)
            let initials = try MRZTransliteration.nameField(
                primary: split.primary, secondary: split.secondary, width: 30, truncation: .initials)
            #expect(cut == t.cut, "\(t.name)")
            #expect(initials == t.initials, "\(t.name)")
            #expect(cut.count == 30 && initials.count == 30)
            // A reader accepts both forms, for either issuer's cards.
            for field in [cut, initials] {
                #expect(
                    MRZTransliteration.nameFieldAgrees(field, primary: split.primary, secondary: split.secondary),
                    "\(field)")
            }
        }
        // ICAO's example of a primary identifier too long for the field: it is cut so that the separator and the
        // initial of the first given name still fit.
        let long = try MRZTransliteration.nameField(
            primary: "Bennelong Woolooomooloo Warrandyte Warrnambool", secondary: "Jonathan", width: 39)
        #expect(long == "BENNELONG<WOOLOOOMOOLOO<WARRANDYTE<W<<J")
        #expect(
            MRZTransliteration.nameFieldAgrees(
                long, primary: "Bennelong Woolooomooloo Warrandyte Warrnambool", secondary: "Jonathan"))
        let only = try MRZTransliteration.nameField(
            primary: String(repeating: "Nguyễn", count: 8), secondary: "", width: 30)
        #expect(only.count == 30 && only.last != "<")
    }

    @Test("The reader's name check: a different name never agrees, whatever the truncation")
    func nameAgreement() {
        let agrees = MRZTransliteration.nameFieldAgrees
        // Short names must match exactly.
        #expect(agrees("NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<", "Nguyễn", "Văn A"))
        #expect(!agrees("NGUYEN<<VAN<B<<<<<<<<<<<<<<<<<", "Nguyễn", "Văn A"))
        #expect(!agrees("NGUYEN<<VAN<<<<<<<<<<<<<<<<<<<", "Nguyễn", "Văn A"))
        #expect(!agrees("TRAN<<VAN<A<<<<<<<<<<<<<<<<<<<", "Nguyễn", "Văn A"))
        // Long names: prefixes in place agree; other letters, other order, or a dropped middle name do not.
        let p = "Công"
        let s = "Tôn Nữ Hoàng Thị Thanh Tuyết Mai Hương"
        #expect(agrees("CONG<<TON<NU<HOANG<THI<THANH<T", p, s))
        #expect(agrees("CONG<<T<N<H<T<T<T<M<HUONG<<<<<", p, s))
        #expect(!agrees("CONG<<TON<NU<HOANG<THI<THANH<X", p, s))
        #expect(!agrees("CONG<<NU<TON<HOANG<THI<THANH<T", p, s))
        #expect(!agrees("CONG<<TON<HOANG<THI<THANH<TUYE", p, s))
        #expect(!agrees("CONX<<TON<NU<HOANG<THI<THANH<T", p, s))
        #expect(!agrees("<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", p, s))
    }

    @Test("A name of 40,000 words truncates to the ICAO form (linear work, no quadratic rebuild)")
    func longNameIsLinear() throws {
        let words = Array(repeating: "Văn", count: 40_000).joined(separator: " ")
        let field = try MRZTransliteration.nameField(primary: "Nguyễn", secondary: words, width: 30)
        #expect(field == "NGUYEN<<" + String(repeating: "VAN<", count: 5) + "VA")
        let initials = try MRZTransliteration.nameField(
            primary: "Nguyễn", secondary: words, width: 30, truncation: .initials)
        #expect(initials == "NGUYEN<<" + String(repeating: "V<", count: 11))
        #expect(field.count == 30 && initials.count == 30)
    }
}
