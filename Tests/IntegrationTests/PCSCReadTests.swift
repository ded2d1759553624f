import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS
import PCSC
import Personalization
import Reader
import Relay
import RelayWire
import TestSupport
import Testing
import Verification

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
        // Right after a card that left mid-command, vpcd sometimes serves the next connection (it powers it off
        // and polls its ATR) while pcscd goes on reporting the slot empty; a card inserted again is seen. So a
        // card that does not appear within 5 s is taken out and put in again, up to three times.
        var attempt = 1
        while true {
            let bridge = VPCDBridge(chip: chip, port: Self.port)
            let done = DispatchSemaphore(value: 0)
            Thread {
                _ = bridge.run()
                done.signal()
            }.start()
            let takeOut = {
                bridge.stop()
                done.wait()
                try? context.waitForRemoval(reader: Self.readerName, timeout: 15)
            }
            do {
                _ = try context.waitForCard(reader: Self.readerName, timeout: 5)
            } catch {
                takeOut()
                guard error.code == .timeout && attempt < 3 else { throw error }
                attempt += 1
                continue
            }
            defer { takeOut() }
            return try body(context)
        }
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
            record, signer: DocumentSigner(certificate: ds, key: dsKey, cvca: try EACTestPKI.make().cvca.certificate),
            baseDirectory: Self.folder,
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
        // At the floor: EF.COM is not read (EF.SOD decides what is).
        #expect(result.apduCount == 16 && result.files[.com] == nil)
    }

    @Test(
        "The bank relay through pcscd: cccd relay client bridges the vpcd card to cccd relay serve at 80 ms round trips; genuine, the signed report verified by the back end"
    )
    func relayThroughPCSC() throws {
        let (image, csca) = try preparedCard()
        let work = NSTemporaryDirectory() + "cccdkit-relay-pcsc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Data(csca.pem.utf8).write(to: URL(fileURLWithPath: work + "/csca.pem"))
        let keygen = try CommandLineRunner.run(["relay", "keygen", "--out", work + "/keys"])
        try #require(keygen.status == 0, "\(keygen.stderr)")
        let log = work + "/serve.out"
        let server = try ChildProcess(
            CommandLineRunner.root + "/.build/debug/cccd",
            [
                "relay", "serve", "--listen", "127.0.0.1:0", "--token-secret", work + "/keys/token.secret",
                "--report-key", work + "/keys/report.key", "--trust", work + "/csca.pem", "--audit", work + "/audit.db",
            ], stdout: log, stderr: work + "/serve.err")
        defer { server.stop() }
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n") && Date() < deadline && server.running {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.05)
        }
        let url = try #require(text.split(separator: " ").first { $0.hasPrefix("ws://") }.map(String.init), "\(text)")
        let reportKey = try AsymmetricKey(publicKeyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: work + "/keys/report.pub.pem"))))
        try withVirtualCard(try EmulatedChip(image: image)) { _ in
            for (latency, loss) in [("80", "0"), ("80", "0.2")] {
                let issued = try CommandLineRunner.run([
                    "relay", "token", "--token-secret", work + "/keys/token.secret", "--client", "phone-1", "--can", "000000",
                    "--json",
                ])
                let token = try #require(issued.json?["token"] as? String, "\(issued.stderr)")
                let sid = try #require(issued.json?["sid"] as? String)
                let jwsFile = work + "/report-\(loss).jws"
                let client = try CommandLineRunner.run([
                    "relay", "client", "--url", url, "--token", token, "--can", "000000", "--reader", Self.readerName,
                    "--latency", latency, "--loss", loss, "--json", "--out", jwsFile,
                ])
                #expect(client.status == 0, "\(client.stdout) \(client.stderr)")
                let outcome = try #require(client.json, "\(client.stdout)")
                #expect(outcome["genuine"] as? Bool == true, "\(outcome)")
                let apdus = try #require(outcome["apdus"] as? Int)
                let seconds = try #require(outcome["seconds"] as? Double)
                #expect(seconds >= Double(apdus) * 0.08)
                print("relay through pcscd at \(latency) ms RTT, loss \(loss): \(apdus) APDUs, \(seconds) s wall (\(outcome["injectedSeconds"] ?? 0) s injected)")
                // The bank's back end: the JWS verified with the pinned key (ours and openssl), the session its own.
                let jws = try String(contentsOfFile: jwsFile, encoding: .utf8)
                let bank = try BankBackEnd.verify(jws, key: reportKey)
                #expect(bank.payload["sid"] as? String == sid)
                #expect(bank.report["genuine"] as? Bool == true)
                let checks = bank.report["checks"] as? [String: [String: Any]] ?? [:]
                for name in ["passiveAuthentication", "chipAuthentication", "activeAuthentication", "documentValidity", "recordConsistency"] {
                    #expect(checks[name]?["status"] as? String == "passed", "\(name)")
                }
                #expect(bank.payload["portrait"] != nil)
                let verified = try CommandLineRunner.run([
                    "relay", "verify", "--key", work + "/keys/report.pub.pem", jwsFile, "--portrait", work + "/face",
                ])
                #expect(verified.status == 0 && verified.stdout.contains("\"sid\":\"\(sid)\""), "\(verified.stderr)")
                // The same token again: used.
                let again = try CommandLineRunner.run([
                    "relay", "client", "--url", url, "--token", token, "--can", "000000", "--reader", Self.readerName,
                ])
                #expect(again.status == 1 && again.stderr.contains("tokenUsed"), "\(again.stderr)")
            }
        }
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
            var options = ReadOptions(trust: forge.trust, today: Self.today)
            options.readsEFCOM = true  // to see EF.COM's list disagree with EF.SOD's
            let result = try ReaderSession(transport: card).readCard(.can("000000"), options: options)
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

    @Test(
        "Each deployed chip's oddity, and all at once, through pcscd: every file byte-identical, genuine, noted",
        arguments: OddChip.variants)
    func oddChip(_ variant: OddChip) throws {
        for card in [OddChipTests.Card.vietnameseExtended, .bac] {
            // The BAC card runs the variants of JMRTD's applet and those with every item at once; the Vietnamese
            // card every variant but the applet's.
            if card == .bac && !(variant.bacOnly || variant.name.contains("at once")) { continue }
            if card != .bac && variant.bacOnly { continue }
            let image = card == .bac ? OddChipFixture.bacOnly : OddChipFixture.prepared.image
            let chip = try EmulatedChip(image: image, settings: variant.settings)
            let key: AccessKey = card == .bac ? .mrz(try #require(image.secrets.bacKey)) : .can("000000")
            let result = try withVirtualCard(chip) { context in
                let reader = try context.connect(reader: Self.readerName)
                defer { reader.disconnect(reset: true) }
                return try ReaderSession(transport: reader).readCard(key, options: OddChipFixture.options())
            }
            OddChipFixture.expectGenuine(result, of: image, "\(variant.name), \(card.rawValue), through pcscd")
            let notes = result.notes.joined(separator: " | ")
            for word in OddChipTests.expectedNotes(variant, card) {
                #expect(notes.contains(word), "\(variant.name), \(card.rawValue): notes lack \"\(word)\": \(notes)")
            }
        }
    }

    @Test(
        "cccd emulate --vpcd localhost:PORT --oddity vicc --oddity no-sfi: a BAC chip with every FIELD.md §1 item reads genuine (exit 0) and a wrong key answered 6988 is exit 3"
    )
    func emulateCommandWithOddities() throws {
        let image = OddChipFixture.bacOnly
        let card = try Forge.write(image, name: "odd-bac")
        let trust = NSTemporaryDirectory() + "cccdkit-odd-csca-\(UUID().uuidString).pem"
        try Data(OddChipFixture.prepared.issuer.csca.pem.utf8).write(to: URL(fileURLWithPath: trust))
        defer {
            try? FileManager.default.removeItem(atPath: card)
            try? FileManager.default.removeItem(atPath: trust)
        }
        let context = try PCSCContext()
        try #require(context.readers().contains(Self.readerName), "pcscd with vsmartcard-vpcd is not running")
        try context.waitForRemoval(reader: Self.readerName, timeout: 15)
        let emulator = Process()
        emulator.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
        emulator.arguments = [
            "emulate", "--card", card, "--vpcd", "localhost:\(Self.port)", "--oddity", "vicc", "--oddity", "no-sfi",
        ]
        emulator.standardError = FileHandle.nullDevice
        try emulator.run()
        defer {
            emulator.terminate()
            emulator.waitUntilExit()
            try? context.waitForRemoval(reader: Self.readerName, timeout: 15)
        }
        // The name resolves and the card appears: no endless "waiting for vpcd".
        _ = try context.waitForCard(reader: Self.readerName, timeout: 15)
        let key = ["--id", "001090000000", "--dob", "900101", "--doe", "300101"]
        let good = try CommandLineRunner.run(
            ["read", "--reader", Self.readerName, "--json", "--trust", trust] + key)
        #expect(good.status == 0, "\(good.stderr)")
        let notes = (good.json?["notes"] as? [String] ?? []).joined(separator: " | ")
        for word in [
            "without secure messaging", "not counted", "without DO'99'", "past the end", "short file identifier",
            "the data was discarded",
        ] {
            #expect(notes.contains(word), "notes lack \(word): \(notes)")
        }
        let wrong = try CommandLineRunner.run(
            ["read", "--reader", Self.readerName, "--id", "001090000000", "--dob", "800101", "--doe", "300101"])
        #expect(wrong.status == 3, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("6988") || wrong.stderr.contains("wrong"), "\(wrong.stderr)")
    }

    @Test(
        "A malformed EF.COM, no EF.SOD, and both, on a chip with every oddity, through pcscd: the documented verdicts")
    func oddContentThroughPCSC() throws {
        let image = OddChipFixture.prepared.image
        let cases: [(String, [LDSFile: [UInt8]?])] = [
            ("malformed EF.COM", [.com: [0x60, 0x05, 0x5F, 0x01, 0x04, 0x30, 0x31]]),
            ("no EF.SOD", [.sod: nil]),
            ("both", [.com: [0x60, 0x02, 0xFF, 0xFF], .sod: nil]),
        ]
        for (name, changes) in cases {
            var files = image.lDSFiles
            for (file, bytes) in changes { files[file] = bytes }
            let odd = Forge.rebuilt(image, files: files)
            let chip = try EmulatedChip(image: odd, settings: EmulatorSettings(oddities: .allOfSection1))
            let result = try withVirtualCard(chip) { context in
                let reader = try context.connect(reader: Self.readerName)
                defer { reader.disconnect(reset: true) }
                return try ReaderSession(transport: reader).readCard(.can("000000"), options: OddChipFixture.options())
            }
            for n in [1, 2, 13, 14, 15] {
                #expect(result.files[.dataGroup(n)] == image.content(of: .dataGroup(n)), "\(name): DG\(n)")
            }
            let notes = result.notes.joined(separator: " | ")
            if name == "malformed EF.COM" {
                OddChipFixture.expectGenuine(result, of: odd, name)
                #expect(notes.contains("EF.COM cannot be parsed"), "\(notes)")
            } else {
                #expect(result.checks.passiveAuthentication.reason.contains("no EF.SOD on the card"))
                #expect(!result.assessment.genuine)
            }
            if name == "both" { #expect(notes.contains("probed"), "\(notes)") }
            #expect(notes.contains("short file identifier") && notes.contains("past the end"), "\(name): \(notes)")
        }
    }

    @Test(
        "FIELD.md §2.6 through pcscd: a reader that leaves the card without a reset gets the next BAC refused (6982); disconnecting with a reset (cccd read's way) leaves it readable"
    )
    func bacStateNeedsReset() throws {
        let image = FieldChipTests.image
        let chip = try EmulatedChip(image: image, settings: .personality(.jmrtdApplet))
        let key = AccessKey.mrz(try #require(image.secrets.bacKey))
        try withVirtualCard(chip) { context in
            let first = try context.connect(reader: Self.readerName)
            let result = try ReaderSession(transport: first).readCard(key, options: OddChipFixture.options())
            OddChipFixture.expectGenuine(result, of: image, "§2 applet through pcscd")
            first.disconnect(reset: false)  // SCARD_LEAVE_CARD: the applet keeps BAC's state
            let second = try context.connect(reader: Self.readerName)
            do {
                _ = try ReaderSession(transport: second).readCard(key, options: OddChipFixture.options())
                Issue.record("BAC worked on a card left in BAC state")
            } catch let error as ReaderError {
                #expect(error.statusWord == .securityStatusNotSatisfied, "\(error)")
            }
            second.disconnect()  // with a reset, as every program of this toolchain does
            let third = try context.connect(reader: Self.readerName)
            defer { third.disconnect() }
            let again = try ReaderSession(transport: third).readCard(key, options: OddChipFixture.options())
            OddChipFixture.expectGenuine(again, of: image, "§2 applet after a reset")
            // A card left in BAC state by another program: connecting with a reset reads it.
            third.disconnect(reset: false)
            let fourth = try context.connect(reader: Self.readerName, reset: true)
            defer { fourth.disconnect() }
            OddChipFixture.expectGenuine(
                try ReaderSession(transport: fourth).readCard(key, options: OddChipFixture.options()), of: image,
                "§2 applet, reset on connect")
        }
    }

    @Test(
        "cccd perso --readers with jmrtd-applet on a blank chip with the running applet's personality (FIELD.md §2) through pcscd: issued, read back genuine, and read again by cccd read twice in a row"
    )
    func jmrtdAppletPersoThroughPCSC() throws {
        let work = NSTemporaryDirectory() + "cccdkit-jmrtd-pcsc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let pki = try TestPKI()
        try pki.write(to: work + "/pki")
        try SampleRecord.writeImages(to: work)
        let records = SampleRecord.batch(count: 1, seed: 23, portrait: "portrait.jpg", today: Self.today)
        try SampleRecord.jsonLines(records).write(toFile: work + "/batch.jsonl", atomically: true, encoding: .utf8)

        let context = try PCSCContext()
        try #require(context.readers().contains(Self.readerName), "pcscd with vsmartcard-vpcd is not running")
        try context.waitForRemoval(reader: Self.readerName, timeout: 15)
        let emulator = Process()
        emulator.executableURL = URL(fileURLWithPath: CommandLineRunner.root + "/.build/debug/cccd")
        emulator.arguments = [
            "emulate", "--blank", "--command-set", "jmrtd-applet", "--oddity", "jmrtd-applet", "--save",
            work + "/issued.json", "--vpcd", "127.0.0.1:\(Self.port)",
        ]
        emulator.standardError = FileHandle.nullDevice
        try emulator.run()
        defer {
            emulator.terminate()
            emulator.waitUntilExit()
            try? context.waitForRemoval(reader: Self.readerName, timeout: 15)
        }
        _ = try context.waitForCard(reader: Self.readerName, timeout: 15)
        let perso = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers",
                Self.readerName, "--profile", "jmrtd-applet-td1", "--json",
            ], in: work)
        #expect(perso.status == 0, "\(perso.stdout) \(perso.stderr)")
        #expect(perso.json?["issued"] as? Int == 1 && perso.json?["spoiled"] as? Int == 0, "\(perso.stdout)")
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/issued.json")))
        #expect(image.secrets.can == nil && image.content(of: .dataGroup(15)) != nil)
        let record = try #require(records.first)
        func yymmdd(_ iso: String?) -> String {
            guard let iso, iso.count == 10 else { return "991231" }
            return String(iso.dropFirst(2)).replacingOccurrences(of: "-", with: "")
        }
        let key = ["--id", record.idNumber, "--dob", yymmdd(record.dateOfBirth), "--doe", yymmdd(record.dateOfExpiry)]
        for round in 1...2 {
            let read = try CommandLineRunner.run(
                ["read", "--reader", Self.readerName, "--trust", "pki/csca.crt", "--json", "--wait", "5"] + key,
                in: work)
            #expect(read.status == 0, "read \(round): \(read.stderr) \(read.stdout)")
            #expect(read.json?["genuine"] as? Bool == true, "read \(round)")
            // Every §2 reading item met and named: SFI taken as an offset (6985), no extended length, BAC.
            let notes = (read.json?["notes"] as? [String] ?? []).joined(separator: " | ")
            #expect(notes.contains("short file identifier (6985)"), "read \(round): \(notes)")
            #expect(read.json?["accessControl"] as? String == "BAC")
        }
    }

    @Test(
        "cccd perso --readers all through pcscd: blank chips in four virtual readers personalized in parallel over SCP03, each read back with cccd read as genuine; pcscd's APDU log holds no secret in clear; a second run issues nothing"
    )
    func persoThroughPCSC() throws {
        let log = try #require(
            ProcessInfo.processInfo.environment["CCCDKIT_PCSCD_LOG"],
            "pcscd was not started by scripts/with-pcscd.sh with --apdu: run the tests with `make test`")
        let work = try Self.persoWork(4, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: work) }
        // vsmartcard's two readers and the second vpcd reader scripts/vpcd-readers.sh installs (make deps runs it).
        let readers = Self.fourReaders
        let emulators = try Self.blankChips(work, tag: 0x00)
        defer { Self.endChips(emulators) }
        let logStart = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0

        let perso = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers", "all",
                "--transport-key", "transport.key", "--json",
            ], in: work)
        #expect(perso.status == 0, "\(perso.stdout) \(perso.stderr)")
        #expect(perso.json?["issued"] as? Int == 4)
        // In parallel: every reader's chip took one record.
        let byReader = perso.json?["issuedByReader"] as? [String: Int] ?? [:]
        #expect(Set(byReader.keys) == Set(readers) && byReader.values.allSatisfy { $0 == 1 }, "\(byReader)")

        // Each card, read by a terminal through pcscd: genuine.
        var images: [CardImage] = []
        for (i, reader) in readers.enumerated() {
            let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/issued-\(i).json")))
            images.append(image)
            let can = try #require(image.secrets.can)
            let read = try CommandLineRunner.run(
                ["read", "--reader", reader, "--can", can, "--trust", "pki/csca.crt", "--json", "--wait", "5"], in: work
            )
            #expect(read.status == 0, "\(reader): \(read.stderr)")
            #expect(read.json?["genuine"] as? Bool == true)
        }
        #expect(Set(images.compactMap(\.secrets.can)).count == 4, "four different records")
        try Self.terminalAuthenticationThroughPCSC(work: work, reader: readers[0], image: images[0])

        // pcscd logged the whole perso (INITIALIZE UPDATE is there) and no secret in clear.
        let handle = try #require(FileHandle(forReadingAtPath: log))
        try handle.seek(toOffset: UInt64(logStart))
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let hex = text.uppercased().filter { $0.isHexDigit }
        #expect(text.uppercased().contains("80 50 30 00 08"), "the APDU log has no INITIALIZE UPDATE")
        for image in images {
            for secret in PCSCSecrets.of(image) {
                #expect(!hex.contains(secret), "a secret crossed the reader in clear (\(secret.count / 2) bytes)")
            }
        }

        // The cards are locked: a second run of the batch issues nothing new and touches no card.
        let again = try CommandLineRunner.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", "pki", "--journal", "j.db", "--readers", "all",
                "--transport-key", "transport.key", "--json",
            ], in: work)
        #expect(again.status == 0)
        #expect(again.json?["issued"] as? Int == 4 && again.json?["spoiled"] as? Int == 0)
        #expect(again.json?["issuedThisRun"] as? Int == 0)
    }
}

