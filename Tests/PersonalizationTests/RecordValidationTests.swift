import Foundation
import LDS
import Personalization
import TestSupport
import Testing

/// One row of the table: how the record differs from the valid base, and what validation must say.
struct RecordCase: Sendable, CustomTestStringConvertible {
    let name: String
    let change: @Sendable (inout CitizenRecord) -> Void
    /// Rules that must be among the errors; empty for a valid record.
    let errors: Set<String>
    /// Rules that must be among the warnings.
    var warnings: Set<String> = []
    /// The field the errors must name; by default the one the rule belongs to.
    var field: String? = nil
    var testDescription: String { name }

    /// The field every expected error must name.
    var expectedField: String? {
        if let field { return field }
        guard let rule = errors.first else { return nil }
        let owners: [String: String] = [
            "idNumber": "idNumber", "sex": "sex", "expiry": "dateOfExpiry", "oldId": "oldIdNumber",
            "portrait": "portrait",
        ]
        return owners[String(rule.prefix { $0 != "." })]
    }
}

extension String {
    var trimmingSuffixNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}

@Suite("Citizen records: validation before a card is spent")
struct RecordValidationTests {
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!
    static let portrait = VectorFile.directory + "/sample-portrait.jpg"
    /// 130 bytes of UTF-8: a long name of a Huế royal family line, with many middle names.
    static let longName =
        "Công Tôn Nữ Hoàng Thị Thanh Tuyết Mai Hương Trần Nguyễn Lê Phạm Huỳnh Võ Đặng Bùi Đỗ Hồ Ngô Dương"
    /// 330 bytes of UTF-8: a permanent, a temporary and a current address.
    static let longAddress =
        "Số 12345, Ngõ 34 Đường Nguyễn Trãi, Phường Thượng Đình, Quận Thanh Xuân, Thành phố Hà Nội; tạm trú: Thôn Đông, "
        + "Xã Hòa Bình, Huyện Thường Tín, Thành phố Hà Nội; nơi ở hiện tại: Tổ dân phố số 17, Phường Vĩnh Tuy, "
        + "Quận Hoàng Mai, Thành phố Hà Nội, Việt Nam"

    /// Hà Nội, male, born 1990-01-01, issued 2021-06-15 (age 31): expiry at 40, 2030-01-01.
    static var base: CitizenRecord {
        CitizenRecord(
            idNumber: "001090000123", fullName: "Nguyễn Văn An", dateOfBirth: "1990-01-01", sex: "M",
            placeOfOrigin: "Xã Yên Sở, Huyện Hoài Đức, Hà Nội", placeOfResidence: "Số 1 Phố Huế, Hai Bà Trưng, Hà Nội",
            dateOfIssue: "2021-06-15", dateOfExpiry: "2030-01-01", fatherName: "Nguyễn Văn Bình",
            motherName: "Trần Thị Cúc",
            portrait: portrait, fingerprints: SampleRecord.fingerprintsBase64)
    }

    static func person(_ id: String, _ dob: String, _ sex: String, issue: String, expiry: String?)
        -> @Sendable (inout CitizenRecord) -> Void
    {
        { r in
            r.idNumber = id
            r.dateOfBirth = dob
            r.sex = sex
            r.dateOfIssue = issue
            r.dateOfExpiry = expiry
        }
    }

