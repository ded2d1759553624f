import LDS
import Personalization
import TestSupport
import Testing

@Suite("Card profiles (Profiles/*.yaml)")
struct ProfileTests {
    static let path = VectorFile.directory + "/../Profiles/vn-cccd-2021.yaml"

    @Test("Profiles/vn-cccd-2021.yaml is the built-in Vietnamese profile")
    func vietnamese() throws {
        #expect(try CardProfile(contentsOf: Self.path) == CardProfile.vietnamese2021)
    }

    @Test(
        "A wrong value names its key",
        arguments: [
            ("parameterId: 13", "parameterId: 99", "accessControl.pace.parameterId"),
            ("mapping: GM", "mapping: XX", "accessControl.pace.mapping"),
            ("curve: brainpoolP256r1", "curve: curve25519", "chipAuthentication.curve"),
            ("dataGroupHash: SHA-256", "dataGroupHash: MD5", "securityObject.dataGroupHash"),
            ("  key: rsa2048", "  key: dsa", "activeAuthentication.key"),
            ("application: A0000002471001", "application: XYZ", "application"),
            ("name: vn-cccd-2021\n", "", "missing key name"),
            ("nameTruncation: cut", "nameTruncation: ellipsis", "mrz.nameTruncation"),
            ("  DG13: 4096", "  DG13: 0", "capacities.DG13"),
            ("  DG13: 4096", "  DG99: 4096", "capacities"),
            ("  DG2: 32000 ", "  DG12: 32000 ", "capacities.DG2 is missing"),
            ("commandSet: secure", "commandSet: telepathy", "perso.commandSet"),
            ("format: TD1", "format: TD2", "mrz.format"),
            ("  bac: true", "  bac: maybe", "accessControl.bac"),
            ("can: last6OfIdNumber", "can: printed", "accessControl.can"),
            ("dataGroups: [1, 2, 3, 13, 14, 15]", "dataGroups: [1, 2, 3, 13, 15]", "must hold 14"),
            ("dataGroups: [1, 2, 3, 13, 14, 15]", "dataGroups: [1, 2, 3, 13, 14]", "must hold 15"),
            ("dataGroups: [1, 2, 3, 13, 14, 15]", "dataGroups: [1, 2, 99]", "not a data group"),
            ("  rsaPSS: false", "  rsaPSS: false\n  rsaPSSS: true", "unknown key securityObject.rsaPSSS"),
            ("quirks:", "quirk:\n  x: 1\nquirks:", "unknown key quirk (did you mean quirks?)"),
        ])
    func wrongValue(_ original: String, _ replacement: String, _ key: String) throws {
        let text = try #require(readTextFile(Self.path)).replacingOccurrences(of: original, with: replacement)
        do {
            _ = try CardProfile(yaml: text)
            Issue.record("accepted")
        } catch let error as PreparationError {
            #expect(error.reason.contains(key), "\(error)")
        }
    }
}

@Suite("Capacities decide lengths")
struct CapacityTests {
    @Test("A smaller DG13 in the profile refuses what the default accepts, naming the field and the profile's limit")
    func smallerCapacity() throws {
        var record = RecordValidationTests.base
        record.placeOfResidence = RecordValidationTests.longAddress
        #expect(RecordValidator(today: RecordValidationTests.today).validate(record).isValid)
        var profile = CardProfile.vietnamese2021
        profile.name = "small-chip"
        profile.capacities.bytes[.dataGroup(13)] = 300
        let result = RecordValidator(profile: profile, today: RecordValidationTests.today).validate(record)
        let issue = try #require(result.errors.first { $0.rule == "length" })
        #expect(issue.field == "placeOfResidence")
        #expect(issue.message.contains("300 bytes") && issue.message.contains("small-chip"))
    }
}

@Suite("Card profiles are data: typed, complete, strict")
struct ProfileSchemaTests {
    static let folder = VectorFile.directory + "/../Profiles"

