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
