import CardCore
import CardCrypto

/// Basic Access Control (ICAO 9303-11 §4.3): key derivation, mutual authentication, session keys and SSC.
public enum BAC {
    /// K_seed = SHA-1(MRZ_information)[0..16] (§9.7.2).
    public static func keySeed(_ key: BACKey) -> [UInt8] {
        Array(HashAlgorithm.sha1.hash(Array(key.mrzInformation.utf8)).prefix(16))
    }

    /// The document basic access keys K_Enc and K_MAC (§9.7.1, 3DES with parity).
    public static func documentKeys(_ key: BACKey) -> (encryption: [UInt8], mac: [UInt8]) {
        let seed = keySeed(key)
        return (
            KeyDerivation.derive(seed, counter: KeyDerivation.encryptionCounter, cipher: .tripleDES),
            KeyDerivation.derive(seed, counter: KeyDerivation.macCounter, cipher: .tripleDES)
        )
    }

    /// SSC = RND.IC[4..8] ‖ RND.IFD[4..8] (§9.8.6.3).
    public static func initialSSC(rndIC: [UInt8], rndIFD: [UInt8]) -> [UInt8] {
        Array(rndIC[4..<8]) + Array(rndIFD[4..<8])
    }

    static func sessionKeys(kIFD: [UInt8], kIC: [UInt8]) throws -> SecureMessagingKeys {
        let seed = zip(kIFD, kIC).map { $0 ^ $1 }
        return try SecureMessagingKeys(cipher: .tripleDES, sharedSecret: seed)
    }

    /// Terminal role: GET CHALLENGE, EXTERNAL AUTHENTICATE, check the chip's answer, open secure messaging.
    /// A wrong MRZ key gives `AccessControlError.wrongPassword`.
    public static func authenticate(
        _ transport: any CardTransport, key: BACKey, random: any RandomSource = SystemRandom()
    ) throws -> SecureMessaging {
        let challenge = try transport.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8))
        guard challenge.statusWord == .success, challenge.data.count == 8 else {
            throw AccessControlError(
                code: .unexpectedStatus, reason: "BAC failed: the chip gave no challenge",
                statusWord: challenge.statusWord)
        }
        let rndIC = challenge.data
        let rndIFD = try random.bytes(8)
        let kIFD = try random.bytes(16)
        let keys = documentKeys(key)
        let encryption = try BlockCipher(.tripleDES2Key, mode: .cbc, key: keys.encryption)
        let mac = try RetailMAC(key: keys.mac)
        let eIFD = try encryption.encrypt(rndIFD + rndIC + kIFD)
        let mIFD = try mac.mac(eIFD)
        let answer = try transport.transmit(CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: eIFD + mIFD, ne: 40))
        switch answer.statusWord {
        case .success: break
        // 6300/63Cx by the letter of ISO 7816-4; 6988 from chips that report the failed check of the cryptogram
        // as a secure-messaging error; 6982 from others.
        case .verificationFailed, .securityStatusNotSatisfied, .incorrectSMDataObjects,
            _ where answer.statusWord.retriesLeft != nil:
            throw AccessControlError(
                code: .wrongPassword, reason: "BAC failed: wrong MRZ key (document number, birth or expiry date)",
                statusWord: answer.statusWord)
        default:
            throw AccessControlError(
                code: .unexpectedStatus, reason: "BAC failed: the chip refused EXTERNAL AUTHENTICATE",
                statusWord: answer.statusWord)
        }
        guard answer.data.count == 40 else {
            throw AccessControlError(
                code: .malformedResponse, reason: "BAC failed: chip answer of \(answer.data.count) bytes, expected 40")
        }
        let eIC = Array(answer.data[0..<32])
        guard constantTimeEquals(try mac.mac(eIC), answer.data[32..<40]) else {
            throw AccessControlError(code: .chipNotAuthenticated, reason: "BAC failed: the chip's MAC does not verify")
        }
        let r = try encryption.decrypt(eIC)
        guard Array(r[0..<8]) == rndIC, constantTimeEquals(r[8..<16], rndIFD) else {
            throw AccessControlError(code: .chipNotAuthenticated, reason: "BAC failed: the chip's nonces do not match")
        }
        let kIC = Array(r[16..<32])
        return SecureMessaging(
            keys: try sessionKeys(kIFD: kIFD, kIC: kIC), ssc: initialSSC(rndIC: rndIC, rndIFD: rndIFD))
    }
}

/// BAC in the chip role (for the emulator): holds the document keys, issues challenges, answers
/// EXTERNAL AUTHENTICATE and opens the chip's side of secure messaging.
public final class BACChip {
    private let encryption: BlockCipher
    private let mac: RetailMAC
    private let random: any RandomSource
    private var challenge: [UInt8]?

    public init(key: BACKey, random: any RandomSource = SystemRandom()) throws {
        let keys = BAC.documentKeys(key)
        encryption = try BlockCipher(.tripleDES2Key, mode: .cbc, key: keys.encryption)
        mac = try RetailMAC(key: keys.mac)
        self.random = random
    }

    /// A power cycle: the challenge is forgotten (a new one is needed for EXTERNAL AUTHENTICATE).
    public func reset() { challenge = nil }

    /// GET CHALLENGE: a fresh RND.IC, remembered for the next EXTERNAL AUTHENTICATE.
    public func getChallenge() throws -> [UInt8] {
        let rnd = try random.bytes(8)
        challenge = rnd
        return rnd
    }

    /// EXTERNAL AUTHENTICATE: verifies the terminal's cryptogram and returns the chip's answer and session.
    /// Throws `wrongPassword` (answer 6300) when the MAC or nonce does not verify; the challenge is used once.
    public func externalAuthenticate(_ data: [UInt8]) throws -> (response: [UInt8], session: SecureMessaging) {
        guard let rndIC = challenge else {
            throw AccessControlError(
                code: .unexpectedStatus, reason: "no challenge issued", statusWord: .conditionsOfUseNotSatisfied)
        }
        challenge = nil
        guard data.count == 40 else {
            throw AccessControlError(
                code: .malformedResponse, reason: "EXTERNAL AUTHENTICATE data of \(data.count) bytes",
                statusWord: .wrongLength)
        }
        let eIFD = Array(data[0..<32])
        guard constantTimeEquals(try mac.mac(eIFD), data[32..<40]) else {
            throw AccessControlError(
                code: .wrongPassword, reason: "terminal MAC does not verify", statusWord: .verificationFailed)
        }
        let s = try encryption.decrypt(eIFD)
        guard constantTimeEquals(s[8..<16], rndIC) else {
            throw AccessControlError(
                code: .wrongPassword, reason: "challenge mismatch", statusWord: .verificationFailed)
        }
        let rndIFD = Array(s[0..<8])
        let kIFD = Array(s[16..<32])
        let kIC = try random.bytes(16)
        let eIC = try encryption.encrypt(rndIC + rndIFD + kIC)
        let mIC = try mac.mac(eIC)
        let session = SecureMessaging(
            keys: try BAC.sessionKeys(kIFD: kIFD, kIC: kIC), ssc: BAC.initialSSC(rndIC: rndIC, rndIFD: rndIFD))
        return (eIC + mIC, session)
    }
}
