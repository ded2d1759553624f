import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import LDS
import Personalization
import Reader
import Testing

/// Each item of ../shared/FIELD.md §1 and §2 in its exact byte form: the emulator sends what the peer sends, and the
/// reader meets it. The reading of whole chips (every item at once) is in `OddChipTests` and, through pcscd, in
/// `PCSCReadTests`.
@Suite("FIELD.md byte for byte: the chips nobody here wrote, as modelled and as read")
struct FieldChipTests {
    /// The BAC card with the TD1 card's 22-byte EF.COM of FIELD.md §1.1 (DG1, DG2: EF.COM is not signed).
    static let com22: [UInt8] = [
        0x60, 0x14, 0x5F, 0x01, 0x04, 0x30, 0x31, 0x30, 0x37, 0x5F, 0x36, 0x06, 0x30, 0x34, 0x30, 0x30, 0x30, 0x30,
        0x5C, 0x02, 0x61, 0x75,
    ]
    static var image: CardImage {
        var files = OddChipFixture.bacOnly.lDSFiles
        files[.com] = com22
        return Forge.rebuilt(OddChipFixture.bacOnly, files: files)
    }
    static var aid: [UInt8] { image.applications[0].aid }

    /// A chip with `oddities`, its application selected and BAC done; the terminal's session as a reader starts it.
    func opened(_ oddities: ChipOddities) throws -> (EmulatedChip, SecureMessaging) {
        let chip = try EmulatedChip(image: Self.image, settings: .personality(oddities))
        #expect(try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: Self.aid)).statusWord == .success)
        let session = try BAC.authenticate(chip, key: try #require(Self.image.secrets.bacKey))
        return (chip, session)
    }

    /// One protected exchange: the raw answer and what the terminal makes of it.
    func exchange(_ chip: EmulatedChip, _ sm: SecureMessaging, _ command: CommandAPDU) throws -> (
        raw: ResponseAPDU, plain: ResponseAPDU, sent: [UInt8]
    ) {
        let protected = try sm.protect(command)
        let raw = try chip.transmit(protected)
        return (raw, try sm.unprotect(raw), protected.encoded())
    }

    /// The tags of a protected answer's data objects, in order.
    func tags(_ data: [UInt8]) throws -> [UInt32] {
        var reader = TLVReader(data)
        var out: [UInt32] = []
        while !reader.isAtEnd, let object = try reader.readObject() { out.append(object.tag.rawValue) }
        return out
    }

    @Test(
        "§1.1: READ BINARY by SFI 1E with Le E7 on a 22-byte EF.COM → 87 19 01 <24 bytes> 6282, no DO'8E', no DO'99', uncounted; the reader discards it and goes on in step"
    )
    func overRead() throws {
        let (chip, sm) = try opened(.vicc)
        let (raw, plain, sent) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0x00, ne: 0xE7))
        #expect(Array(sent.prefix(7)) == [0x0C, 0xB0, 0x9E, 0x00, 0x0D, 0x97, 0x01] && sent[7] == 0xE7)
        #expect(raw.statusWord == .endOfFileWarning)
        #expect(raw.data.count == 27 && Array(raw.data.prefix(3)) == [0x87, 0x19, 0x01], "\(raw.data.hexString)")
        #expect(try tags(raw.data) == [0x87])
        // A status only: the data is never used.
        #expect(plain.statusWord == .endOfFileWarning && plain.data.isEmpty)
        #expect(sm.discardedAnswers == 1)
        // Not counted by the chip, nor by the terminal: the next protected read verifies.
        let (_, header, _) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0x00, ne: 4))
        #expect(header.statusWord == .success && header.data == Array(Self.com22.prefix(4)))
    }

    @Test("§1.2: an error under secure messaging is a bare two-byte status, uncounted; the session goes on")
    func plainErrors() throws {
        let (chip, sm) = try opened(ChipOddities(plainErrors: true))
        let (raw, plain, _) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x90, p2: 0x00, ne: 4))  // DG16
        #expect(raw.encoded == [0x6A, 0x82])
        #expect(plain.statusWord == .fileNotFound)
        let (_, next, _) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0x00, ne: 4))
        #expect(next.statusWord == .success && next.data == Array(Self.com22.prefix(4)))
    }

    @Test("§1.3: a 9000 answer carries DO'87' and DO'8E', never DO'99'; the MAC covers DO'87' alone")
    func noStatusObject() throws {
        let (chip, sm) = try opened(ChipOddities(noStatusObject: true))
        let (raw, plain, _) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0x00, ne: 22))
        #expect(try tags(raw.data) == [0x87, 0x8E])
        #expect(raw.statusWord == .success && plain.data == Self.com22)
        #expect(sm.answersWithoutStatusObject == 1)
    }

    @Test("§1.4: a wrong BAC key is answered 6988 on EXTERNAL AUTHENTICATE, and the reader calls it access denied")
    func wrongKey() throws {
        let chip = try EmulatedChip(image: Self.image, settings: .personality(.vicc))
        _ = try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: Self.aid))
        let right = try #require(Self.image.secrets.bacKey)
        let wrong = BACKey(documentNumber: right.documentNumber, dateOfBirth: "800101", dateOfExpiry: right.dateOfExpiry)
        #expect(throws: AccessControlError.self) { _ = try BAC.authenticate(chip, key: wrong) }
        let challenge = try chip.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8))
        #expect(challenge.statusWord == .success)
        let answer = try chip.transmit(
            CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: [UInt8](repeating: 0x11, count: 40), ne: 40))
        #expect(answer.encoded == [0x69, 0x88])
        chip.reset()
        do {
            _ = try ReaderSession(transport: chip).readCard(.mrz(wrong), options: OddChipFixture.options())
            Issue.record("a wrong key read the card")
        } catch let error as ReaderError {
            #expect(error.code == .accessDenied && error.statusWord == .incorrectSMDataObjects, "\(error)")
        }
    }

    @Test("§1.5: READ BINARY by short file identifier → 6A82; the reader SELECTs each file instead")
    func noShortFileIDs() throws {
        let chip = try EmulatedChip(image: Self.image, settings: .personality(ChipOddities(noShortFileIDs: true)))
        #expect(try chip.transmit(CommandAPDU(ins: 0xB0, p1: 0x9C, p2: 0, ne: 256)).encoded == [0x6A, 0x82])
        chip.reset()
        let result = try ReaderSession(transport: chip).readCard(
            .mrz(try #require(Self.image.secrets.bacKey)), options: OddChipFixture.options())
        OddChipFixture.expectGenuine(result, of: Self.image, "§1.5")
        #expect(result.notes.contains { $0.contains("short file identifier (6A82)") }, "\(result.notes)")
    }

    /// vicc's stock TD3 specimen (FIELD.md §1.5): no short identifiers, EF.COM's tag list as ASCII "6175" with a
    /// length of 2, EF.SOD at FID 010D and empty; DG1 of 93 bytes and DG2 of 2,085 readable by SELECT.
    static var td3Specimen: CardImage {
        let mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        let dg1 = TLVWriter.encode(tag: 0x61, value: TLVWriter.encode(tag: 0x5F1F, value: Array(mrz.utf8)))
        let dg2 = TLVWriter.encode(tag: 0x75, value: [UInt8](repeating: 0xA5, count: 2081))
        let com: [UInt8] =
            [0x60, 0x16, 0x5F, 0x01, 0x04] + Array("0107".utf8) + [0x5F, 0x36, 0x06] + Array("040000".utf8)
            + [0x5C, 0x02, 0x36, 0x31, 0x37, 0x35]
        var image = CardImage.eMRTD(
            files: [.com: com, .dataGroup(1): dg1, .dataGroup(2): dg2],
            bac: BACKey(documentNumber: "L898902C3", dateOfBirth: "740812", dateOfExpiry: "120415"),
            aid: [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01], quirks: .init())
        image.applications[0].files.append(
            CardImage.File(name: "EF 010D", fileID: 0x010D, shortFileID: nil, access: .accessControl, content: []))
        return image
    }

    @Test(
        "§1.5, vicc's stock TD3 card with every §1 item: DG1 (93 bytes) and DG2 (2,085) byte-identical by SELECT, the ASCII tag list understood, no EF.SOD so not genuine"
    )
    func td3Specimen() throws {
        let image = Self.td3Specimen
        #expect(image.content(of: .dataGroup(1))?.count == 93 && image.content(of: .dataGroup(2))?.count == 2085)
        let chip = try EmulatedChip(image: image, settings: .personality(.allOfSection1))
        let result = try ReaderSession(transport: chip).readCard(
            .mrz(try #require(image.secrets.bacKey)), options: OddChipFixture.options())
        #expect(result.accessControl == "BAC")
        #expect(result.files[.dataGroup(1)] == image.content(of: .dataGroup(1)))
        #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        #expect(result.files[.com] == image.content(of: .com))
        let notes = result.notes.joined(separator: " | ")
        #expect(notes.contains("its tag list was read as DG1, DG2"), "\(notes)")
        #expect(notes.contains("short file identifier"), "\(notes)")
        #expect(result.unreadable[.sod] != nil)
        #expect(result.checks.passiveAuthentication.status == .failed)
        #expect(!result.assessment.genuine)
        // Nothing was asked twice past what is known: header reads, then exact lengths.
        // 18 today (an independent reader written from ICAO 9303-11 alone: 36).
        #expect(result.apduCount <= 20, "\(result.apduCount) APDUs")
    }

    @Test("§2.4: READ BINARY 0C B0 9E 00 … with no file selected → 6985; the reader SELECTs instead and reads it all")
    func shortFileIDAsOffset() throws {
        let (chip, sm) = try opened(ChipOddities(shortFileIDAsOffset: true))
        let (_, plain, sent) = try exchange(chip, sm, CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0x00, ne: 0xE7))
        #expect(Array(sent.prefix(4)) == [0x0C, 0xB0, 0x9E, 0x00])
        #expect(plain.statusWord == .conditionsOfUseNotSatisfied)
        chip.reset()
        let result = try ReaderSession(transport: chip).readCard(
            .mrz(try #require(Self.image.secrets.bacKey)), options: OddChipFixture.options())
        OddChipFixture.expectGenuine(result, of: Self.image, "§2.4")
        #expect(result.notes.contains { $0.contains("short file identifier (6985)") }, "\(result.notes)")
    }

    @Test("§2.5: before the application is selected, 00 B0 9C 00 00 → 6986: no PACE, BAC follows, genuine")
    func cardAccessRefused() throws {
        let chip = try EmulatedChip(
            image: Self.image, settings: .personality(ChipOddities(noCurrentEFBeforeSelect: true)))
        #expect(try chip.transmit(CommandAPDU(bytes: [0x00, 0xB0, 0x9C, 0x00, 0x00])).encoded == [0x69, 0x86])
        chip.reset()
        let result = try ReaderSession(transport: chip).readCard(
            .mrz(try #require(Self.image.secrets.bacKey)), options: OddChipFixture.options())
        #expect(result.accessControl == "BAC")
        OddChipFixture.expectGenuine(result, of: Self.image, "§2.5")
    }

    @Test("§2.6: BAC's state survives SELECT until a reset: GET CHALLENGE → 6982; after the reset the card reads")
    func bacUntilReset() throws {
        let (chip, _) = try opened(ChipOddities(bacStateUntilReset: true))
        #expect(try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: Self.aid)).statusWord == .success)
        #expect(try chip.transmit(CommandAPDU(bytes: [0x00, 0x84, 0x00, 0x00, 0x08])).encoded == [0x69, 0x82])
        chip.reset()
        let result = try ReaderSession(transport: chip).readCard(
            .mrz(try #require(Self.image.secrets.bacKey)), options: OddChipFixture.options())
        OddChipFixture.expectGenuine(result, of: Self.image, "§2.6")
    }

    @Test("§2.2: GET DATA 80 CA 00 CF → 6D00 on JMRTD's applet, blank or issued; no extended length")
    func noSerial() throws {
        let chip = try EmulatedChip(image: Self.image, settings: .personality(.jmrtdApplet))
        #expect(try chip.transmit(CommandAPDU(bytes: [0x80, 0xCA, 0x00, 0xCF, 0x00])).encoded == [0x6D, 0x00])
        #expect(!chip.capabilities.supportsExtendedLength)
        let blank = try Self.blankApplet()
        #expect(try blank.transmit(CommandAPDU(bytes: [0x80, 0xCA, 0x00, 0xCF, 0x00])).encoded == [0x6D, 0x00])
    }

    /// A blank chip with the running applet's personality, its applet selected.
    static func blankApplet() throws -> EmulatedChip {
        var blank = try BlankChip(
            serial: [UInt8](repeating: 0x42, count: 10), master: [UInt8](repeating: 0, count: 16),
            commandSet: .jmrtdApplet, aid: aid)
        blank.answersSerial = false
        blank.modelsJMRTDApplet = true
        let chip = try EmulatedChip(blank: blank, settings: .personality(.jmrtdApplet))
        #expect(try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid)).statusWord == .success)
        return chip
    }

    @Test(
        "§2.1–2.3: the applet's perso: 60 00 04 L n → 9000, the nested 60 L (04 L n) → 6F00, a chained 2048-bit modulus → 6F00, PUT DATA 70/73 → 6A86; CREATE FILE, SELECT 02 0C, UPDATE BINARY of 255, PUT DATA 62 and the lock → 9000"
    )
    func appletPerso() throws {
        let chip = try Self.blankApplet()
        func send(_ bytes: [UInt8]) throws -> [UInt8] { try chip.process(bytes) }
        let n = [UInt8](repeating: 0xC3, count: 128)
        // The nested form JMRTD's host writes: 00 DA 00 60 86 60 81 83 04 81 80 <n>.
        #expect(try send([0x00, 0xDA, 0x00, 0x60, 0x86, 0x60, 0x81, 0x83, 0x04, 0x81, 0x80] + n) == [0x6F, 0x00])
        // The flat form the applet parses: 00 DA 00 60 85 60 00 04 81 80 <n> (and with a leading 00 of n).
        #expect(try send([0x00, 0xDA, 0x00, 0x60, 0x85, 0x60, 0x00, 0x04, 0x81, 0x80] + n) == [0x90, 0x00])
        #expect(try send([0x00, 0xDA, 0x00, 0x60, 0x86, 0x60, 0x00, 0x04, 0x81, 0x81, 0x00] + n) == [0x90, 0x00])
        // RSA-2048 in a command chain: each part refused.
        let big = [0x60, 0x00, 0x04, 0x82, 0x01, 0x00] + [UInt8](repeating: 0xC3, count: 256)
        #expect(try send([0x10, 0xDA, 0x00, 0x60, 0xFF] + Array(big.prefix(255))) == [0x6F, 0x00])
        #expect(try send([0x00, 0xDA, 0x00, 0x60, UInt8(big.count - 255)] + Array(big.dropFirst(255))) == [0x6F, 0x00])
        // No CAN, no chip options.
        #expect(try send([0x00, 0xDA, 0x00, 0x70, 0x0A, 0x70, 0x08, 0x04, 0x06] + Array("123456".utf8)) == [0x6A, 0x86])
        #expect(try send([0x00, 0xDA, 0x00, 0x73, 0x05, 0x73, 0x03, 0x04, 0x01, 0x01]) == [0x6A, 0x86])
        // No extended length.
        #expect(try send([0x00, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x06, 0x63, 0x04, 0x01, 0x00, 0x01, 0x01]) == [0x67, 0x00])
        // The file commands and the BAC seed, as sent.
        #expect(try send([0x00, 0xE0, 0x00, 0x00, 0x06, 0x63, 0x04, 0x01, 0x00, 0x01, 0x01]) == [0x90, 0x00])
        #expect(try send([0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01]) == [0x90, 0x00])
        #expect(try send([0x00, 0xD6, 0x00, 0x00, 0xFF] + [UInt8](repeating: 0x61, count: 255)) == [0x90, 0x00])
        let seed = PersoProtocol.putBACKey(BACKey(documentNumber: "L898902C<", dateOfBirth: "740812", dateOfExpiry: "120415"))
        #expect(try send(seed.encoded()) == [0x90, 0x00])
        #expect(try send([0x00, 0xDA, 0xDE, 0xAD]) == [0x90, 0x00])
        #expect(!chip.isBlank)
    }

    @Test("A profile asking jmrtd-applet for what the applet cannot hold is refused up front, with the reason")
    func jmrtdProfileRefusals() throws {
        let base = try #require(CardProfile.builtInYAML["jmrtd-applet-td1"])
        #expect(try CardProfile(yaml: base).persoCommandSet == .jmrtdApplet)
        let cases: [(String, String)] = [
            (base.replacingOccurrences(of: "key: rsa1024 ", with: "key: rsa2048 "), "RSA-1024"),
            (base.replacingOccurrences(of: "key: rsa1024 ", with: "key: brainpoolP256r1 "), "not EC"),
            (
                try #require(CardProfile.builtInYAML["vn-cccd-2021"]).replacingOccurrences(
                    of: "commandSet: secure", with: "commandSet: jmrtd-applet"), "jmrtd-applet"
            ),
        ]
        for (yaml, reason) in cases {
            do {
                _ = try CardProfile(yaml: yaml)
                Issue.record("accepted: \(reason)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
    }

    @Test("A foreign MRZ with a wrong composite check digit keys BAC (the key's digits are checked, the others noted)")
    func foreignMRZ() throws {
        let good = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        let badComposite = String(good.dropLast()) + "9"
        #expect(throws: LDSError.self) { _ = try MRZ(parsing: badComposite) }
        let lenient = try MRZ(parsing: badComposite, checking: .accessKeyDigits)
        #expect(lenient.uncheckedDigits == ["composite"])
        guard case .mrz(let key) = try DeskKey.accessKey(mrz: badComposite) else {
            Issue.record("not an MRZ key")
            return
        }
        #expect(key == (try MRZ(parsing: good).bacKey))
        #expect(DeskKey.mrzNotes(badComposite).first?.contains("composite") == true)
        let badDocumentDigit = good.prefix(53) + "5" + good.dropFirst(54)
        #expect(throws: DeskKeyError.self) { _ = try DeskKey.accessKey(mrz: String(badDocumentDigit)) }
        // And the TD3 specimen reads with it.
        let chip = try EmulatedChip(image: Self.td3Specimen, settings: .personality(.allOfSection1))
        let result = try ReaderSession(transport: chip).readCard(.mrz(key), options: OddChipFixture.options())
        #expect(result.files[.dataGroup(1)] == Self.td3Specimen.content(of: .dataGroup(1)))
    }
}
