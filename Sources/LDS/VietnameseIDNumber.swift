import Foundation

/// A calendar date (proleptic Gregorian), for record rules without time zones.
public struct CalendarDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// nil when the date does not exist (31/02, 29/02 of a common year, month 13 …).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= Self.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses YYYY-MM-DD.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    static func daysIn(month: Int, year: Int) -> Int {
        [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// The same day `n` years later (29 February becomes 28 February in a common year).
    public func adding(years n: Int) -> CalendarDate {
        let y = year + n
        return CalendarDate(year: y, month: month, day: min(day, Self.daysIn(month: month, year: y))) ?? self
    }

    /// Completed years from `self` to `date`.
    public func age(on date: CalendarDate) -> Int {
        var a = date.year - year
        if (date.month, date.day) < (month, day) { a -= 1 }
        return a
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    private func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    public var iso: String { "\(year)-\(two(month))-\(two(day))" }
    /// dd/mm/yyyy, as DG13 writes dates.
    public var vietnamese: String { "\(two(day))/\(two(month))/\(year)" }
    /// YYMMDD, as the MRZ writes dates.
    public var mrz: String { two(year % 100) + two(month) + two(day) }
    public var description: String { iso }
}

/// The 12-digit personal identification number `PPP G YY RRRRRR` (CCCD.md §4; Circular 07/2016/TT-BCA).
public enum VietnameseIDNumber {
    /// Province and city codes of birth registration (Circular 07/2016/TT-BCA, Appendix I).
    public static let provinces: [Int: String] = [
        1: "Hà Nội", 2: "Hà Giang", 4: "Cao Bằng", 6: "Bắc Kạn", 8: "Tuyên Quang", 10: "Lào Cai", 11: "Điện Biên",
        12: "Lai Châu", 14: "Sơn La", 15: "Yên Bái", 17: "Hòa Bình", 19: "Thái Nguyên", 20: "Lạng Sơn",
        22: "Quảng Ninh",
        24: "Bắc Giang", 25: "Phú Thọ", 26: "Vĩnh Phúc", 27: "Bắc Ninh", 30: "Hải Dương", 31: "Hải Phòng",
        33: "Hưng Yên",
        34: "Thái Bình", 35: "Hà Nam", 36: "Nam Định", 37: "Ninh Bình", 38: "Thanh Hóa", 40: "Nghệ An", 42: "Hà Tĩnh",
        44: "Quảng Bình", 45: "Quảng Trị", 46: "Thừa Thiên Huế", 48: "Đà Nẵng", 49: "Quảng Nam", 51: "Quảng Ngãi",
        52: "Bình Định", 54: "Phú Yên", 56: "Khánh Hòa", 58: "Ninh Thuận", 60: "Bình Thuận", 62: "Kon Tum",
        64: "Gia Lai",
        66: "Đắk Lắk", 67: "Đắk Nông", 68: "Lâm Đồng", 70: "Bình Phước", 72: "Tây Ninh", 74: "Bình Dương",
        75: "Đồng Nai",
        77: "Bà Rịa - Vũng Tàu", 79: "TP Hồ Chí Minh", 80: "Long An", 82: "Tiền Giang", 83: "Bến Tre", 84: "Trà Vinh",
        86: "Vĩnh Long", 87: "Đồng Tháp", 89: "An Giang", 91: "Kiên Giang", 92: "Cần Thơ", 93: "Hậu Giang",
        94: "Sóc Trăng",
        95: "Bạc Liêu", 96: "Cà Mau",
    ]

    /// One way a number disagrees with the holder.
    public struct Problem: Hashable, Sendable {
        public let rule: String
        public let message: String
    }

    /// The century/sex digit G for a birth year and sex ("M"/"F"): 1900s 0/1, 2000s 2/3, … 2300s 8/9.
    public static func centuryDigit(year: Int, sex: String) -> Int? {
        guard (1900...2399).contains(year), sex == "M" || sex == "F" else { return nil }
        return (year / 100 - 19) * 2 + (sex == "F" ? 1 : 0)
    }

    /// Checks structure and agreement with birth date and sex.
    public static func check(_ id: String, dateOfBirth: CalendarDate?, sex: String?) -> [Problem] {
        guard id.utf8.count == 12, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return [Problem(rule: "idNumber.format", message: "must be exactly 12 digits")]
        }
        let digits = id.utf8.map { Int($0) - 0x30 }
        var problems: [Problem] = []
        let place = digits[0] * 100 + digits[1] * 10 + digits[2]
        if provinces[place] == nil && !(101...295).contains(place) {
            problems.append(
                Problem(
                    rule: "idNumber.province",
                    message:
                        "place code \(String(id.prefix(3))) is neither a province code nor a country code (101–295)"))
        }
        let g = digits[3]
        let yy = digits[4] * 10 + digits[5]
        if let dob = dateOfBirth {
            if let sex, let expected = centuryDigit(year: dob.year, sex: sex), expected != g {
                let centuryOK = g / 2 == expected / 2
                problems.append(
                    Problem(
                        rule: centuryOK ? "idNumber.sex" : "idNumber.century",
                        message: centuryOK
                            ? "digit 4 is \(g) (\(g % 2 == 0 ? "male" : "female")) but the holder's sex is \(sex == "M" ? "male" : "female")"
                            : "digit 4 is \(g) (born \(1900 + (g / 2) * 100)s) but the holder was born in \(dob.year); expected \(expected)"
                    ))
            }
            if yy != dob.year % 100 {
                problems.append(
                    Problem(
                        rule: "idNumber.birthYear",
                        message: "digits 5–6 are \(String(format2: yy)) but the holder was born in \(dob.year)"))
            }
        }
        return problems
    }

    /// The card's expiry by the 25/40/60 rule (CCCD.md §5): the birthday in the year of the next milestone; a
    /// card issued within 2 years before a milestone runs to the following one; none when issued from age 58.
    public static func expiry(dateOfBirth: CalendarDate, dateOfIssue: CalendarDate) -> CalendarDate? {
        if dateOfIssue >= dateOfBirth.adding(years: 58) { return nil }
        for milestone in [25, 40, 60] {
            let date = dateOfBirth.adding(years: milestone)
            if dateOfIssue < date.adding(years: -2) { return date }
        }
        return nil
    }
}

extension String {
    init(format2 v: Int) { self = v < 10 ? "0\(v)" : "\(v)" }
}

extension CalendarDate {
    /// Today's date in Vietnam (UTC+7), for expiry and "not in the future" rules.
    public static func today() -> CalendarDate {
        let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh") ?? TimeZone(secondsFromGMT: 7 * 3600) ?? .current
        let c = Calendar(identifier: .gregorian).dateComponents(in: zone, from: Date())
        return CalendarDate(year: c.year ?? 2000, month: c.month ?? 1, day: c.day ?? 1) ?? epoch
    }

    /// 2000-01-01, a date that always exists.
    static let epoch = CalendarDate(validYear: 2000, month: 1, day: 1)

    private init(validYear: Int, month: Int, day: Int) {
        self.year = validYear
        self.month = month
        self.day = day
    }
}
