import CardCore
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// A chip variant: the items of FIELD.md (byte for byte as peers send them), whole chips of FIELD.md, and
/// hypothetical variants (faults) that test the reader's general rules.
struct OddChip: Sendable, CustomTestStringConvertible {
    let name: String
    var oddities = ChipOddities()
    var faultPlan = FaultPlan()
    /// JMRTD's applet has no PACE and no extended length: its items are read on a BAC card.
    var bacOnly = false
    var testDescription: String { name }

    var settings: EmulatorSettings { .personality(oddities, faultPlan: faultPlan) }

    static let variants: [OddChip] = [
        // FIELD.md §1, one item at a time.
        OddChip(
            name: "§1.1 an over-long read answered DO'87' without MAC, 6282, uncounted",
            oddities: ChipOddities(overReadUnauthenticated: true)),
        OddChip(
            name: "§1.2 errors as a plain status, uncounted (after a refused extended Le)",
            oddities: ChipOddities(plainErrors: true), faultPlan: FaultPlan(wrongLengthForExtendedLe: true)),
        OddChip(name: "§1.3 9000 answers without DO'99'", oddities: ChipOddities(noStatusObject: true)),
        OddChip(name: "§1.5 no short file identifiers (6A82)", oddities: ChipOddities(noShortFileIDs: true)),
        OddChip(name: "§1: every item at once", oddities: .allOfSection1),
        OddChip(
            name: "§1: every item at once, after a refused extended Le", oddities: .allOfSection1,
            faultPlan: FaultPlan(wrongLengthForExtendedLe: true)),
        // FIELD.md §2, as a reader meets JMRTD's applet.
        OddChip(
            name: "§2.4 READ BINARY by SFI taken as an offset (6985)", oddities: ChipOddities(shortFileIDAsOffset: true)),
        OddChip(
            name: "§2.5 EF.CardAccess refused before SELECT (6986)",
            oddities: ChipOddities(noCurrentEFBeforeSelect: true), bacOnly: true),
        OddChip(
            name: "§2.6 BAC state kept until a reset", oddities: ChipOddities(bacStateUntilReset: true), bacOnly: true),
        OddChip(name: "§2: JMRTD's applet, every reading item", oddities: .jmrtdApplet, bacOnly: true),
        // Hypothetical chips (not in FIELD.md): the reader's rules are general.
        OddChip(
            name: "plain errors counted in the SSC", faultPlan: FaultPlan(
                wrongLengthForExtendedLe: true, plainErrors: true, plainErrorsCounted: true)),
        OddChip(
            name: "plain errors as a bare DO'99'", faultPlan: FaultPlan(
                wrongLengthForExtendedLe: true, plainErrors: true, plainErrorsAsDO99: true)),
        OddChip(
            name: "a read past the end refused with a bare 6282",
            faultPlan: FaultPlan(readPastEndStatus: .endOfFileWarning)),
        OddChip(name: "a read past the end refused with 6B00", faultPlan: FaultPlan(readPastEndStatus: .wrongP1P2)),
        OddChip(name: "a read past the end refused with 6700", faultPlan: FaultPlan(readPastEndStatus: .wrongLength)),
    ] + [0x6A86, 0x6B00, 0x6D00, 0x6981, 0x6985, 0x6986, 0x6A81, 0x6E00].map { (sw: UInt16) in
        OddChip(
            name: "READ BINARY by SFI refused with \(StatusWord(rawValue: sw).hex)",
            faultPlan: FaultPlan(shortFileIDStatus: StatusWord(rawValue: sw)))
    } + [
        OddChip(
            name: "every hypothetical variant at once",
            faultPlan: FaultPlan(
                wrongLengthForExtendedLe: true, plainErrors: true, plainErrorsCounted: true, plainErrorsAsDO99: true,
                readPastEndStatus: .endOfFileWarning, shortFileIDStatus: .incorrectP1P2))
    ]
}

/// One prepared Vietnamese card (real portrait) and its issuer, shared by the tests of this file.
enum OddChipFixture {
    static let today = CalendarDate(year: 2026, month: 11, day: 22)!
    static let folder = VectorFile.directory + "/sample-card"

