import CardCore
import CardCrypto
import TestSupport
import Testing

@testable import ChipAccess

/// A chip that speaks secure messaging and Chip Authentication / Active Authentication, for protocol tests.
final class SMChip: CardTransport {
    let sm: SecureMessaging
    let ca: ChipAuthenticationChip?
    let aaKey: AsymmetricKey?
    init(sm: SecureMessaging, ca: ChipAuthenticationChip?, aaKey: AsymmetricKey? = nil) {
        self.sm = sm
        self.ca = ca
        self.aaKey = aaKey
    }
    var capabilities: TransportCapabilities { .init() }
    func transmit(_ protected: CommandAPDU) throws -> ResponseAPDU {
        let command = try sm.unprotectCommand(protected)
        var pending: SecureMessagingKeys?
        var answer = ResponseAPDU(statusWord: .success)
        do {
            switch (command.ins, command.p1, command.p2) {
            case (0x22, 0x41, 0xA6): pending = try ca?.setKeyAgreementTemplate(command.data)
            case (0x22, 0x41, 0xA4): try ca?.setAuthenticationTemplate(command.data)
            case (0x86, _, _):
                if let ca {
                    let (data, keys) = try ca.generalAuthenticate(command.data)
                    answer = ResponseAPDU(data: data, statusWord: .success)
                    pending = keys
                }
            case (0x88, _, _):
                if let aaKey {
                    answer = ResponseAPDU(
                        data: try ActiveAuthentication.sign(challenge: command.data, privateKey: aaKey, hash: .sha256),
                        statusWord: .success)
                }
            default: answer = ResponseAPDU(statusWord: .instructionNotSupported)
            }
        } catch let e as AccessControlError {
            answer = ResponseAPDU(statusWord: e.statusWord ?? .noPreciseDiagnosis)
        }
        let wrapped = try sm.protectResponse(answer, ins: command.ins)
        if let pending { sm.rekey(pending, ssc: [UInt8](repeating: 0, count: pending.sscLength)) }
        return wrapped
    }
}

@Suite("Chip Authentication and Active Authentication, both roles")
struct ChipAuthenticationTests {
    func channel(_ cipher: SecureMessagingCipher) throws -> (terminal: SecureMessaging, chip: SecureMessaging) {
        let secret = [UInt8](repeating: 0x42, count: 32)
        let ssc = [UInt8](repeating: 0, count: cipher.blockSize)
        return (
            SecureMessaging(keys: try SecureMessagingKeys(cipher: cipher, sharedSecret: secret), ssc: ssc),
            SecureMessaging(keys: try SecureMessagingKeys(cipher: cipher, sharedSecret: secret), ssc: ssc)
        )
    }

