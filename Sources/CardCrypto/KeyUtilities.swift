import COpenSSL

/// DES keys carry odd parity in the low bit of each byte (FIPS 46-3); ICAO 9303-11 §9.7.1 adjusts derived keys.
public enum DESParity {
    public static func adjusted(_ key: some Collection<UInt8>) -> [UInt8] {
        key.map { byte in
            let high = byte & 0xFE
            return (high.nonzeroBitCount % 2 == 0) ? high | 0x01 : high
        }
    }
}

/// Cryptographically secure random bytes (OpenSSL's DRBG).
public enum SecureRandom {
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        guard count >= 0, count <= 1 << 20 else {
            throw CryptoError(code: .invalidInputLength, reason: "\(count) random bytes asked for")
        }
        var out = [UInt8](repeating: 0, count: count)
        guard count == 0 || RAND_bytes(&out, Int32(count)) == 1 else { throw .library("RAND_bytes") }
        return out
    }
}

/// Compares two byte strings in time that depends only on their lengths (for MACs and tokens).
@inlinable
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for (x, y) in zip(a, b) { diff |= x ^ y }
    return diff == 0
}