    nonisolated(unsafe) static let prepared: (image: CardImage, issuer: Issuer) = {
        do {
            let issuer = try Issuer()
            let record = try RecordDecoder.decodeRecord(
                [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/record.json"))))
            let image = try DataPreparation.prepare(
                record, signer: issuer.signer, baseDirectory: folder, validator: RecordValidator(today: today))
            return (image, issuer)
        } catch {
            fatalError("the test card cannot be prepared: \(error)")
        }
    }()

    /// The card as a BAC-only ICAO chip (no EF.CardAccess, no PACE).
    static var bacOnly: CardImage {
        var files = prepared.image.lDSFiles
        files[.cardAccess] = nil
        return Forge.rebuilt(prepared.image, files: files)
    }

    static var trust: TrustStore { TrustStore(anchors: [prepared.issuer.csca]) }

    /// Every file, EF.COM included (the tests compare every file of the image).
    static func options() -> ReadOptions {
        var options = ReadOptions(trust: trust, today: today)
        options.readsEFCOM = true
        return options
    }

    /// Every file of `image` read byte for byte, every check passed, genuine.
    static func expectGenuine(_ result: ReadResult, of image: CardImage, _ context: String) {
        // EF.CardAccess is read in plain for access control and is not part of the report (nothing protects it).
        for (file, content) in image.lDSFiles where file != .cardAccess {
            // DG3 opens only to an inspection system (Terminal Authentication): without one it is skipped, by name.
            if file.needsTerminalAuthentication, result.files[file] == nil {
                #expect(
                    result.skipped[file]?.contains("Terminal Authentication") == true,
                    "\(context): \(file.name) neither read nor skipped for Terminal Authentication")
                continue
            }
            #expect(result.files[file] == content, "\(context): \(file.name) differs or is missing")
        }
        let c = result.checks
        for (name, v) in [
            ("PA", c.passiveAuthentication), ("AA", c.activeAuthentication), ("consistency", c.recordConsistency),
            ("validity", c.documentValidity),
        ] {
            #expect(v.status == .passed, "\(context): \(name): \(v)")
        }
        if image.content(of: .cardAccess) != nil {
            #expect(c.chipAuthentication.status == .passed, "\(context): CA: \(c.chipAuthentication)")
        }
        #expect(result.assessment.genuine && result.assessment.valid, "\(context): \(result.assessment.reasons)")
    }
}

@Suite("Chips that exist: the reader tolerates deployed chips' oddities, notes them, trusts no unauthenticated data")
struct OddChipTests {
    enum Card: String, CaseIterable, Sendable {
        case vietnameseExtended = "Vietnamese card, extended length"
        case vietnameseShort = "Vietnamese card, short APDUs"
        case bac = "ICAO BAC-only card"
    }

