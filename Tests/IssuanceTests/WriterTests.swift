import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Issuance
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// A test issuer and the sample record's card image, shared by the writer tests.
enum Line {
    static let master: [UInt8] = Array(0x40..<0x50)
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!

    nonisolated(unsafe) static let pki: TestPKI = {
        do { return try TestPKI() } catch { fatalError("\(error)") }
    }()

    static var trust: TrustStore { TrustStore(anchors: [pki.csca]) }

    static func image(profile: CardProfile = .vietnamese2021, change: (inout CitizenRecord) -> Void = { _ in }) throws
        -> CardImage
    {
        var record = try SampleRecord.record
        change(&record)
        return try DataPreparation.prepare(
            record, profile: profile, signer: pki.signer, validator: RecordValidator(today: today))
    }

    static func blank(_ index: Int, commandSet: PersoCommandSet = .secure, extended: Bool = true) throws -> EmulatedChip
    {
        try EmulatedChip(
            blank: try BlankChip(
                serial: BlankChip.serial(batch: 1, index: index), master: master, commandSet: commandSet),
            settings: EmulatorSettings(supportsExtendedLength: extended))
    }
}

@Suite("The writer: a blank chip becomes an issued card, read back genuine")
struct WriterTests {
    @Test(
        "Both command sets, extended length on and off: written, locked, read back genuine and byte-identical",
        arguments: [PersoCommandSet.secure, .jmrtdApplet], [true, false])
    func personalize(_ commandSet: PersoCommandSet, _ extended: Bool) throws {
        let image = try Line.image()
        let chip = try Line.blank(7, commandSet: commandSet, extended: extended)
        #expect(chip.isBlank)
        let script = try PersoScript.compile(image, commandSet: commandSet, extendedLength: extended)
        var steps = 0
        let report = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(script, to: chip) { _ in steps += 1 }
        #expect(steps == script.steps.count)
        #expect(report.serial == BlankChip.serial(batch: 1, index: 7))
        #expect(!chip.isBlank)
        // Extended length: one UPDATE BINARY per file; short: DG2 in chunks of the largest size the channel takes.
        let writes = script.steps.filter { if case .write = $0.kind { return true } else { return false } }
        // (JMRTD's applet takes short commands only, whatever the link.)
        if extended && commandSet == .secure {
            #expect(writes.count == image.lDSFiles.count)
        } else {
            #expect(writes.count > image.lDSFiles.count)
        }
        chip.reset()
        let outcome = ReadBack.verify(image, on: chip, trust: Line.trust, today: Line.today)
        #expect(outcome.passed, "\(outcome.reason)")
        #expect(outcome.result?.checks.chipAuthentication.status == .passed)
        #expect(outcome.result?.checks.activeAuthentication.status == .passed)
    }

