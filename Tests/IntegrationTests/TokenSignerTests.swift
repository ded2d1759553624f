import CardCrypto
import CardEmulator
import ChipImage
import Foundation
import Issuance
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// SoftHSM2 in a temporary folder (SOFTHSM2_CONF, never the system's tokens), one fresh token per test.
enum SoftHSM {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let missing = "SoftHSM2 is not installed (Debian's softhsm2: scripts/ensure-deps.sh installs it)"
    static let pin = "4711"

    /// The folder of this test process's tokens; SOFTHSM2_CONF points at its configuration (for this process and
    /// the cccd it runs).
    static let folder: String = {
        let dir = NSTemporaryDirectory() + "cccdkit-softhsm-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir + "/tokens", withIntermediateDirectories: true)
        let conf = "directories.tokendir = \(dir)/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"
        try? conf.write(toFile: dir + "/softhsm2.conf", atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", dir + "/softhsm2.conf", 1)
        return dir
    }()

    /// A new token with this label (user PIN `pin`).
    static func token(_ label: String) throws {
        try #require(FileManager.default.fileExists(atPath: module), Comment(rawValue: missing))
        _ = folder
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/softhsm2-util")
        p.arguments = ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "271828"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "softhsm2-util could not make the token \(label)")
    }
}

@Suite("The document signer in a PKCS#11 token (SoftHSM2)", .serialized)
struct TokenSignerTests {
    static func run(_ arguments: [String], in work: String, pin: String? = SoftHSM.pin) throws
        -> CommandLineRunner.Outcome
    {
        try CommandLineRunner.run(
            arguments, in: work,
            environment: ["SOFTHSM2_CONF": SoftHSM.folder + "/softhsm2.conf", "CCCD_PKCS11_PIN": pin ?? ""])
    }

