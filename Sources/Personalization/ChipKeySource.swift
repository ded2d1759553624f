import CardCrypto

/// Where data preparation takes a chip's private keys from.
///
/// `random` is the only choice for real cards. `seeded` is for tests and reproducible demos: the same seed and
/// record give the same keys (CA, AA, a DH exponent) on any core and in any order, so a batch prepared twice gives
/// the same chips. Anyone who has the seed has every key: never use it for a card a citizen will carry.
public enum ChipKeySource: Sendable, Equatable {
    case random
    case seeded([UInt8])

    /// `count` bytes for one key of one record: SHA-256(seed ‖ 00 ‖ record ‖ 00 ‖ purpose ‖ counter), as many
    /// blocks as needed.
    func stream(_ seed: [UInt8], record: String, purpose: String, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var counter: UInt32 = 0
        while out.count < count {
            let c = [
                UInt8(counter >> 24), UInt8(counter >> 16 & 0xFF), UInt8(counter >> 8 & 0xFF), UInt8(counter & 0xFF),
            ]
            out += HashAlgorithm.sha256.hash(seed, [0], Array(record.utf8), [0], Array(purpose.utf8), c)
            counter += 1
        }
        return Array(out.prefix(count))
    }

    /// A number in [1, upper − 1] from the stream (8 bytes more than `upper` so the bias is negligible).
    func scalar(below upper: [UInt8], record: String, purpose: String) throws(CryptoError) -> [UInt8] {
        guard case .seeded(let seed) = self else { return try BigNumber.random(below: BigNumber(upper)).bytes() }
        let n = BigNumber(upper)
        let x = BigNumber(stream(seed, record: record, purpose: purpose, count: upper.count + 8))
        let reduced = try x.mod(n.subtracting(BigNumber(1)))
        return reduced.adding(BigNumber(1)).bytes(length: upper.count)
    }

    /// An EC key pair on `curve`.
    public func ecKey(_ curve: NamedCurve, record: String, purpose: String) throws(CryptoError) -> AsymmetricKey {
        guard case .seeded = self else { return try .generateEC(curve) }
        return try .ec(curve, scalar: try scalar(below: try ECGroup(curve).order, record: record, purpose: purpose))
    }

    /// An RSA key pair of `bits` bits, e = 65537.
    public func rsaKey(bits: Int, record: String, purpose: String) throws(CryptoError) -> AsymmetricKey {
        guard case .seeded(let seed) = self else { return try .generateRSA(bits: bits) }
        let half = bits / 16
        let p = try AsymmetricKey.rsaPrime(from: stream(seed, record: record, purpose: purpose + "/p", count: half))
        let q = try AsymmetricKey.rsaPrime(from: stream(seed, record: record, purpose: purpose + "/q", count: half))
        return try .rsa(p: p, q: q, e: [0x01, 0x00, 0x01])
    }

    /// The Active Authentication key of the profile's type.
    public func activeAuthenticationKey(_ type: ActiveAuthenticationKeyType, record: String) throws -> AsymmetricKey {
        switch type {
        case .rsa(let bits): return try rsaKey(bits: bits, record: record, purpose: "AA")
        case .ec(let curve): return try ecKey(curve, record: record, purpose: "AA")
        }
    }

    /// A DH private exponent in [1, q − 1] of `group`.
    public func dhExponent(_ group: DHGroup, record: String) throws(CryptoError) -> [UInt8] {
        guard case .seeded = self else { return try group.randomExponent() }
        return Array(try scalar(below: group.q, record: record, purpose: "CA-DH").drop { $0 == 0 })
    }
}