    @Test(
        "jmrtd-applet speaks the formats of JMRTD's passport applet: 60/61 RSA modulus and private exponent, 63 the EC key's bare parts 81–87, 62 the MRZ seed; short commands"
    )
    func jmrtdFormats() throws {
        let image = try Line.image()
        let script = try PersoScript.compile(image, commandSet: .jmrtdApplet, extendedLength: true)
        #expect(script.steps.allSatisfy { $0.command.data.count <= 255 }, "a command longer than a short APDU")
        let puts = script.steps.filter { $0.command.ins == 0xDA && $0.command.p1 == 0 }
        func joined(_ p2: UInt8) -> [UInt8] { puts.filter { $0.command.p2 == p2 }.flatMap(\.command.data) }
        let aa = try AsymmetricKey(
            privateKeyDER: try #require(image.secrets.activeAuthenticationKey))
        #expect(aa.kind == .rsa)
        // The applet's flat form (FIELD.md §2.1): `60 00 04 L n`, `61 00 04 L d`; never the nested one.
        #expect(Array(joined(0x60).prefix(3)) == [0x60, 0x00, 0x04])
        #expect(PersoProtocol.flatValue(in: joined(0x60), tag: 0x60) == (try aa.component("n")))
        #expect(PersoProtocol.flatValue(in: joined(0x61), tag: 0x61) == (try aa.component("d")))
        #expect(PersoProtocol.octetStrings(in: joined(0x60), tag: 0x60) == nil, "the nested form the applet refuses")
        #expect(!puts.contains { $0.command.p2 == 0x71 }, "an RSA key goes as 60/61, not as the extension")
        let ca = try AsymmetricKey(
            privateKeyDER: try #require(image.secrets.chipAuthenticationKey))
        let group = try ECGroup(try #require(ca.curve))
        let data = joined(0x63)
        #expect(Array(data.prefix(2)) == [0x81, UInt8(group.prime.count)], "63 is the bare 81… sequence")
        let parts = try #require(PersoProtocol.ECKeyParts(parsing: data))
        #expect(parts.p == group.prime && parts.a == group.a && parts.b == group.b)
        #expect(parts.generator == group.generator.encoded && parts.order == group.order && parts.cofactor == 1)
        #expect(BigNumber(parts.scalar) == (try ca.ecPrivateScalar()))
        let mrz = try #require(image.secrets.bacKey)
        #expect(
            PersoProtocol.octetStrings(in: joined(0x62), tag: 0x62)
                == [Array(mrz.documentNumber.utf8), Array(mrz.dateOfBirth.utf8), Array(mrz.dateOfExpiry.utf8)])
        #expect(script.steps.last?.command.encoded() == [0x00, 0xDA, 0xDE, 0xAD])
    }

    @Test(
        "Commands as JMRTD's own host writes them (signed big-endian with a leading 00, one-byte lengths) personalize our chip: CA and AA then pass"
    )
    func jmrtdHostStyle() throws {
        let image = try Line.image()
        let chip = try Line.blank(15, commandSet: .jmrtdApplet)
        func ok(_ command: CommandAPDU) throws {
            let answer = try chip.transmit(command)
            #expect(answer.statusWord == .success, "\(command): \(answer.statusWord)")
        }
        try ok(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: VietnameseCard.applicationID))
        let files = image.masterFiles + (image.applications.first?.files ?? [])
        for file in files {
            try ok(PersoProtocol.createFile(fid: file.fileID, size: file.content.count))
            try ok(PersoProtocol.selectFile(fid: file.fileID))
            var offset = 0
            while offset < file.content.count {
                let n = min(255, file.content.count - offset)
                try ok(PersoProtocol.updateBinary(offset: offset, data: Array(file.content[offset..<offset + n])))
                offset += n
            }
        }
        let key = try #require(image.secrets.bacKey)
        try ok(PersoProtocol.putBACKey(key))
        try ok(PersoProtocol.putData(.can, value: Array(try #require(image.secrets.can).utf8)))
        // Java's BigInteger.toByteArray(): a leading 00 when the top bit is set.
        func signed(_ x: [UInt8]) -> [UInt8] { x.first.map { $0 >= 0x80 } == true ? [0] + x : x }
        let aa = try AsymmetricKey(
            privateKeyDER: try #require(image.secrets.activeAuthenticationKey))
        for (tag, value) in [(UInt8(0x60), try aa.component("n")), (0x61, try aa.component("d"))] {
            let body = TLVWriter.encode(tag: 0x04, value: signed(value))
            try ok(
                CommandAPDU(
                    ins: 0xDA, p1: 0, p2: tag, data: TLVWriter.encode(tag: TLVTag(rawValue: UInt32(tag)), value: body)))
        }
        let ca = try AsymmetricKey(
            privateKeyDER: try #require(image.secrets.chipAuthenticationKey))
        let group = try ECGroup(try #require(ca.curve))
        var parts: [UInt8] = []
        for (tag, value) in [
            (UInt8(0x81), signed(group.prime)), (0x82, signed(group.a)), (0x83, signed(group.b)),
            (0x84, group.generator.encoded), (0x85, signed(group.order)),
            (0x86, signed(try ca.ecPrivateScalar().bytes())),
            (0x87, [0x00, 0x01]),
        ] {
            parts += [tag, UInt8(value.count)] + value
        }
        try ok(CommandAPDU(ins: 0xDA, p1: 0, p2: 0x63, data: parts))
        try ok(PersoProtocol.lock)
        #expect(!chip.isBlank)
        chip.reset()
        let outcome = ReadBack.verify(image, on: chip, trust: Line.trust, today: Line.today)
        #expect(outcome.passed, "\(outcome.reason)")
        #expect(outcome.result?.checks.chipAuthentication.status == .passed)
        #expect(outcome.result?.checks.activeAuthentication.status == .passed)
    }

    @Test(
        "A chip that gives no serial (JMRTD's applet): jmrtd-applet assigns one (FF…) and issues it; secure refuses it")
    func noSerial() throws {
        let image = try Line.image()
        func chip(_ set: PersoCommandSet) throws -> EmulatedChip {
            var blank = try BlankChip(
                serial: BlankChip.serial(batch: 1, index: 16), master: Line.master, commandSet: set)
            blank.answersSerial = false
            return try EmulatedChip(blank: blank)
        }
        let plain = try chip(.jmrtdApplet)
        let report = try PersoWriter(transportKeys: nil).write(
            try PersoScript.compile(image, commandSet: .jmrtdApplet, extendedLength: true), to: plain)
        #expect(report.serial.count == 10 && report.serial.first == 0xFF)
        plain.reset()
        #expect(ReadBack.verify(image, on: plain, trust: Line.trust, today: Line.today).passed)
        do {
            _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
                try PersoScript.compile(image, commandSet: .secure, extendedLength: true), to: try chip(.secure))
            Issue.record("a secure write went ahead without the chip's serial")
        } catch let error as PersoError {
            #expect(error.kind == .notBlank, "\(error)")
        }
    }

    @Test("A locked card answers 6985 to every perso command, plain or in SCP03; a second write is refused")
    func locked() throws {
        let image = try Line.image()
        let chip = try Line.blank(8)
        let writer = PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master))
        let script = try PersoScript.compile(image, commandSet: .secure, extendedLength: true)
        _ = try writer.write(script, to: chip)
        for command in [
            PersoProtocol.createFile(fid: 0x0101, size: 10), PersoProtocol.updateBinary(offset: 0, data: [1]),
            PersoProtocol.putData(.can, value: Array("123456".utf8)), PersoProtocol.lock,
            CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x30, p2: 0, data: [UInt8](repeating: 1, count: 8), ne: 256),
            CommandAPDU(cla: 0x84, ins: 0xD6, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 24)),
        ] {
            #expect(try chip.transmit(command).statusWord == .conditionsOfUseNotSatisfied, "\(command)")
        }
        #expect(throws: PersoError.self) { _ = try writer.write(script, to: chip) }
    }

    @Test(
        "A second EXTERNAL AUTHENTICATE inside an open channel is refused 6985 and closes the channel: the chip never goes on from a chaining value the host has left"
    )
    func secondExternalAuthenticate() throws {
        let chip = try Line.blank(10)
        let serial = BlankChip.serial(batch: 1, index: 10)
        #expect(
            try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: VietnameseCard.applicationID)).statusWord
                == .success)
        let keys = try SCP03.StaticKeys.diversified(master: Line.master, diversificationData: serial)
        let host = try SCP03Host(keys: keys, random: SystemRandom())
        let parsed = try SCP03Host.parse(try chip.transmit(host.initializeUpdate))
        let (channel, ea) = try host.authenticate(parsed, level: .personalization)
        #expect(try chip.transmit(ea).statusWord == .success)
        let create = PersoProtocol.createFile(fid: 0x0101, size: 10)
        #expect(try channel.unwrap(try chip.transmit(try channel.wrap(create))).statusWord == .success)
        // The same EXTERNAL AUTHENTICATE again, and one the host C-MACs on the channel's chaining value: both 6985.
        #expect(try chip.transmit(ea).statusWord == .conditionsOfUseNotSatisfied)
        let chained = try channel.wrap(CommandAPDU(cla: 0x80, ins: 0x82, p1: 0x33, p2: 0, data: Array(ea.data.prefix(8))))
        #expect(try chip.transmit(chained).statusWord == .conditionsOfUseNotSatisfied)
        // The channel is closed: a protected command is refused, whatever chaining value it was made on.
        let next = PersoProtocol.updateBinary(offset: 0, data: [1])
        #expect(try chip.transmit(try channel.wrap(next)).statusWord == .securityStatusNotSatisfied)
        // A new channel works.
        let again = try SCP03Host(keys: keys, random: SystemRandom())
        let (fresh, ea2) = try again.authenticate(
            try SCP03Host.parse(try chip.transmit(again.initializeUpdate)), level: .personalization)
        #expect(try chip.transmit(ea2).statusWord == .success)
        #expect(try fresh.unwrap(try chip.transmit(try fresh.wrap(next))).statusWord == .success)
    }

    @Test("A secure chip refuses perso commands outside SCP03 and a writer with the wrong master key")
    func secureChipRefusesClear() throws {
        let image = try Line.image()
        let chip = try Line.blank(9)
        let plain = try PersoScript.compile(image, commandSet: .jmrtdApplet, extendedLength: true)
        do {
            _ = try PersoWriter(transportKeys: nil).write(plain, to: chip)
            Issue.record("a secure chip took perso commands in clear")
        } catch {
            #expect(error.kind == .refused && error.statusWord == .securityStatusNotSatisfied, "\(error)")
        }
        let secure = try PersoScript.compile(image, commandSet: .secure, extendedLength: true)
        do {
            _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Array(0x50..<0x60))).write(secure, to: try Line.blank(10))
            Issue.record("wrong transport keys accepted")
        } catch let error as PersoError {
            #expect(error.kind == .wrongTransportKey, "\(error)")
        }
    }

    @Test("The secure command set sends no secret in clear: no key, CAN or MRZ key appears in any command")
    func noSecretOnTheWire() throws {
        let image = try Line.image()
        let recorder = Recorder(try Line.blank(11))
        _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
            try PersoScript.compile(image, commandSet: .secure, extendedLength: true), to: recorder)
        let wire = recorder.sent.flatMap { $0 }
        for secret in Secrets.of(image) {
            #expect(!wire.contains(secret), "a secret of \(secret.count) bytes crossed the wire in clear")
        }
        // The same with the JMRTD applet's plain commands does show them: the check can fail.
        let plain = Recorder(try Line.blank(12, commandSet: .jmrtdApplet))
        _ = try PersoWriter(transportKeys: nil).write(
            try PersoScript.compile(image, commandSet: .jmrtdApplet, extendedLength: true), to: plain)
        #expect(Secrets.of(image).contains { plain.sent.flatMap { $0 }.contains($0) })
    }

    @Test("A chip saved mid-perso and served again continues; a saved issued chip reads back genuine")
    func snapshot() throws {
        let image = try Line.image()
        let chip = try Line.blank(13)
        nonisolated(unsafe) var saved: [EmulatedChip.State] = []
        chip.onNonVolatileChange = { saved.append($0) }
        _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
            try PersoScript.compile(image, commandSet: .secure, extendedLength: true), to: chip)
        guard case .issued(let issued, let serial) = try #require(saved.last) else {
            Issue.record("the last state is not issued")
            return
        }
        #expect(serial == BlankChip.serial(batch: 1, index: 13).hexString)
        let again = try EmulatedChip(state: .issued(issued, serial: serial))
        #expect(
            try PersoWriter.chipSerial(on: again, aid: VietnameseCard.applicationID)
                == BlankChip.serial(batch: 1, index: 13))
        #expect(ReadBack.verify(image, on: again, trust: Line.trust, today: Line.today).passed)
        let json = try JSONEncoder().encode(saved[saved.count / 2])
        let middle = try EmulatedChip(state: try JSONDecoder().decode(EmulatedChip.State.self, from: json))
        #expect(middle.isBlank)
    }
}

