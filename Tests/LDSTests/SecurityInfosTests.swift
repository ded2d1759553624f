import CardCore
import CardCrypto
import ChipAccess
import SwiftASN1
import TestSupport
import Testing

@testable import LDS

@Suite("SecurityInfos, DG14, DG15 (TR-03110-3 §A.1, ICAO 9303-11 §9.2)")
struct SecurityInfosTests {
    @Test("The Vietnamese EF.CardAccess: TA v1, CA ECDH-AES-128 v1, PACE ECDH-GM-AES-128 v2 on parameter 13")
    func vietnamese() throws {
        let bytes = try Hex.decode(
            "3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d"
        )
        let infos = try SecurityInfos(derEncoded: bytes)
        #expect(infos.infos.count == 3)
        #expect(infos.terminalAuthenticationInfos.map(\.version) == [1])
        let ca = try #require(infos.chipAuthenticationInfos.first)
        #expect(
            ca.version == 1
                && ca.chipAuthenticationProtocol == ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128))
        #expect(ca.chipAuthenticationProtocol?.description == "id-CA-ECDH-AES-CBC-CMAC-128")
        let pace = try #require(infos.paceInfos.first)
        #expect(pace.version == 2 && pace.parameterID == 13)
        #expect(pace.paceProtocol?.description == "id-PACE-ECDH-GM-AES-CBC-CMAC-128")
        #expect(pace.domainParameters == .curve(.brainpoolP256r1))
        #expect(try infos.derEncoded() == bytes)
        // Build → bytes → parse → same.
        let built = SecurityInfos([
            .pace(
                PACEInfo(protocol: PACEProtocol(mapping: .generic, agreement: .ecdh, cipher: .aes128), parameterID: 13)),
            .chipAuthentication(
                ChipAuthenticationInfo(
                    protocol: ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128), version: 1)),
            .terminalAuthentication(TerminalAuthenticationInfo(version: 1)),
        ])
        #expect(try built.derEncoded() == bytes)  // DER sorts the SET
    }

    @Test(
        "Published EF.CardAccess files parse and re-encode byte for byte",
        arguments: [
            ("bsi-tr03110-worked-example-ecdh-pace-sm-ca.txt", "EF_CardAccess"),
            ("icao9303-p11-appG1-pace-ecdh-gm-brainpoolP256r1.txt", "EF_CardAccess"),
            ("icao9303-p11-appG2-pace-dh-gm-1024-160.txt", "EF_CardAccess"),
            ("gmrtd-pace-cam-real-trace-223-byte-reads.txt", "EF_CardAccess"),
        ])
    func published(_ file: String, _ name: String) throws {
        let bytes = try VectorFile(file).hex(name)
        let infos = try SecurityInfos(derEncoded: bytes)
        #expect(!infos.paceInfos.isEmpty)
        #expect(infos.paceInfos.allSatisfy { $0.paceProtocol != nil })
        #expect(try infos.derEncoded() == bytes)
    }

    @Test(
        "The BSI EF.CardAccess: TA, CA, PACE, and the CA domain parameters, card-info URL and privileged-terminal infos kept as they are"
    )
    func bsi() throws {
        let infos = try SecurityInfos(
            derEncoded: try VectorFile("bsi-tr03110-worked-example-ecdh-pace-sm-ca.txt").hex("EF_CardAccess"))
        #expect(infos.paceInfos.count == 1 && infos.paceInfos.first?.parameterID == 13)
        #expect(infos.chipAuthenticationInfos.count == 1 && infos.terminalAuthenticationInfos.count == 1)
        let others = infos.infos.compactMap { if case .other(let oid, _) = $0 { return oid } else { return nil } }
        #expect(others.count == 3)
        #expect(others.contains(ObjectIdentifiers.chipAuthentication + [2]))  // ChipAuthenticationDomainParameterInfo
    }

    @Test(
        "Hostile SecurityInfos are typed errors",
        arguments: ["", "31", "3100FF", "3103300106", "30020500", "31053003060100", "3108300602010102010"])
    func hostile(_ hex: String) throws {
        let bytes = (try? Hex.decode(hex)) ?? [0x31, 0x01]
        #expect(throws: LDSError.self) { try SecurityInfos(derEncoded: bytes) }
    }

    @Test("DG14 with EC and DH CA keys and AA info round-trips; keys decode to parameters and points")
    func dg14() throws {
        let ec = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let point = try ec.ecPublicPoint()
        let dhGroup = DHGroup.rfc5114_2048_224
        let y = try dhGroup.power(dhGroup.g, [0x12, 0x34, 0x56])
        let infos = SecurityInfos([
            .chipAuthentication(
                ChipAuthenticationInfo(
                    protocol: ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128), version: 1, keyID: 1)),
            .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    protocolOID: ObjectIdentifiers.publicKey + [2],
                    subjectPublicKeyInfo: try PublicKeyInfo.encodeEC(curve: .brainpoolP256r1, point: point), keyID: 1)),
            .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    protocolOID: ObjectIdentifiers.publicKey + [1],
                    subjectPublicKeyInfo: try PublicKeyInfo.encodeDH(group: dhGroup, y: y), keyID: 2)),
            .activeAuthentication(ActiveAuthenticationInfo(ecdsaPlainWith: .sha256)),
        ])
        let dg14 = DataGroup14(securityInfos: infos)
        let bytes = try dg14.encoded()
        #expect(bytes.first == 0x6E)
        let back = try DataGroup14(bytes: bytes)
        #expect(Set(back.securityInfos.infos) == Set(infos.infos))
        let keys = back.securityInfos.chipAuthenticationPublicKeys
        let ecKey = try #require(keys.first { $0.keyID == 1 }).publicKey()
        #expect(ecKey.parameters == .curve(.brainpoolP256r1) && ecKey.key == point)
        let dhKey = try #require(keys.first { $0.keyID == 2 }).publicKey()
        #expect(dhKey.parameters == .dh(dhGroup) && dhKey.key == y)
        #expect(back.securityInfos.activeAuthenticationInfo?.hash == .sha256)
        // OpenSSL reads the EC SubjectPublicKeyInfo we write.
        #expect(
            try AsymmetricKey(publicKeyDER: PublicKeyInfo.encodeEC(curve: .brainpoolP256r1, point: point))
                .ecPublicPoint() == point)
    }

    @Test(
        "Explicit EC parameters (as passports write them) are recognised as the named curve",
        arguments: [NamedCurve.brainpoolP256r1, .secp256r1, .brainpoolP384r1])
    func explicitCurve(_ curve: NamedCurve) throws {
        let group = try ECGroup(curve)
        let point = try AsymmetricKey.generateEC(curve).ecPublicPoint()
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(try OID.object(PublicKeyInfo.ecPublicKey))
                try a.appendConstructedNode(identifier: .sequence) { p in
                    try p.serialize(1)
                    try p.appendConstructedNode(identifier: .sequence) { f in
                        try f.serialize(ASN1ObjectIdentifier("1.2.840.10045.1.1"))
                        try f.serialize(ArraySlice(group.prime))
                    }
                    try p.appendConstructedNode(identifier: .sequence) { k in
                        try k.serialize(ASN1OctetString(contentBytes: group.a[...]))
                        try k.serialize(ASN1OctetString(contentBytes: group.b[...]))
                    }
                    try p.serialize(ASN1OctetString(contentBytes: group.generator.encoded[...]))
                    try p.serialize(ArraySlice(group.order))
                    try p.serialize(ArraySlice(group.cofactor))
                }
            }
            try c.serialize(ASN1BitString(bytes: point[...]))
        }
        let decoded = try PublicKeyInfo.decode(s.serializedBytes)
        #expect(decoded.parameters == .curve(curve))
        #expect(decoded.key == point)
    }

    @Test("DG15 round trip with RSA and EC keys")
    func dg15() throws {
        for key in [try AsymmetricKey.generateRSA(bits: 1024), try AsymmetricKey.generateEC(.secp256r1)] {
            let dg15 = DataGroup15(subjectPublicKeyInfo: try key.publicKeyDER())
            let back = try DataGroup15(bytes: dg15.encoded)
            #expect(back == dg15)
            #expect(try back.publicKey().publicKeyDER() == key.publicKeyDER())
        }
        #expect(throws: LDSError.self) { try DataGroup15(bytes: [0x6F, 0x02, 0x30, 0x00]).publicKey() }
    }
}

