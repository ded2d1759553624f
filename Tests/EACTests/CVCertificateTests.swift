import CardCore
import CardCrypto
import ChipAccess
import EAC
import Foundation
import TestSupport
import Testing

/// CV certificates against the BSI worked example's published certificates, round trips for every TA algorithm,
/// and hostile encodings.
@Suite struct CVCertificateTests {
    static let vectors = try! VectorFile("bsi-tr03110-eac-worked-example-ta.txt")

    func certificate(_ name: String) throws -> CVCertificate {
        try CVCertificate(bytes: try Self.vectors.section(with: name).hex(name))
    }

    @Test func workedExampleCertificatesParseAndVerify() throws {
        let section = try Self.vectors.section(with: "ECDH_CVCA")
        let cvca = try certificate("ECDH_CVCA")
        #expect(cvca.holderReference.value == (try section.text("ECDH_CVCA_CHR")))
        #expect(cvca.authorityReference == cvca.holderReference)
        #expect(cvca.isCVCA)
        #expect(cvca.publicKey.algorithm == .ecdsaSHA512)
        #expect(cvca.publicKey.curve(inheriting: nil) == .brainpoolP512r1)
        #expect(cvca.effectiveDate.description == (try section.text("ECDH_CVCA_EFFECTIVE")))
        #expect(cvca.expirationDate.description == (try section.text("ECDH_CVCA_EXPIRES")))
        #expect(cvca.authorization.rights == .all)
        // The self-signature, with the key and domain parameters the certificate carries.
        #expect(cvca.isSigned(by: cvca.publicKey, curve: nil))
        // Byte for byte: the certificate encodes again as it came.
        #expect(cvca.encoded == (try Self.vectors.section(with: "ECDH_CVCA").hex("ECDH_CVCA")))

        let dv = try certificate("ECDH_DV")
        #expect(dv.authorityReference == cvca.holderReference)
        #expect(dv.authorization.role == .domesticDocumentVerifier)
        #expect(!dv.authorization.isInspectionSystemType)  // EAC2's id-AT: an eMRTD grants it nothing
        #expect(dv.authorization.rights == [])
        #expect(dv.publicKey.curve(inheriting: nil) == nil)  // inherited from the CVCA

        let rsa = try certificate("DH_CVCA")
        #expect(rsa.publicKey.algorithm == .rsaV15SHA1)
        #expect(rsa.effectiveDate.description == (try Self.vectors.section(with: "DH_CVCA").text("DH_CVCA_EFFECTIVE")))
        #expect(rsa.isSigned(by: rsa.publicKey, curve: nil))

        // Another CVCA's key does not verify it; nor does a flipped signature.
        #expect(!cvca.isSigned(by: rsa.publicKey, curve: nil))
        var flipped = cvca
        flipped.signature[5] ^= 0x01
        #expect(!flipped.isSigned(by: cvca.publicKey, curve: nil))
    }

    @Test func workedExampleChainVerifiesWithInheritedParameters() throws {
        let cvca = try certificate("ECDH_CVCA")
        let dv = try certificate("ECDH_DV")
        let terminal = try certificate("ECDH_AT")
        let curve = cvca.publicKey.curve(inheriting: nil)
        #expect(dv.isSigned(by: cvca.publicKey, curve: curve))
        #expect(terminal.authorityReference == dv.holderReference)
        #expect(terminal.isSigned(by: dv.publicKey, curve: curve))
        #expect(!terminal.isSigned(by: cvca.publicKey, curve: curve))
    }