@Suite("Every built-in profile personalizes and reads back genuine")
struct ProfilePersoTests {
    @Test(
        "Prepared, written through SCP03, locked, read back genuine",
        arguments: ["vn-cccd-2021", "icao-td1-bac", "icao-td3-pace"])
    func profile(_ name: String) throws {
        let profile = try CardProfile(nameOrPath: name)
        let image = try Line.image(profile: profile)
        let chip = try Line.blank(20)
        _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
            try PersoScript.compile(image, commandSet: profile.persoCommandSet, extendedLength: true), to: chip)
        chip.reset()
        let outcome = ReadBack.verify(image, on: chip, trust: Line.trust, today: Line.today)
        #expect(outcome.passed, "\(name): \(outcome.reason)")
        #expect(
            outcome.result?.accessControl
                == (profile.offersPACE ? "PACE-\(profile.canRule == .none ? "MRZ" : "CAN")" : "BAC"))
    }

    @Test("A PACE-only chip (bac: false) refuses BAC after personalization")
    func paceOnly() throws {
        var profile = CardProfile.vietnamese2021
        profile.bacEnabled = false
        let image = try Line.image(profile: profile)
        let chip = try Line.blank(21)
        _ = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
            try PersoScript.compile(image, commandSet: .secure, extendedLength: true), to: chip)
        chip.reset()
        #expect(image.bacEnabled == false)
        guard case .issued(let issued, _) = chip.state else { return }
        #expect(issued.bacEnabled == false)
        #expect(try chip.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8)).statusWord != .success)
        #expect(ReadBack.verify(image, on: chip, trust: Line.trust, today: Line.today).passed)
    }
}

