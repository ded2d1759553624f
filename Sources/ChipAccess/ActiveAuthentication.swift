import CardCore
import CardCrypto

/// Active Authentication (ICAO 9303-11 §6.1): the chip signs the terminal's 8-byte challenge with the private
/// key whose public half is in DG15. RSA with ISO/IEC 9796-2 digital signature scheme 1 (SHA-1 trailer BC, or
/// the two-byte trailer naming SHA-224/256/384/512), or ECDSA with the plain r ‖ s format.
public enum ActiveAuthentication {
    /// Terminal role: INTERNAL AUTHENTICATE with a fresh challenge; true when the signature verifies.
    /// `ecdsaHash`: from DG14's ActiveAuthenticationInfo (SHA-256 when absent).
    public static func authenticate(
        _ transport: any CardTransport, publicKey: AsymmetricKey, ecdsaHash: HashAlgorithm? = nil,
        random: any RandomSource = SystemRandom()
    ) throws -> Bool {
        let challenge = try random.bytes(8)
        let answer = try transport.transmit(CommandAPDU(ins: 0x88, p1: 0, p2: 0, data: challenge, ne: 256))
        guard answer.statusWord == .success else {
            throw AccessControlError(
                code: .unexpectedStatus, reason: "Active Authentication refused by the chip",
                statusWord: answer.statusWord)
        }
        return verify(signature: answer.data, challenge: challenge, publicKey: publicKey, ecdsaHash: ecdsaHash)
    }

    public static func verify(
        signature: [UInt8], challenge: [UInt8], publicKey: AsymmetricKey, ecdsaHash: HashAlgorithm?
    ) -> Bool {
        switch publicKey.kind {
        case .rsa: return verifyISO9796(signature: signature, challenge: challenge, publicKey: publicKey)
        case .ec: return publicKey.verifyECDSAPlain(signature, message: challenge, hash: ecdsaHash ?? .sha256)
        case .other: return false
        }
    }

    static let trailerHashes: [UInt8: HashAlgorithm] = [
        0x33: .sha1, 0x34: .sha256, 0x35: .sha512, 0x36: .sha384, 0x38: .sha224,
    ]

    /// ISO/IEC 9796-2 scheme 1 with message recovery: m = s^e mod n = 6A ‖ M1 ‖ H(M1 ‖ M2) ‖ trailer.
    static func verifyISO9796(signature: [UInt8], challenge: [UInt8], publicKey: AsymmetricKey) -> Bool {
        guard let m = publicKey.rsaPublicRaw(signature), m.count == publicKey.size, m.count > 2 else { return false }
        guard m[0] & 0xC0 == 0x40 else { return false }
        let hash: HashAlgorithm
        let trailerLength: Int
        if m[m.count - 1] == 0xBC {
            hash = .sha1
            trailerLength = 1
        } else if m[m.count - 1] == 0xCC, let h = trailerHashes[m[m.count - 2]] {
            hash = h
            trailerLength = 2
        } else {
            return false
        }
        let digestEnd = m.count - trailerLength
        let digestStart = digestEnd - hash.digestLength
        guard digestStart > 1 else { return false }
        let m1 = Array(m[1..<digestStart])
        return constantTimeEquals(hash.hash(m1, challenge), m[digestStart..<digestEnd])
    }

    /// Chip role: the answer to INTERNAL AUTHENTICATE. RSA: ISO 9796-2 scheme 1 with partial recovery (trailer
    /// BC for SHA-1, 34CC for SHA-256 …); EC: ECDSA, plain format.
    public static func sign(
        challenge: [UInt8], privateKey: AsymmetricKey, hash: HashAlgorithm, random: any RandomSource = SystemRandom()
    ) throws -> [UInt8] {
        switch privateKey.kind {
        case .ec:
            return try privateKey.signECDSAPlain(challenge, hash: hash)
        case .rsa:
            let k = privateKey.size
            let trailer: [UInt8] =
                hash == .sha1 ? [0xBC] : [trailerHashes.first { $0.value == hash }?.key ?? 0x34, 0xCC]
            let m1Length = k - hash.digestLength - trailer.count - 1
            guard m1Length >= 1 else {
                throw AccessControlError(
                    code: .unsupported,
                    reason: "an RSA key of \(k * 8) bits is too small for ISO 9796-2 signatures with \(hash.rawValue)")
            }
            let m1 = try random.bytes(m1Length)
            let m = [0x6A] + m1 + hash.hash(m1, challenge) + trailer
            return try privateKey.rsaPrivateRaw(m)
        case .other:
            throw AccessControlError(code: .unsupported, reason: "Active Authentication key type not supported")
        }
    }
}