    func read(_ card: Card, _ variant: OddChip, options: ReadOptions = OddChipFixture.options()) throws -> ReadResult {
        let image = card == .bac ? OddChipFixture.bacOnly : OddChipFixture.prepared.image
        var settings = variant.settings
        if card == .vietnameseShort { settings.supportsExtendedLength = false }
        let chip = try EmulatedChip(image: image, settings: settings)
        let key: AccessKey = card == .bac ? .mrz(try #require(image.secrets.bacKey)) : .can("000000")
        return try ReaderSession(transport: chip).readCard(key, options: options)
    }

    @Test(
        "Each oddity and all at once: every file byte-identical, genuine, and the notes say what was tolerated",
        arguments: OddChip.variants, Card.allCases)
    func tolerated(_ variant: OddChip, _ card: Card) throws {
        if variant.bacOnly && card != .bac { return }
        let result = try read(card, variant)
        let image = card == .bac ? OddChipFixture.bacOnly : OddChipFixture.prepared.image
        OddChipFixture.expectGenuine(result, of: image, "\(variant.name), \(card.rawValue)")
        let notes = result.notes.joined(separator: " | ")
        for word in Self.expectedNotes(variant, card) {
            #expect(notes.contains(word), "\(variant.name), \(card.rawValue): notes lack \"\(word)\": \(notes)")
        }
    }

    /// What the report must say it tolerated. A plain answer under secure messaging needs a refusal under secure
    /// messaging: on a BAC card every file is read protected; on a PACE card the chip's refusals of short file
    /// identifiers and of reads past the end are learnt from EF.CardAccess, read in plain before PACE; an
    /// extended Le (which EF.CardAccess is never read with) and §1.1's over-long read are met under it.
    static func expectedNotes(_ v: OddChip, _ card: Card) -> [String] {
        let o = v.oddities
        let f = v.faultPlan
        var out: [String] = []
        let sfi = o.noShortFileIDs || o.shortFileIDAsOffset || f.shortFileIDStatus != nil
        let plainErrors = o.plainErrors || f.plainErrors
        let extendedRefused = f.wrongLengthForExtendedLe && card != .vietnameseShort
        if o.overReadUnauthenticated || f.readPastEndStatus != nil { out.append("past the end") }
        if sfi { out.append("short file identifier") }
        if o.noStatusObject { out.append("without DO'99'") }
        if o.overReadUnauthenticated { out.append("the data was discarded") }
        let plainUnderSM =
            o.overReadUnauthenticated
            || (card == .bac
                ? f.readPastEndStatus != nil || (plainErrors && (sfi || extendedRefused))
                : plainErrors && extendedRefused && f.readPastEndStatus == nil)
        if plainUnderSM { out.append("without secure messaging") }
        if plainUnderSM && f.plainErrorsCounted { out.append("counts its unprotected status answers") }
        return out
    }

    @Test(
        "A textbook chip: 16 APDUs for the Vietnamese read at the floor (EF.COM only when asked: 17), no tolerance notes"
    )
    func wellBehavedUnchanged() throws {
        let complete = try read(.vietnameseExtended, OddChip(name: "textbook"))
        #expect(complete.apduCount == 17)
        #expect(complete.notes.isEmpty, "\(complete.notes)")
        OddChipFixture.expectGenuine(complete, of: OddChipFixture.prepared.image, "textbook")
        var floor = OddChipFixture.options()
        floor.readsEFCOM = false
        let result = try read(.vietnameseExtended, OddChip(name: "textbook"), options: floor)
        #expect(result.apduCount == 16)
        #expect(result.files[.com] == nil && result.assessment.genuine && result.notes.isEmpty, "\(result.notes)")
    }

    @Test("No short identifiers costs one SELECT per file; a refused read past the end, one header read per file")
    func toleranceCosts() throws {
        let baseline = try read(.vietnameseExtended, OddChip(name: "textbook"))
        let files = baseline.files.count + 1  // and EF.CardAccess, read before PACE
        let noSFI = try read(
            .vietnameseExtended, OddChip(name: "no SFI", faultPlan: FaultPlan(shortFileIDStatus: .incorrectP1P2)))
        // The first refused READ BINARY, then a SELECT before each file.
        #expect(noSFI.apduCount == baseline.apduCount + 1 + files)
        let headerFirst = try read(
            .vietnameseExtended, OddChip(name: "past end", faultPlan: FaultPlan(readPastEndStatus: .endOfFileWarning))
        )
        #expect(headerFirst.apduCount == baseline.apduCount + 1 + files)
    }

    @Test("A wrong MRZ key answered 6988 is access denied (BAC and PACE-MRZ)", arguments: [false, true])
    func wrongKey6988(_ pace: Bool) throws {
        let image = pace ? OddChipFixture.prepared.image : OddChipFixture.bacOnly
        let chip = try EmulatedChip(
            image: image, settings: EmulatorSettings(oddities: ChipOddities(wrongKey6988: true)))
        let right = try #require(image.secrets.bacKey)
        let wrong = BACKey(
            documentNumber: right.documentNumber, dateOfBirth: "800101", dateOfExpiry: right.dateOfExpiry)
        do {
            _ = try ReaderSession(transport: chip).readCard(.mrz(wrong), options: OddChipFixture.options())
            Issue.record("a wrong key was accepted")
        } catch let error as ReaderError {
            #expect(error.code == .accessDenied, "\(error)")
            #expect(error.statusWord == .incorrectSMDataObjects)
        }
    }

    @Test("A malformed EF.COM: the data groups come from EF.SOD, the card reads genuine, and the notes say so")
    func malformedCOM() throws {
        let (image, _) = OddChipFixture.prepared
        var files = image.lDSFiles
        files[.com] = [0x60, 0x05, 0x5F, 0x01, 0x04, 0x30, 0x31]  // LDS version, then the tag list missing
        let odd = Forge.rebuilt(image, files: files)
        // With every oddity too: a 7-byte file on a chip that will not read past the end needs a shorter header read.
        for oddities in [ChipOddities(), ChipOddities.allOfSection1] {
            let result = try ReaderSession(
                transport: try EmulatedChip(image: odd, settings: EmulatorSettings(oddities: oddities))
            ).readCard(.can("000000"), options: OddChipFixture.options())
            OddChipFixture.expectGenuine(result, of: odd, "malformed EF.COM, \(oddities)")
            #expect(result.notes.contains { $0.contains("EF.COM cannot be parsed") }, "\(result.notes)")
        }
    }

    @Test("No EF.SOD: Passive Authentication fails (\"no EF.SOD on the card\"), the data is still read and shown")
    func noSOD() throws {
        let (image, _) = OddChipFixture.prepared
        var files = image.lDSFiles
        files[.sod] = nil
        let odd = Forge.rebuilt(image, files: files)
        let result = try ReaderSession(transport: try EmulatedChip(image: odd)).readCard(
            .can("000000"), options: OddChipFixture.options())
        #expect(result.checks.passiveAuthentication.status == .failed)
        #expect(result.checks.passiveAuthentication.reason.contains("no EF.SOD on the card"))
        #expect(!result.assessment.genuine)
        for n in [1, 2, 13, 14, 15] { #expect(result.files[.dataGroup(n)] == image.content(of: .dataGroup(n))) }
    }

    @Test("A malformed EF.COM and no EF.SOD: the standard data groups are probed and reported")
    func probed() throws {
        let (image, _) = OddChipFixture.prepared
        var files = image.lDSFiles
        files[.sod] = nil
        files[.com] = [0x60, 0x02, 0xFF, 0xFF]
        let odd = Forge.rebuilt(image, files: files)
        for oddities in [ChipOddities(), ChipOddities.allOfSection1] {
            let result = try ReaderSession(
                transport: try EmulatedChip(image: odd, settings: EmulatorSettings(oddities: oddities))
            ).readCard(.can("000000"), options: OddChipFixture.options())
            #expect(result.notes.contains { $0.contains("probed") }, "\(result.notes)")
            for n in [1, 2, 13, 14, 15] {
                #expect(result.files[.dataGroup(n)] == image.content(of: .dataGroup(n)), "DG\(n), \(oddities)")
            }
            #expect(result.checks.passiveAuthentication.reason.contains("no EF.SOD on the card"))
        }
    }

    @Test("--allow-bac-fallback: PACE works but the application is missing → no eMRTD application, no BAC attempt")
    func noFallbackAfterPACE() throws {
        var image = OddChipFixture.prepared.image
        image.applications[0].aid = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x99]
        let recorder = RecordingTransport(try EmulatedChip(image: image))
        let key = AccessKey.mrz(try #require(image.secrets.bacKey))
        do {
            _ = try ReaderSession(transport: recorder).readCard(
                key, options: ReadOptions(allowBACFallback: true, today: OddChipFixture.today))
            Issue.record("read a card without its application")
        } catch let error as ReaderError {
            #expect(error.code == .notAnEMRTD, "\(error)")
        }
        let instructions = recorder.commands.map { $0[1] }
        #expect(!instructions.contains(0x84), "GET CHALLENGE (BAC) was sent")
        #expect(!instructions.contains(0x82), "EXTERNAL AUTHENTICATE (BAC) was sent")
        // The SELECT after PACE was protected: no plain SELECT broke the session.
        #expect(recorder.commands.filter { $0[1] == 0xA4 }.allSatisfy { $0[0] & 0x0C == 0x0C })
    }

    @Test("--allow-bac-fallback still falls back when PACE itself cannot run and the MRZ is given")
    func fallbackWhenPACEFails() throws {
        let image = OddChipFixture.prepared.image
        // The chip refuses MSE:Set AT (PACE) but knows BAC.
        let chip = try EmulatedChip(
            image: image, settings: EmulatorSettings(faultPlan: FaultPlan(statusForCommand: [2: .functionNotSupported]))
        )
        let key = AccessKey.mrz(try #require(image.secrets.bacKey))
        let result = try ReaderSession(transport: chip).readCard(
            key, options: ReadOptions(allowBACFallback: true, trust: OddChipFixture.trust, today: OddChipFixture.today))
        #expect(result.accessControl == "BAC")
        #expect(result.notes.contains { $0.contains("fell back to BAC") })
    }
}