/// Remembers every command's bytes.
final class Recorder: CardTransport {
    let base: any CardTransport
    var sent: [[UInt8]] = []
    init(_ base: any CardTransport) { self.base = base }
    var capabilities: TransportCapabilities { base.capabilities }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        sent.append(command.encoded())
        return try base.transmit(command)
    }
}

/// The secrets of an image as byte strings to look for: private keys (whole and their largest integers), CAN,
/// MRZ key fields.
enum Secrets {
    static func of(_ image: CardImage) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for key in [image.secrets.chipAuthenticationKey, image.secrets.activeAuthenticationKey] {
            if let der = key {
                out.append(der)
                // The private numbers (an EC scalar; RSA d, p, q), whole and in 24-byte windows: never sent in clear,
                // whole or cut. (Not windows of the DER, which holds the public half too.)
                guard let pair = try? AsymmetricKey(privateKeyDER: der) else { continue }
                let numbers =
                    pair.kind == .ec
                    ? [(try? pair.ecPrivateScalar().bytes()) ?? []]
                    : ["d", "rsa-factor1", "rsa-factor2"].map { (try? pair.component($0)) ?? [] }
                for number in numbers where number.count >= 24 {
                    out.append(number)
                    out.append(Array(number.prefix(24)))
                    out.append(Array(number.suffix(24)))
                }
            }
        }
        if let can = image.secrets.can { out.append(Array(("\u{4}\u{6}" + can).utf8)) }
        if let mrz = image.secrets.mrz {
            out.append(Array(mrz.documentNumber.utf8))
            out.append(Array((mrz.dateOfBirth + "\u{4}\u{6}" + mrz.dateOfExpiry).utf8))
        }
        return out
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return indices.dropLast(needle.count - 1).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}

