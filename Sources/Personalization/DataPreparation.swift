import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import Foundation
import LDS

/// Turns a validated citizen record into a CardImage under a profile, signed by a document signer
/// (DESIGN.md, "Personalize"): DG1 (TD1 MRZ), DG2 (portrait), DG3 (fingers, when given), DG13, DG14 (CA key,
/// PACE info), DG15 (AA key), EF.COM, EF.CardAccess, EF.SOD, and the secrets (MRZ key, CAN, CA and AA keys).
public enum DataPreparation {
    public static func prepare(
        _ record: CitizenRecord, profile: CardProfile = .vietnamese2021, signer: DocumentSigner,
        baseDirectory: String? = nil,
        validator: RecordValidator? = nil, keys: ChipKeySource = .random, meter: SigningMeter? = nil
    ) throws -> CardImage {
        var v = validator ?? RecordValidator(profile: profile)
        v.capacities = profile.capacities
        v.profileName = profile.name
        v.nameTruncation = profile.mrzNameTruncation
        v.dataGroup13Layout = profile.dataGroup13Layout
        let validated: ValidatedRecord
        switch v.accept(record, baseDirectory: baseDirectory) {
        case .success(let record): validated = record
        case .failure(let failure):
            throw PreparationError(reason: "record \(record.idNumber) is not fit for a card", issues: failure.result.errors)
        }
        return try prepare(validated, profile: profile, signer: signer, keys: keys, meter: meter)
    }

    /// A record the validator accepted becomes a card: its images, dates and DG13 are taken as validation made them.
    public static func prepare(
        _ validated: ValidatedRecord, profile: CardProfile = .vietnamese2021, signer: DocumentSigner,
        keys: ChipKeySource = .random, meter: SigningMeter? = nil
    ) throws -> CardImage {
        let record = validated.record
        let mrz = try Self.mrz(
            for: record, profile: profile, dateOfBirth: validated.dateOfBirth, dateOfExpiry: validated.dateOfExpiry)

        var groups: [Int: [UInt8]] = [:]
        groups[1] = DataGroup1(mrz: mrz).encoded
        groups[2] =
            DataGroup2(faces: [try DataGroup2.FaceImage(image: validated.portrait, gender: record.sex == "F" ? 2 : 1)])
            .encoded
        if profile.dataGroups.contains(3), !validated.fingers.isEmpty {
            groups[3] = DataGroup3(fingers: validated.fingers).encoded
        }
        if profile.dataGroups.contains(13) { groups[13] = validated.dataGroup13(layout: profile.dataGroup13Layout) }

        // Chip keys: the CA key is EC (a PKCS#8 secret) or, for DH Chip Authentication, an exponent in a group.
        let caKey = try keys.ecKey(profile.chipAuthenticationCurve, record: record.idNumber, purpose: "CA")
        var caPublicKeyInfo = ChipAuthenticationPublicKeyInfo(
            protocolOID: ObjectIdentifiers.publicKey + [2],
            subjectPublicKeyInfo: try PublicKeyInfo.encodeEC(
                curve: profile.chipAuthenticationCurve, point: try caKey.ecPublicPoint()))
        var caDHExponent: [UInt8]? = nil
        if profile.chipAuthentication.agreement == .dh {
            guard let group = DHGroup.standardized(profile.chipAuthenticationDHGroup ?? 0) else {
                throw PreparationError(reason: "profile: no standardized DH group for Chip Authentication")
            }
            let x = try keys.dhExponent(group, record: record.idNumber)
            caDHExponent = x
            caPublicKeyInfo = ChipAuthenticationPublicKeyInfo(
                protocolOID: ObjectIdentifiers.publicKey + [1],
                subjectPublicKeyInfo: try PublicKeyInfo.encodeDH(group: group, y: try group.power(group.g, x)))
        }
        let aaKey = try keys.activeAuthenticationKey(profile.activeAuthenticationKey, record: record.idNumber)
        var dg14Infos: [SecurityInfo] = []
        if profile.offersChipAuthentication {
            dg14Infos += [
                .chipAuthentication(
                    ChipAuthenticationInfo(
                        protocol: profile.chipAuthentication, version: profile.chipAuthenticationVersion)),
                .chipAuthenticationPublicKey(caPublicKeyInfo),
            ]
        }
        if profile.offersPACE {
            dg14Infos.append(.pace(PACEInfo(protocol: profile.paceProtocol, parameterID: profile.paceParameterID)))
        }
        if !dg14Infos.isEmpty { dg14Infos.append(.terminalAuthentication(TerminalAuthenticationInfo(version: 1))) }
        if profile.offersActiveAuthentication && aaKey.kind == .ec {
            dg14Infos.append(
                .activeAuthentication(ActiveAuthenticationInfo(ecdsaPlainWith: profile.activeAuthenticationHash)))
        }
        if !dg14Infos.isEmpty && profile.dataGroups.contains(14) {
            groups[14] = try DataGroup14(securityInfos: SecurityInfos(dg14Infos)).encoded()
        }
        if profile.offersActiveAuthentication {
            groups[15] = DataGroup15(subjectPublicKeyInfo: try aaKey.publicKeyDER()).encoded
        }

        let signing = Date()
        let sod = try SecurityObjectDocument.sign(
            LDSSecurityObject(hashing: groups, with: profile.sodHash, version: profile.securityObjectVersion),
            signer: signer.certificate, key: signer.key, signatureHash: profile.signatureHash,
            pss: profile.rsaPSS && signer.key.kind == .rsa)
        meter?.add(seconds: Date().timeIntervalSince(signing))

        var files: [LDSFile: [UInt8]] = [.sod: sod.encoded]
        if profile.offersPACE {
            var access: [SecurityInfo] = [.terminalAuthentication(TerminalAuthenticationInfo(version: 1))]
            if profile.offersChipAuthentication {
                access.append(
                    .chipAuthentication(
                        ChipAuthenticationInfo(
                            protocol: profile.chipAuthentication, version: profile.chipAuthenticationVersion)))
            }
            access.append(.pace(PACEInfo(protocol: profile.paceProtocol, parameterID: profile.paceParameterID)))
            files[.cardAccess] = try SecurityInfos(access).derEncoded()
        }
        for (n, bytes) in groups { files[.dataGroup(n)] = bytes }
        files[.com] = EFCOM(dataGroups: groups.keys.sorted().map { .dataGroup($0) }).encoded
        if let overflow = profile.capacities.firstOverflow(files) {
            throw PreparationError(
                reason:
                    "\(overflow.file.name) would be \(overflow.size) bytes; profile \(profile.name) gives it \(overflow.capacity)"
            )
        }
        var image = CardImage.eMRTD(
            files: files, bac: mrz.bacKey,
            can: profile.offersPACE && profile.canRule == .last6OfIdNumber
                ? try VietnameseCard.can(idNumber: record.idNumber) : nil,
            aid: profile.applicationID,
            quirks: .init(selectMasterFileUnsupported: profile.selectMasterFileUnsupported), profile: profile.name,
            chipAuthenticationKey: profile.offersChipAuthentication ? try caKey.privateKeyDER() : nil,
            activeAuthenticationKey: profile.offersActiveAuthentication ? try aaKey.privateKeyDER() : nil)
        image.bacEnabled = profile.bacEnabled ? nil : false
        image.chip = ChipSettings.derived(from: image)
        image.secrets.chipAuthenticationDHKey =
            profile.offersChipAuthentication ? caDHExponent : nil
        return image
    }

