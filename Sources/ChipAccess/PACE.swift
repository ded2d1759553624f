import CardCore
import CardCrypto

/// PACE (ICAO 9303-11 §4.4, BSI TR-03110-2 §3.2): password-authenticated key agreement with the generic,
/// integrated or chip-authentication mapping over ECDH or DH, opening AES or 3DES secure messaging.
public enum PACE {
    /// K_π = KDF(K, 3): the key that encrypts the nonce.
    public static func passwordKey(_ password: AccessKey, cipher: SecureMessagingCipher) -> [UInt8] {
        KeyDerivation.derive(password.paceKeyMaterial, counter: KeyDerivation.passwordCounter, cipher: cipher)
    }

    static func nonceCipher(_ password: AccessKey, cipher: SecureMessagingCipher) throws -> BlockCipher {
        let key = passwordKey(password, cipher: cipher)
        switch cipher {
        case .tripleDES: return try BlockCipher(.tripleDES2Key, mode: .cbc, key: key)
        default: return try BlockCipher(try CipherAlgorithm.aes(keyLength: key.count), mode: .cbc, key: key)
        }
    }

    /// What the terminal learnt from a PACE run.
    public struct Result {
        public let session: SecureMessaging
        public let protocolUsed: PACEProtocol
        /// CAM only: whether CA_IC · PK_IC = PK_map,IC held (nil when no static key was given to check against).
        public let chipAuthenticationMapping: Bool?
        /// CAM only: the chip's value CA_IC, for a check once EF.CardSecurity has been read.
        public let camValue: [UInt8]?
        /// CAM only: the chip's mapping public key.
        public let chipMappingPublicKey: [UInt8]?
        /// The chip's ephemeral public key (Terminal Authentication's ID_PICC is its compressed form).
        public var chipEphemeralPublicKey: [UInt8] = []
    }