@Suite("The chip's settings live in the card image, typed")
struct ChipSettingsTests {
    @Test("A prepared image carries its settings; they survive JSON; the emulator runs them")
    func prepared() throws {
        let image = try Line.image()
        let chip = try #require(image.chip)
        #expect(
            chip.bac
                && chip.pace.map { "\($0.protocol)/\($0.parameterID)" } == ["id-PACE-ECDH-GM-AES-CBC-CMAC-128/13"])
        #expect(
            chip.chipAuthentication.map { ChipSettings.domainName($0.domain) } == "brainpoolP256r1"
                && chip.activeAuthentication?.key == .rsa)
        let back = try CardImage(json: try image.json())
        #expect(back.chip == chip)
        #expect(chip.inconsistency(with: image) == nil)
        _ = try EmulatedChip(image: back)
    }

    @Test(
        "An image whose files or secrets do not fit its settings is refused with the reason",
        arguments: ["no EF.CardAccess", "no CA key", "no AA key", "no MRZ key", "PACE not announced", "CA not in DG14"])
    func inconsistent(_ change: String) throws {
        var image = try Line.image()
        var files = image.lDSFiles
        switch change {
        case "no EF.CardAccess":
            files[.cardAccess] = nil
            let chip = image.chip
            image = CardImage.eMRTD(
                files: files, bac: image.secrets.bacKey, can: image.secrets.can,
                chipAuthenticationKey: image.secrets.chipAuthenticationKey,
                activeAuthenticationKey: image.secrets.activeAuthenticationKey)
            image.chip = chip
        case "no CA key": image.secrets.chipAuthenticationKey = nil
        case "no AA key": image.secrets.activeAuthenticationKey = nil
        case "no MRZ key": image.secrets.mrz = nil
        case "PACE not announced": image.chip?.pace[0].parameterID = 12
        default: image.chip?.chipAuthentication?.version = 2
        }
        #expect(throws: EmulatorError.self) { _ = try EmulatedChip(image: image) }
    }

    @Test(
        "A setting this toolchain does not run is refused when the image is read, naming it",
        arguments: [
            ("id-PACE-ECDH-GM-AES-CBC-CMAC-128", "id-PACE-ECDH-XX"), ("id-CA-ECDH-AES-CBC-CMAC-128", "id-CA-ECDH-XX"),
            ("brainpoolP256r1", "brainpoolP999r1"), ("\"hash\" : \"SHA-1\"", "\"hash\" : \"MD5\""),
        ])
    func unknownSetting(_ change: (String, String)) throws {
        let text = String(decoding: try Line.image().json(), as: UTF8.self)
        #expect(text.contains(change.0))
        let changed = text.replacingOccurrences(of: change.0, with: change.1)
        do {
            _ = try CardImage(json: Data(changed.utf8))
            Issue.record("an image with \(change.1) was read")
        } catch {
            #expect(error.code == .invalidImage && "\(error)".contains(change.1.replacingOccurrences(of: "\"hash\" : ", with: "").replacingOccurrences(of: "\"", with: "")))
        }
    }

    @Test("The secrets section prints redacted")
    func redacted() throws {
        let image = try Line.image()
        let text = "\(image.secrets) \(String(reflecting: image.secrets)) \(image)"
        #expect(!text.contains(try #require(image.secrets.can)))
        let aaKey = try #require(image.secrets.activeAuthenticationKey)
        #expect(!text.contains(String(Data(aaKey).base64EncodedString().prefix(40))))
        #expect(!text.lowercased().contains(aaKey.suffix(20).hexString.lowercased()))
        #expect(text.contains("redacted"))
    }
}
