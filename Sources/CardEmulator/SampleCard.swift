import CardCore
import ChipAccess
import LDS

/// A synthetic Vietnamese card for demos and tests (no real person): ID 001090000000, born 1990-01-01, male,
/// card valid to 2030-01-01, name "Nguyễn Văn A". Content is deterministic: the same arguments always give the
/// same bytes. DG2 and EF.SOD hold filler of the right outer structure until real data preparation exists.
public enum SampleCard {
    public static let idNumber = "001090000000"
    public static let dateOfBirth = "900101"
    public static let dateOfExpiry = "300101"
    public static let fullName = "Nguyễn Văn A"

    public static var bacKey: BACKey {
        get throws { try VietnameseCard.bacKey(idNumber: idNumber, dateOfBirth: dateOfBirth, dateOfExpiry: dateOfExpiry) }
    }

    /// EF.COM, DG1 (the TD1 MRZ), DG2 (`dg2Size` bytes of filler), DG13 (UTF-8 text and filler), EF.SOD filler;
    /// DG3 (64 bytes, Terminal Authentication required) when `listDG3`.
    public static func files(dg2Size: Int = 20_000, listDG3: Bool = false) throws -> [LDSFile: [UInt8]] {
        var filler = Filler(seed: 2026)
        let mrz = try VietnameseCard.mrz(
            idNumber: idNumber, dateOfBirth: dateOfBirth, sex: "M", dateOfExpiry: dateOfExpiry, fullName: fullName)
        let dg2 = TLVWriter.encode(tag: 0x75, value: filler.bytes(dg2Size))
        let dg13 = TLVWriter.encode(tag: 0x6D, value: Array("Nguyễn Văn A · Việt Nam · Hà Nội".utf8) + filler.bytes(700))
        let sod = TLVWriter.encode(tag: 0x77, value: filler.bytes(1800))
        var groups: [LDSFile] = [.dataGroup(1), .dataGroup(2)]
        if listDG3 { groups.append(.dataGroup(3)) }
        groups.append(.dataGroup(13))
        var files: [LDSFile: [UInt8]] = [
            .com: EFCOM(dataGroups: groups).encoded, .dataGroup(1): DataGroup1(mrz: mrz).encoded, .dataGroup(2): dg2,
            .dataGroup(13): dg13, .sod: sod,
        ]
        if listDG3 { files[.dataGroup(3)] = TLVWriter.encode(tag: 0x63, value: filler.bytes(64)) }
        return files
    }

    public static func image(dg2Size: Int = 20_000, listDG3: Bool = false) throws -> CardImage {
        CardImage.eMRTD(
            files: try files(dg2Size: dg2Size, listDG3: listDG3), bac: try bacKey,
            can: try VietnameseCard.can(idNumber: idNumber), profile: "sample")
    }

    /// xorshift64*: deterministic filler bytes (not for secrets).
    struct Filler {
        var state: UInt64
        init(seed: UInt64) { state = seed | 1 }
        mutating func bytes(_ n: Int) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(n)
            while out.count < n {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                let v = state &* 0x2545_F491_4F6C_DD1D
                for i in 0..<8 where out.count < n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
            }
            return out
        }
    }
}
