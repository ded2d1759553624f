import CardCore
import ChipAccess
import LDS
import TestSupport

/// A synthetic Vietnamese card (no real person): ID 001090000000, born 1990-01-01, male, expires 2030-01-01.
public enum SampleCards {
    public static let idNumber = "001090000000"
    public static let dateOfBirth = "900101"
    public static let dateOfExpiry = "300101"
    public static let fullName = "Nguyễn Văn A"

    public static var bacKey: BACKey {
        get throws { try VietnameseCard.bacKey(idNumber: idNumber, dateOfBirth: dateOfBirth, dateOfExpiry: dateOfExpiry) }
    }

    /// EF.COM, DG1 (the TD1 MRZ), a DG2 of `dg2Size` bytes, DG13 and EF.SOD bytes: the files of issue 3's
    /// end-to-end test. Content is deterministic.
    public static func files(dg2Size: Int = 20_000, listDG3: Bool = false) throws -> [LDSFile: [UInt8]] {
        var rng = SeededGenerator(seed: 2026)
        let mrz = try VietnameseCard.mrz(
            idNumber: idNumber, dateOfBirth: dateOfBirth, sex: "M", dateOfExpiry: dateOfExpiry, fullName: fullName)
        var dg1 = TLVWriter()
        dg1.write(tag: 0x61) { $0.write(tag: 0x5F1F, value: Array(mrz.lines.joined().utf8)) }
        let dg2 = TLVWriter.encode(tag: 0x75, value: rng.bytes(dg2Size))
        let dg13 = TLVWriter.encode(tag: 0x6D, value: Array("Nguyễn Văn A · Việt Nam · Hà Nội".utf8) + rng.bytes(700))
        let sod = TLVWriter.encode(tag: 0x77, value: rng.bytes(1800))
        var groups: [LDSFile] = [.dataGroup(1), .dataGroup(2)]
        if listDG3 { groups.append(.dataGroup(3)) }
        groups.append(.dataGroup(13))
        var files: [LDSFile: [UInt8]] = [
            .com: EFCOM(dataGroups: groups).encoded, .dataGroup(1): dg1.bytes, .dataGroup(2): dg2,
            .dataGroup(13): dg13, .sod: sod,
        ]
        if listDG3 { files[.dataGroup(3)] = TLVWriter.encode(tag: 0x63, value: rng.bytes(64)) }
        return files
    }

    public static func image(dg2Size: Int = 20_000, listDG3: Bool = false) throws -> CardImage {
        CardImage.eMRTD(files: try files(dg2Size: dg2Size, listDG3: listDG3), bac: try bacKey, can: String(idNumber.suffix(6)))
    }
}
