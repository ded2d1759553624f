import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// A test CSCA and document signer, made per test, with an EAC PKI whose CVCA the chips trust.
struct Issuer {
    let cscaKey: AsymmetricKey
    let csca: Certificate
    let signer: DocumentSigner
    let eac: EACTestPKI

    init(dsSerial: Int = 99) throws {
        cscaKey = try .generateEC(.brainpoolP384r1)
        csca = try Certificate.create(
            subjectKey: cscaKey, issuerKey: cscaKey, issuer: nil, distinguishedName: "C=VN,O=Test,CN=CSCA", serial: 1,
            notBeforeOffset: -86400, validity: 86400 * 3650, isCA: true, hash: .sha384)
        let dsKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let ds = try Certificate.create(
            subjectKey: dsKey, issuerKey: cscaKey, issuer: csca, distinguishedName: "C=VN,O=Test,CN=DS",
            serial: dsSerial, notBeforeOffset: -3600, validity: 86400 * 365, isCA: false, hash: .sha384)
        eac = try EACTestPKI.make()
        signer = DocumentSigner(certificate: ds, key: dsKey, cvca: eac.cvca.certificate)
    }

    /// The EAC PKI's inspection system, as a terminal.
    var terminal: TerminalCredentials {
        get throws {
            try TerminalCredentials(
                chain: [eac.documentVerifier.certificate, eac.inspectionSystem.certificate],
                key: eac.inspectionSystem.key!)
        }
    }
}

@Suite("End to end: a record prepared, signed, emulated and verified")
struct GenuineCardTests {
    static let folder = VectorFile.directory + "/sample-card"
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!

