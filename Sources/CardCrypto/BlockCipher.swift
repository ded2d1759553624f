import CCryptoShim
import COpenSSL

/// Block ciphers an eMRTD uses: AES (secure messaging after PACE/CA, PACE nonces) and two- or three-key 3DES
/// (BAC secure messaging, ICAO 9303-11 §9.8). No padding is added: callers pad (ISO/IEC 9797-1 method 2).
public enum CipherAlgorithm: Hashable, Sendable {
    case aes128, aes192, aes256
    /// Two-key (16-byte key) 3DES EDE.
    case tripleDES2Key
    /// Three-key (24-byte key) 3DES EDE.
    case tripleDES3Key

    public var keyLength: Int {
        switch self {
        case .aes128: return 16
        case .aes192: return 24
        case .aes256: return 32
        case .tripleDES2Key: return 16
        case .tripleDES3Key: return 24
        }
    }

    public var blockSize: Int {
        switch self {
        case .aes128, .aes192, .aes256: return 16
        case .tripleDES2Key, .tripleDES3Key: return 8
        }
    }

    /// AES of the given key length in bytes (16, 24 or 32).
    public static func aes(keyLength: Int) throws(CryptoError) -> CipherAlgorithm {
        switch keyLength {
        case 16: return .aes128
        case 24: return .aes192
        case 32: return .aes256
        default: throw .invalidKeyLength(keyLength, expected: "16, 24 or 32 for AES")
        }
    }

    func openSSLName(_ mode: CipherMode) -> String {
        let m = mode == .ecb ? "ECB" : "CBC"
        switch self {
        case .aes128: return "AES-128-\(m)"
        case .aes192: return "AES-192-\(m)"
        case .aes256: return "AES-256-\(m)"
        case .tripleDES2Key: return "DES-EDE-\(m)"
        case .tripleDES3Key: return "DES-EDE3-\(m)"
        }
    }
}

public enum CipherMode: Hashable, Sendable { case ecb, cbc }

/// One key, one algorithm and mode; owns its OpenSSL contexts and reuses them for every message
/// (a session encrypts hundreds of blocks with the same key: the key schedule is computed once).
public final class BlockCipher {
    public let algorithm: CipherAlgorithm
    public let mode: CipherMode
    private let cipher: OpaquePointer
    private let encryptContext: OpaquePointer
    private let decryptContext: OpaquePointer

    public init(_ algorithm: CipherAlgorithm, mode: CipherMode, key: some Collection<UInt8>) throws(CryptoError) {
        let key = Array(key)
        guard key.count == algorithm.keyLength else {
            throw .invalidKeyLength(key.count, expected: "\(algorithm.keyLength)")
        }
        self.algorithm = algorithm
        self.mode = mode
        guard let cipher = EVP_CIPHER_fetch(nil, algorithm.openSSLName(mode), nil) else {
            throw CryptoError(code: .unsupportedAlgorithm, reason: "OpenSSL has no \(algorithm.openSSLName(mode))")
        }
        guard let enc = EVP_CIPHER_CTX_new(), let dec = EVP_CIPHER_CTX_new() else {
            preconditionFailure("EVP_CIPHER_CTX_new: out of memory")
        }
        self.cipher = cipher
        self.encryptContext = enc
        self.decryptContext = dec
        for (ctx, direction) in [(enc, Int32(1)), (dec, Int32(0))] {
            guard EVP_CipherInit_ex2(ctx, cipher, key, nil, direction, nil) == 1 else {
                throw .library("EVP_CipherInit_ex2")
            }
            EVP_CIPHER_CTX_set_padding(ctx, 0)
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
        EVP_CIPHER_free(cipher)
    }

    /// Encrypts whole blocks. `iv` (CBC only) defaults to zeros.
    public func encrypt(_ data: some Collection<UInt8>, iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        try run(encryptContext, data, iv: iv)
    }

    /// Decrypts whole blocks. `iv` (CBC only) defaults to zeros.
    public func decrypt(_ data: some Collection<UInt8>, iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        try run(decryptContext, data, iv: iv)
    }

    /// Encrypts `data` padded with ISO/IEC 9797-1 method 2 (CBC with `iv`) and appends the cryptogram to `out`:
    /// no padded copy of the input is made (the secure-messaging cryptograms).
    public func encryptPadded(_ data: ArraySlice<UInt8>, iv: [UInt8]?, appendingTo out: inout [UInt8])
        throws(CryptoError)
    {
        let bs = algorithm.blockSize
        try setIV(encryptContext, iv)
        let whole = data.count / bs * bs
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: whole + bs))
        var last = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &last) { block in
            let rest = data.count - whole
            for i in 0..<rest { block[i] = data[data.startIndex + whole + i] }
            block[rest] = 0x80
        }
        let ok: Bool = out.withUnsafeMutableBufferPointer { o in
            var written: Int32 = 0
            guard let base = o.baseAddress else { return false }
            if whole > 0 {
                let done = data.withUnsafeBufferPointer { d in
                    EVP_CipherUpdate(encryptContext, base + start, &written, d.baseAddress, Int32(whole)) == 1
                }
                guard done, Int(written) == whole else { return false }
            }
            return withUnsafeBytes(of: &last) { l in
                EVP_CipherUpdate(
                    encryptContext, base + start + whole, &written, l.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    Int32(bs)) == 1 && Int(written) == bs
            }
        }
        guard ok else { throw .library("EVP_CipherUpdate") }
    }

    private func setIV(_ ctx: OpaquePointer, _ iv: [UInt8]?) throws(CryptoError) {
        guard mode == .cbc else { return }
        let blockSize = algorithm.blockSize
        let vector = iv ?? [UInt8](repeating: 0, count: blockSize)
        guard vector.count == blockSize else {
            throw CryptoError(code: .invalidInputLength, reason: "IV of \(vector.count) bytes, block is \(blockSize)")
        }
        guard EVP_CipherInit_ex2(ctx, nil, nil, vector, -1, nil) == 1 else { throw .library("EVP_CipherInit_ex2") }
    }

    private func run(_ ctx: OpaquePointer, _ data: some Collection<UInt8>, iv: [UInt8]?) throws(CryptoError)
        -> [UInt8]
    {
        let blockSize = algorithm.blockSize
        guard data.count % blockSize == 0 else { throw .invalidInputLength(data.count, blockSize: blockSize) }
        if data.isEmpty { return [] }
        try setIV(ctx, iv)
        var out = [UInt8](repeating: 0, count: data.count + blockSize)
        var written: Int32 = 0
        // The input in place when it is contiguous (an array or a slice of one); copied otherwise.
        let done =
            data.withContiguousStorageIfAvailable { input in
                EVP_CipherUpdate(ctx, &out, &written, input.baseAddress, Int32(input.count)) == 1
            }
            ?? {
                let input = Array(data)
                return EVP_CipherUpdate(ctx, &out, &written, input, Int32(input.count)) == 1
            }()
        guard done else { throw .library("EVP_CipherUpdate") }
        out.removeLast(out.count - Int(written))
        return out
    }
}
