import CardCore
import CardCrypto
import CardEmulator
import ChipImage
import EAC
import Foundation
import LDS
import Personalization
import Reader
import TestSupport
import Testing
import Verification

/// CV certificates against an implementation nobody here wrote: Debian's openpace (`cvc-print`, `cvc-create`).
/// A missing tool fails the test (make deps installs openpace).
@Suite("EAC against openpace: cvc-print reads ours, our chip and terminal take cvc-create's")
struct EACInteropTests {
    static let cvcPrint = "/usr/bin/cvc-print"
    static let cvcCreate = "/usr/bin/cvc-create"

    func workFolder() throws -> String {
        let work = NSTemporaryDirectory() + "cccdkit-eac-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        return work
    }

    /// `cccd pki init` (EAC on by default): cvc-print verifies each certificate against the chain in eac/cvc.
    @Test("cvc-print verifies every certificate cccd pki init makes", arguments: ["brainpoolP256r1", "p384", "rsa2048"])
    func cvcPrintVerifiesOurs(_ algorithm: String) throws {
        let work = try workFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let made = try CommandLineRunner.run(
            ["pki", "init", "--out", "pki", "--eac", "--eac-algorithm", algorithm], in: work)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("cvca.cvcert"))
        for (name, role) in [("cvca", "CVCA certificate"), ("dv", "DV certificate"), ("is", "Terminal certificate")] {
            let printed = try CommandLineRunner.tool(
                Self.cvcPrint, ["--cvc=pki/eac/\(name).cvcert", "--cvc-dir=pki/eac/cvc"], in: work)
            #expect(printed.status == 0, "\(name): \(printed.stderr)")
            #expect(printed.stdout.contains("certificate verified"), "\(algorithm) \(name): \(printed.stdout)")
            #expect(printed.stdout.contains(role), "\(name): \(printed.stdout)")
            #expect(printed.stdout.contains("Read fingerprint") && printed.stdout.contains("Read iris"))
            // And the same certificate, parsed here, names what cvc-print names.
            let certificate = try CVCertificate(
                bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/pki/eac/\(name).cvcert"))))
            #expect(printed.stdout.contains("CHR: \(certificate.holderReference)"))
            #expect(printed.stdout.contains("Expiration Date: \(certificate.expirationDate)"))
        }
        // A flipped signature byte: cvc-print no longer verifies it.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/pki/eac/is.cvcert")))
        bytes[bytes.count - 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: work + "/tampered.cvcert"))
        let tampered = try CommandLineRunner.tool(
            Self.cvcPrint, ["--cvc=tampered.cvcert", "--cvc-dir=pki/eac/cvc"], in: work)
        #expect(!tampered.stdout.contains("certificate verified"), "\(tampered.stdout)")
    }

    /// A chain made by cvc-create (CVCA, domestic DV, inspection system reading DG3): the chip trusts its CVCA
    /// (prepare --cvca), the terminal uses its DV and IS certificates and its key, DG3 is read.
    @Test("A cvc-create chain works with our chip (prepare --cvca) and our terminal (read --terminal)")
    func cvcCreateChainWorks() throws {
        let work = try workFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let key = try AsymmetricKey.generateEC(.brainpoolP256r1)
        try Data(try key.privateKeyDER()).write(to: URL(fileURLWithPath: work + "/cvca.pkcs8"))
        func create(_ arguments: [String]) throws {
            let r = try CommandLineRunner.tool(Self.cvcCreate, arguments, in: work)
            #expect(r.status == 0, "cvc-create \(arguments): \(r.stdout) \(r.stderr)")
        }
        let expires = { (days: Int) -> String in CVDate.today().adding(days: days).digits.map(String.init).joined() }
        try create([
            "--role=cvca", "--type=is", "--chr=XXCVCA00001", "--expires=\(expires(3000))", "--sign-with=cvca.pkcs8",
            "--scheme=ECDSA_SHA_256", "--read-finger", "--read-iris",
        ])
        try create([
            "--role=dv_domestic", "--chr=XXDV00001", "--expires=\(expires(300))", "--sign-with=cvca.pkcs8",
            "--sign-as=XXCVCA00001.cvcert", "--scheme=ECDSA_SHA_256", "--read-finger", "--read-iris",
        ])
        try create([
            "--role=terminal", "--chr=XXIS00001", "--expires=\(expires(30))", "--sign-with=XXDV00001.pkcs8",
            "--sign-as=XXDV00001.cvcert", "--scheme=ECDSA_SHA_256", "--read-finger",
        ])
        // Ours parse theirs, and their chain verifies here.
        func load(_ name: String) throws -> CVCertificate {
            try CVCertificate(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/\(name).cvcert"))))
        }
        let cvca = try load("XXCVCA00001")
        let dv = try load("XXDV00001")
        let terminal = try load("XXIS00001")
        let curve = cvca.publicKey.curve(inheriting: nil)
        #expect(curve == .brainpoolP256r1)
        #expect(cvca.isSigned(by: cvca.publicKey, curve: nil))
        #expect(dv.isSigned(by: cvca.publicKey, curve: curve) && dv.authorization.role == .domesticDocumentVerifier)
        #expect(terminal.isSigned(by: dv.publicKey, curve: curve))
        #expect(terminal.authorization.rights == .dataGroup3)

        // The chip trusts their CVCA (cccd prepare --cvca), the terminal folder holds their DV, IS and IS key.
        let pki = try CommandLineRunner.run(["pki", "init", "--out", "pki", "--no-eac"], in: work)
        #expect(pki.status == 0, "\(pki.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/pki/eac"))
        let folder = VectorFile.directory + "/sample-card"
        let prepared = try CommandLineRunner.run(
            [
                "prepare", "--signer", "pki", "--cvca", "XXCVCA00001.cvcert", "--record", folder + "/record.json",
                "--out", "card.json",
            ], in: work)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        try FileManager.default.createDirectory(atPath: work + "/terminal", withIntermediateDirectories: true)
        for name in ["XXDV00001.cvcert", "XXIS00001.cvcert"] {
            try FileManager.default.copyItem(atPath: work + "/" + name, toPath: work + "/terminal/" + name)
        }
        let read = try CommandLineRunner.run(
            [
                "read", "--card", "card.json", "--can", "000000", "--trust", "pki/csca.crt", "--terminal", "terminal",
                "--terminal-key", "XXIS00001.pkcs8", "--json",
            ], in: work)
        #expect(read.status == 0, "\(read.stderr)")
        let checks = read.json?["checks"] as? [String: [String: String]] ?? [:]
        #expect(checks["terminalAuthentication"]?["status"] == "passed", "\(checks["terminalAuthentication"] ?? [:])")
        #expect(checks["terminalAuthentication"]?["reason"]?.contains("XXDV00001 → XXIS00001") == true)
        #expect((read.json?["files"] as? [String: Int])?["DG3"] != nil)
        #expect(read.json?["genuine"] as? Bool == true)

        // Without the CVCA (the signer folder has none, and no --cvca), vn-cccd-2021 refuses to prepare the card.
        let refused = try CommandLineRunner.run(
            ["prepare", "--signer", "pki", "--record", folder + "/record.json", "--out", "other.json"], in: work)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("CVCA"), "\(refused.stderr)")
        // A DV certificate given as the CVCA is refused by name.
        let wrong = try CommandLineRunner.run(
            [
                "prepare", "--signer", "pki", "--cvca", "XXDV00001.cvcert", "--record", folder + "/record.json", "--out",
                "other.json",
            ], in: work)
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("not a CVCA"), "\(wrong.stderr)")
    }
}
