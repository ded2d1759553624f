import CardCrypto

/// The cipher of a secure-messaging session (ICAO 9303-11 §9.8: 3DES after BAC, AES after PACE/CA).
public enum SecureMessagingCipher: String, Hashable, Sendable, CaseIterable {
    case tripleDES = "3DES"
    case aes128 = "AES-128"
    case aes192 = "AES-192"
    case aes256 = "AES-256"

    public var keyLength: Int {
        switch self {
        case .tripleDES, .aes128: return 16
        case .aes192: return 24
        case .aes256: return 32
        }
    }

    public var blockSize: Int { self == .tripleDES ? 8 : 16 }
}

/// ICAO 9303-11 §9.7.1: KDF(K, c) = H(K ‖ c) with c a 32-bit big-endian counter; SHA-1 for 3DES and AES-128
/// (first 16 bytes; DES parity adjusted for 3DES), SHA-256 for AES-192 (first 24) and AES-256 (all 32).
public enum KeyDerivation {
    public static let encryptionCounter: UInt32 = 1
    public static let macCounter: UInt32 = 2
    public static let passwordCounter: UInt32 = 3

    public static func derive(_ secret: some Collection<UInt8>, counter: UInt32, cipher: SecureMessagingCipher)
        -> [UInt8]
    {
        let c: [UInt8] = [
            UInt8(counter >> 24), UInt8(counter >> 16 & 0xFF), UInt8(counter >> 8 & 0xFF), UInt8(counter & 0xFF),
        ]
        let input = Array(secret) + c
        switch cipher {
        case .tripleDES: return DESParity.adjusted(HashAlgorithm.sha1.hash(input).prefix(16))
        case .aes128: return Array(HashAlgorithm.sha1.hash(input).prefix(16))
        case .aes192: return Array(HashAlgorithm.sha256.hash(input).prefix(24))
        case .aes256: return HashAlgorithm.sha256.hash(input)
        }
    }
}
