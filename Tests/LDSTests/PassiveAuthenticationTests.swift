import CardCore
import CardCrypto
import Foundation
import LDS
import Testing
import Verification

/// A test PKI: CSCA, document signer, data groups and their EF.SOD.
struct TestPKI {
    let cscaKey: AsymmetricKey
    let csca: Certificate
    let dsKey: AsymmetricKey
    let ds: Certificate
    var dataGroups: [Int: [UInt8]]
    var sod: [UInt8]

    init(
        signer: String = "ec", hash: HashAlgorithm = .sha256, pss: Bool = false, dsNotBefore: Int = -3600,
        dsValidity: Int = 86400 * 90, dsSerial: Int = 7
    ) throws {
        cscaKey = try .generateEC(.brainpoolP384r1)
        csca = try Certificate.create(
            subjectKey: cscaKey, issuerKey: cscaKey, issuer: nil, distinguishedName: "C=VN,O=Test,CN=Test CSCA",
            serial: 1, notBeforeOffset: -86400, validity: 86400 * 3650, isCA: true)
        switch signer {
        case "rsa": dsKey = try .generateRSA(bits: 2048)
        case "p256": dsKey = try .generateEC(.secp256r1)
        case "p384": dsKey = try .generateEC(.secp384r1)
        case "p521": dsKey = try .generateEC(.secp521r1)
        case "bp384": dsKey = try .generateEC(.brainpoolP384r1)
        case "bp512": dsKey = try .generateEC(.brainpoolP512r1)
        default: dsKey = try .generateEC(.brainpoolP256r1)
        }
        ds = try Certificate.create(
            subjectKey: dsKey, issuerKey: cscaKey, issuer: csca, distinguishedName: "C=VN,O=Test,CN=Test DS",
            serial: dsSerial, notBeforeOffset: dsNotBefore, validity: dsValidity, isCA: false)
        dataGroups = [1: [0x61, 0x03, 0x5F, 0x1F, 0x00], 2: [0x75, 0x02, 0xAA, 0xBB], 13: Array("6D Việt Nam".utf8)]
        sod = try SecurityObjectDocument.sign(
            LDSSecurityObject(hashing: dataGroups, with: hash), signer: ds, key: dsKey, signatureHash: hash, pss: pss
        ).encoded
    }

    var trust: TrustStore { TrustStore(anchors: [csca]) }
}

@Suite("EF.SOD and Passive Authentication")
struct PassiveAuthenticationTests {
    @Test("LDSSecurityObject v0 and v1 round-trip")
    func securityObject() throws {
        for version in [0, 1] {
            let object = LDSSecurityObject(hashing: [1: [1, 2, 3], 2: [4, 5]], with: .sha384, version: version)
            #expect(try LDSSecurityObject(derEncoded: object.derEncoded()) == object)
        }
        #expect(throws: LDSError.self) { try LDSSecurityObject(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x05]) }
    }

    @Test(
        "A genuine EF.SOD passes every check",
        arguments: [
            ("ec", HashAlgorithm.sha256, false), ("rsa", .sha256, false), ("rsa", .sha384, true),
            ("p256", .sha256, false),
            ("p384", .sha384, false), ("p521", .sha512, false), ("bp384", .sha384, false), ("bp512", .sha512, false),
        ])
    func genuine(_ signer: String, _ hash: HashAlgorithm, _ pss: Bool) throws {
        let pki = try TestPKI(signer: signer, hash: hash, pss: pss)
        let sod = try SecurityObjectDocument(bytes: pki.sod)
        #expect(try sod.securityObject().hashAlgorithm == hash)
        let result = PassiveAuthentication.verify(sod: pki.sod, dataGroups: pki.dataGroups, trust: pki.trust)
        #expect(result.dataGroupHashes.status == .passed)
        #expect(result.signature.status == .passed, "\(result.signature)")
        #expect(result.certificateChain.status == .passed, "\(result.certificateChain)")
        #expect(result.validity.status == .passed)
        #expect(result.overall.status == .passed)
    }

    @Test("openssl cms -verify accepts our EF.SOD with the CSCA as trust anchor", arguments: ["ec", "rsa"])
    func opensslVerifies(_ signer: String) throws {
        let pki = try TestPKI(signer: signer)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cccd-sod-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(try SecurityObjectDocument(bytes: pki.sod).cms).write(to: dir.appendingPathComponent("sod.der"))
        try pki.csca.pem.write(to: dir.appendingPathComponent("csca.pem"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "cms", "-verify", "-inform", "DER", "-in", dir.appendingPathComponent("sod.der").path,
            "-CAfile", dir.appendingPathComponent("csca.pem").path, "-out",
            dir.appendingPathComponent("content.der").path,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
        #expect(message.contains("Verification successful"))
        let content = try [UInt8](Data(contentsOf: dir.appendingPathComponent("content.der")))
        #expect(
            try LDSSecurityObject(derEncoded: content) == (try SecurityObjectDocument(bytes: pki.sod).securityObject()))
    }

    @Test("One byte of any data group changed: the hash verdict fails, naming the group", arguments: [1, 2, 13])
    func tamperedDataGroup(_ n: Int) throws {
        let pki = try TestPKI()
        var groups = pki.dataGroups
        groups[n]?[1] ^= 0x01
        let result = PassiveAuthentication.verify(sod: pki.sod, dataGroups: groups, trust: pki.trust)
        #expect(result.dataGroupHashes.status == .failed && result.dataGroupHashes.reason.contains("DG\(n)"))
        #expect(result.signature.status == .passed && result.overall.status == .failed)
    }

    @Test("One byte of the signed content changed: the signature verdict says the object was changed after signing")
    func tamperedContent() throws {
        let pki = try TestPKI()
        let object = try LDSSecurityObject(hashing: pki.dataGroups, with: .sha256).derEncoded()
        var sod = pki.sod
        let range = try #require(sod.firstRange(of: object))
        sod[range.upperBound - 1] ^= 0x01
        let result = PassiveAuthentication.verify(sod: sod, dataGroups: pki.dataGroups, trust: pki.trust)
        #expect(
            result.signature.status == .failed && result.signature.reason.contains("changed after signing"),
            "\(result.signature)")
    }