    static let cases: [RecordCase] = [
        // Valid records.
        RecordCase(name: "valid: base record", change: { _ in }, errors: []),
        RecordCase(
            name: "valid: woman born 1990",
            change: person("001190000456", "1990-05-05", "F", issue: "2021-06-15", expiry: "2030-05-05"), errors: []),
        RecordCase(
            name: "valid: man born 2004 (century digit 2)",
            change: person("001204000001", "2004-03-10", "M", issue: "2021-06-15", expiry: "2029-03-10"), errors: []),
        RecordCase(
            name: "valid: woman born 2004 (century digit 3)",
            change: person("001304000002", "2004-03-10", "F", issue: "2021-06-15", expiry: "2029-03-10"), errors: []),
        RecordCase(
            name: "valid: issued within 2 years before 25 runs to 40",
            change: person("001200000003", "2000-05-20", "M", issue: "2023-12-01", expiry: "2040-05-20"), errors: []),
        RecordCase(
            name: "valid: issued at 45 runs to 60",
            change: person("079076000004", "1976-02-02", "M", issue: "2021-03-03", expiry: "2036-02-02"), errors: []),
        RecordCase(
            name: "valid: issued at 60 has no expiry",
            change: person("038060000005", "1960-07-07", "M", issue: "2021-01-01", expiry: nil), errors: []),
        RecordCase(
            name: "valid: issued at 57 runs to 60",
            change: person("038164000006", "1964-01-15", "F", issue: "2021-06-01", expiry: "2024-01-15"), errors: [],
            warnings: ["expiry.past"]),
        RecordCase(
            name: "valid: issued on the 58th birthday has no expiry",
            change: person("038063000007", "1963-06-01", "M", issue: "2021-06-01", expiry: nil), errors: []),
        RecordCase(
            name: "valid: born 29 February",
            change: person("001200000008", "2000-02-29", "M", issue: "2021-06-01", expiry: "2025-02-28"), errors: [],
            warnings: []),
        RecordCase(
            name: "valid: birth registered abroad (country code 101)", change: { $0.idNumber = "101090000009" },
            errors: []),
        RecordCase(name: "valid: country code 295", change: { $0.idNumber = "295090000010" }, errors: []),
        RecordCase(name: "valid: Cà Mau (096)", change: { $0.idNumber = "096090000011" }, errors: []),
        RecordCase(
            name: "valid: spouse and old CMND number",
            change: {
                $0.spouseName = "Lê Thị Dung"
                $0.oldIdNumber = "012345678"
            }, errors: []),
        RecordCase(
            name: "valid: JPEG 2000 portrait", change: { $0.portrait = VectorFile.directory + "/sample-portrait.jp2" },
            errors: []),
        RecordCase(
            name: "valid: base64 portrait",
            change: {
                $0.portrait = (try? Data(contentsOf: URL(fileURLWithPath: portrait)).base64EncodedString()) ?? ""
            }, errors: []),
        RecordCase(
            name: "valid: long name is truncated in the MRZ (warning)",
            change: { $0.fullName = "Công Tôn Nữ Hoàng Thị Thanh Tuyết Mai Hương" }, errors: [],
            warnings: ["name.truncated"]),
        RecordCase(
            name: "valid: single name (warning)", change: { $0.fullName = "Hùng" }, errors: [],
            warnings: ["name.single"]),
        RecordCase(
            name: "valid: decomposed diacritics", change: { $0.fullName = "Nguye\u{0302}\u{0303}n Va\u{0306}n An" },
            errors: []),
        RecordCase(name: "valid: Đ in the name", change: { $0.fullName = "Đặng Đức Định" }, errors: []),
        RecordCase(
            name: "valid: nationality spelled otherwise (warning)", change: { $0.nationality = "Viet Nam" }, errors: [],
            warnings: ["nationality.value"]),
        RecordCase(
            name: "valid: no religion or ethnicity given",
            change: {
                $0.religion = nil
                $0.ethnicity = nil
            }, errors: []),
        // The ID number's form.
        RecordCase(name: "ID of 11 digits", change: { $0.idNumber = "00109000012" }, errors: ["idNumber.format"]),
        RecordCase(name: "ID of 13 digits", change: { $0.idNumber = "0010900001234" }, errors: ["idNumber.format"]),
        RecordCase(name: "ID with a letter", change: { $0.idNumber = "00109000012A" }, errors: ["idNumber.format"]),
        RecordCase(name: "empty ID", change: { $0.idNumber = "" }, errors: ["idNumber.format"]),
        RecordCase(name: "ID with spaces", change: { $0.idNumber = "001 090 000123" }, errors: ["idNumber.format"]),
        // The place code.
        RecordCase(name: "place code 000", change: { $0.idNumber = "000090000123" }, errors: ["idNumber.province"]),
        RecordCase(
            name: "place code 003 (no such province)", change: { $0.idNumber = "003090000123" },
            errors: ["idNumber.province"]),
        RecordCase(name: "place code 097", change: { $0.idNumber = "097090000123" }, errors: ["idNumber.province"]),
        RecordCase(name: "place code 100", change: { $0.idNumber = "100090000123" }, errors: ["idNumber.province"]),
        RecordCase(name: "place code 296", change: { $0.idNumber = "296090000123" }, errors: ["idNumber.province"]),
        RecordCase(name: "place code 999", change: { $0.idNumber = "999090000123" }, errors: ["idNumber.province"]),
        // Century, sex and birth year (the costly real-world failures).
        RecordCase(
            name: "born 2004 with century digit 0",
            change: person("001004000001", "2004-03-10", "M", issue: "2021-06-15", expiry: "2029-03-10"),
            errors: ["idNumber.century"]),
        RecordCase(
            name: "born 2004 woman with century digit 1",
            change: person("001104000001", "2004-03-10", "F", issue: "2021-06-15", expiry: "2029-03-10"),
            errors: ["idNumber.century"]),
        RecordCase(
            name: "born 1990 with century digit 2", change: { $0.idNumber = "001290000123" },
            errors: ["idNumber.century"]),
        RecordCase(
            name: "born 1990 with century digit 8", change: { $0.idNumber = "001890000123" },
            errors: ["idNumber.century"]),
        RecordCase(
            name: "man with the women's digit", change: { $0.idNumber = "001190000123" }, errors: ["idNumber.sex"]),
        RecordCase(name: "woman with the men's digit", change: { $0.sex = "F" }, errors: ["idNumber.sex"]),
        RecordCase(
            name: "woman born 2004 with digit 2",
            change: person("001204000001", "2004-03-10", "F", issue: "2021-06-15", expiry: "2029-03-10"),
            errors: ["idNumber.sex"]),
        RecordCase(
            name: "birth year 1991 but YY 90",
            change: {
                $0.dateOfBirth = "1991-01-01"
                $0.dateOfExpiry = "2031-01-01"
            }, errors: ["idNumber.birthYear"]),
        RecordCase(
            name: "birth year 1989 but YY 90",
            change: {
                $0.dateOfBirth = "1989-12-31"
                $0.dateOfExpiry = "2029-12-31"
            }, errors: ["idNumber.birthYear"]),
        // Sex.
        RecordCase(name: "sex X", change: { $0.sex = "X" }, errors: ["sex.value"]),
        RecordCase(name: "sex empty", change: { $0.sex = "" }, errors: ["sex.value"]),
        RecordCase(name: "sex Nam (not M/F)", change: { $0.sex = "Nam" }, errors: ["sex.value"]),
        // Dates.
        RecordCase(
            name: "30 February", change: { $0.dateOfBirth = "1990-02-30" }, errors: ["date.format"],
            field: "dateOfBirth"),
        RecordCase(
            name: "month 13", change: { $0.dateOfBirth = "1990-13-01" }, errors: ["date.format"], field: "dateOfBirth"),
        RecordCase(
            name: "dd/mm/yyyy instead of ISO", change: { $0.dateOfBirth = "01/01/1990" }, errors: ["date.format"],
            field: "dateOfBirth"),
        RecordCase(
            name: "29 February of a common year", change: { $0.dateOfBirth = "1990-02-29" }, errors: ["date.format"],
            field: "dateOfBirth"),
        RecordCase(
            name: "issue date not real", change: { $0.dateOfIssue = "2021-06-31" }, errors: ["date.format"],
            field: "dateOfIssue"),
        RecordCase(
            name: "expiry date not real", change: { $0.dateOfExpiry = "2030-02-30" }, errors: ["date.format"],
            field: "dateOfExpiry"),
        RecordCase(
            name: "born in the future",
            change: person("001230000001", "2030-01-01", "M", issue: "2021-06-15", expiry: "2055-01-01"),
            errors: ["date.future"], field: "dateOfBirth"),
        RecordCase(
            name: "issued in the future", change: { $0.dateOfIssue = "2027-01-01" }, errors: ["date.future"],
            field: "dateOfIssue"),
        RecordCase(
            name: "issued before birth", change: { $0.dateOfIssue = "1989-01-01" }, errors: ["date.order"],
            field: "dateOfIssue"),
        RecordCase(
            name: "expiry before issue", change: { $0.dateOfExpiry = "2020-01-01" }, errors: ["date.order"],
            field: "dateOfExpiry"),
        // The 25/40/60 rule.
        RecordCase(name: "expiry a year late", change: { $0.dateOfExpiry = "2031-01-01" }, errors: ["expiry.rule"]),
        RecordCase(
            name: "expiry not on the birthday", change: { $0.dateOfExpiry = "2030-06-15" }, errors: ["expiry.rule"]),
        RecordCase(name: "no expiry at 31", change: { $0.dateOfExpiry = nil }, errors: ["expiry.rule"]),
        RecordCase(
            name: "an expiry at 60",
            change: person("038060000005", "1960-07-07", "M", issue: "2021-01-01", expiry: "2030-07-07"),
            errors: ["expiry.rule"]),
        RecordCase(
            name: "within 2 years of 25 but expiring at 25",
            change: person("001200000003", "2000-05-20", "M", issue: "2023-12-01", expiry: "2025-05-20"),
            errors: ["expiry.rule"]),
        // Names and text.
        RecordCase(name: "empty name", change: { $0.fullName = "  " }, errors: ["text.required"], field: "fullName"),
        RecordCase(
            name: "name in Han characters", change: { $0.fullName = "阮文安" }, errors: ["name.transliteration"],
            field: "fullName"),
        RecordCase(
            name: "name with an emoji", change: { $0.fullName = "Nguyễn Văn 😀" }, errors: ["name.transliteration"],
            field: "fullName"),
        // Lengths: refused only when the profile's files cannot hold the record.
        RecordCase(
            name: "valid: a 130-byte Vietnamese name (DG13 with long-form lengths)",
            change: { $0.fullName = RecordValidationTests.longName }, errors: [], warnings: ["name.truncated"]),
        RecordCase(
            name: "valid: a 330-byte address", change: { $0.placeOfResidence = RecordValidationTests.longAddress },
            errors: []),
        RecordCase(
            name: "valid: long name, origin, residence, marks and parents together",
            change: {
                $0.fullName = RecordValidationTests.longName
                $0.placeOfOrigin = RecordValidationTests.longAddress
                $0.placeOfResidence = RecordValidationTests.longAddress
                $0.identifyingMarks = String(repeating: "Sẹo chấm C:2cm dưới sau mép phải; ", count: 6)
                $0.fatherName = RecordValidationTests.longName
                $0.motherName = RecordValidationTests.longName
                $0.spouseName = RecordValidationTests.longName
            }, errors: [], warnings: ["name.truncated"]),
        RecordCase(
            name: "a 10 MB residence fails at once, naming the field and DG13's capacity",
            change: { $0.placeOfResidence = String(repeating: "x", count: 10_000_000) }, errors: ["length"],
            field: "placeOfResidence"),
        RecordCase(
            name: "a 10 MB name fails at once (no transliteration of it)",
            change: { $0.fullName = String(repeating: "Văn ", count: 2_500_000) }, errors: ["length"],
            field: "fullName"),
        RecordCase(
            name: "a 10 MB ID number is a length error, not a crash",
            change: { $0.idNumber = String(repeating: "0", count: 10_000_000) }, errors: ["length"],
            field: "idNumber"),
        RecordCase(
            name: "fields that each fit but together overflow DG13 name the longest",
            change: {
                $0.placeOfOrigin = String(repeating: "Xã Yên Sở ", count: 150)
                $0.placeOfResidence = String(repeating: "Phường Bến Nghé ", count: 140)
            }, errors: ["length"], field: "placeOfResidence"),
        RecordCase(
            name: "a 10 MB base64 portrait fails before decoding",
            change: { $0.portrait = String(repeating: "QUJD", count: 2_500_000) }, errors: ["portrait.size"]),
        // A path to a device, a folder or a pipe is never read (the line would block or fill its memory).
        RecordCase(
            name: "a portrait path naming a device", change: { $0.portrait = "/dev/zero" },
            errors: ["portrait.missing"]),
        RecordCase(
            name: "a portrait path naming a folder", change: { $0.portrait = "/tmp" }, errors: ["portrait.missing"]),
        RecordCase(
            name: "a portrait larger than DG2 holds",
            change: {
                var jpeg = (try? Data(contentsOf: URL(fileURLWithPath: portrait))) ?? Data()
                jpeg.append(Data(repeating: 0, count: 40_000))
                $0.portrait = jpeg.base64EncodedString()
            }, errors: ["portrait.size"]),
        RecordCase(
            name: "control character in the residence", change: { $0.placeOfResidence = "Số 1\nPhố Huế" },
            errors: ["text.control"], field: "placeOfResidence"),
        RecordCase(name: "old ID of 8 digits", change: { $0.oldIdNumber = "01234567" }, errors: ["oldId.format"]),
        RecordCase(name: "old ID with letters", change: { $0.oldIdNumber = "01234567X" }, errors: ["oldId.format"]),
        RecordCase(name: "no old ID (absent)", change: { $0.oldIdNumber = nil }, errors: []),
        RecordCase(name: "no old ID (empty, born after 2000)", change: { $0.oldIdNumber = "" }, errors: []),
        RecordCase(name: "old ID of 9 digits (CMND)", change: { $0.oldIdNumber = "012345678" }, errors: []),
        RecordCase(
            name: "old ID of 12 digits (12-digit CMND or earlier CCCD)", change: { $0.oldIdNumber = "001090000123" },
            errors: []),
        RecordCase(name: "old ID of 10 digits", change: { $0.oldIdNumber = "0123456789" }, errors: ["oldId.format"]),
        RecordCase(
            name: "old ID of 12 characters with a letter", change: { $0.oldIdNumber = "00109000012A" },
            errors: ["oldId.format"]),
        RecordCase(
            name: "old ID of full-width digits", change: { $0.oldIdNumber = "０１２３４５６７８" }, errors: ["oldId.format"]),
        // Portrait.
        RecordCase(name: "no portrait", change: { $0.portrait = nil }, errors: ["portrait.required"]),
        RecordCase(
            name: "portrait file missing", change: { $0.portrait = "/nonexistent/portrait.jpg" },
            errors: ["portrait.missing"]),
        RecordCase(
            name: "portrait is not an image", change: { $0.portrait = VectorFile.directory + "/fips180-4-sha.txt" },
            errors: ["portrait.format"]),
        RecordCase(
            name: "portrait JPEG with a broken header",
            change: {
                $0.portrait = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02] + [UInt8](repeating: 0x11, count: 80))
                    .base64EncodedString()
            }, errors: ["portrait.decode"]),
        RecordCase(
            name: "portrait JPEG 2000 declaring 16,384 components",
            change: {
                $0.portrait = Data(ImageBombs.codestream(width: 640, height: 480, components: 16_384))
                    .base64EncodedString()
            }, errors: ["portrait.bounds"]),
    ]

    @Test("Table of records", arguments: cases)
    func table(_ c: RecordCase) {
        var record = Self.base
        c.change(&record)
        let result = RecordValidator(today: Self.today).validate(record)
        let rules = Set(result.errors.map(\.rule))
        if c.errors.isEmpty {
            #expect(result.isValid, "unexpected errors: \(result.errors)")
        } else {
            #expect(!result.isValid)
            #expect(c.errors.isSubset(of: rules), "expected \(c.errors), got \(result.errors)")
            let field = c.expectedField
            #expect(field != nil, "every invalid row names its field")
            for rule in c.errors {
                #expect(
                    result.errors.contains { $0.rule == rule && $0.field == field },
                    "\(rule) must name \(field ?? "?"): \(result.errors)")
            }
        }
        // No message carries a huge value back (a 10 MB field is cut in any message).
        for issue in result.errors + result.warnings { #expect(issue.message.utf8.count < 400) }
        #expect(c.warnings.isSubset(of: Set(result.warnings.map(\.rule))), "warnings: \(result.warnings)")
        for issue in result.errors + result.warnings { #expect(!issue.message.isEmpty && !issue.field.isEmpty) }
    }

    @Test("The table has at least 60 records, valid and invalid")
    func tableSize() {
        #expect(Self.cases.count >= 60)
        #expect(Self.cases.filter { $0.errors.isEmpty }.count >= 15)
        #expect(Self.cases.filter { !$0.errors.isEmpty }.count >= 45)
    }

    @Test("Messages are precise: the century digit error says what was expected")
    func messages() {
        var r = Self.base
        r.idNumber = "001004000001"
        r.dateOfBirth = "2004-03-10"
        r.dateOfExpiry = "2029-03-10"
        let e = RecordValidator(today: Self.today).validate(r).errors.first { $0.rule == "idNumber.century" }
        #expect(e?.message == "digit 4 is 0 (born 1900s) but the holder was born in 2004; expected 2")
        #expect(e?.field == "idNumber")
    }

    @Test("The long name is 130 bytes and the long address 330 bytes of UTF-8")
    func longFieldSizes() {
        #expect(Self.longName.utf8.count == 130)
        #expect(Self.longAddress.utf8.count == 330)
    }

    @Test("A batch: one result per line, broken lines reported, relative portrait paths from the batch's folder")
    func batch() throws {
        let encoder = JSONEncoder()
        var good = Self.base
        good.portrait = "sample-portrait.jpg"
        var bad = Self.base
        bad.idNumber = "001290000123"
        let lines = [
            String(decoding: try encoder.encode(good), as: UTF8.self), "",
            String(decoding: try encoder.encode(bad), as: UTF8.self),
            "{\"idNumber\": \"001090000123\"}", "not json",
        ].joined(separator: "\n")
        let result = try BatchValidation.validate(
            jsonLines: Array(lines.utf8), baseDirectory: VectorFile.directory,
            validator: RecordValidator(today: Self.today))
        #expect(result.map(\.line) == [1, 3, 4, 5])
        #expect(result.map(\.valid) == [true, false, false, false])
        #expect(result[1].errors.map(\.rule).contains("idNumber.century"))
        // Every missing required key is named, each as its own problem.
        #expect(result[2].errors.allSatisfy { $0.rule == "record.missing" })
        #expect(
            Set(result[2].errors.map(\.field))
                == [
                    "fullName", "dateOfBirth", "sex", "nationality", "placeOfOrigin", "placeOfResidence", "dateOfIssue",
                ])
        #expect(result[3].errors.first?.rule == "record.syntax")
    }

    @Test("Expiry rule corner cases")
    func expiryRule() throws {
        let dob = try #require(CalendarDate(iso: "2000-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2023-05-19")))
                == CalendarDate(iso: "2025-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2023-05-20")))
                == CalendarDate(iso: "2040-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2038-05-19")))
                == CalendarDate(iso: "2040-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2038-05-20")))
                == CalendarDate(iso: "2060-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2058-05-19")))
                == CalendarDate(iso: "2060-05-20"))
        #expect(
            VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: try #require(CalendarDate(iso: "2058-05-20")))
                == nil)
        #expect(VietnameseIDNumber.centuryDigit(year: 2399, sex: "F") == 9)
        #expect(VietnameseIDNumber.centuryDigit(year: 1899, sex: "M") == nil)
    }

    @Test("DG13 built from a record parses back to the same strings, diacritics included, with long-form lengths")
    func dg13FromRecord() throws {
        var r = Self.base
        r.placeOfResidence =
            "Số 12, Ngõ 34 Đường Nguyễn Trãi, Phường Thượng Đình, Quận Thanh Xuân, Thành phố Hà Nội, Việt Nam"
        r.spouseName = "Lê Thị Dung"
        r.oldIdNumber = "012345678"
        r.identifyingMarks = "Nốt ruồi C:1cm trên trước mép phải"
        let dg = r.dataGroup13()
        let bytes = dg.encoded
        #expect(bytes[0] == 0x6D && bytes[1] == 0x82)  // long form
        let back = try DataGroup13(bytes: bytes)
        #expect(back == dg)
        #expect(back.fullName == "Nguyễn Văn An" && back.sex == "Nam" && back.nationality == "Việt Nam")
        #expect(back.placeOfResidence == r.placeOfResidence && back.identifyingMarks == r.identifyingMarks)
        #expect(
            back.dateOfBirth == "01/01/1990" && back.dateOfExpiry == "01/01/2030" && back.dateOfIssue == "15/06/2021")
        #expect(
            back.fatherName == "Nguyễn Văn Bình" && back.motherName == "Trần Thị Cúc"
                && back.spouseName == "Lê Thị Dung")
        #expect(Array("Việt Nam".utf8).count == 10)
        var noExpiry = r
        noExpiry.dateOfExpiry = nil
        #expect(try DataGroup13(bytes: noExpiry.dataGroup13().encoded).dateOfExpiry == "Không thời hạn")
        var single = r
        single.spouseName = nil
        #expect(try DataGroup13(bytes: single.dataGroup13().encoded).spouseName == nil)
    }

    @Test(
        "No spouse and no old ID: fields 14 and 15 are their numbers alone (30 03 02 01 0E, 30 03 02 01 0F)",
        arguments: [(nil, nil), ("", ""), (nil, ""), ("", nil)] as [(String?, String?)])
    func emptySpouseAndOldID(_ spouse: String?, _ oldID: String?) throws {
        var r = Self.base
        r.spouseName = spouse
        r.oldIdNumber = oldID
        let bytes = r.dataGroup13().encoded
        let field14: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x0E]
        let field15: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x0F]
        // Field 14 directly followed by field 15, byte for byte (the SET is in field order).
        let pair = field14 + field15
        #expect(bytes.indices.contains { Array(bytes[$0...].prefix(pair.count)) == pair })
        // The old empty-spouse form (30 07 02 01 0E 30 02 0C 00) is gone.
        let oldForm: [UInt8] = [0x30, 0x07, 0x02, 0x01, 0x0E, 0x30, 0x02, 0x0C, 0x00]
        #expect(!bytes.indices.contains { Array(bytes[$0...].prefix(oldForm.count)) == oldForm })
        let back = try DataGroup13(bytes: bytes)
        #expect(back.spouseName == nil && back.oldIdNumber == nil)
        #expect(back == r.dataGroup13())
        #expect(RecordValidator(today: Self.today).validate(r).isValid)
    }

    @Test("An old ID of 12 digits round-trips through DG13 as field 15")
    func twelveDigitOldID() throws {
        var r = Self.base
        r.oldIdNumber = "001090000123"
        let back = try DataGroup13(bytes: r.dataGroup13().encoded)
        #expect(back.oldIdNumber == "001090000123")
    }

    @Test("Each built-in profile is byte for byte its file in Profiles/, and loads")
    func builtInProfilesMatchFiles() throws {
        #expect(!CardProfile.builtInNames.isEmpty)
        for name in CardProfile.builtInNames {
            let file = try #require(readTextFile(VectorFile.directory + "/../Profiles/\(name).yaml"))
            #expect(CardProfile.builtInYAML[name] == file.trimmingSuffixNewlines, "\(name)")
            _ = try CardProfile(nameOrPath: name)
        }
    }

    @Test("The embedded sample record and portrait are Vectors/sample-card's, and the record is valid")
    func embeddedSample() throws {
        let file = try #require(readTextFile(VectorFile.directory + "/sample-card/record.json"))
        #expect(SampleRecord.recordJSON == file.trimmingSuffixNewlines)
        let portrait = try Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-card/portrait.jpg"))
        #expect(SampleRecord.portrait == [UInt8](portrait))
        let record = try SampleRecord.record
        #expect(record.portraitBytes(baseDirectory: nil) == [UInt8](portrait))
        #expect(RecordValidator(today: Self.today).validate(record).isValid)
    }

    @Test("accept hands on a ValidatedRecord made once (dates, portrait, DG13 in the profile's layout); a record unfit for a card is a failure with the same issues validate gives")
    func acceptMakesAValidatedRecord() throws {
        let record = try SampleRecord.record
        let validator = RecordValidator(today: Self.today)
        let validated = try validator.accept(record).get()
        #expect(validated.record == record)
        #expect(validated.portrait == SampleRecord.portrait)
        #expect(validated.dateOfBirth == CalendarDate(iso: record.dateOfBirth))
        #expect(validated.dateOfExpiry == record.dateOfExpiry.flatMap { CalendarDate(iso: $0) })
        #expect(validated.dataGroup13(layout: .cccd2021) == record.dataGroup13().encoded)
        // The two drawn index fingers, their images read once (JPEG 2000, 200 × 250).
        #expect(validated.fingers.map(\.position) == [2, 7])
        #expect(validated.fingers.map(\.image) == SampleRecord.fingers.map(\.image))
        #expect(validated.fingers.allSatisfy { $0.compression == 5 && $0.width == 200 && $0.height == 250 })
        // vn-cccd-2021 holds fingerprints: a record without any is refused, by its rule; a profile without EAC
        // takes it.
        var withoutFingers = record
        withoutFingers.fingerprints = nil
        #expect(validator.validate(withoutFingers).errors.map(\.rule) == ["finger.required"])
        withoutFingers.fingerprints = []
        #expect(validator.validate(withoutFingers).errors.map(\.rule) == ["finger.required"])
        let bac = try CardProfile(nameOrPath: "icao-td1-bac")
        #expect(RecordValidator(profile: bac, today: Self.today).validate(withoutFingers).isValid)
        #expect(validated.warnings == validator.validate(record).warnings)
        var unfit = record
        unfit.sex = "X"
        unfit.portrait = nil
        guard case .failure(let failure) = validator.accept(unfit) else {
            Issue.record("an unfit record was accepted")
            return
        }
        #expect(failure.result == validator.validate(unfit))
        #expect(Set(failure.result.errors.map(\.rule)).isSuperset(of: ["sex.value", "portrait.required"]))
    }
}
