import Foundation
import LDS

/// The synthetic sample citizen (no real person: the CCCD.md example ID, a drawn portrait), embedded so that
/// `cccd sample-card` makes a real card anywhere. The same as Vectors/sample-card (a test keeps them equal).
public enum SampleRecord {
    /// The record, its portrait inline (base64).
    public static var record: CitizenRecord {
        get throws {
            var record = try RecordDecoder.decodeRecord(Array(recordJSON.utf8))
            record.portrait = portraitBase64
            record.fingerprints = fingerprintsBase64
            return record
        }
    }

    /// The portrait's bytes (JPEG).
    public static var portrait: [UInt8] { [UInt8](Data(base64Encoded: portraitBase64) ?? Data()) }

    /// The two drawn index fingerprints (JPEG 2000; positions 2 right index and 7 left index), by position.
    public static var fingers: [(position: Int, image: [UInt8])] {
        [(2, finger2Base64), (7, finger7Base64)].map { ($0.0, [UInt8](Data(base64Encoded: $0.1) ?? Data())) }
    }

    /// The fingerprints inline (base64), for a record.
    public static var fingerprintsBase64: [CitizenRecord.Fingerprint] {
        [.init(position: 2, image: finger2Base64), .init(position: 7, image: finger7Base64)]
    }

    /// The fingerprints as files beside a batch (`finger-2.jp2`, `finger-7.jp2`), for a record.
    public static let fingerprintPaths: [CitizenRecord.Fingerprint] = [
        .init(position: 2, image: "finger-2.jp2"), .init(position: 7, image: "finger-7.jp2"),
    ]

    /// Writes the images a batch of `batch(…portrait: "portrait.jpg"…)` names into `folder`: portrait.jpg,
    /// finger-2.jp2 and finger-7.jp2.
    public static func writeImages(to folder: String) throws {
        try Data(portrait).write(to: URL(fileURLWithPath: folder + "/portrait.jpg"))
        for finger in fingers {
            try Data(finger.image).write(to: URL(fileURLWithPath: folder + "/finger-\(finger.position).jp2"))
        }
    }
}

extension SampleRecord {
    /// `count` synthetic, valid, different citizens (no real person), reproducible from `seed`: every province
    /// code, both sexes, births 1940–2010 (century digits 0–3), issue dates from 2021 on with the 25/40/60
    /// expiry (none from 58 on), some without an old ID, some married; the portrait as given (a path relative to
    /// the batch, or base64), and the two sample fingerprints in the same form (`finger-2.jp2` and `finger-7.jp2`
    /// beside the batch when the portrait is a path: `writeImages` writes all three).
    public static func batch(count: Int, seed: UInt64, portrait: String, today: CalendarDate) -> [CitizenRecord] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
        let provinces = VietnameseIDNumber.provinces.keys.sorted()
        let families = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
        let middles = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quang", "Thùy", "Bảo"]
        let givens = ["An", "Bình", "Cúc", "Dũng", "Hương", "Mai", "Linh", "Đạt", "Nguyệt", "Phúc", "Sơn", "Tâm"]
        var out: [CitizenRecord] = []
        var serials = Set<Int>()
        // A path is short; base64 of an image is not.
        let inlineImages = portrait.utf8.count > 255
        while out.count < count {
            let year = 1940 + Int(next() % 71)
            guard let dob = CalendarDate(year: year, month: 1 + Int(next() % 12), day: 1 + Int(next() % 28)) else {
                continue
            }
            let sex = next() % 2 == 0 ? "M" : "F"
            let serial = Int(next() % 1_000_000)
            guard serials.insert(serial).inserted else { continue }
            let century = (year / 100 - 19) * 2 + (sex == "F" ? 1 : 0)
            let place = pick(provinces)
            let id =
                String(format: "%03d", place) + "\(century)" + String(format: "%02d", year % 100)
                + String(format: "%06d", serial)
            let earliest = max(dob.adding(years: 14), CalendarDate(year: 2021, month: 1, day: 1)!)
            guard earliest < today else { continue }
            let span = (today.year - earliest.year) * 365
            var issue = earliest
            let days = span > 0 ? Int(next() % UInt64(span)) : 0
            issue =
                CalendarDate(
                    year: earliest.year + days / 365, month: 1 + (days / 31) % 12, day: 1 + days % 28) ?? earliest
            if issue < earliest || issue > today { issue = earliest }
            let expiry = VietnameseIDNumber.expiry(dateOfBirth: dob, dateOfIssue: issue)
            let name = ([pick(families)] + (0..<(1 + Int(next() % 2))).map { _ in pick(middles) } + [pick(givens)])
                .joined(separator: " ")
            out.append(
                CitizenRecord(
                    idNumber: id, fullName: name, dateOfBirth: dob.iso, sex: sex,
                    placeOfOrigin:
                        "Xã \(pick(givens)), Huyện \(pick(families)), \(VietnameseIDNumber.provinces[place] ?? "Hà Nội")",
                    placeOfResidence:
                        "Số \(1 + next() % 300) Phố \(pick(givens)), \(VietnameseIDNumber.provinces[place] ?? "Hà Nội")",
                    dateOfIssue: issue.iso, dateOfExpiry: expiry?.iso,
                    fatherName: "\(pick(families)) Văn \(pick(givens))",
                    motherName: "\(pick(families)) Thị \(pick(givens))",
                    spouseName: next() % 3 == 0 ? "Lê Thị Dung" : nil,
                    oldIdNumber: [nil, "", String(format: "%09d", serial), nil][Int(next() % 4)], portrait: portrait,
                    fingerprints: inlineImages ? fingerprintsBase64 : fingerprintPaths))
        }
        return out
    }

    /// The records as JSON Lines.
    public static func jsonLines(_ records: [CitizenRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n")
            + "\n"
    }
}

extension SampleRecord {
    /// The sample portrait in base64 (to put in a record's `portrait`).
    public static var portraitBase64Public: String { portraitBase64 }
}
