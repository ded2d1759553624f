import CCryptoShim
import COpenSSL

/// ISO/IEC 9797-1 MAC algorithm 3 with DES ("retail MAC"), the 3DES secure-messaging MAC of ICAO 9303-11 §9.8.
///
/// With K = Ka‖Kb: single-DES CBC with Ka over every block, then decrypt with Kb and encrypt with Ka on the last
/// one. OpenSSL 3's default provider has no single DES, so the CBC chain uses DES-EDE with Ka‖Ka (which is
/// single DES), and the last step E(Ka)∘D(Kb)∘E(Ka) of the final block is exactly two-key 3DES.
public final class RetailMAC {
    private let chain: BlockCipher
    private let final: BlockCipher

    /// `key`: 16 bytes Ka‖Kb.
    public init(key: some Collection<UInt8>) throws(CryptoError) {
        let key = Array(key)
        guard key.count == 16 else { throw .invalidKeyLength(key.count, expected: "16 (Ka‖Kb)") }
        let ka = Array(key[0..<8])
        chain = try BlockCipher(.tripleDES2Key, mode: .cbc, key: ka + ka)
        final = try BlockCipher(.tripleDES2Key, mode: .ecb, key: key)
    }

    /// The 8-byte MAC of data that is already padded to a multiple of 8 bytes.
    public func mac(padded data: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !data.isEmpty, data.count % 8 == 0 else { throw .invalidInputLength(data.count, blockSize: 8) }
        var h = [UInt8](repeating: 0, count: 8)
        if data.count > 8 {
            let chained = try chain.encrypt(data[0..<(data.count - 8)])
            h = Array(chained[(chained.count - 8)...])
        }
        var last = Array(data[(data.count - 8)...])
        for i in 0..<8 { last[i] ^= h[i] }
        return try final.encrypt(last)
    }

    /// The MAC of unpadded data (padding method 2 applied here).
    public func mac(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
        try mac(padded: ISO9797Padding.pad(data, blockSize: 8))
    }
}

/// AES-CMAC (NIST SP 800-38B, RFC 4493) through OpenSSL's EVP_MAC; the AES secure-messaging MAC of
/// ICAO 9303-11 §9.8.7.2 (truncated to 8 bytes by the caller).
public final class CMAC {
    private let mac: OpaquePointer
    private let ctx: OpaquePointer
    public let algorithm: CipherAlgorithm

    public init(key: some Collection<UInt8>) throws(CryptoError) {
        let key = Array(key)
        algorithm = try CipherAlgorithm.aes(keyLength: key.count)
        guard let mac = EVP_MAC_fetch(nil, "CMAC", nil) else { throw .library("EVP_MAC_fetch(CMAC)") }
        guard let ctx = EVP_MAC_CTX_new(mac) else {
            EVP_MAC_free(mac)
            preconditionFailure("EVP_MAC_CTX_new: out of memory")
        }
        self.mac = mac
        self.ctx = ctx
        guard cccd_cmac_init(ctx, algorithm.openSSLName(.cbc), key, key.count) == 1 else {
            throw .library("EVP_MAC_init(CMAC)")
        }
    }

    deinit {
        EVP_MAC_CTX_free(ctx)
        EVP_MAC_free(mac)
    }

    /// The CMAC of the concatenation of `parts` padded with ISO/IEC 9797-1 method 2 to a multiple of `blockSize`,
    /// truncated to `length` bytes: one context, no copy of the input (the secure-messaging checksums).
    public func authenticate(padded parts: [ArraySlice<UInt8>], blockSize: Int, length: Int = 16) -> [UInt8] {
        precondition(blockSize > 0 && blockSize <= 16)
        return stream(parts, padTo: blockSize, length: length)
    }

    private func stream(_ parts: [ArraySlice<UInt8>], padTo blockSize: Int?, length: Int) -> [UInt8] {
        precondition(length <= 16)
        precondition(EVP_MAC_init(ctx, nil, 0, nil) == 1, "EVP_MAC_init (restart) failed")
        var total = 0
        for part in parts where !part.isEmpty {
            total += part.count
            part.withUnsafeBufferPointer { p in
                precondition(EVP_MAC_update(ctx, p.baseAddress, p.count) == 1, "EVP_MAC_update failed")
            }
        }
        let padding: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8) = (0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let padLength = blockSize.map { $0 - total % $0 } ?? 0
        if padLength > 0 { withUnsafeBytes(of: padding) { p in
            precondition(
                EVP_MAC_update(ctx, p.baseAddress?.assumingMemoryBound(to: UInt8.self), padLength) == 1,
                "EVP_MAC_update failed")
        } }
        var out = [UInt8](repeating: 0, count: 16)
        var written = 0
        precondition(EVP_MAC_final(ctx, &out, &written, 16) == 1, "EVP_MAC_final failed")
        if length < 16 { out.removeLast(16 - length) }
        return out
    }

    /// The full 16-byte CMAC of an array (no generic path).
    public func authenticate(_ data: [UInt8]) -> [UInt8] {
        stream([data[...]], padTo: nil, length: 16)
    }

    /// The full 16-byte CMAC of `data`.
    public func authenticate(_ data: some Collection<UInt8>) -> [UInt8] {
        let input = Array(data)
        var out = [UInt8](repeating: 0, count: 16)
        var length = 0
        precondition(EVP_MAC_init(ctx, nil, 0, nil) == 1, "EVP_MAC_init (restart) failed")
        precondition(EVP_MAC_update(ctx, input, input.count) == 1, "EVP_MAC_update failed")
        precondition(EVP_MAC_final(ctx, &out, &length, out.count) == 1, "EVP_MAC_final failed")
        return Array(out[..<length])
    }
}