    @Test func workedExampleTerminalAuthenticationInputs() throws {
        let s = try Self.vectors.section(with: "plain_cmd")
        let command = TerminalAuthentication.setVerificationKey(try CVReference("DETESTDVDE019"))
        #expect(command.encoded() == (try s.hex("plain_cmd")))
        // Under the worked example's secure messaging (the SSC is incremented before the command).
        let keys = try SecureMessagingKeys(
            cipher: .aes128, encryptionKey: try s.hex("KSenc"), macKey: try s.hex("KSmac"))
        let sm = SecureMessaging(keys: keys, ssc: try s.hex("SSC"))
        #expect(try sm.protect(command).encoded() == (try s.hex("protected_cmd")))

        let c = try Self.vectors.section(with: "ID_PICC")
        #expect(TerminalAuthentication.compressed(try c.hex("PK_eph_PICC"), agreement: .ecdh) == (try c.hex("ID_PICC")))
        #expect(
            TerminalAuthentication.compressed(try c.hex("PK_PCD_CA"), agreement: .ecdh) == (try c.hex("Comp_PK_PCD_CA")))
        // DH: SHA-1 of the public value.
        #expect(TerminalAuthentication.compressed([1, 2, 3], agreement: .dh) == HashAlgorithm.sha1.hash([1, 2, 3]))
        // After BAC: the document number and its check digit (ICAO 9303-3 7-3-1).
        #expect(TerminalAuthentication.chipIdentifier(documentNumber: "L898902C<") == Array("L898902C<3".utf8))
    }

    /// Every algorithm TA names: a chain built, encoded, parsed again to the same fields, and verified.
    @Test(arguments: TerminalAuthenticationAlgorithm.allCases)
    func roundTrip(_ algorithm: TerminalAuthenticationAlgorithm) throws {
        let key: AsymmetricKey =
            algorithm.isRSA
            ? try .generateRSA(bits: 2048)
            : try .generateEC(algorithm.hash == .sha512 ? .brainpoolP512r1 : algorithm.hash == .sha384 ? .secp384r1 : .brainpoolP256r1)
        let today = try CVDate(year: 2026, month: 12, day: 4)
        var cvca = CVCertificate(
            authorityReference: try CVReference("VNCVCA00001"),
            publicKey: try CVPublicKey(key, algorithm: algorithm, withDomainParameters: true),
            holderReference: try CVReference("VNCVCA00001"),
            authorization: CVAuthorization(role: .cvca, rights: .all), effectiveDate: today,
            expirationDate: today.adding(days: 365))
        try cvca.sign(with: key, algorithm: algorithm)
        let parsed = try CVCertificate(bytes: cvca.encoded)
        #expect(parsed == cvca)
        #expect(parsed.encoded == cvca.encoded)
        #expect(parsed.publicKey.algorithm == algorithm)
        #expect(parsed.isSigned(by: parsed.publicKey, curve: nil))
        // A DV under it: the point only, the curve inherited.
        let dvKey: AsymmetricKey = algorithm.isRSA ? try .generateRSA(bits: 2048) : try .generateEC(key.curve!)
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00001"), role: .domesticDocumentVerifier,
            rights: .dataGroup3, issuer: EACTestPKI.Entity(certificate: cvca, key: key), issuerKey: key,
            effective: today, expires: today.adding(days: 30), pss: algorithm.isPSS)
        let parsedDV = try CVCertificate(bytes: dv.encoded)
        #expect(parsedDV.authorization.rights == .dataGroup3)
        #expect(parsedDV.isSigned(by: cvca.publicKey, curve: cvca.publicKey.curve(inheriting: nil)))
        var tampered = parsedDV
        tampered.signature[tampered.signature.count / 2] ^= 0x80
        #expect(!tampered.isSigned(by: cvca.publicKey, curve: cvca.publicKey.curve(inheriting: nil)))
    }

    @Test func datesAndReferences() throws {
        let date = try CVDate(digits: [2, 6, 1, 2, 0, 4])
        #expect(date.description == "2026-12-04")
        #expect(date.digits == [2, 6, 1, 2, 0, 4])
        #expect(try CVDate(iso: "2028-02-29").adding(days: 1).description == "2028-03-01")
        #expect(throws: CVCertificateError.self) { try CVDate(digits: [2, 6, 1, 3, 0, 1]) }  // month 13
        #expect(throws: CVCertificateError.self) { try CVDate(digits: [2, 7, 0, 2, 2, 9]) }  // 2027 is no leap year
        #expect(throws: CVCertificateError.self) { try CVDate(digits: [2, 6, 1, 2, 0]) }
        #expect(throws: CVCertificateError.self) { try CVDate(digits: [0x32, 6, 1, 2, 0, 4]) }  // ASCII, not digits
        let reference = try CVReference("VNDV00001")
        #expect(reference.country == "VN" && reference.mnemonic == "DV" && reference.sequence == "00001")
        #expect(throws: CVCertificateError.self) { try CVReference("VN0001") }
        #expect(throws: CVCertificateError.self) { try CVReference("VNCVCA0000100000001") }
        #expect(throws: CVCertificateError.self) { try CVReference("VNCVCA\u{7}0001") }
    }

    /// Hostile encodings end in a typed error naming what is wrong; nothing traps.
    @Test func hostileCertificates() throws {
        let pki = try EACTestPKI.make(today: try CVDate(year: 2026, month: 12, day: 4))
        let good = pki.documentVerifier.certificate.encoded
        func refused(_ bytes: [UInt8], _ code: CVCertificateError.Code, _ label: Comment) {
            do {
                _ = try CVCertificate(bytes: bytes)
                Issue.record("accepted: \(label)")
            } catch {
                #expect(error.code == code, label)
            }
        }
        refused([], .malformed, "empty")
        refused(Array(good.prefix(good.count - 3)), .malformed, "truncated")
        refused([0x7F, 0x22] + good.dropFirst(2), .malformed, "wrong outer tag")
        refused(good + [0x00], .malformed, "trailing byte")
        refused([UInt8](repeating: 0x41, count: CVCertificate.maximumSize + 1), .oversize, "oversize")
        // A body whose fields come out of order: CHR before CAR.
        let c = pki.documentVerifier.certificate
        func body(_ fields: [[UInt8]]) -> [UInt8] {
            TLVWriter.encode(tag: 0x7F21, value: TLVWriter.encode(tag: 0x7F4E, value: fields.flatMap { $0 })
                + TLVWriter.encode(tag: 0x5F37, value: c.signature))
        }
        let profile = TLVWriter.encode(tag: 0x5F29, value: [0])
        let car = TLVWriter.encode(tag: 0x42, value: c.authorityReference.bytes)
        let chr = TLVWriter.encode(tag: 0x5F20, value: c.holderReference.bytes)
        let key = try TLV(parsing: c.body).children()[2].encoded
        let chat = try TLV(parsing: c.body).children()[4].encoded
        let effective = TLVWriter.encode(tag: 0x5F25, value: c.effectiveDate.digits)
        let expires = TLVWriter.encode(tag: 0x5F24, value: c.expirationDate.digits)
        refused(body([profile, chr, key, car, chat, effective, expires]), .malformed, "out of order")
        refused(
            body([profile, car, key, chr, chat, TLVWriter.encode(tag: 0x5F25, value: c.expirationDate.digits),
                TLVWriter.encode(tag: 0x5F24, value: c.effectiveDate.digits)]),
            .malformed, "expires before it becomes effective")
        refused(
            body([profile, car, key, chr, chat, effective,
                TLVWriter.encode(tag: 0x5F24, value: Array(c.expirationDate.digits.prefix(4)) + [3, 9])]),
            .malformed, "a date on day 39")
        refused(body([TLVWriter.encode(tag: 0x5F29, value: [1]), car, key, chr, chat, effective, expires]), .unsupported, "profile 1")
        refused(
            body([profile, TLVWriter.encode(tag: 0x42, value: [UInt8](repeating: 0x41, count: 40)), key, chr, chat, effective, expires]),
            .malformed, "a CAR of 40 characters")
        refused(
            body([profile, car, TLVWriter.encode(tag: 0x7F49, value: TLVWriter.encode(tag: 0x06, value: [1, 2, 3])), chr, chat, effective, expires]),
            .unsupported, "an unknown algorithm")
        refused(
            body([profile, car, TLVWriter.encode(tag: 0x7F49, value: TLVWriter.encode(tag: 0x06, value: TerminalAuthenticationAlgorithm.ecdsaSHA256.oid) + TLVWriter.encode(tag: 0x81, value: [1]) + TLVWriter.encode(tag: 0x86, value: [4, 1, 2])), chr, chat, effective, expires]),
            .malformed, "a partial set of domain parameters")
        refused(
            body([profile, car, TLVWriter.encode(tag: 0x7F49, value: TLVWriter.encode(tag: 0x06, value: TerminalAuthenticationAlgorithm.ecdsaSHA256.oid) + TLVWriter.encode(tag: 0x86, value: [UInt8](repeating: 4, count: 2000))), chr, chat, effective, expires]),
            .oversize, "a 2000-byte point")
        refused(
            body([profile, car, key, chr, TLVWriter.encode(tag: 0x7F4C, value: TLVWriter.encode(tag: 0x06, value: CVAuthorization.inspectionSystemOID) + TLVWriter.encode(tag: 0x53, value: [0x80, 0x03])), effective, expires]),
            .malformed, "two bytes of inspection system rights")
        // A CVCA point that is not on its curve.
        let cvca = pki.cvca.certificate
        var fields = try TLV(parsing: cvca.body).children()
        var keyParts = try fields[2].children()
        var point = Array(keyParts[6].value)
        point[point.count - 1] ^= 0x01
        keyParts[6] = TLV(tag: 0x86, value: point)
        fields[2] = TLV(tag: 0x7F49, value: keyParts.flatMap(\.encoded))
        refused(
            TLVWriter.encode(tag: 0x7F21, value: TLVWriter.encode(tag: 0x7F4E, value: fields.flatMap(\.encoded)) + TLVWriter.encode(tag: 0x5F37, value: cvca.signature)),
            .malformed, "a point off the curve")
    }
}
