import CardCrypto

/// The two session keys of a secure-messaging channel with their cipher contexts, built once per session
/// (ICAO 9303-11 §9.8.6.1 3DES, §9.8.7 AES). Never printed.
public final class SecureMessagingKeys: CustomStringConvertible {
    public let cipher: SecureMessagingCipher
    private let encryption: BlockCipher
    var encryptionCipher: BlockCipher { encryption }
    private let ivCipher: BlockCipher?
    private let retailMAC: RetailMAC?
    private let cmac: CMAC?
    /// The same CMAC as one CBC pass, for the checksums of secure messaging (padded input).
    private let paddedCMAC: PaddedCMAC?

    /// The raw keys, for tests of the worked examples only (never printed or logged).
    let encryptionKey: [UInt8]
    let macKey: [UInt8]

    public init(cipher: SecureMessagingCipher, encryptionKey: [UInt8], macKey: [UInt8]) throws(CryptoError) {
        self.cipher = cipher
        self.encryptionKey = encryptionKey
        self.macKey = macKey
        switch cipher {
        case .tripleDES:
            encryption = try BlockCipher(.tripleDES2Key, mode: .cbc, key: encryptionKey)
            ivCipher = nil
            retailMAC = try RetailMAC(key: macKey)
            cmac = nil
            paddedCMAC = nil
        case .aes128, .aes192, .aes256:
            let algorithm = try CipherAlgorithm.aes(keyLength: cipher.keyLength)
            guard encryptionKey.count == cipher.keyLength, macKey.count == cipher.keyLength else {
                throw CryptoError(
                    code: .invalidKeyLength, reason: "\(cipher.rawValue) session keys must be \(cipher.keyLength) bytes"
                )
            }
            encryption = try BlockCipher(algorithm, mode: .cbc, key: encryptionKey)
            ivCipher = try BlockCipher(algorithm, mode: .ecb, key: encryptionKey)
            retailMAC = nil
            cmac = try CMAC(key: macKey)
            paddedCMAC = try PaddedCMAC(key: macKey)
        }
    }

    /// Keys derived from a shared secret with KDF counters 1 and 2 (BAC, PACE, CA).
    public convenience init(cipher: SecureMessagingCipher, sharedSecret: [UInt8]) throws(CryptoError) {
        try self.init(
            cipher: cipher,
            encryptionKey: KeyDerivation.derive(sharedSecret, counter: KeyDerivation.encryptionCounter, cipher: cipher),
            macKey: KeyDerivation.derive(sharedSecret, counter: KeyDerivation.macCounter, cipher: cipher))
    }

    public var blockSize: Int { cipher.blockSize }

    /// The send sequence counter's length: 8 bytes for 3DES, 16 for AES.
    public var sscLength: Int { cipher.blockSize }

    /// IV for this SSC: zeros for 3DES, E(KSenc, SSC) for AES (ICAO 9303-11 §9.8.7.1).
    func iv(for ssc: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let ivCipher else { return [UInt8](repeating: 0, count: 8) }
        return try ivCipher.encrypt(ssc)
    }

    func encrypt(_ padded: [UInt8], ssc: [UInt8]) throws(CryptoError) -> [UInt8] {
        try encryption.encrypt(padded, iv: iv(for: ssc))
    }

    func decrypt(_ cryptogram: ArraySlice<UInt8>, ssc: [UInt8]) throws(CryptoError) -> [UInt8] {
        try encryption.decrypt(cryptogram, iv: iv(for: ssc))
    }

    /// The 8-byte checksum of the concatenation of `parts`, padded here (ISO/IEC 9797-1 method 2): AES-CMAC streams
    /// the parts through one context; the retail MAC chains them as one buffer.
    func mac(parts: [ArraySlice<UInt8>]) throws(CryptoError) -> [UInt8] {
        if let paddedCMAC { return try paddedCMAC.authenticate(padded: parts, length: 8) }
        var input: [UInt8] = []
        input.reserveCapacity(parts.reduce(8) { $0 + $1.count })
        for part in parts { input.append(contentsOf: part) }
        return try mac(padded: ISO9797Padding.pad(input, blockSize: 8))
    }

    /// The checksum of pad(SSC ‖ [pad(header)] ‖ objects): streamed through the CMAC's own buffer (AES), or
    /// concatenated for the retail MAC (3DES).
    func mac(ssc: [UInt8], header: [UInt8]?, objects: ArraySlice<UInt8>) throws(CryptoError) -> [UInt8] {
        if let paddedCMAC {
            let h = header.map { ($0[0], $0[1], $0[2], $0[3]) }
            return try paddedCMAC.authenticate(prefix: ssc, header: h, objects: objects, length: 8)
        }
        var input: [UInt8] = ssc
        input.reserveCapacity(ssc.count + 16 + objects.count + 8)
        if let header { input.append(contentsOf: ISO9797Padding.pad(header, blockSize: blockSize)) }
        input.append(contentsOf: objects)
        return try mac(padded: ISO9797Padding.pad(input, blockSize: blockSize))
    }

    /// Encrypts `data` padded to the block size under the SSC's IV, appended to `out` (no padded copy).
    func encryptPadded(_ data: ArraySlice<UInt8>, ssc: [UInt8], appendingTo out: inout [UInt8]) throws(CryptoError) {
        try encryption.encryptPadded(data, iv: iv(for: ssc), appendingTo: &out)
    }

    /// The 8-byte checksum over already padded input (retail MAC or AES-CMAC truncated).
    func mac(padded input: [UInt8]) throws(CryptoError) -> [UInt8] {
        if let retailMAC { return try retailMAC.mac(padded: input) }
        guard let cmac else { preconditionFailure("secure messaging keys without a MAC") }
        return Array(cmac.authenticate(input).prefix(8))
    }

    /// A checksum the protocols outside SM use with the same MAC key (PACE/CA tokens: full CMAC truncated to 8).
    public func authenticationToken(_ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        if let cmac { return Array(cmac.authenticate(input).prefix(8)) }
        return try mac(padded: ISO9797Padding.pad(input, blockSize: 8))
    }

    public var description: String { "SecureMessagingKeys(\(cipher.rawValue), <redacted>)" }
}