/// AES-CMAC (NIST SP 800-38B) of input padded with ISO/IEC 9797-1 method 2, computed as one AES-CBC pass: the
/// padded message is a whole number of blocks, so CMAC is the last block of CBC-encrypting it from a zero IV with
/// its last block XORed with the subkey K1. OpenSSL 3.0's EVP_MAC CMAC makes one cipher call per block; this makes
/// one per message (the secure-messaging checksums). Held to RFC 4493 and to `CMAC` (EVP_MAC) in the tests.
public final class PaddedCMAC {
    private let cbc: BlockCipher
    private let k1: [UInt8]
    /// The message is copied here and encrypted in place: no allocation per checksum once it is large enough.
    private var scratch: [UInt8] = []

    public init(key: some Collection<UInt8>) throws(CryptoError) {
        let key = Array(key)
        let algorithm = try CipherAlgorithm.aes(keyLength: key.count)
        cbc = try BlockCipher(algorithm, mode: .cbc, key: key)
        // L = E(K, 0^128); K1 = L << 1, XOR 0x87 into the last byte when L's top bit was set (SP 800-38B §6.1).
        let l = try BlockCipher(algorithm, mode: .ecb, key: key).encrypt([UInt8](repeating: 0, count: 16))
        var k = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { k[i] = l[i] << 1 | (i < 15 ? l[i + 1] >> 7 : 0) }
        if l[0] & 0x80 != 0 { k[15] ^= 0x87 }
        k1 = k
    }

    /// The secure-messaging checksum: CMAC of pad(`prefix` ‖ [pad(`header`)] ‖ `objects`), truncated to `length`
    /// (ICAO 9303-11 §9.8.6: N = pad(SSC ‖ pad(CmdHeader) ‖ DOs) for a command, pad(SSC ‖ DOs) for a response),
    /// built in the scratch buffer without allocating.
    public func authenticate(
        prefix: [UInt8], header: (UInt8, UInt8, UInt8, UInt8)?, objects: ArraySlice<UInt8>, length: Int
    ) throws(CryptoError) -> [UInt8] {
        precondition(length <= 16 && prefix.count <= 16)
        let headerBlock = header == nil ? 0 : 16
        let total = prefix.count + headerBlock + objects.count
        let n = (total / 16 + 1) * 16
        if scratch.count < n { scratch = [UInt8](repeating: 0, count: max(n, 2 * scratch.count)) }
        scratch.withUnsafeMutableBufferPointer { s in
            var at = 0
            for b in prefix {
                s[at] = b
                at += 1
            }
            if let (a, b, c, d) = header {
                s[at] = a
                s[at + 1] = b
                s[at + 2] = c
                s[at + 3] = d
                s[at + 4] = 0x80
                for i in at + 5..<at + 16 { s[i] = 0 }
                at += 16
            }
            if !objects.isEmpty {
                objects.withUnsafeBufferPointer { p in
                    s.baseAddress!.advanced(by: at).update(from: p.baseAddress!, count: p.count)
                }
                at += objects.count
            }
        }
        return try finish(message: total, blocks: n, length: length)
    }

    /// Pads the `message` bytes in `scratch` to `blocks` bytes (method 2), XORs K1 into the last block, and returns the
    /// last block of one CBC pass, truncated to `length`.
    private func finish(message: Int, blocks n: Int, length: Int) throws(CryptoError) -> [UInt8] {
        scratch.withUnsafeMutableBufferPointer { s in
            s[message] = 0x80
            for i in message + 1..<n { s[i] = 0 }
            for i in 0..<16 { s[n - 16 + i] ^= k1[i] }
        }
        try cbc.encryptInPlace(&scratch, count: n)
        return Array(scratch[(n - 16)..<(n - 16 + length)])
    }

    /// The CMAC of the concatenation of `parts` padded (method 2) to whole 16-byte blocks, truncated to `length`.
    public func authenticate(padded parts: [ArraySlice<UInt8>], length: Int = 16) throws(CryptoError) -> [UInt8] {
        precondition(length <= 16)
        var total = 0
        for part in parts { total += part.count }
        let n = (total / 16 + 1) * 16
        if scratch.count < n { scratch = [UInt8](repeating: 0, count: max(n, 2 * scratch.count)) }
        scratch.withUnsafeMutableBufferPointer { s in
            var at = 0
            for part in parts where !part.isEmpty {
                part.withUnsafeBufferPointer { p in
                    s.baseAddress!.advanced(by: at).update(from: p.baseAddress!, count: p.count)
                }
                at += part.count
            }
        }
        return try finish(message: total, blocks: n, length: length)
    }
}

/// HMAC (RFC 2104) with a SHA-2 hash: the relay's session tokens.
public enum HMAC {
    public static func authenticate(_ data: [UInt8], key: [UInt8], hash: HashAlgorithm = .sha256) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length = 0
        let name = hash.openSSLName
        let ok = key.withUnsafeBytes { k in
            data.withUnsafeBufferPointer { d in
                EVP_Q_mac(nil, "HMAC", nil, name, nil, k.baseAddress, k.count, d.baseAddress, d.count, &out, 64, &length)
            }
        }
        precondition(ok != nil, "HMAC failed")
        return Array(out.prefix(length))
    }

}
