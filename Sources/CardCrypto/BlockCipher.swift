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

    // CBC with a new IV per message without re-initialising the context: OpenSSL 3.0 looks parameters up by name on
    // every EVP_CipherInit_ex2, which costs more than encrypting a short message. A CBC context chains from its last
    // ciphertext block, which is known here, so a new IV is applied to the first block instead: encrypting,
    // P1' = P1 ⊕ IV ⊕ chain; decrypting, P1 = D(C1) ⊕ chain ⊕ IV. Unknown chain (first use, a failed call): a real
    // re-initialisation. The tests hold this to fresh contexts and the published vectors.
    private typealias Block = (UInt64, UInt64)
    private var encryptChain: Block = (0, 0)
    private var encryptChainKnown = false
    private var decryptChain: Block = (0, 0)
    private var decryptChainKnown = false

    /// Encrypts whole blocks of an array (no generic path: the secure-messaging IVs).
    public func encrypt(_ data: [UInt8], iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        try data.withUnsafeBufferPointer { d throws(CryptoError) in try runContiguous(encrypting: true, d, iv: iv) }
    }

    /// Decrypts whole blocks of a slice in place of its storage (no copy of the input: the cryptograms).
    public func decrypt(_ data: ArraySlice<UInt8>, iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        try data.withUnsafeBufferPointer { d throws(CryptoError) in try runContiguous(encrypting: false, d, iv: iv) }
    }

    /// Encrypts whole blocks. `iv` (CBC only) defaults to zeros.
    public func encrypt(_ data: some Collection<UInt8>, iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        let input = Array(data)
        return try encrypt(input, iv: iv)
    }

    /// Decrypts whole blocks. `iv` (CBC only) defaults to zeros.
    public func decrypt(_ data: some Collection<UInt8>, iv: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        let input = Array(data)
        return try decrypt(input[...], iv: iv)
    }

    /// Encrypts `data` padded with ISO/IEC 9797-1 method 2 (CBC with `iv`) and appends the cryptogram to `out`:
    /// no padded copy of the input is made (the secure-messaging cryptograms).
    public func encryptPadded(_ data: ArraySlice<UInt8>, iv: [UInt8]?, appendingTo out: inout [UInt8])
        throws(CryptoError)
    {
        let bs = algorithm.blockSize
        let whole = data.count / bs * bs
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: whole + bs))
        var last: Block = (0, 0)
        withUnsafeMutableBytes(of: &last) { block in
            let rest = data.count - whole
            for i in 0..<rest { block[i] = data[data.startIndex + whole + i] }
            block[rest] = 0x80
        }
        try out.withUnsafeMutableBufferPointer { o throws(CryptoError) in
            try data.withUnsafeBufferPointer { d throws(CryptoError) in
                try withUnsafeBytes(of: &last) { l throws(CryptoError) in
                    let lastBlock = UnsafeBufferPointer(start: l.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bs)
                    let head = UnsafeBufferPointer(rebasing: d[0..<whole])
                    try encryptSegments(head, lastBlock, iv: iv, out: o.baseAddress! + start)
                }
            }
        }
    }

    /// Encrypts the first `count` bytes of `buffer` in place (CBC from a zero IV): one call for the whole chain
    /// (OpenSSL's CBC takes the same buffer as input and output; the first block is read before it is written).
    func encryptInPlace(_ buffer: inout [UInt8], count: Int) throws(CryptoError) {
        precondition(count % algorithm.blockSize == 0 && count <= buffer.count && count > 0)
        try buffer.withUnsafeMutableBufferPointer { b throws(CryptoError) in
            try encryptSegments(
                UnsafeBufferPointer(start: b.baseAddress, count: count), UnsafeBufferPointer(start: nil, count: 0),
                iv: nil, out: b.baseAddress!)
        }
    }

    /// Encrypts `first` then `second` (each whole blocks) as one CBC message under `iv` into `out`.
    private func encryptSegments(
        _ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>, iv: [UInt8]?,
        out: UnsafeMutablePointer<UInt8>
    ) throws(CryptoError) {
        let bs = algorithm.blockSize
        let total = first.count + second.count
        guard total % bs == 0 else { throw .invalidInputLength(total, blockSize: bs) }
        if total == 0 { return }
        var written: Int32 = 0
        func update(_ input: UnsafePointer<UInt8>?, _ count: Int, _ at: Int) -> Bool {
            guard count > 0 else { return true }
            return EVP_CipherUpdate(encryptContext, out + at, &written, input, Int32(count)) == 1
                && Int(written) == count
        }
        var ok: Bool
        if mode == .ecb {
            ok = update(first.baseAddress, first.count, 0) && update(second.baseAddress, second.count, first.count)
        } else {
            // The first block, with the IV applied by XOR when the context's chain is known.
            var block: Block = (0, 0)
            let source = first.count > 0 ? first : second
            withUnsafeMutableBytes(of: &block) { b in
                for i in 0..<bs { b[i] = source[i] }
            }
            if encryptChainKnown {
                withUnsafeMutableBytes(of: &block) { b in
                    withUnsafeBytes(of: encryptChain) { c in
                        for i in 0..<bs { b[i] ^= c[i] ^ (iv.map { $0[i] } ?? 0) }
                    }
                }
            } else {
                try setIV(encryptContext, iv)
            }
            ok = withUnsafeBytes(of: &block) { b in update(b.baseAddress?.assumingMemoryBound(to: UInt8.self), bs, 0) }
            if first.count > 0 {
                ok = ok && update(first.baseAddress! + bs, first.count - bs, bs)
                    && update(second.baseAddress, second.count, first.count)
            } else {
                ok = ok && update(second.baseAddress! + bs, second.count - bs, bs)
            }
            if ok {
                withUnsafeMutableBytes(of: &encryptChain) { c in
                    for i in 0..<bs { c[i] = out[total - bs + i] }
                }
            }
            encryptChainKnown = ok
        }
        guard ok else { throw .library("EVP_CipherUpdate") }
    }

    private func runContiguous(encrypting: Bool, _ input: UnsafeBufferPointer<UInt8>, iv: [UInt8]?)
        throws(CryptoError) -> [UInt8]
    {
        let bs = algorithm.blockSize
        guard input.count % bs == 0 else { throw .invalidInputLength(input.count, blockSize: bs) }
        if input.isEmpty { return [] }
        if let iv, mode == .cbc, iv.count != bs {
            throw CryptoError(code: .invalidInputLength, reason: "IV of \(iv.count) bytes, block is \(bs)")
        }
        var failure: CryptoError? = nil
        let out = [UInt8](unsafeUninitializedCapacity: input.count + bs) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            do throws(CryptoError) {
                if encrypting {
                    try encryptSegments(input, UnsafeBufferPointer(start: nil, count: 0), iv: iv, out: base)
                } else {
                    try decryptBlocks(input, iv: iv, out: base)
                }
                count = input.count
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    private func decryptBlocks(_ input: UnsafeBufferPointer<UInt8>, iv: [UInt8]?, out: UnsafeMutablePointer<UInt8>)
        throws(CryptoError)
    {
        let bs = algorithm.blockSize
        var written: Int32 = 0
        if mode == .cbc && !decryptChainKnown { try setIV(decryptContext, iv) }
        let ok =
            EVP_CipherUpdate(decryptContext, out, &written, input.baseAddress, Int32(input.count)) == 1
            && Int(written) == input.count
        guard mode == .cbc else {
            guard ok else { throw .library("EVP_CipherUpdate") }
            return
        }
        guard ok else {
            decryptChainKnown = false
            throw .library("EVP_CipherUpdate")
        }
        if decryptChainKnown {
            withUnsafeBytes(of: decryptChain) { c in
                for i in 0..<bs { out[i] ^= c[i] ^ (iv.map { $0[i] } ?? 0) }
            }
        }
        withUnsafeMutableBytes(of: &decryptChain) { c in
            for i in 0..<bs { c[i] = input[input.count - bs + i] }
        }
        decryptChainKnown = true
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
}
