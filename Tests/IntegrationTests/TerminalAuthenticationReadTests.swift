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

/// The Vietnamese card's fingerprints behind EAC, end to end in process: a record prepared with vn-cccd-2021
/// (DG3, the CVCA and the chip's date), the software chip, the reader with and without an inspection system.
@Suite("EAC: DG3 behind Terminal Authentication, chip and terminal")
struct TerminalAuthenticationReadTests {
    static let today = GenuineCardTests.today

    func card(_ issuer: Issuer, profile: CardProfile = .vietnamese2021) throws -> CardImage {
        try DataPreparation.prepare(
            try GenuineCardTests.record(), profile: profile, signer: issuer.signer,
            baseDirectory: GenuineCardTests.folder, validator: RecordValidator(profile: profile, today: Self.today))
    }

    func read(
        _ image: CardImage, issuer: Issuer, terminal: TerminalCredentials?, key: AccessKey = .can("000000")
    ) throws -> (ReadResult, EmulatedChip) {
        let chip = try EmulatedChip(image: image)
        var options = ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today)
        options.terminal = terminal
        return (try ReaderSession(transport: chip).readCard(key, options: options), chip)
    }

    @Test("With the inspection system: TA passes, DG3 is read, Passive Authentication covers it")
    func terminalReadsFingerprints() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        #expect(image.content(of: .dataGroup(3)) != nil)
        #expect(image.terminalAuthentication?.trustPoints == [issuer.eac.cvca.certificate.encoded])
        let (result, _) = try read(image, issuer: issuer, terminal: try issuer.terminal)
        #expect(result.checks.terminalAuthentication.status == .passed, "\(result.checks.terminalAuthentication)")
        let dg3 = try #require(result.files[.dataGroup(3)])
        #expect(dg3 == image.content(of: .dataGroup(3)))
        let fingers = try DataGroup3(bytes: dg3).fingers
        #expect(fingers.map(\.position) == [2, 7])
        #expect(fingers.allSatisfy { $0.compression == 5 })  // JPEG 2000, as the sample's images
        // PA hashed DG3 against EF.SOD: the signed list holds it, and nothing is skipped.
        #expect(result.securityObject?.object.dataGroupHashes[3] != nil)
        #expect(result.skipped.isEmpty, "\(result.skipped)")
        #expect(result.assessment.genuine)
        let report = CardReport(result)
        #expect(report.checks[.terminalAuthentication]?.status == .passed)
        #expect(report.files["DG3"] == dg3.count)
    }

    @Test("Without the inspection system: DG3 skipped, no APDU for it, the same genuine verdict")
    func withoutTerminalDG3IsSkipped() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        let (plain, _) = try read(image, issuer: issuer, terminal: nil)
        #expect(plain.files[.dataGroup(3)] == nil)
        #expect(plain.skipped[.dataGroup(3)]?.contains("Terminal Authentication") == true)
        #expect(plain.checks.terminalAuthentication.status == .notChecked)
        #expect(plain.assessment.genuine)
        #expect(plain.checks.passiveAuthentication.status == .passed)
        let (with, _) = try read(image, issuer: issuer, terminal: try issuer.terminal)
        // TA is 7 commands (DST + PSO for the DV and the IS, Set AT, GET CHALLENGE, EXTERNAL AUTHENTICATE), DG3 one.
        #expect(with.apduCount == plain.apduCount + 8)
    }

    @Test("A raw terminal without TA gets 6982 for DG3 (CCCD.md §1)")
    func dg3IsClosedWithoutTerminalAuthentication() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        let session = ReaderSession(transport: try EmulatedChip(image: image))
        try session.authenticate(.can("000000"))
        #expect(throws: ReaderError.self) { try session.readFile(.dataGroup(3)) }
        do { _ = try session.readFile(.dataGroup(3)) } catch let error as ReaderError {
            #expect(error.statusWord == .securityStatusNotSatisfied)
        }
    }

    @Test("Refusals: another CVCA's chain, an expired inspection system, a DV for DG4 only")
    func refusals() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        // A chain from another CVCA.
        let other = try EACTestPKI.make(sequence: "00008")
        let foreign = try TerminalCredentials(
            chain: [other.documentVerifier.certificate, other.inspectionSystem.certificate],
            key: other.inspectionSystem.key!)
        var (result, _) = try read(image, issuer: issuer, terminal: foreign)
        #expect(result.checks.terminalAuthentication.status == .failed)
        #expect(result.checks.terminalAuthentication.reason.contains("not from this card's CVCA"))
        #expect(result.files[.dataGroup(3)] == nil)
        #expect(result.skipped[.dataGroup(3)]?.contains("did not succeed") == true)
        #expect(result.assessment.genuine)  // TA is not a requirement of genuine
        // An inspection system that expired before the chip's date (the day it was personalized).
        let eac = issuer.eac
        let expiredKey = try EACTestPKI.key("brainpoolP256r1")
        let expired = try EACTestPKI.issue(
            subject: expiredKey, holder: try CVReference("VNIS00002"), role: .inspectionSystem, rights: .all,
            issuer: eac.documentVerifier, issuerKey: eac.documentVerifier.key!,
            effective: CVDate.today().adding(days: -60), expires: CVDate.today().adding(days: -1))
        (result, _) = try read(
            image, issuer: issuer,
            terminal: try TerminalCredentials(chain: [eac.documentVerifier.certificate, expired], key: expiredKey))
        #expect(result.checks.terminalAuthentication.status == .failed)
        #expect(result.checks.terminalAuthentication.reason.contains("expired"), "\(result.checks.terminalAuthentication)")
        #expect(result.files[.dataGroup(3)] == nil)
        // A DV for DG4 only: TA passes, DG3 is not granted, not read, and the report says so.
        let dvKey = try EACTestPKI.key("brainpoolP256r1")
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00004"), role: .domesticDocumentVerifier,
            rights: .dataGroup4, issuer: eac.cvca, issuerKey: eac.cvca.key!, effective: CVDate.today(),
            expires: CVDate.today().adding(days: 30))
        let isKey = try EACTestPKI.key("brainpoolP256r1")
        let terminal = try EACTestPKI.issue(
            subject: isKey, holder: try CVReference("VNIS00004"), role: .inspectionSystem, rights: .all,
            issuer: .init(certificate: dv, key: dvKey), issuerKey: dvKey, effective: CVDate.today(),
            expires: CVDate.today().adding(days: 30))
        (result, _) = try read(image, issuer: issuer, terminal: try TerminalCredentials(chain: [dv, terminal], key: isKey))
        #expect(result.checks.terminalAuthentication.status == .passed)
        #expect(result.checks.terminalAuthentication.reason.contains("DG4"))
        #expect(result.files[.dataGroup(3)] == nil)
        #expect(result.skipped[.dataGroup(3)]?.contains("do not grant DG3") == true)
        // The chip itself refuses DG3 to that terminal, even when asked (6982).
        let chip = try EmulatedChip(image: image)
        let session = ReaderSession(transport: chip)
        var options = ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today)
        options.terminal = try TerminalCredentials(chain: [dv, terminal], key: isKey)
        options.dataGroups = [14]
        _ = try session.readCard(.can("000000"), options: options)
        #expect(throws: ReaderError.self) { try session.readFile(.dataGroup(3)) }
    }

    @Test("A wrong inspection system key: the chip rejects the signature")
    func wrongKey() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        let impostor = try TerminalCredentials(
            chain: [issuer.eac.documentVerifier.certificate, issuer.eac.inspectionSystem.certificate],
            key: try EACTestPKI.key("brainpoolP256r1"))
        let (result, _) = try read(image, issuer: issuer, terminal: impostor)
        #expect(result.checks.terminalAuthentication.status == .failed)
        #expect(result.checks.terminalAuthentication.reason.contains("rejected the inspection system's signature"))
        #expect(result.files[.dataGroup(3)] == nil)
    }

    @Test("After BAC: ID_PICC is the document number with its check digit")
    func afterBAC() throws {
        let issuer = try Issuer()
        var profile = CardProfile.vietnamese2021
        profile.offersPACE = false
        profile.canRule = .none
        let image = try card(issuer, profile: profile)
        #expect(image.content(of: .cardAccess) == nil)
        let mrz = try #require(image.secrets.bacKey)
        let (result, _) = try read(image, issuer: issuer, terminal: try issuer.terminal, key: .mrz(mrz))
        #expect(result.accessControl == "BAC")
        #expect(result.checks.terminalAuthentication.status == .passed, "\(result.checks.terminalAuthentication)")
        #expect(result.files[.dataGroup(3)] != nil)
    }

    @Test("A newer DV moves the chip's date, and the emulator keeps it (non-volatile)")
    func chipDateIsKept() throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        let eac = issuer.eac
        let later = CVDate.today().adding(days: 40)
        let dvKey = try EACTestPKI.key("brainpoolP256r1")
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00005"), role: .domesticDocumentVerifier, rights: .all,
            issuer: eac.cvca, issuerKey: eac.cvca.key!, effective: later, expires: later.adding(days: 30))
        let isKey = try EACTestPKI.key("brainpoolP256r1")
        let terminal = try EACTestPKI.issue(
            subject: isKey, holder: try CVReference("VNIS00005"), role: .inspectionSystem, rights: .all,
            issuer: .init(certificate: dv, key: dvKey), issuerKey: dvKey, effective: later, expires: later.adding(days: 30))
        let chip = try EmulatedChip(image: image)
        let saved = Locked<[EmulatedChip.State]>([])
        chip.onNonVolatileChange = { state in saved.withLock { $0.append(state) } }
        var options = ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today)
        options.terminal = try TerminalCredentials(chain: [dv, terminal], key: isKey)
        let result = try ReaderSession(transport: chip).readCard(.can("000000"), options: options)
        #expect(result.checks.terminalAuthentication.status == .passed)
        #expect(chip.image.terminalAuthentication?.currentDate == later.digits)
        let states = saved.withLock { $0 }
        guard case .issued(let kept, _)? = states.last else {
            Issue.record("no non-volatile change was reported")
            return
        }
        #expect(kept.terminalAuthentication?.currentDate == later.digits)
        // The issuer's own (older) inspection system still works: its certificate has not expired by then.
        let again = try ReaderSession(transport: try EmulatedChip(state: .issued(kept, serial: nil)))
        var second = ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today)
        second.terminal = try issuer.terminal
        #expect(try again.readCard(.can("000000"), options: second).checks.terminalAuthentication.status == .passed)
    }

    @Test("cccd read, serve and perso take --terminal; a terminal folder that is not one is refused before any card")
    func terminalOptionEverywhere() throws {
        for command in ["read", "serve", "perso"] {
            let help = try CommandLineRunner.run([command, "--help"])
            #expect(help.stdout.contains("--terminal <dir>") && help.stdout.contains("--terminal-key"), "\(command)")
        }
        let work = NSTemporaryDirectory() + "cccdkit-terminal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work + "/empty", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let serve = try CommandLineRunner.run(
            [
                "serve", "--listen", "127.0.0.1:0", "--token-file", work + "/token", "--audit", work + "/audit.db",
                "--terminal", work + "/empty",
            ])
        #expect(serve.status == 1, "\(serve.stdout) \(serve.stderr)")
        #expect(serve.stderr.contains("the terminal:") && serve.stderr.contains("inspection system"), "\(serve.stderr)")
        let read = try CommandLineRunner.run(
            ["read", "--card", "nowhere.json", "--can", "000000", "--terminal", work + "/empty", "--json"])
        #expect(read.status == 1)
        #expect(read.stderr.contains("inspection system certificates"), "\(read.stderr)")
        // --terminal-key without --terminal is a usage error.
        let usage = try CommandLineRunner.run(["read", "--can", "000000", "--terminal-key", "is.pkcs8"])
        #expect(usage.status == 64 || usage.stderr.contains("--terminal-key goes with --terminal"), "\(usage.stderr)")
    }

    /// Terminal Authentication through the chips that depart from ICAO 9303 (FIELD.md §1): short reads only,
    /// errors answered without secure messaging, answers without DO'99', no short file identifiers, a 231-byte
    /// answer limit. TA's refusals and DG3's long read must survive every one of them.
    @Test(
        "Terminal Authentication and DG3 through every deployed chip's oddities, and a refusal through them too",
        arguments: [
            EmulatorSettings(supportsExtendedLength: false, maxResponseLength: 256),
            EmulatorSettings(maxResponseLength: 231, oddities: .allOfSection1),
            EmulatorSettings(supportsExtendedLength: false, maxResponseLength: 231, oddities: .allOfSection1),
        ])
    func throughOddities(_ settings: EmulatorSettings) throws {
        let issuer = try Issuer()
        let image = try card(issuer)
        var options = ReadOptions(trust: TrustStore(anchors: [issuer.csca]), today: Self.today)
        options.terminal = try issuer.terminal
        let result = try ReaderSession(transport: try EmulatedChip(image: image, settings: settings))
            .readCard(.can("000000"), options: options)
        #expect(result.checks.terminalAuthentication.status == .passed, "\(result.checks.terminalAuthentication)")
        #expect(result.files[.dataGroup(3)] == image.content(of: .dataGroup(3)))
        #expect(result.assessment.genuine, "\(result.assessment.reasons)")
        // A refused chain through the same chip: the refusal is a verdict, the rest of the card still reads.
        let other = try EACTestPKI.make(sequence: "00042")
        options.terminal = try TerminalCredentials(
            chain: [other.documentVerifier.certificate, other.inspectionSystem.certificate],
            key: other.inspectionSystem.key!)
        let refused = try ReaderSession(transport: try EmulatedChip(image: image, settings: settings))
            .readCard(.can("000000"), options: options)
        #expect(refused.checks.terminalAuthentication.status == .failed)
        #expect(refused.files[.dataGroup(3)] == nil)
        #expect(refused.assessment.genuine, "\(refused.assessment.reasons)")
    }
}