    @Test("One byte of the signature changed: the signature verdict fails")
    func tamperedSignature() throws {
        let pki = try TestPKI(signer: "rsa")
        var sod = pki.sod
        sod[sod.count - 1] ^= 0x01
        let result = PassiveAuthentication.verify(sod: sod, dataGroups: pki.dataGroups, trust: pki.trust)
        #expect(
            result.signature.status == .failed && result.signature.reason.contains("does not verify"),
            "\(result.signature)")
        #expect(result.dataGroupHashes.status == .passed)
    }

    @Test("A document signer from another CSCA: the chain verdict fails")
    func otherCSCA() throws {
        let pki = try TestPKI()
        let other = try TestPKI()
        let result = PassiveAuthentication.verify(sod: pki.sod, dataGroups: pki.dataGroups, trust: other.trust)
        #expect(result.certificateChain.status == .failed, "\(result.certificateChain)")
        #expect(result.signature.status == .passed && result.overall.status == .failed)
    }

    @Test("An expired document signer: the validity verdict fails")
    func expired() throws {
        let pki = try TestPKI(dsNotBefore: -86400 * 10, dsValidity: 86400)
        let result = PassiveAuthentication.verify(sod: pki.sod, dataGroups: pki.dataGroups, trust: pki.trust)
        #expect(result.validity.status == .failed && result.validity.reason.contains("expired"))
        #expect(result.certificateChain.status == .passed && result.overall.status == .failed)
    }

    @Test("A revoked document signer: the revocation verdict fails; a CRL without it passes")
    func revoked() throws {
        let pki = try TestPKI(dsSerial: 4242)
        let crl = try CertificateRevocationList.create(issuer: pki.csca, issuerKey: pki.cscaKey, revoking: [4242])
        let result = PassiveAuthentication.verify(
            sod: pki.sod, dataGroups: pki.dataGroups, trust: TrustStore(anchors: [pki.csca], crls: [crl]))
        #expect(
            result.revocation.status == .failed && result.revocation.reason.contains("revoked"), "\(result.revocation)")
        #expect(result.overall.status == .failed)
        let clean = try CertificateRevocationList.create(issuer: pki.csca, issuerKey: pki.cscaKey, revoking: [1])
        let ok = PassiveAuthentication.verify(
            sod: pki.sod, dataGroups: pki.dataGroups,
            trust: TrustStore(anchors: [pki.csca], crls: [try CertificateRevocationList(der: clean.der)]))
        #expect(ok.revocation.status == .passed && ok.overall.status == .passed)
    }

    @Test("No trust anchor: the chain is not checked, and said so")
    func noTrust() throws {
        let pki = try TestPKI()
        let result = PassiveAuthentication.verify(sod: pki.sod, dataGroups: pki.dataGroups, trust: nil)
        #expect(result.certificateChain.status == .notChecked && result.overall.status == .notChecked)
    }

    @Test("Trust store from a folder (PEM, DER, CRL) and from a CSCA master list; hostile files are refused")
    func trustStore() throws {
        let pki = try TestPKI()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cccd-trust-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try pki.csca.pem.write(to: dir.appendingPathComponent("csca.pem"), atomically: true, encoding: .utf8)
        let other = try TestPKI()
        try Data(other.csca.der).write(to: dir.appendingPathComponent("other.der"))
        try Data(try CertificateRevocationList.create(issuer: pki.csca, issuerKey: pki.cscaKey, revoking: []).der)
            .write(to: dir.appendingPathComponent("csca.crl"))
        let store = try TrustStore.load(paths: [dir.path])
        #expect(store.anchors.count == 2 && store.crls.count == 1)
        #expect(
            PassiveAuthentication.verify(sod: pki.sod, dataGroups: pki.dataGroups, trust: store).overall.status
                == .passed)

        let ml = try TrustStore.makeMasterList([pki.csca, other.csca], signer: pki.csca, key: pki.cscaKey)
        let mlFile = dir.appendingPathComponent("list.ml")
        try Data(ml).write(to: mlFile)
        let fromList = try TrustStore.load(paths: [mlFile.path])
        #expect(Set(fromList.anchors.map(\.der)) == Set([pki.csca.der, other.csca.der]))
        var bad = ml
        bad[bad.count - 1] ^= 0x01
        #expect(throws: LDSError.self) { try TrustStore.masterList(bad) }
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("junk.pem"))
        #expect(throws: LDSError.self) { try TrustStore.load(paths: [dir.appendingPathComponent("junk.pem").path]) }
        #expect(throws: LDSError.self) { try TrustStore.load(paths: ["/nonexistent/cscas"]) }
    }

    @Test("A hostile EF.SOD never traps: truncations and random bytes give failed verdicts")
    func hostileSOD() throws {
        let pki = try TestPKI()
        for cut in stride(from: 0, to: pki.sod.count, by: 37) {
            let result = PassiveAuthentication.verify(
                sod: Array(pki.sod.prefix(cut)), dataGroups: pki.dataGroups, trust: pki.trust)
            #expect(result.overall.status == .failed)
        }
    }
}