extension PCSCReadTests {
    /// The fingerprints of a card the line issued with vn-cccd-2021, through pcscd: an inspection system (the
    /// TEST PKI's, `pki init --eac`) reads DG3 after Terminal Authentication and Passive Authentication covers it;
    /// without one DG3 is skipped and the card is as genuine; an expired inspection system and a chain from another
    /// CVCA are refused, and the report says why.
    static func terminalAuthenticationThroughPCSC(work: String, reader: String, image: CardImage) throws {
        #expect(image.content(of: .dataGroup(3)) != nil, "the line wrote no DG3")
        #expect(image.terminalAuthentication?.trustPoints.count == 1, "the line wrote no CVCA")
        let can = try #require(image.secrets.can)
        func read(_ extra: [String]) throws -> [String: Any] {
            let r = try CommandLineRunner.run(
                ["read", "--reader", reader, "--can", can, "--trust", "pki/csca.crt", "--json", "--wait", "5"] + extra,
                in: work)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            return r.json ?? [:]
        }
        func check(_ report: [String: Any], _ name: String) -> (status: String, reason: String) {
            let verdict = (report["checks"] as? [String: Any])?[name] as? [String: Any]
            return (verdict?["status"] as? String ?? "", verdict?["reason"] as? String ?? "")
        }
        // With the inspection system.
        let withTerminal = try read(["--terminal", "pki/eac/terminal", "--out", "files"])
        #expect(check(withTerminal, "terminalAuthentication").status == "passed", "\(check(withTerminal, "terminalAuthentication"))")
        #expect(check(withTerminal, "passiveAuthentication").status == "passed")
        #expect((withTerminal["files"] as? [String: Int])?["DG3"] == image.content(of: .dataGroup(3))?.count)
        #expect((withTerminal["skipped"] as? [String: String] ?? [:]).isEmpty)
        #expect(withTerminal["genuine"] as? Bool == true)
        let dg3 = try Data(contentsOf: URL(fileURLWithPath: work + "/files/DG3.bin"))
        #expect([UInt8](dg3) == image.content(of: .dataGroup(3)))
        for position in [2, 7] {
            #expect(FileManager.default.fileExists(atPath: work + "/files/finger-\(position).jp2"))
            #expect(FileManager.default.fileExists(atPath: work + "/files/finger-\(position).png"))
        }
        // Without it: DG3 skipped, the same verdict.
        let without = try read([])
        #expect((without["skipped"] as? [String: String])?["DG3"]?.contains("Terminal Authentication") == true)
        #expect((without["files"] as? [String: Int])?["DG3"] == nil)
        #expect(check(without, "terminalAuthentication").status == "notChecked")
        #expect(without["genuine"] as? Bool == true)
        // An inspection system that expired yesterday (the chip's date is the day it was personalized).
        let dvKey = try AsymmetricKey(privateKeyDER: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/pki/eac/dv.pkcs8"))))
        let dv = try CVCertificate(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/pki/eac/dv.cvcert"))))
        let isKey = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let expired = try EACTestPKI.issue(
            subject: isKey, holder: try CVReference("VNIS00099"), role: .inspectionSystem, rights: .all,
            issuer: .init(certificate: dv, key: dvKey), issuerKey: dvKey, effective: CVDate.today().adding(days: -30),
            expires: CVDate.today().adding(days: -1))
        try FileManager.default.createDirectory(atPath: work + "/expired", withIntermediateDirectories: true)
        try Data(dv.encoded).write(to: URL(fileURLWithPath: work + "/expired/dv.cvcert"))
        try Data(expired.encoded).write(to: URL(fileURLWithPath: work + "/expired/is.cvcert"))
        try Data(try isKey.privateKeyDER()).write(to: URL(fileURLWithPath: work + "/expired/is.pkcs8"))
        let late = try read(["--terminal", "expired"])
        #expect(check(late, "terminalAuthentication").status == "failed")
        #expect(check(late, "terminalAuthentication").reason.contains("expired"), "\(check(late, "terminalAuthentication"))")
        #expect((late["files"] as? [String: Int])?["DG3"] == nil)
        #expect((late["skipped"] as? [String: String])?["DG3"] != nil)
        #expect(late["genuine"] as? Bool == true)
        // Another country's (another CVCA's) inspection system.
        let other = try CommandLineRunner.run(["pki", "init", "--out", "other-pki"], in: work)
        #expect(other.status == 0, "\(other.stderr)")
        let foreign = try read(["--terminal", "other-pki/eac/terminal"])
        #expect(check(foreign, "terminalAuthentication").status == "failed")
        #expect(check(foreign, "terminalAuthentication").reason.contains("not from this card's CVCA"))
        #expect((foreign["files"] as? [String: Int])?["DG3"] == nil)
    }
}

/// The secrets of a card image, as the upper-case hex they would have in pcscd's log: private keys (whole and in
/// windows), the CAN and the MRZ key's fields as they travel in PUT DATA.
enum PCSCSecrets {
    /// The secrets of a card image as bytes a file could hold, named: the private numbers (EC scalar; RSA d, p, q)
    /// in 24-byte windows, the CAN as PUT DATA carries it and as JSON names it, the MRZ key's fields together.
    static func parts(of image: CardImage) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (name, key) in [("the CA private key", image.secrets.chipAuthenticationKey), ("the AA private key", image.secrets.activeAuthenticationKey)] {
            guard let der = key, let pair = try? AsymmetricKey(privateKeyDER: der) else { continue }
            out.append((name, der))
            let numbers =
                pair.kind == .ec
                ? [(try? pair.ecPrivateScalar().bytes()) ?? []]
                : ["d", "rsa-factor1", "rsa-factor2"].map { (try? pair.component($0)) ?? [] }
            for number in numbers where number.count >= 24 {
                out.append((name, Array(number.prefix(24))))
                out.append((name, Array(number.suffix(24))))
                out.append((name, Array(number.prefix(24).map { String(format: "%02x", $0) }.joined().utf8)))
            }
        }
        if let can = image.secrets.can {
            out.append(("the CAN", [0x04, 0x06] + Array(can.utf8)))
            out.append(("the CAN", Array(#""can":"\#(can)""#.utf8)))
            out.append(("the CAN", Array(#""can" : "\#(can)""#.utf8)))
        }
        if let mrz = image.secrets.mrz {
            out.append(("the MRZ key", Array((mrz.documentNumber + mrz.dateOfBirth + mrz.dateOfExpiry).utf8)))
            out.append(("the MRZ key", Array(mrz.dateOfBirth.utf8) + [0x04, 0x06] + Array(mrz.dateOfExpiry.utf8)))
            out.append(("the MRZ key", Array(#""dateOfBirth":"\#(mrz.dateOfBirth)""#.utf8)))
        }
        return out
    }

    static func of(_ image: CardImage) -> [String] {
        var out: [[UInt8]] = []
        // The private numbers only (an EC scalar; RSA d, p, q), in 24-byte windows: a key's DER also holds its
        // public half, which a chip that makes its keys answers in clear, as DG14 and DG15 hold it.
        for key in [image.secrets.chipAuthenticationKey, image.secrets.activeAuthenticationKey] {
            guard let der = key, let pair = try? AsymmetricKey(privateKeyDER: der) else { continue }
            let numbers =
                pair.kind == .ec
                ? [(try? pair.ecPrivateScalar().bytes()) ?? []]
                : ["d", "rsa-factor1", "rsa-factor2"].map { (try? pair.component($0)) ?? [] }
            for number in numbers where number.count >= 24 {
                out.append(Array(number.prefix(24)))
                out.append(Array(number.suffix(24)))
            }
        }
        if let can = image.secrets.can { out.append([0x04, 0x06] + Array(can.utf8)) }
        if let mrz = image.secrets.mrz {
            out.append([0x04, 0x09] + Array(mrz.documentNumber.utf8))
            out.append([0x04, 0x06] + Array(mrz.dateOfBirth.utf8) + [0x04, 0x06] + Array(mrz.dateOfExpiry.utf8))
        }
        return out.map { $0.map { String(format: "%02X", $0) }.joined() }
    }
}