    @Test("An unknown key is refused with its line and the nearest known key")
    func unknownKeyLine() throws {
        let text = try #require(readTextFile(Self.folder + "/vn-cccd-2021.yaml"))
        var lines = text.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.hasPrefix("    mapping: GM") })
        lines.insert("    mappnig: IM", at: index + 1)
        do {
            _ = try CardProfile(yaml: lines.joined(separator: "\n"))
            Issue.record("accepted")
        } catch let error as PreparationError {
            #expect(error.reason.contains("line \(index + 2)"), "\(error)")
            #expect(
                error.reason.contains("accessControl.pace.mappnig")
                    && error.reason.contains("did you mean accessControl.pace.mapping"))
        }
    }

    @Test(
        "A hostile profile is refused before YAML parsing, with its line: deep nesting, aliases, a huge file",
        arguments: [
            ("name: x\naccessControl:\n  " + String(repeating: "{", count: 5000), "line 3: nested deeper than 32"),
            ("name: x\nperso: " + String(repeating: "[", count: 40), "line 2: nested deeper than 32"),
            (
                (0..<40).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n"),
                "line 33: nested deeper than 32"
            ),
            ("a: &x [1, 2]\nb: [*x, *x]", "line 1: anchors and aliases"),
            // A comment ends at a carriage return as YAML's does (found by fuzzing), and at NEL, LS and PS.
            ("# comment\r" + String(repeating: "[", count: 40), "line 2: nested deeper than 32"),
            ("# comment\u{2028}" + String(repeating: "{", count: 40), "line 2: nested deeper than 32"),
            ("name: " + String(repeating: "a", count: 1 << 21), "bytes; a profile is at most"),
        ])
    func hostileShape(_ text: String, _ message: String) throws {
        do {
            _ = try CardProfile(yaml: text)
            Issue.record("accepted")
        } catch let error as PreparationError {
            #expect(error.reason.contains(message), "\(error.reason)")
        }
    }

    @Test("Comments may hold brackets, & and *; quoted text cannot hide nesting from the check")
    func shapeIgnoresComments() throws {
        let text = try #require(readTextFile(Self.folder + "/vn-cccd-2021.yaml"))
        let decorated =
            "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ &anchor *alias\n" + text
            + "\n# {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"
        #expect(try CardProfile(yaml: decorated) == CardProfile.vietnamese2021)
        // A quote YAML does not take as one ("it's") must not hide what follows (found by fuzzing).
        let hidden = "name: it's\naccessControl:\n  " + String(repeating: "{", count: 3000) + "\nx: '"
        #expect(throws: PreparationError.self) { try CardProfile(yaml: hidden) }
        do { _ = try CardProfile(yaml: hidden) } catch let error as PreparationError {
            #expect(error.reason.contains("nested deeper than 32"), "\(error.reason)")
        }
    }

    @Test(
        "The three built-in profiles load, each as its file says",
        arguments: ["vn-cccd-2021", "icao-td1-bac", "icao-td3-pace"])
    func builtIn(_ name: String) throws {
        let profile = try CardProfile(nameOrPath: name)
        #expect(profile.name == name)
        switch name {
        case "icao-td1-bac":
            #expect(!profile.offersPACE && !profile.offersChipAuthentication && profile.offersActiveAuthentication)
            #expect(profile.dataGroups == [1, 2, 15] && profile.canRule == .none && profile.mrzFormat == .td1)
        case "icao-td3-pace":
            #expect(profile.offersPACE && profile.offersChipAuthentication && profile.mrzFormat == .td3)
            #expect(profile.activeAuthenticationKey == .ec(.brainpoolP256r1) && profile.canRule == .none)
            #expect(profile.paceProtocol.cipher == .aes256 && profile.securityObjectVersion == 1 && profile.rsaPSS)
        default:
            #expect(profile == CardProfile.vietnamese2021)
        }
    }

    @Test(
        "Each profile's card: the files its settings call for, and no others",
        arguments: ["vn-cccd-2021", "icao-td1-bac", "icao-td3-pace"])
    func preparedFiles(_ name: String) throws {
        let profile = try CardProfile(nameOrPath: name)
        let image = try DataPreparation.prepare(
            try SampleRecord.record, profile: profile, signer: try TestPKI().signer,
            validator: RecordValidator(profile: profile, today: RecordValidationTests.today))
        let groups = Set(image.lDSFiles.keys.compactMap(\.dataGroupNumber))
        // The sample record has fingerprints: DG3 is on every card whose profile lists it.
        #expect(groups == profile.dataGroups)
        #expect((image.terminalAuthentication != nil) == profile.dataGroups.contains(3))
        #expect((image.content(of: .cardAccess) != nil) == profile.offersPACE)
        #expect((image.secrets.can != nil) == (profile.canRule == .last6OfIdNumber))
        let mrz = try DataGroup1(bytes: try #require(image.content(of: .dataGroup(1)))).mrz
        #expect(mrz.format == profile.mrzFormat)
        #expect(VietnameseCard.idNumber(from: mrz) == "001090000000")
    }
}
