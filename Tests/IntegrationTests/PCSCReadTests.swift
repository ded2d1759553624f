import CardCore
import CardCrypto
import CardEmulator
import Foundation
import LDS
import PCSC
import Personalization
import Reader
import TestSupport
import Testing

/// The emulator in a real virtual reader: pcscd + vsmartcard's vpcd (started by `make test` / `.ci/run`),
/// our VPCD bridge on port 35964 ("Virtual PCD 00 01"), and the reader going through pcsc-lite.
@Suite("Through real pcscd: the emulator in a virtual reader, read by the PC/SC transport", .serialized)
struct PCSCReadTests {
    static let port: UInt16 = 35964
    static let readerName = "Virtual PCD 00 01"
    static let folder = VectorFile.directory + "/sample-card"
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!

    /// Serves `chip` on the test slot while `body` runs; waits for the card to appear and to go.
    func withVirtualCard<T>(_ chip: EmulatedChip, _ body: (PCSCContext) throws -> T) throws -> T {
        let context = try PCSCContext()
        let readers = try context.readers()
        try #require(
            readers.contains(Self.readerName),
            "pcscd with vsmartcard-vpcd is not running (readers: \(readers)); run the tests with `make test`")
        // The previous test's card must be gone before this one goes in.
        try context.waitForRemoval(reader: Self.readerName, timeout: 15)
        let bridge = VPCDBridge(chip: chip, port: Self.port)
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = bridge.run()
            done.signal()
        }.start()
        defer {
            bridge.stop()
            done.wait()
            try? context.waitForRemoval(reader: Self.readerName, timeout: 15)
        }
        _ = try context.waitForCard(reader: Self.readerName, timeout: 15)
        return try body(context)
    }

    func preparedCard() throws -> (CardImage, Certificate) {
        let cscaKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let csca = try Certificate.create(
            subjectKey: cscaKey, issuerKey: cscaKey, issuer: nil, distinguishedName: "C=VN,CN=Test CSCA", serial: 1,
            notBeforeOffset: -86400, validity: 86400 * 3650, isCA: true)
        let dsKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let ds = try Certificate.create(
            subjectKey: dsKey, issuerKey: cscaKey, issuer: csca, distinguishedName: "C=VN,CN=Test DS", serial: 2,
            notBeforeOffset: -3600, validity: 86400 * 365, isCA: false)
        let record = try JSONDecoder().decode(
            CitizenRecord.self, from: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/record.json")))
        let image = try DataPreparation.prepare(
            record, signer: DocumentSigner(certificate: ds, key: dsKey), baseDirectory: Self.folder,
            validator: RecordValidator(today: Self.today))
        return (image, csca)
    }

    @Test("PACE-CAN, CA, AA, every file and Passive Authentication, through pcscd; diacritics intact")
    func genuine() throws {
        let (image, csca) = try preparedCard()
        let result = try withVirtualCard(try EmulatedChip(image: image)) { context in
            let card = try context.connect(reader: Self.readerName)
            #expect(card.capabilities.supportsExtendedLength)
            return try ReaderSession(transport: card).readCard(
                .can("000000"), options: ReadOptions(trust: TrustStore(anchors: [csca]), today: Self.today))
        }
        for v in [
            result.checks.passiveAuthentication, result.checks.chipAuthentication, result.checks.activeAuthentication,
            result.checks.documentValidity, result.checks.recordConsistency,
        ] {
            #expect(v.status == .passed, "\(v)")
        }
        let dg13 = try DataGroup13(bytes: try #require(result.files[.dataGroup(13)]))
        #expect(
            dg13.fullName == "Nguyễn Văn A"
                && dg13.placeOfResidence == "Số 1 Phố Tràng Tiền, Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội")
        #expect(result.apduCount == 17)
    }

    @Test("A wrong CAN through pcscd: access denied with 6300")
    func wrongCAN() throws {
        let (image, _) = try preparedCard()
        try withVirtualCard(try EmulatedChip(image: image)) { context in
            let card = try context.connect(reader: Self.readerName)
            do {
                _ = try ReaderSession(transport: card).readCard(.can("123456"))
                Issue.record("wrong CAN accepted")
            } catch let error as ReaderError {
                #expect(error.code == .accessDenied && error.statusWord == .verificationFailed)
            }
        }
    }

    @Test("A chip without extended length: the ATR says so and the read uses short protected reads")
    func shortReads() throws {
        let (image, _) = try preparedCard()
        try withVirtualCard(try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: false))) {
            context in
            let card = try context.connect(reader: Self.readerName)
            #expect(!card.capabilities.supportsExtendedLength)
            let session = ReaderSession(transport: card)
            let result = try session.readCard(.can("000000"))
            #expect(session.workingLe == 223)
            #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        }
    }

    @Test("The card leaves mid-read (fault plan): a typed card-removed error, promptly, not a hang")
    func pulledCard() throws {
        let (image, _) = try preparedCard()
        let chip = try EmulatedChip(
            image: image,
            settings: EmulatorSettings(supportsExtendedLength: false, faultPlan: FaultPlan(dropLinkAfterCommands: 20)))
        try withVirtualCard(chip) { context in
            let card = try context.connect(reader: Self.readerName)
            let start = ContinuousClock.now
            do {
                _ = try ReaderSession(transport: card).readCard(.can("000000"))
                Issue.record("read completed after the card left")
            } catch let error as ReaderError {
                #expect(error.code == .cardRemoved, "\(error)")
            }
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    /// `cccd read` through pcscd against the card in the test slot.
    func readThroughCLI(trust: String?) throws -> CommandLineRunner.Outcome {
        var arguments = ["read", "--reader", Self.readerName, "--can", "000000", "--json", "--wait", "5"]
        if let trust { arguments += ["--trust", trust] }
        return try CommandLineRunner.run(arguments)
    }

    @Test("A clone hiding DG14 and DG15 from EF.COM, through pcscd: not genuine, CA and AA failed with the reason")
    func hiddenClone() throws {
        let (forge, clone) = try ForgedCard.cloneHidingDG14AndDG15.make()
        let trust = try forge.writeTrust()
        defer { try? FileManager.default.removeItem(atPath: trust) }
        let (result, cli) = try withVirtualCard(try EmulatedChip(image: clone)) { context in
            let card = try context.connect(reader: Self.readerName)
            let result = try ReaderSession(transport: card).readCard(
                .can("000000"), options: ReadOptions(trust: forge.trust, today: Self.today))
            card.disconnect(reset: true)
            return (result, try readThroughCLI(trust: trust))
        }
        #expect(!result.assessment.genuine)
        #expect(result.checks.chipAuthentication.status == .failed)
        #expect(result.checks.chipAuthentication.reason.contains("possible clone"))
        #expect(result.checks.activeAuthentication.status == .failed)
        #expect(result.checks.activeAuthentication.reason.contains("possible clone"))
        #expect(result.notes.contains { $0.contains("EF.SOD signs DG14, DG15, which EF.COM does not list") })
        #expect(cli.status == 4, "\(cli.stderr)")
        #expect(cli.json?["genuine"] as? Bool == false)
    }

    @Test("An authentic card that has expired, through pcscd: genuine, not valid, exit 9; without --trust, exit 8")
    func expiredAndUntrusted() throws {
        // Issued mid-2012 to a holder born in 1990: it ran to the 25th birthday, 2015-01-01.
        let forge = try Forge { record in
            record.dateOfIssue = "2012-06-01"
            record.dateOfExpiry = "2015-01-01"
        }
        let trust = try forge.writeTrust()
        defer { try? FileManager.default.removeItem(atPath: trust) }
        let (result, trusted, untrusted) = try withVirtualCard(try EmulatedChip(image: forge.image)) { context in
            let card = try context.connect(reader: Self.readerName)
            let result = try ReaderSession(transport: card).readCard(
                .can("000000"), options: ReadOptions(trust: forge.trust))
            card.disconnect(reset: true)
            return (result, try readThroughCLI(trust: trust), try readThroughCLI(trust: nil))
        }
        #expect(result.assessment.genuine && !result.assessment.valid)
        #expect(result.assessment.headline == "GENUINE, EXPIRED on 2015-01-01")
        #expect(trusted.status == 9, "\(trusted.stderr)")
        #expect(trusted.json?["genuine"] as? Bool == true && trusted.json?["valid"] as? Bool == false)
        #expect(trusted.json?["verdict"] as? String == "GENUINE, EXPIRED on 2015-01-01")
        #expect(untrusted.status == 8, "\(untrusted.stderr)")
        #expect(untrusted.json?["authenticity"] as? String == "signerUnverified")
        #expect(untrusted.json?["genuine"] as? Bool == false)
        #expect((untrusted.json?["verdict"] as? String)?.contains("--trust") == true)
    }
}