    /// The card's MRZ under the profile: the Vietnamese TD1 layout, or a TD3 passport MRZ (document number = the
    /// last 9 digits of the ID, the 12-digit ID as the personal number).
    public static func mrz(
        for record: CitizenRecord, profile: CardProfile, dateOfBirth: CalendarDate, dateOfExpiry: CalendarDate?
    )
        throws -> MRZ
    {
        switch profile.mrzFormat {
        case .td1:
            return try VietnameseCard.mrz(
                idNumber: record.idNumber, dateOfBirth: dateOfBirth.mrz, sex: record.sex,
                dateOfExpiry: dateOfExpiry?.mrz,
                fullName: record.fullName, nameTruncation: profile.mrzNameTruncation)
        case .td3:
            let name = MRZTransliteration.splitVietnameseName(record.fullName)
            return MRZ(
                format: .td3, documentCode: "P", issuingState: "VNM",
                documentNumber: try VietnameseCard.documentNumber(idNumber: record.idNumber),
                optionalData1: record.idNumber, dateOfBirth: dateOfBirth.mrz, sex: record.sex,
                dateOfExpiry: dateOfExpiry?.mrz ?? VietnameseCard.noExpiry, nationality: "VNM",
                nameField: try MRZTransliteration.nameField(
                    primary: name.primary, secondary: name.secondary, width: 39, truncation: profile.mrzNameTruncation))
        }
    }
}

/// The time data preparation spent signing EF.SOD (CMS included): signatures per second per signing thread, for a
/// file key or a token, next to the cards/s of the whole preparation.
public final class SigningMeter: @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var signatures = 0
    public private(set) var seconds = 0.0

    public init() {}

    func add(seconds: Double) {
        lock.withLock {
            signatures += 1
            self.seconds += seconds
        }
    }

    /// Signatures per second of signing time, on one thread.
    public var perSecondPerThread: Double { seconds > 0 ? Double(signatures) / seconds : 0 }
}