    static func record() throws -> CitizenRecord {
        try JSONDecoder().decode(
            CitizenRecord.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/record.json")))
    }

    func read(_ image: CardImage, trust: TrustStore?) throws -> ReadResult {
        try ReaderSession(transport: try EmulatedChip(image: image))
            .readCard(.can("000000"), options: ReadOptions(trust: trust, today: Self.today))
    }

    @Test("The sample record becomes a card whose every check passes: PA, CA, AA, validity, consistency")
    func genuine() throws {
        let issuer = try Issuer()
        let image = try DataPreparation.prepare(
            try Self.record(), signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        let result = try read(image, trust: TrustStore(anchors: [issuer.csca]))
        let c = result.checks
        for (name, v) in [
            ("PA", c.passiveAuthentication), ("CA", c.chipAuthentication), ("AA", c.activeAuthentication),
            ("validity", c.documentValidity), ("consistency", c.recordConsistency),
        ] {
            #expect(v.status == .passed, "\(name): \(v)")
        }
        // EF.SOD parsed once, by the read, and kept for Passive Authentication.
        #expect(result.securityObject?.document.encoded == result.files[.sod])
        #expect(result.securityObject.map { Set($0.object.dataGroupHashes.keys) } == result.securityObjectGroups)
        let dg13 = try DataGroup13(bytes: try #require(result.files[.dataGroup(13)]))
        #expect(dg13.fullName == "Nguyễn Văn A" && dg13.placeOfResidence?.contains("Hoàn Kiếm") == true)
        let dg2 = try DataGroup2(bytes: try #require(result.files[.dataGroup(2)]))
        #expect(
            dg2.faces.first?.image == [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/portrait.jpg")))
        )
        let mrz = try DataGroup1(bytes: try #require(result.files[.dataGroup(1)])).mrz
        #expect(
            mrz.lines == [
                "IDVNM0900000007001090000000<<8", "9001011M3001019VNM<<<<<<<<<<<4", "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<",
            ])
    }

    @Test(
        "A name too long for the MRZ is truncated in the profile's form and the card still reads genuine",
        arguments: MRZNameTruncation.allCases)
    func longName(_ form: MRZNameTruncation) throws {
        let issuer = try Issuer()
        var record = try Self.record()
        record.fullName =
            "Công Tôn Nữ Hoàng Thị Thanh Tuyết Mai Hương Trần Nguyễn Lê Phạm Huỳnh Võ Đặng Bùi Đỗ Hồ Ngô Dương"
        record.placeOfResidence = String(repeating: "Số 12, Ngõ 34 Đường Nguyễn Trãi, Phường Thượng Đình; ", count: 6)
        var profile = CardProfile.vietnamese2021
        profile.mrzNameTruncation = form
        let image = try DataPreparation.prepare(
            record, profile: profile, signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        let result = try read(image, trust: TrustStore(anchors: [issuer.csca]))
        #expect(result.checks.recordConsistency.status == .passed, "\(result.checks.recordConsistency)")
        #expect(result.assessment.genuine)
        // The MRZ holds the profile's form (the two differ for this name).
        let mrz = try DataGroup1(bytes: try #require(result.files[.dataGroup(1)])).mrz
        let split = MRZTransliteration.splitVietnameseName(record.fullName)
        let initials = try MRZTransliteration.nameField(
            primary: split.primary, secondary: split.secondary, width: 30, truncation: .initials)
        #expect(initials != "CONG<<TON<NU<HOANG<THI<THANH<T")
        #expect(mrz.nameField == (form == .cut ? "CONG<<TON<NU<HOANG<THI<THANH<T" : initials))
        let dg13 = try DataGroup13(bytes: try #require(result.files[.dataGroup(13)]))
        #expect(dg13.fullName == record.fullName && dg13.placeOfResidence == record.placeOfResidence)
    }

    @Test("Without a trust store PA says the chain was not checked")
    func noTrust() throws {
        let image = try DataPreparation.prepare(
            try Self.record(), signer: try Issuer().signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        #expect(try read(image, trust: nil).checks.passiveAuthentication.status == .notChecked)
    }

    @Test("A card signed under another CSCA fails PA")
    func otherCSCA() throws {
        let image = try DataPreparation.prepare(
            try Self.record(), signer: try Issuer().signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        let result = try read(image, trust: TrustStore(anchors: [try Issuer().csca]))
        #expect(result.checks.passiveAuthentication.status == .failed)
        #expect(result.passiveAuthentication?.certificateChain.status == .failed)
    }

    @Test("A DG13 changed after signing fails PA, naming DG13")
    func forgedDG13() throws {
        let issuer = try Issuer()
        var image = try DataPreparation.prepare(
            try Self.record(), signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        var dg13 = try DataGroup13(bytes: try #require(image.content(of: .dataGroup(13))))
        dg13.placeOfResidence = "Somewhere else"
        image.applications[0].files = image.applications[0].files.map { f in
            var f = f
            if f.name == "DG13" { f.content = dg13.encoded }
            return f
        }
        let result = try read(image, trust: TrustStore(anchors: [issuer.csca]))
        #expect(result.passiveAuthentication?.dataGroupHashes.status == .failed)
        #expect(result.checks.passiveAuthentication.reason.contains("DG13"))
    }

    @Test("An invalid record is refused before a card is made")
    func refused() throws {
        var record = try Self.record()
        record.idNumber = "001290000000"
        do {
            _ = try DataPreparation.prepare(
                record, signer: try Issuer().signer, baseDirectory: Self.folder,
                validator: RecordValidator(today: Self.today))
            Issue.record("prepared")
        } catch let error as PreparationError {
            #expect(error.issues.contains { $0.rule == "idNumber.century" })
        }
    }

    @Test("An expired card and an inconsistent DG13 are reported by their own verdicts")
    func validityAndConsistency() throws {
        let issuer = try Issuer()
        let image = try DataPreparation.prepare(
            try Self.record(), signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        let later = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
            .can("000000"), options: ReadOptions(today: CalendarDate(year: 2031, month: 1, day: 1)))
        #expect(
            later.checks.documentValidity.status == .failed
                && later.checks.documentValidity.reason.contains("2030-01-01"))

        // A card signed correctly by an issuer but with a DG13 that names someone else.
        var record = try Self.record()
        record.fullName = "Lê Văn A"
        var mismatched = try DataPreparation.prepare(
            record, signer: issuer.signer, baseDirectory: Self.folder, validator: RecordValidator(today: Self.today))
        let dg1 = try #require(image.content(of: .dataGroup(1)))
        var files = mismatched.lDSFiles
        files[.dataGroup(1)] = dg1
        var groups: [Int: [UInt8]] = [:]
        for (f, b) in files { if case .dataGroup(let n) = f { groups[n] = b } }
        files[.sod] = try SecurityObjectDocument.sign(
            LDSSecurityObject(hashing: groups, with: .sha256), signer: issuer.signer.certificate,
            key: issuer.signer.key, signatureHash: .sha256
        ).encoded
        mismatched.applications[0].files = mismatched.applications[0].files.map { f in
            var f = f
            if let file = LDSFile(name: f.name), let content = files[file] { f.content = content }
            return f
        }
        let result = try ReaderSession(transport: try EmulatedChip(image: mismatched)).readCard(
            .can("000000"), options: ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today))
        #expect(result.checks.recordConsistency.status == .failed, "\(result.checks.recordConsistency)")
        #expect(result.checks.recordConsistency.reason.contains("name"))
        #expect(result.checks.passiveAuthentication.status == .passed)
    }
}

@Suite("The committed sample card (Vectors/sample-card)")
struct SampleCardFileTests {
    @Test("card.json reads as genuine against csca.crt, with the record's data")
    func committedCard() throws {
        let folder = VectorFile.directory + "/sample-card"
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: folder + "/card.json")))
        let trust = try TrustStore.load(paths: [folder + "/csca.crt"])
        let result = try ReaderSession(transport: try EmulatedChip(image: image))
            .readCard(
                .can("000000"), options: ReadOptions(trust: trust, today: CalendarDate(year: 2026, month: 11, day: 22)))
        #expect(
            !([
                result.checks.passiveAuthentication, result.checks.chipAuthentication,
                result.checks.activeAuthentication,
                result.checks.documentValidity, result.checks.recordConsistency,
            ].contains { $0.status != .passed }))
        let record = try JSONDecoder().decode(
            CitizenRecord.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/record.json")))
        #expect(try DataGroup13(bytes: try #require(result.files[.dataGroup(13)])) == record.dataGroup13())
    }
}

@Suite("Chip Authentication with DH keys, prepared and emulated")
struct DHChipAuthenticationTests {
    static let folder = VectorFile.directory + "/sample-card"

    /// The shipped profile with its chipAuthentication block replaced.
    static func profileText(chipAuthentication block: String) throws -> String {
        let text = try #require(readTextFile(VectorFile.directory + "/../Profiles/vn-cccd-2021.yaml"))
        let start = try #require(text.firstRange(of: "chipAuthentication:"))
        let end = try #require(text.firstRange(of: "activeAuthentication:"))
        return String(text[..<start.lowerBound]) + "chipAuthentication:\n" + block + "\n"
            + String(text[end.lowerBound...])
    }

    func profile(version: Int) throws -> CardProfile {
        let text = try Self.profileText(
            chipAuthentication: "  agreement: DH\n  cipher: AES-128\n  dhGroup: 2\n  version: \(version)")
        let p = try CardProfile(yaml: text)
        #expect(p.chipAuthentication.agreement == .dh && p.chipAuthenticationDHGroup == 2)
        return p
    }

    @Test(
        "A DH CA key (RFC 5114 2048/256) in DG14: the emulator runs CA as the chip, the reader verifies it",
        arguments: [1, 2])
    func dh(_ version: Int) throws {
        let issuer = try Issuer()
        let record = try JSONDecoder().decode(
            CitizenRecord.self, from: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/record.json")))
        let image = try DataPreparation.prepare(
            record, profile: try profile(version: version), signer: issuer.signer, baseDirectory: Self.folder,
            validator: RecordValidator(today: CalendarDate(year: 2026, month: 11, day: 22)))
        #expect(image.secrets.chipAuthenticationDHKey != nil)
        let dg14 = try #require(image.content(of: .dataGroup(14)))
        let keyInfo = try #require(try DataGroup14(bytes: dg14).securityInfos.chipAuthenticationPublicKeys.first)
        #expect(try keyInfo.publicKey().parameters == .dh(.rfc5114_2048_256))
        let result = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can("000000"))
        #expect(result.checks.chipAuthentication.status == .passed, "\(result.checks.chipAuthentication)")
        #expect(result.checks.chipAuthentication.reason.contains("id-CA-DH-AES-CBC-CMAC-128"))

        // The same card with another exponent in the chip: a clone.
        var clone = image
        clone.secrets.chipAuthenticationDHKey = try DHGroup.rfc5114_2048_256.randomExponent()
        let cloned = try ReaderSession(transport: try EmulatedChip(image: clone)).readCard(.can("000000"))
        #expect(cloned.checks.chipAuthentication.status == .failed)
        #expect(cloned.files[.dataGroup(13)] == image.content(of: .dataGroup(13)))
    }

    @Test("A DH profile without its group is refused, naming the key")
    func missingGroup() throws {
        let text = try Self.profileText(chipAuthentication: "  agreement: DH\n  cipher: AES-128\n  version: 1")
        do {
            _ = try CardProfile(yaml: text)
            Issue.record("accepted")
        } catch let error as PreparationError {
            #expect(error.reason.contains("chipAuthentication.dhGroup"))
        }
    }
}
