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
