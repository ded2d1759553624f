import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import EAC
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
        try prepare(
            try validated(record, profile: profile, baseDirectory: baseDirectory, validator: validator),
            profile: profile, signer: signer, keys: keys, meter: meter)
    }

    /// The content of a record's card before its chip has keys (`content(_:profile:)`), the record validated first.
    public static func content(
        _ record: CitizenRecord, profile: CardProfile, baseDirectory: String? = nil, validator: RecordValidator? = nil
    ) throws -> CardContent {
        try content(
            try validated(record, profile: profile, baseDirectory: baseDirectory, validator: validator),
            profile: profile)
    }

    /// The record as the profile's validator accepts it; refused with its issues otherwise.
    static func validated(
        _ record: CitizenRecord, profile: CardProfile, baseDirectory: String?, validator: RecordValidator?
    ) throws -> ValidatedRecord {
        var v = validator ?? RecordValidator(profile: profile)
        v.capacities = profile.capacities
        v.profileName = profile.name
        v.nameTruncation = profile.mrzNameTruncation
        v.dataGroup13Layout = profile.dataGroup13Layout
        switch v.accept(record, baseDirectory: baseDirectory) {
        case .success(let record): return record
        case .failure(let failure):
            throw PreparationError(reason: "record \(record.idNumber) is not fit for a card", issues: failure.result.errors)
        }
    }

    /// A record the validator accepted becomes a card: its images, dates and DG13 are taken as validation made them;
    /// the chip's keys are made here (`keys`) and the image holds them.
    public static func prepare(
        _ validated: ValidatedRecord, profile: CardProfile = .vietnamese2021, signer: DocumentSigner,
        keys: ChipKeySource = .random, meter: SigningMeter? = nil
    ) throws -> CardImage {
        let content = try self.content(validated, profile: profile)
        let record = validated.record.idNumber
        // Chip keys: the CA key is EC (a PKCS#8 secret) or, for DH Chip Authentication, an exponent in a group.
        var caPublic: ChipPublicKey? = nil
        var caKey: AsymmetricKey? = nil
        var caDHExponent: [UInt8]? = nil
        if profile.offersChipAuthentication {
            if profile.chipAuthentication.agreement == .dh {
                let id = profile.chipAuthenticationDHGroup ?? 0
                guard let group = DHGroup.standardized(id) else {
                    throw PreparationError(reason: "profile: no standardized DH group for Chip Authentication")
                }
                let x = try keys.dhExponent(group, record: record)
                caDHExponent = x
                caPublic = .dh(groupID: id, y: try group.power(group.g, x))
            } else {
                let key = try keys.ecKey(profile.chipAuthenticationCurve, record: record, purpose: "CA")
                caKey = key
                caPublic = try ChipPublicKey(key)
            }
        }
        var aaKey: AsymmetricKey? = nil
        if profile.offersActiveAuthentication {
            aaKey = try keys.activeAuthenticationKey(profile.activeAuthenticationKey, record: record)
        }
        var image = try content.finish(
            chipAuthentication: caPublic, activeAuthenticationKeyInfo: try aaKey?.publicKeyDER(), signer: signer,
            meter: meter)
        image.secrets.chipAuthenticationKey = try caKey?.privateKeyDER()
        image.secrets.chipAuthenticationDHKey = caDHExponent
        image.secrets.activeAuthenticationKey = try aaKey?.privateKeyDER()
        // `finish` derived the chip's settings from the files (the AA key's kind from DG15): the keys change none.
        return image
    }

    /// What a card holds before its chip has keys: the data groups made from the record (DG1, DG2, DG3, DG13), its
    /// MRZ and CAN. No key and no signature yet: for a chip that makes its own keys, `finish` adds DG14, DG15 and
    /// EF.SOD from the public keys it answers.
    public static func content(_ validated: ValidatedRecord, profile: CardProfile) throws -> CardContent {
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
        let can =
            profile.offersPACE && profile.canRule == .last6OfIdNumber
            ? try VietnameseCard.can(idNumber: record.idNumber) : nil
        return CardContent(profile: profile, idNumber: record.idNumber, mrz: mrz, dataGroups: groups, can: can)
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

/// A card's content before its chip keys exist (`DataPreparation.content`): the data groups made from the record,
/// the MRZ and the CAN. Holds no private key.
public struct CardContent: Sendable {
    public let profile: CardProfile
    public let idNumber: String
    public let mrz: MRZ
    /// DG1, DG2, DG3 (with fingerprints), DG13.
    public let dataGroups: [Int: [UInt8]]
    public let can: String?

    /// The card image once the chip's public keys are known: DG14 (PACE, Chip Authentication with `chipAuthentication`,
    /// ECDSA Active Authentication), DG15 (`activeAuthenticationKeyInfo`, a SubjectPublicKeyInfo), EF.CardAccess,
    /// EF.COM and EF.SOD signed by `signer`. Its secrets are the access keys only (MRZ key, CAN): the private keys
    /// are the chip's, or the caller adds the ones it made.
    public func finish(
        chipAuthentication: ChipPublicKey?, activeAuthenticationKeyInfo: [UInt8]?, signer: DocumentSigner,
        meter: SigningMeter? = nil
    ) throws -> CardImage {
        var groups = dataGroups
        var dg14Infos: [SecurityInfo] = []
        if profile.offersChipAuthentication {
            guard let chipAuthentication else {
                throw PreparationError(reason: "the profile offers Chip Authentication but there is no CA key")
            }
            let info: ChipAuthenticationPublicKeyInfo
            switch chipAuthentication {
            case .ec:
                info = ChipAuthenticationPublicKeyInfo(
                    protocolOID: ObjectIdentifiers.publicKey + [2],
                    subjectPublicKeyInfo: try chipAuthentication.subjectPublicKeyInfo())
            case .dh:
                info = ChipAuthenticationPublicKeyInfo(
                    protocolOID: ObjectIdentifiers.publicKey + [1],
                    subjectPublicKeyInfo: try chipAuthentication.subjectPublicKeyInfo())
            case .rsa:
                throw PreparationError(reason: "a Chip Authentication key is EC or DH, not RSA")
            }
            dg14Infos += [
                .chipAuthentication(
                    ChipAuthenticationInfo(
                        protocol: profile.chipAuthentication, version: profile.chipAuthenticationVersion)),
                .chipAuthenticationPublicKey(info),
            ]
        }
        if profile.offersPACE {
            dg14Infos.append(.pace(PACEInfo(protocol: profile.paceProtocol, parameterID: profile.paceParameterID)))
        }
        if !dg14Infos.isEmpty { dg14Infos.append(.terminalAuthentication(TerminalAuthenticationInfo(version: 1))) }
        var aaKind: AsymmetricKey.Kind? = nil
        if profile.offersActiveAuthentication {
            guard let activeAuthenticationKeyInfo else {
                throw PreparationError(reason: "the profile offers Active Authentication but there is no AA key")
            }
            aaKind = try AsymmetricKey(publicKeyDER: activeAuthenticationKeyInfo).kind
        }
        if profile.offersActiveAuthentication && aaKind == .ec {
            dg14Infos.append(
                .activeAuthentication(ActiveAuthenticationInfo(ecdsaPlainWith: profile.activeAuthenticationHash)))
        }
        if !dg14Infos.isEmpty && profile.dataGroups.contains(14) {
            groups[14] = try DataGroup14(securityInfos: SecurityInfos(dg14Infos)).encoded()
        }
        if profile.offersActiveAuthentication, let activeAuthenticationKeyInfo {
            groups[15] = DataGroup15(subjectPublicKeyInfo: activeAuthenticationKeyInfo).encoded
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
            files: files, bac: mrz.bacKey, can: can, aid: profile.applicationID,
            quirks: .init(selectMasterFileUnsupported: profile.selectMasterFileUnsupported), profile: profile.name)
        image.bacEnabled = profile.bacEnabled ? nil : false
        if profile.extendedAccessControl, groups[3] != nil {
            // DG3 opens only after Terminal Authentication: the chip trusts the CVCA, from today.
            guard let cvca = signer.cvca else {
                throw PreparationError(
                    reason:
                        "profile \(profile.name) writes DG3 (fingerprints) behind EAC: the chip needs the CVCA's certificate as its trust point (cccd pki init --eac writes eac/cvca.cvcert in the signer folder; or give --cvca FILE)"
                )
            }
            image.terminalAuthentication = .init(
                trustPoints: [cvca.encoded], currentDate: max(CVDate.today(), cvca.effectiveDate).digits)
        }
        image.chip = ChipSettings.derived(from: image)
        return image
    }
}