@Suite("SecurityInfos from real cards: BER order, bounds")
struct SecurityInfosBERTests {
    @Test("A SET OF not in DER order parses to the same SecurityInfos")
    func unsortedSet() throws {
        let der = SampleCardAccess.bytes
        let members = try TLV(parsing: der).children().map(\.encoded)
        #expect(members.count == 3)
        let reversed = TLVWriter.encode(tag: 0x31, value: Array(members.reversed().joined()))
        #expect(reversed != der)
        let infos = try SecurityInfos(derEncoded: reversed)
        #expect(infos.infos == Array(try SecurityInfos(derEncoded: der).infos.reversed()))
        #expect(infos.paceInfos.first?.parameterID == 13)
    }

    @Test("More SecurityInfos than any card holds are refused")
    func tooMany() throws {
        let member = try TLV(parsing: SampleCardAccess.bytes).children()[0].encoded
        let many = TLVWriter.encode(
            tag: 0x31, value: Array(repeatElement(member, count: SecurityInfos.maximumCount + 1).joined()))
        #expect(throws: LDSError.self) { _ = try SecurityInfos(derEncoded: many) }
        let enough = TLVWriter.encode(
            tag: 0x31, value: Array(repeatElement(member, count: SecurityInfos.maximumCount).joined()))
        #expect(try SecurityInfos(derEncoded: enough).infos.count == SecurityInfos.maximumCount)
    }