    /// Terminal role. `parameterID` goes into MSE:Set AT tag 84 whenever it is known (cards with several
    /// PACEInfos need it). `chipStaticKey`: for CAM, the chip's static public key (EF.CardSecurity), when known.
    /// A wrong password gives `AccessControlError.wrongPassword` from the chip's 6300 / 63Cx.
    public static func authenticate(
        _ transport: any CardTransport, protocol proto: PACEProtocol, parameters: DomainParameters,
        parameterID: Int?, password: AccessKey, chipStaticKey: [UInt8]? = nil,
        random: any RandomSource = SystemRandom()
    ) throws -> Result {
        guard parameters.agreement == proto.agreement else {
            throw AccessControlError(code: .unsupported, reason: "PACE: \(proto) does not fit \(parameters)")
        }
        let agreement = try KeyAgreement(parameters)
        let label = "PACE-\(password.kind)"

        // MSE:Set AT (ICAO 9303-11 §4.4.4.1).
        var mse = TLVWriter()
        mse.write(tag: 0x80, value: proto.oid)
        mse.write(tag: 0x83, value: [password.paceReference])
        if let parameterID { mse.write(tag: 0x84, value: [UInt8(parameterID)]) }
        let set = try transport.transmit(CommandAPDU(ins: 0x22, p1: 0xC1, p2: 0xA4, data: mse.bytes))
        guard set.statusWord == .success || set.statusWord.sw1 == 0x63 else {
            throw AccessControlError(
                code: .unexpectedStatus, reason: "\(label) failed: the chip refused MSE:Set AT",
                statusWord: set.statusWord)
        }

        // Step 1: encrypted nonce.
        let z = try generalAuthenticate(transport, [], last: false, expect: 0x80, label: label)
        let s = try nonceCipher(password, cipher: proto.cipher).decrypt(z)

        // Step 2: mapping.
        let generator: [UInt8]
        var chipMappingKey: [UInt8]? = nil
        switch proto.mapping {
        case .generic, .chipAuthentication:
            let skMap = try agreement.privateKey(random)
            let pkMap = try agreement.publicKey(skMap)
            let pkMapChip = try generalAuthenticate(
                transport, TLVWriter.encode(tag: 0x81, value: pkMap), last: false, expect: 0x82, label: label)
            guard pkMapChip != pkMap else {
                throw AccessControlError(
                    code: .chipNotAuthenticated, reason: "\(label) failed: the chip echoed the mapping key")
            }
            let h = try agreement.sharedElement(skMap, peer: pkMapChip)
            generator = try agreement.genericMap(nonce: s, shared: h)
            chipMappingKey = pkMapChip
        case .integrated:
            let t = try random.bytes(proto.cipher.keyLength)
            _ = try generalAuthenticate(
                transport, TLVWriter.encode(tag: 0x81, value: t), last: false, expect: nil, label: label)
            generator = try agreement.integratedMap(nonce: s, terminalNonce: t, cipher: proto.cipher)
        }

        // Step 3: ephemeral key agreement on the mapped generator.
        let skEph = try agreement.privateKey(random)
        let pkEph = try agreement.publicKey(skEph, generator: generator)
        let pkEphChip = try generalAuthenticate(
            transport, TLVWriter.encode(tag: 0x83, value: pkEph), last: false, expect: 0x84, label: label)
        guard pkEphChip != pkEph else {
            throw AccessControlError(
                code: .chipNotAuthenticated, reason: "\(label) failed: the chip echoed the ephemeral key")
        }
        let k = try agreement.sharedSecret(skEph, peer: pkEphChip)
        let keys = try SecureMessagingKeys(cipher: proto.cipher, sharedSecret: k)

        // Step 4: mutual authentication with tokens.
        let tPCD = try keys.authenticationToken(agreement.tokenInput(oid: proto.oid, publicKey: pkEphChip))
        let answer = try transport.transmit(
            CommandAPDU(
                ins: 0x86, p1: 0, p2: 0,
                data: TLVWriter.encode(tag: 0x7C, value: TLVWriter.encode(tag: 0x85, value: tPCD)), ne: 256))
        switch answer.statusWord {
        case .success: break
        // 6300/63Cx by the letter of ISO 7816-4; 6988 from chips that report the failed check of the cryptogram
        // as a secure-messaging error; 6982 from others.
        case .verificationFailed, .securityStatusNotSatisfied, .incorrectSMDataObjects,
            _ where answer.statusWord.retriesLeft != nil:
            throw AccessControlError(
                code: .wrongPassword, reason: "\(label) failed: wrong \(password.kind)", statusWord: answer.statusWord)
        default:
            throw AccessControlError(
                code: .unexpectedStatus, reason: "\(label) failed at mutual authentication",
                statusWord: answer.statusWord)
        }
        let objects = try dynamicObjects(answer.data, label: label)
        guard let tPICC = objects[0x86] else {
            throw AccessControlError(
                code: .malformedResponse, reason: "\(label) failed: no authentication token from the chip")
        }
        let expected = try keys.authenticationToken(agreement.tokenInput(oid: proto.oid, publicKey: pkEph))
        guard constantTimeEquals(expected, tPICC) else {
            throw AccessControlError(
                code: .chipNotAuthenticated, reason: "\(label) failed: the chip's authentication token is wrong")
        }

        var camOK: Bool? = nil
        var camValue: [UInt8]? = nil
        if proto.mapping == .chipAuthentication {
            guard let encrypted = objects[0x8A] else {
                throw AccessControlError(
                    code: .malformedResponse, reason: "\(label) failed: no chip authentication data (8A) in CAM")
            }
            camValue = try decryptCAMData(encrypted, keys: keys, cipher: proto.cipher)
            if let chipStaticKey, let value = camValue, let pkMap = chipMappingKey {
                camOK = agreement.camVerifies(caValue: value, staticPublic: chipStaticKey, mappingPublic: pkMap)
            }
        }
        let session = SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: keys.sscLength))
        var result = Result(
            session: session, protocolUsed: proto, chipAuthenticationMapping: camOK, camValue: camValue,
            chipMappingPublicKey: chipMappingKey)
        result.chipEphemeralPublicKey = pkEphChip
        return result
    }

    /// The CAM check after the fact (once EF.CardSecurity gave the chip's static key).
    public static func verifyCAM(_ result: Result, parameters: DomainParameters, chipStaticKey: [UInt8]) -> Bool {
        guard let value = result.camValue, let pkMap = result.chipMappingPublicKey else { return false }
        return (try? KeyAgreement(parameters))?.camVerifies(
            caValue: value, staticPublic: chipStaticKey, mappingPublic: pkMap) ?? false
    }

    /// CA_IC is encrypted with KSenc, IV = E(KSenc, −1) (ICAO 9303-11 §4.4.3.5.1).
    static func camCipherIV(keys: SecureMessagingKeys) throws -> [UInt8] {
        try keys.iv(for: [UInt8](repeating: 0xFF, count: keys.blockSize))
    }

    static func decryptCAMData(_ data: ArraySlice<UInt8>, keys: SecureMessagingKeys, cipher: SecureMessagingCipher)
        throws -> [UInt8]
    {
        guard !data.isEmpty, data.count % keys.blockSize == 0 else {
            throw AccessControlError(
                code: .malformedResponse, reason: "PACE-CAM: chip authentication data of \(data.count) bytes")
        }
        let plain = try keys.decryptRaw(data, iv: camCipherIV(keys: keys))
        do {
            return try ISO9797Padding.unpad(plain)
        } catch {
            throw AccessControlError(
                code: .malformedResponse, reason: "PACE-CAM: chip authentication data is not padded")
        }
    }

    /// One GENERAL AUTHENTICATE step: data wrapped in 7C, chained (CLA 10) unless `last`; returns the value of
    /// tag `expect` in the answer's 7C (or nothing when `expect` is nil).
    static func generalAuthenticate(
        _ transport: any CardTransport, _ data: [UInt8], last: Bool, expect: TLVTag?, label: String
    ) throws -> [UInt8] {
        let command = CommandAPDU(
            cla: last ? 0x00 : 0x10, ins: 0x86, p1: 0, p2: 0, data: TLVWriter.encode(tag: 0x7C, value: data), ne: 256)
        let answer = try transport.transmit(command)
        guard answer.statusWord == .success else {
            if answer.statusWord == .verificationFailed || answer.statusWord.retriesLeft != nil {
                throw AccessControlError(
                    code: .wrongPassword, reason: "\(label) failed: wrong password", statusWord: answer.statusWord)
            }
            throw AccessControlError(
                code: .unexpectedStatus, reason: "\(label) failed: GENERAL AUTHENTICATE refused",
                statusWord: answer.statusWord)
        }
        guard let expect else { return [] }
        guard let value = try dynamicObjects(answer.data, label: label)[expect] else {
            throw AccessControlError(
                code: .malformedResponse, reason: "\(label) failed: the chip's answer lacks tag \(expect)")
        }
        return Array(value)
    }

    /// The objects inside a 7C dynamic authentication data template.
    static func dynamicObjects(_ data: [UInt8], label: String) throws -> [TLVTag: ArraySlice<UInt8>] {
        if data.isEmpty { return [:] }
        do {
            let outer = try TLV(parsing: data)
            guard outer.tag == 0x7C else { throw TLVError.unexpectedTag(outer.tag, expected: 0x7C) }
            var out: [TLVTag: ArraySlice<UInt8>] = [:]
            for child in try outer.children() where out[child.tag] == nil { out[child.tag] = child.value }
            return out
        } catch {
            throw AccessControlError(code: .malformedResponse, reason: "\(label) failed: malformed answer (\(error))")
        }
    }
}

extension SecureMessagingKeys {
    /// CBC with an explicit IV (CAM data).
    func decryptRaw(_ data: ArraySlice<UInt8>, iv: [UInt8]) throws -> [UInt8] {
        try encryptionCipher.decrypt(data, iv: iv)
    }
    func encryptRaw(_ data: [UInt8], iv: [UInt8]) throws -> [UInt8] { try encryptionCipher.encrypt(data, iv: iv) }
}