    @Test(
        "pki init --pkcs11 makes the DS key in the token (not extractable); a batch prepared and personalized with it: every card genuine, openssl cms -verify accepts every EF.SOD",
        arguments: ["brainpoolP256r1", "p256", "rsa2048"])
    func batchWithToken(_ algorithm: String) throws {
        let label = "line-" + algorithm
        try SoftHSM.token(label)
        let work = try PersoCLITests.workspace(6, seed: 70)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let uri = "pkcs11:token=\(label);object=ds"
        let initialized = try Self.run(
            [
                "pki", "init", "--out", "hsm-pki", "--pkcs11", SoftHSM.module, "--token", label, "--algorithm",
                algorithm,
            ],
            in: work)
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/hsm-pki/ds.key"), "no DS key file")
        // The key is in the token, sensitive and never extractable (asked through PKCS#11 itself).
        let token = try PKCS11Token(module: SoftHSM.module, token: label)
        try token.login(pin: SoftHSM.pin)
        #expect(try token.selectKey(label: "ds") == (algorithm.hasPrefix("rsa") ? .rsa : .ec))
        let flags = try token.keyFlags()
        #expect(!flags.extractable && flags.sensitive)

        let prepared = try Self.run(
            ["prepare", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", SoftHSM.module, "--cvca", "hsm-pki/eac/cvca.cvcert", "--out", "images"],
            in: work)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        // Data preparation says how fast the token signed.
        #expect(
            prepared.stdout.contains("EF.SOD signed 6 times by the PKCS#11 token")
                && prepared.stdout.contains("signatures/s"), "\(prepared.stdout)")
        // An RSA key also signs RSA-PSS (the passport profile), through the token's raw RSA.
        if algorithm.hasPrefix("rsa") {
            let pss = try Self.run(
                [
                    "prepare", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", SoftHSM.module, "--profile",
                    "icao-td3-pace", "--out", "images-pss",
                ], in: work)
            #expect(pss.status == 0, "\(pss.stderr)")
        }
        let perso = try Self.run(
            [
                "perso", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", SoftHSM.module, "--cvca", "hsm-pki/eac/cvca.cvcert", "--journal", "j.db",
                "--emulated", "2", "--out", "out", "--json",
            ], in: work)
        #expect(perso.status == 0, "\(perso.stderr)")
        #expect(perso.json?["issued"] as? Int == 6)
        let trust = try TrustStore.load(paths: [work + "/hsm-pki/csca.crt"])
        var images: [String] = []
        for folder in ["images", "out/cards"] + (algorithm.hasPrefix("rsa") ? ["images-pss"] : []) {
            images += try FileManager.default.contentsOfDirectory(atPath: work + "/" + folder).map { folder + "/" + $0 }
        }
        #expect(images.count == (algorithm.hasPrefix("rsa") ? 18 : 12))
        for (i, name) in images.enumerated() {
            let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/" + name)))
            let read = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
                try #require(ReadBack.accessKey(for: image)),
                options: ReadOptions(trust: trust, today: PersoCLITests.today))
            #expect(read.assessment.genuine, "\(name): \(read.assessment.reasons)")
            // openssl's own CMS verification of EF.SOD against the CSCA.
            let sod = try SecurityObjectDocument(bytes: try #require(image.content(of: .sod)))
            let path = work + "/sod-\(i).der"
            try Data(sod.cms).write(to: URL(fileURLWithPath: path))
            let verify = try CommandLineRunner.tool(
                "/usr/bin/openssl",
                [
                    "cms", "-verify", "-in", path, "-inform", "DER", "-binary", "-CAfile", work + "/hsm-pki/csca.crt",
                    "-purpose", "any", "-out", "/dev/null",
                ], in: work)
            #expect(
                verify.status == 0 && verify.stderr.contains("Verification successful"), "\(name): \(verify.stderr)")
        }
    }

    @Test(
        "pki init --pkcs11 makes the inspection system's key in the token too (not extractable); cccd read --terminal-key pkcs11:… runs Terminal Authentication with it and reads DG3"
    )
    func inspectionSystemKeyInToken() throws {
        let label = "eac-terminal"
        try SoftHSM.token(label)
        let work = try PersoCLITests.workspace(1, seed: 72)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let made = try Self.run(
            ["pki", "init", "--out", "hsm-pki", "--pkcs11", SoftHSM.module, "--token", label], in: work)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("--terminal-key 'pkcs11:token=\(label);object=is'"), "\(made.stdout)")
        #expect(!FileManager.default.fileExists(atPath: work + "/hsm-pki/eac/is.pkcs8"), "no inspection system key file")
        #expect(!FileManager.default.fileExists(atPath: work + "/hsm-pki/eac/terminal/is.pkcs8"))
        let token = try PKCS11Token(module: SoftHSM.module, token: label)
        try token.login(pin: SoftHSM.pin)
        #expect(try token.selectKey(label: "is") == .ec)
        let flags = try token.keyFlags()
        #expect(!flags.extractable && flags.sensitive)
        // cvc-print verifies the inspection system's certificate over the token's public key.
        let printed = try CommandLineRunner.tool(
            EACInteropTests.cvcPrint, ["--cvc=hsm-pki/eac/is.cvcert", "--cvc-dir=hsm-pki/eac/cvc"], in: work)
        #expect(printed.stdout.contains("certificate verified"), "\(printed.stdout)")

        let uri = "pkcs11:token=\(label);object=ds"
        let prepared = try Self.run(
            [
                "prepare", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", SoftHSM.module, "--cvca",
                "hsm-pki/eac/cvca.cvcert", "--out", "images",
            ], in: work)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        let card = try #require(try FileManager.default.contentsOfDirectory(atPath: work + "/images").first)
        let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: work + "/images/" + card)))
        let can = try #require(image.secrets.can)
        let read = try Self.run(
            [
                "read", "--card", "images/" + card, "--can", can, "--trust", "hsm-pki/csca.crt", "--terminal",
                "hsm-pki/eac/terminal", "--terminal-key", "pkcs11:token=\(label);object=is", "--pkcs11", SoftHSM.module,
                "--json",
            ], in: work)
        #expect(read.status == 0 || read.status == 9, "\(read.stderr)")
        let checks = read.json?["checks"] as? [String: [String: String]] ?? [:]
        #expect(checks["terminalAuthentication"]?["status"] == "passed", "\(checks)")
        #expect((read.json?["files"] as? [String: Int])?["DG3"] == image.content(of: .dataGroup(3))?.count)
        // Without the PIN the token cannot sign: a clear error before any card is touched.
        let noPIN = try Self.run(
            [
                "read", "--card", "images/" + card, "--can", can, "--terminal", "hsm-pki/eac/terminal",
                "--terminal-key", "pkcs11:token=\(label);object=is", "--pkcs11", SoftHSM.module,
            ], in: work, pin: nil)
        #expect(noPIN.status == 1 && noPIN.stderr.contains("CCCD_PKCS11_PIN"), "\(noPIN.stderr)")
    }

    @Test(
        "A wrong PIN, a missing token, a missing module and a key of the wrong type: a clear error each, no card written"
    )
    func failures() throws {
        let label = "failures"
        try SoftHSM.token(label)
        let work = try PersoCLITests.workspace(3, seed: 71)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let ok = try Self.run(
            ["pki", "init", "--out", "hsm-pki", "--pkcs11", SoftHSM.module, "--token", label], in: work)
        #expect(ok.status == 0, "\(ok.stderr)")
        // A key whose certificate is another key's (an RSA certificate over an EC key).
        let token = try PKCS11Token(module: SoftHSM.module, token: label)
        try token.login(pin: SoftHSM.pin)
        _ = try token.generateKeyPair(label: "mixed", curve: .brainpoolP256r1)
        try token.storeCertificate(try TestPKI(algorithm: "rsa2048").signer.certificate.der, label: "mixed")

        let cases: [(String, String, String, String?, String)] = [
            ("wrong PIN", "pkcs11:token=\(label);object=ds", SoftHSM.module, "0000", "refused the PIN"),
            ("missing token", "pkcs11:token=no-such-token;object=ds", SoftHSM.module, SoftHSM.pin, "no token labelled"),
            (
                "missing module", "pkcs11:token=\(label);object=ds", "/usr/lib/no-such-pkcs11.so", SoftHSM.pin,
                "no PKCS#11 module"
            ),
            (
                "key of the wrong type", "pkcs11:token=\(label);object=mixed", SoftHSM.module, SoftHSM.pin,
                "its certificate"
            ),
            ("no PIN given", "pkcs11:token=\(label);object=ds", SoftHSM.module, nil, "CCCD_PKCS11_PIN"),
        ]
        for (what, uri, module, pin, says) in cases {
            let prepared = try Self.run(
                ["prepare", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", module, "--cvca", "hsm-pki/eac/cvca.cvcert", "--out", "img"], in: work,
                pin: pin)
            #expect(prepared.status == 1 && prepared.stderr.contains(says), "\(what): \(prepared.stderr)")
            #expect(!prepared.stderr.contains(SoftHSM.pin) && !prepared.stderr.contains("0000"), "a PIN in a message")
            let perso = try Self.run(
                [
                    "perso", "--batch", "batch.jsonl", "--signer", uri, "--pkcs11", module, "--cvca", "hsm-pki/eac/cvca.cvcert", "--journal", "j.db",
                    "--emulated", "1", "--out", "out",
                ], in: work, pin: pin)
            #expect(perso.status == 1 && perso.stderr.contains(says), "\(what): \(perso.stderr)")
        }
        let fm = FileManager.default
        #expect(((try? fm.contentsOfDirectory(atPath: work + "/img")) ?? []).isEmpty, "an image was written")
        #expect(((try? fm.contentsOfDirectory(atPath: work + "/out/cards")) ?? []).isEmpty, "a card was written")
    }
}