    @Test("A Chip Authentication key off its curve is refused when read, with the reason")
    func offCurve() throws {
        let info = ChipAuthenticationPublicKeyInfo(
            protocolOID: ObjectIdentifiers.publicKey + [2],
            subjectPublicKeyInfo: try PublicKeyInfo.encodeEC(
                curve: .brainpoolP256r1, point: [0x04] + [UInt8](repeating: 1, count: 64)))
        #expect(throws: LDSError.self) { _ = try info.publicKey() }
    }
}

/// The Vietnamese card's EF.CardAccess (CCCD.md §1).
enum SampleCardAccess {
    static let bytes: [UInt8] = [
        0x31, 0x34, 0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x01, 0x01, 0x30,
        0x0F, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02, 0x02, 0x01, 0x01, 0x30, 0x12,
        0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D,
    ]
}

@Suite("EF.CardSecurity")
struct CardSecurityTests {
    @Test(
        "SecurityInfos signed as EF.CardSecurity: build → bytes → parse → same; signature and chain verify; tampering detected"
    )
    func cardSecurity() throws {
        let pki = try TestPKI()
        let ca = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let infos = SecurityInfos([
            .pace(
                PACEInfo(
                    protocol: PACEProtocol(mapping: .chipAuthentication, agreement: .ecdh, cipher: .aes128),
                    parameterID: 13)),
            .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    protocolOID: ObjectIdentifiers.publicKey + [2],
                    subjectPublicKeyInfo: try PublicKeyInfo.encodeEC(
                        curve: .brainpoolP256r1, point: try ca.ecPublicPoint()))),
        ])
        let file = try CardSecurity.sign(infos, signer: pki.ds, key: pki.dsKey)
        #expect(try Set(CardSecurity(cms: file.cms).securityInfos().infos) == Set(infos.infos))
        let (check, signer) = file.verifySignature()
        #expect(check == .valid)
        #expect(signer?.verifyChain(trusted: [pki.csca], crls: [], checkRevocation: false, checkTime: true) == nil)
        var tampered = file.cms
        let content = try infos.derEncoded()
        let range = try #require(tampered.firstRange(of: content))
        tampered[range.upperBound - 1] ^= 0x01
        #expect(CardSecurity(cms: tampered).verifySignature().0 == .contentDigestMismatch)
        #expect(throws: LDSError.self) { try CardSecurity(cms: [0x30, 0x00]).securityInfos() }
    }
}