    @Test("BSI ECDH CA (TR-03110 v2): K, nonce r, KDF(K‖r), token, in both roles; ICAO-style KDF(K)")
    func ecdhV2() throws {
        let f = try VectorFile("bsi-tr03110-worked-example-ecdh-pace-sm-ca.txt")
        let s = try f.section(with: "SK_PICC_static")
        let parameters = DomainParameters.curve(.brainpoolP256r1)
        let ka = try KeyAgreement(parameters)
        #expect(try ka.publicKey(s.hex("SK_PICC_static")) == s.hex("PK_PICC_static"))
        #expect(try ka.publicKey(s.hex("SK_PCD_eph")) == s.hex("PK_PCD_eph"))
        #expect(try ka.sharedSecret(s.hex("SK_PCD_eph"), peer: s.hex("PK_PICC_static")) == s.hex("K"))
        let k = try s.hex("K")
        let r = try s.hex("r_nonce")
        let keys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: k + r)
        #expect(try keys.encryptionKey == s.hex("CA_KSenc_KDF(K||r,1)") && keys.macKey == s.hex("CA_KSmac_KDF(K||r,2)"))
        let icao = try SecureMessagingKeys(cipher: .aes128, sharedSecret: k)
        #expect(
            try icao.encryptionKey == s.hex("ICAO_style_CA_KSenc_KDF(K,1)")
                && icao.macKey == s.hex("ICAO_style_CA_KSmac_KDF(K,2)"))
        let proto = ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128)
        #expect(
            try keys.authenticationToken(ka.tokenInput(oid: proto.oid, publicKey: s.hex("PK_PCD_eph")))
                == s.hex("CA_T_PICC_CMAC(KSmac,7F49{06 OID,86 PK_PCD_eph})"))

        let (terminal, chipSM) = try channel(.aes128)
        let chip = ChipAuthenticationChip(
            protocol: proto, parameters: parameters, privateKey: try s.hex("SK_PICC_static"), version: 2,
            random: FixedRandom([r]))
        let link = SecureMessagingTransport(SMChip(sm: chipSM, ca: chip), session: terminal)
        let proof = try ChipAuthentication.authenticate(
            link, protocol: proto, parameters: parameters, chipPublicKey: try s.hex("PK_PICC_static"),
            random: FixedRandom([try s.hex("SK_PCD_eph")]))
        #expect(proof == .token)
        #expect(
            terminal.keys.encryptionKey == keys.encryptionKey
                && terminal.sendSequenceCounter == [UInt8](repeating: 0, count: 16))
        #expect(chipSM.keys.macKey == keys.macKey)
        // The channel works with the new keys.
        #expect(
            try link.transmit(CommandAPDU(ins: 0x86, p1: 0, p2: 0, data: [0x7C, 0x00], ne: 256)).statusWord
                != .incorrectSMDataObjects)
    }

    @Test("BSI DH CA (TR-03110 v2), both roles")
    func dhV2() throws {
        let f = try VectorFile("bsi-tr03110-worked-example-dh-pace-sm-ca-extended-length.txt")
        let s = try f.section(with: "x_PICC_static")
        let parameters = DomainParameters.dh(.rfc5114_1024_160)
        let ka = try KeyAgreement(parameters)
        #expect(try ka.publicKey(s.hex("x_PICC_static")) == s.hex("PK_PICC_static"))
        #expect(try ka.publicKey(s.hex("x_PCD_eph")) == s.hex("PK_PCD_eph"))
        #expect(try ka.sharedSecret(s.hex("x_PCD_eph"), peer: s.hex("PK_PICC_static")) == s.hex("K"))
        let proto = ChipAuthenticationProtocol(agreement: .dh, cipher: .aes128)
        let (terminal, chipSM) = try channel(.aes128)
        let chip = ChipAuthenticationChip(
            protocol: proto, parameters: parameters, privateKey: try s.hex("x_PICC_static"), version: 2,
            random: FixedRandom([try s.hex("r_nonce")]))
        let link = SecureMessagingTransport(SMChip(sm: chipSM, ca: chip), session: terminal)
        #expect(
            try ChipAuthentication.authenticate(
                link, protocol: proto, parameters: parameters, chipPublicKey: try s.hex("PK_PICC_static"),
                random: FixedRandom([try s.hex("x_PCD_eph")])) == .token)
        #expect(terminal.keys.encryptionKey == (try s.hex("CA_KSenc_KDF(K||r,1)")))
        #expect(terminal.keys.macKey == (try s.hex("CA_KSmac_KDF(K||r,2)")))
        let keys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: try s.hex("K") + s.hex("r_nonce"))
        #expect(
            try keys.authenticationToken(ka.tokenInput(oid: proto.oid, publicKey: s.hex("PK_PCD_eph")))
                == s.hex("CA_T_PICC_CMAC(KSmac,7F49{06 04007F00070202030102,84 PK_PCD_eph})"))
    }

    @Test(
        "ICAO-style CA: AES without nonce and 3DES with MSE:Set KAT; a wrong chip key breaks the next exchange",
        arguments: [SecureMessagingCipher.aes128, .tripleDES])
    func icaoStyle(_ cipher: SecureMessagingCipher) throws {
        let parameters = DomainParameters.curve(.secp256r1)
        let key = try AsymmetricKey.generateEC(.secp256r1)
        let proto = ChipAuthenticationProtocol(agreement: .ecdh, cipher: cipher)
        let (terminal, chipSM) = try channel(cipher)
        let chip = ChipAuthenticationChip(
            protocol: proto, parameters: parameters, privateKey: try key.ecPrivateScalar().bytes(), version: 1)
        let link = SecureMessagingTransport(SMChip(sm: chipSM, ca: chip), session: terminal)
        #expect(
            try ChipAuthentication.authenticate(
                link, protocol: proto, parameters: parameters, chipPublicKey: try key.ecPublicPoint()) == .implicit)
        #expect(terminal.keys.encryptionKey == chipSM.keys.encryptionKey)
        #expect(try link.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4)).statusWord == .instructionNotSupported)

        // A chip whose private key does not match the public key the terminal trusts (a clone).
        let (terminal2, chipSM2) = try channel(cipher)
        let impostor = ChipAuthenticationChip(
            protocol: proto, parameters: parameters,
            privateKey: try AsymmetricKey.generateEC(.secp256r1).ecPrivateScalar().bytes(), version: 1)
        let link2 = SecureMessagingTransport(SMChip(sm: chipSM2, ca: impostor), session: terminal2)
        _ = try ChipAuthentication.authenticate(
            link2, protocol: proto, parameters: parameters, chipPublicKey: try key.ecPublicPoint())
        #expect(throws: (any Error).self) { try link2.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4)) }
    }

    @Test("TR-03110 v2 CA with the wrong chip key fails at the token")
    func v2WrongKey() throws {
        let parameters = DomainParameters.curve(.brainpoolP256r1)
        let proto = ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128)
        let trusted = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let (terminal, chipSM) = try channel(.aes128)
        let impostor = ChipAuthenticationChip(
            protocol: proto, parameters: parameters,
            privateKey: try AsymmetricKey.generateEC(.brainpoolP256r1).ecPrivateScalar().bytes(), version: 2)
        let link = SecureMessagingTransport(SMChip(sm: chipSM, ca: impostor), session: terminal)
        do {
            _ = try ChipAuthentication.authenticate(
                link, protocol: proto, parameters: parameters, chipPublicKey: try trusted.ecPublicPoint())
            Issue.record("clone accepted")
        } catch let e as AccessControlError {
            #expect(e.code == .chipNotAuthenticated)
        }
    }

    @Test(
        "Active Authentication: RSA ISO 9796-2 (SHA-1, SHA-256) and ECDSA; other keys and tampering fail",
        arguments: ["rsa-sha1", "rsa-sha256", "ec-p256", "ec-bp384"])
    func activeAuthentication(_ kind: String) throws {
        let key: AsymmetricKey
        var hash = HashAlgorithm.sha256
        switch kind {
        case "rsa-sha1":
            key = try .generateRSA(bits: 1024)
            hash = .sha1
        case "rsa-sha256": key = try .generateRSA(bits: 2048)
        case "ec-p256": key = try .generateEC(.secp256r1)
        default:
            key = try .generateEC(.brainpoolP384r1)
            hash = .sha384
        }
        let publicKey = try AsymmetricKey(publicKeyDER: key.publicKeyDER())
        let challenge: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let signature = try ActiveAuthentication.sign(challenge: challenge, privateKey: key, hash: hash)
        #expect(
            ActiveAuthentication.verify(
                signature: signature, challenge: challenge, publicKey: publicKey, ecdsaHash: hash))
        #expect(
            !ActiveAuthentication.verify(
                signature: signature, challenge: [1, 2, 3, 4, 5, 6, 7, 9], publicKey: publicKey, ecdsaHash: hash))
        var tampered = signature
        tampered[tampered.count / 2] ^= 0x01
        #expect(
            !ActiveAuthentication.verify(
                signature: tampered, challenge: challenge, publicKey: publicKey, ecdsaHash: hash))
        let other =
            key.kind == .rsa ? try AsymmetricKey.generateRSA(bits: 1024) : try AsymmetricKey.generateEC(.secp256r1)
        #expect(
            !ActiveAuthentication.verify(signature: signature, challenge: challenge, publicKey: other, ecdsaHash: hash))
        if key.kind == .rsa {
            let m = try #require(publicKey.rsaPublicRaw(signature))
            #expect(m.first == 0x6A)
            #expect(hash == .sha1 ? m.last == 0xBC : Array(m.suffix(2)) == [0x34, 0xCC])
        }
        // Keys survive DER.
        let again = try AsymmetricKey(privateKeyDER: key.privateKeyDER())
        #expect(try again.publicKeyDER() == key.publicKeyDER())
    }

    @Test("Active Authentication over the wire, terminal role")
    func aaTerminal() throws {
        let key = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let (terminal, chipSM) = try channel(.aes128)
        let link = SecureMessagingTransport(SMChip(sm: chipSM, ca: nil, aaKey: key), session: terminal)
        #expect(
            try ActiveAuthentication.authenticate(
                link, publicKey: try AsymmetricKey(publicKeyDER: key.publicKeyDER()), ecdsaHash: .sha256))
        let (terminal2, chipSM2) = try channel(.aes128)
        let clone = SecureMessagingTransport(
            SMChip(sm: chipSM2, ca: nil, aaKey: try .generateEC(.brainpoolP256r1)), session: terminal2)
        #expect(
            try !ActiveAuthentication.authenticate(
                clone, publicKey: try AsymmetricKey(publicKeyDER: key.publicKeyDER()), ecdsaHash: .sha256))
    }
}
