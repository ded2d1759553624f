import COpenSSL

/// An arbitrary-precision non-negative integer (owns an OpenSSL BIGNUM). Big-endian byte conversion; modular
/// arithmetic for the PACE mappings and DH.
public final class BigNumber: Equatable, Comparable {
    let bn: OpaquePointer

    init(owning bn: OpaquePointer) { self.bn = bn }

    public init(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard let bn = BN_bin2bn(b, Int32(b.count), nil) else { preconditionFailure("BN_bin2bn: out of memory") }
        self.bn = bn
    }

    public convenience init(_ value: UInt) {
        var bytes: [UInt8] = []
        var v = value
        while v > 0 {
            bytes.insert(UInt8(v & 0xFF), at: 0)
            v >>= 8
        }
        self.init(bytes)
    }

    deinit { BN_free(bn) }

    /// Big-endian bytes, left-padded with zeros to `length` when given (and long enough).
    public func bytes(length: Int? = nil) -> [UInt8] {
        let n = Int((BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: max(n, length ?? 0))
        guard n > 0 else { return out }
        _ = out.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { BN_bn2bin(bn, $0 + (buffer.count - n)) }
        }
        return out
    }

    public var bitCount: Int { Int(BN_num_bits(bn)) }
    public var isZero: Bool { BN_is_zero(bn) == 1 }
    public var isOne: Bool { BN_is_one(bn) == 1 }

    public static func == (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.bn, b.bn) == 0 }
    public static func < (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.bn, b.bn) < 0 }

    // Modular arithmetic; results are reduced into [0, m). A zero modulus (card data can hold one) throws.
    public func modExp(_ e: BigNumber, _ m: BigNumber) throws(CryptoError) -> BigNumber {
        try op(m) { BN_mod_exp($0, bn, e.bn, m.bn, $1) }
    }
    public func modMul(_ b: BigNumber, _ m: BigNumber) throws(CryptoError) -> BigNumber {
        try op(m) { BN_mod_mul($0, bn, b.bn, m.bn, $1) }
    }
    public func modAdd(_ b: BigNumber, _ m: BigNumber) throws(CryptoError) -> BigNumber {
        try op(m) { BN_mod_add($0, bn, b.bn, m.bn, $1) }
    }
    public func modSub(_ b: BigNumber, _ m: BigNumber) throws(CryptoError) -> BigNumber {
        try op(m) { BN_mod_sub($0, bn, b.bn, m.bn, $1) }
    }
    public func mod(_ m: BigNumber) throws(CryptoError) -> BigNumber { try op(m) { BN_nnmod($0, bn, m.bn, $1) } }

    /// The inverse modulo m, or nil when there is none.
    public func modInverse(_ m: BigNumber) -> BigNumber? {
        guard let ctx = BN_CTX_new() else { preconditionFailure("BN_CTX_new") }
        defer { BN_CTX_free(ctx) }
        guard let r = BN_mod_inverse(nil, bn, m.bn, ctx) else {
            ERR_clear_error()
            return nil
        }
        return BigNumber(owning: r)
    }

    public func subtracting(_ b: BigNumber) -> BigNumber {
        guard let r = BN_new() else { preconditionFailure("BN_new") }
        precondition(BN_sub(r, bn, b.bn) == 1)
        return BigNumber(owning: r)
    }

    public func adding(_ b: BigNumber) -> BigNumber {
        guard let r = BN_new() else { preconditionFailure("BN_new") }
        precondition(BN_add(r, bn, b.bn) == 1)
        return BigNumber(owning: r)
    }

    /// floor(self / d); throws for d = 0.
    public func dividing(_ d: BigNumber) throws(CryptoError) -> BigNumber {
        try op(d) { BN_div($0, nil, bn, d.bn, $1) }
    }

    /// self mod d = 0 (d > 0).
    public func isDivisible(by d: BigNumber) throws(CryptoError) -> Bool { try mod(d).isZero }

    /// A uniformly random number in [1, upper).
    public static func random(below upper: BigNumber) throws(CryptoError) -> BigNumber {
        guard let r = BN_new() else { preconditionFailure("BN_new") }
        repeat {
            guard BN_rand_range(r, upper.bn) == 1 else {
                BN_free(r)
                throw .library("BN_rand_range")
            }
        } while BN_is_zero(r) == 1
        return BigNumber(owning: r)
    }

    /// Runs a BIGNUM operation with modulus (or divisor) `m` into a fresh result.
    private func op(_ m: BigNumber, _ body: (OpaquePointer, OpaquePointer) -> Int32) throws(CryptoError) -> BigNumber {
        guard !m.isZero else { throw CryptoError(code: .invalidKey, reason: "a modulus or divisor of zero") }
        guard let r = BN_new(), let ctx = BN_CTX_new() else { preconditionFailure("BN_new: out of memory") }
        defer { BN_CTX_free(ctx) }
        guard body(r, ctx) == 1 else {
            BN_free(r)
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, reason: "a big-number operation on these values failed")
        }
        return BigNumber(owning: r)
    }
}
