import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import LDS

/// A synthetic Vietnamese card for the emulator's and the protocols' own tests (no real person): ID 001090000000,
/// born 1990-01-01, male, card valid to 2030-01-01, name "Nguyễn Văn A". File content is deterministic; chip keys
/// are fresh per image. DG2, DG13 and EF.SOD hold filler of the right outer structure, so it never reads genuine:
/// for a real card, use data preparation (`cccd sample-card` runs it on the embedded sample record).
public enum SampleCard {
    public static let idNumber = "001090000000"
    public static let dateOfBirth = "900101"
    public static let dateOfExpiry = "300101"
    public static let fullName = "Nguyễn Văn A"
    public static var can: String { String(idNumber.suffix(6)) }

    /// The Vietnamese card's EF.CardAccess (CCCD.md §1): TA v1, CA ECDH-AES-128 v1, PACE ECDH-GM-AES-128 on
    /// brainpoolP256r1 (parameter 13).
    public static let vietnameseCardAccess: [UInt8] = [
        0x31, 0x34, 0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x01, 0x01, 0x30,
        0x0F,
        0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02, 0x02, 0x01, 0x01, 0x30, 0x12, 0x06,
        0x0A,
        0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D,
    ]

    public static var bacKey: BACKey {
        get throws {
            try VietnameseCard.bacKey(idNumber: idNumber, dateOfBirth: dateOfBirth, dateOfExpiry: dateOfExpiry)
        }
    }

    /// What protects the card.
    public enum Security: Sendable {
        /// BAC only: no EF.CardAccess, no DG14/DG15.
        case bacOnly
        /// As the Vietnamese card: PACE (CAN or MRZ), BAC, CA (brainpoolP256r1, AES-128, version 1) and AA
        /// (RSA-2048 in DG15, as CCCD.md reports).
        case vietnamese
    }

    /// EF.COM, DG1 (the TD1 MRZ), DG2 (`dg2Size` bytes of filler), DG13 (UTF-8 text and filler), EF.SOD filler;
    /// DG3 (64 bytes, Terminal Authentication required) when `listDG3`; `extraGroups` are listed in EF.COM too.
    public static func files(dg2Size: Int = 20_000, listDG3: Bool = false, extraGroups: [LDSFile] = []) throws
        -> [LDSFile: [UInt8]]
    {
        var filler = Filler(seed: 2026)
        let mrz = try VietnameseCard.mrz(
            idNumber: idNumber, dateOfBirth: dateOfBirth, sex: "M", dateOfExpiry: dateOfExpiry, fullName: fullName)
        let dg2 = TLVWriter.encode(tag: 0x75, value: filler.bytes(dg2Size))
        let dg13 = TLVWriter.encode(
            tag: 0x6D, value: Array("Nguyễn Văn A · Việt Nam · Hà Nội".utf8) + filler.bytes(700))
        let sod = TLVWriter.encode(tag: 0x77, value: filler.bytes(1800))
        var groups: [LDSFile] = [.dataGroup(1), .dataGroup(2)]
        if listDG3 { groups.append(.dataGroup(3)) }
        groups.append(.dataGroup(13))
        groups += extraGroups
        var files: [LDSFile: [UInt8]] = [
            .com: EFCOM(dataGroups: groups.sorted()).encoded, .dataGroup(1): DataGroup1(mrz: mrz).encoded,
            .dataGroup(2): dg2,
            .dataGroup(13): dg13, .sod: sod,
        ]
        if listDG3 { files[.dataGroup(3)] = TLVWriter.encode(tag: 0x63, value: filler.bytes(64)) }
        return files
    }

    /// The card image. `chipAuthenticationKey` / `activeAuthenticationKey` replace the fresh keys (a test can
    /// give the chip a key that does not match DG14 or DG15 with `mismatchedKeys`).
    public static func image(
        dg2Size: Int = 20_000, listDG3: Bool = false, security: Security = .vietnamese, mismatchedKeys: Bool = false
    ) throws -> CardImage {
        switch security {
        case .bacOnly:
            return CardImage.eMRTD(
                files: try files(dg2Size: dg2Size, listDG3: listDG3), bac: try bacKey, can: can, profile: "sample")
        case .vietnamese:
            var all = try files(dg2Size: dg2Size, listDG3: listDG3, extraGroups: [.dataGroup(14), .dataGroup(15)])
            let caKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
            let aaKey = try AsymmetricKey.generateRSA(bits: 2048)
            let caProtocol = ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128)
            let dg14 = DataGroup14(
                securityInfos: SecurityInfos([
                    .chipAuthentication(ChipAuthenticationInfo(protocol: caProtocol, version: 1)),
                    .chipAuthenticationPublicKey(
                        ChipAuthenticationPublicKeyInfo(
                            protocolOID: ObjectIdentifiers.publicKey + [2],
                            subjectPublicKeyInfo: try PublicKeyInfo.encodeEC(
                                curve: .brainpoolP256r1, point: try caKey.ecPublicPoint()))),
                    .pace(
                        PACEInfo(
                            protocol: PACEProtocol(mapping: .generic, agreement: .ecdh, cipher: .aes128),
                            parameterID: 13)),
                    .terminalAuthentication(TerminalAuthenticationInfo(version: 1)),
                ]))
            all[.dataGroup(14)] = try dg14.encoded()
            all[.dataGroup(15)] = DataGroup15(subjectPublicKeyInfo: try aaKey.publicKeyDER()).encoded
            all[.cardAccess] = vietnameseCardAccess
            let chipCA = mismatchedKeys ? try AsymmetricKey.generateEC(.brainpoolP256r1) : caKey
            let chipAA = mismatchedKeys ? try AsymmetricKey.generateRSA(bits: 2048) : aaKey
            return CardImage.eMRTD(
                files: all, bac: try bacKey, can: can, profile: "sample",
                chipAuthenticationKey: try chipCA.privateKeyDER(), activeAuthenticationKey: try chipAA.privateKeyDER())
        }
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
