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
        precondition(blockSize > 0 && blockSize <= 16 && length <= 16)
        precondition(EVP_MAC_init(ctx, nil, 0, nil) == 1, "EVP_MAC_init (restart) failed")
        var total = 0
        for part in parts where !part.isEmpty {
            total += part.count
            part.withUnsafeBufferPointer { p in
                precondition(EVP_MAC_update(ctx, p.baseAddress, p.count) == 1, "EVP_MAC_update failed")
            }
        }
        let padding: (UInt64, UInt64) = (0x80, 0)  // little-endian: 80 00 00 …
        let padLength = blockSize - total % blockSize
        withUnsafeBytes(of: padding) { p in
            precondition(
                EVP_MAC_update(ctx, p.baseAddress?.assumingMemoryBound(to: UInt8.self), padLength) == 1,
                "EVP_MAC_update failed")
        }
        var out = [UInt8](repeating: 0, count: 16)
        var written = 0
        precondition(EVP_MAC_final(ctx, &out, &written, 16) == 1, "EVP_MAC_final failed")
        if length < 16 { out.removeLast(16 - length) }
        return out
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
