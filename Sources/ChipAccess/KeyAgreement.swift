import CardCore
import CardCrypto

/// Domain parameters for PACE and Chip Authentication: a named curve or a DH group (ICAO 9303-11 §9.5.1).
public enum DomainParameters: Hashable, Sendable, CustomStringConvertible {
    case curve(NamedCurve)
    case dh(DHGroup)

    /// The standardized parameters 0–2 (RFC 5114 DH) and 8–18 (NIST and brainpool curves).
    public init?(standardizedID id: Int) {
        if let group = DHGroup.standardized(id) {
            self = .dh(group)
        } else if let curve = NamedCurve(parameterID: id) {
            self = .curve(curve)
        } else {
            return nil
        }
    }

    public var standardizedID: Int? {
        switch self {
        case .curve(let c): return c.parameterID
        case .dh(let g): return g.parameterID
        }
    }

    public var agreement: KeyAgreementKind {
        if case .curve = self { return .ecdh }
        return .dh
    }

    public var description: String {
        switch self {
        case .curve(let c): return c.rawValue
        case .dh(let g): return "DH \(g.p.count * 8)-bit" + (g.parameterID.map { " (id \($0))" } ?? "")
        }
    }
}

/// Key agreement on byte strings: EC points (uncompressed) or DH group elements, with an optional mapped
/// generator. Used by PACE (both mappings and the ephemeral agreement) and Chip Authentication, in both roles.
final class KeyAgreement {
    let parameters: DomainParameters
    private let ec: ECGroup?

    /// Throws when the system OpenSSL lacks the curve.
    init(_ parameters: DomainParameters) throws(CryptoError) {
        self.parameters = parameters
        if case .curve(let c) = parameters { ec = try ECGroup(c) } else { ec = nil }
    }

    /// A private key: fresh from `random`, reduced into [1, order).
    func privateKey(_ random: any RandomSource) throws -> [UInt8] {
        let order: [UInt8]
        switch parameters {
        case .curve: order = ec?.order ?? []
        case .dh(let g): order = g.q
        }
        let n = BigNumber(order)
        for _ in 0..<8 {
            let candidate = try BigNumber(try random.bytes(order.count)).mod(n)
            if !candidate.isZero { return candidate.bytes() }
        }
        throw AccessControlError(code: .unsupported, reason: "no usable private key from the random source")
    }

    /// sk · G (or g^sk), with G the standard generator or `generator`.
    func publicKey(_ privateKey: [UInt8], generator: [UInt8]? = nil) throws -> [UInt8] {
        switch parameters {
        case .curve:
            guard let ec else { preconditionFailure() }
            let g = try generator.map { try ec.point($0) }
            return try ec.multiply(BigNumber(privateKey), g).encoded
        case .dh(let group):
            return try group.power(generator ?? group.g, privateKey)
        }
    }

    /// The whole shared element sk · P (or P^sk), after checking P is a valid public key.
    func sharedElement(_ privateKey: [UInt8], peer: [UInt8]) throws -> [UInt8] {
        switch parameters {
        case .curve:
            guard let ec else { preconditionFailure() }
            let p = try ec.point(peer)
            return try ec.multiply(BigNumber(privateKey), p).encoded
        case .dh(let group):
            guard group.isValidElement(peer) else {
                throw AccessControlError(
                    code: .malformedResponse, reason: "the peer's DH public key is not in the group")
            }
            return try group.power(peer, privateKey)
        }
    }

    /// The shared secret K: the x coordinate (ECDH) or the element itself (DH).
    func sharedSecret(_ privateKey: [UInt8], peer: [UInt8]) throws -> [UInt8] {
        let element = try sharedElement(privateKey, peer: peer)
        switch parameters {
        case .curve: return Array(element.dropFirst().prefix(ec?.coordinateLength ?? 0))
        case .dh: return element
        }
    }

    /// Checks a public key (on the curve / in the group).
    func validate(_ publicKey: [UInt8]) throws {
        switch parameters {
        case .curve: _ = try ec?.point(publicKey)
        case .dh(let group):
            guard group.isValidElement(publicKey) else {
                throw AccessControlError(code: .malformedResponse, reason: "DH public key is not in the group")
            }
        }
    }

    /// Generic mapping (ICAO 9303-11 §4.4.3.3.1): G~ = s·G + H, or g~ = g^s · h.
    func genericMap(nonce s: [UInt8], shared h: [UInt8]) throws -> [UInt8] {
        switch parameters {
        case .curve:
            guard let ec else { preconditionFailure() }
            return try ec.add(ec.multiply(BigNumber(s)), ec.point(h)).encoded
        case .dh(let group):
            return try group.multiply(group.power(group.g, s), h)
        }
    }

    /// Integrated mapping (ICAO 9303-11 §4.4.3.3.2): the point encoding f_G(R_p(s,t)) for ECDH,
    /// g^ = R_p(s,t)^((p−1)/q) mod p for DH.
    func integratedMap(nonce s: [UInt8], terminalNonce t: [UInt8], cipher: SecureMessagingCipher) throws -> [UInt8] {
        let p: [UInt8]
        switch parameters {
        case .curve: p = ec?.prime ?? []
        case .dh(let g): p = g.p
        }
        let rp = try PACEMapping.pseudoRandom(s: s, t: t, p: p, cipher: cipher)
        switch parameters {
        case .curve:
            guard let ec else { preconditionFailure() }
            return try PACEMapping.encodePoint(rp, group: ec).encoded
        case .dh(let group):
            let P = BigNumber(group.p)
            let e = try P.subtracting(BigNumber(1)).dividing(BigNumber(group.q))
            let g = try BigNumber(rp).modExp(e, P)
            guard !g.isOne else {
                throw AccessControlError(code: .chipNotAuthenticated, reason: "integrated mapping gave 1")
            }
            return g.bytes(length: group.elementLength)
        }
    }

    /// The authentication token input (ICAO 9303-11 §4.4.3.4): 7F49 { 06 OID, 86 point } or { 84 Y }.
    func tokenInput(oid: [UInt8], publicKey: [UInt8]) -> [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x7F49) { inner in
            inner.write(tag: 0x06, value: oid)
            inner.write(tag: parameters.agreement == .ecdh ? 0x86 : 0x84, value: publicKey)
        }
        return w.bytes
    }

    /// The CAM value CA_IC = SK_IC⁻¹ · SK_map,IC mod n (ICAO 9303-11 §4.4.3.5.1), chip side.
    func camValue(staticPrivate: [UInt8], mappingPrivate: [UInt8]) throws -> [UInt8] {
        guard let ec else { throw AccessControlError(code: .unsupported, reason: "CAM needs ECDH") }
        let n = BigNumber(ec.order)
        guard let inverse = BigNumber(staticPrivate).modInverse(n) else {
            throw AccessControlError(code: .unsupported, reason: "the static CA key is not invertible")
        }
        return try inverse.modMul(BigNumber(mappingPrivate), n).bytes(length: ec.order.count)
    }

    /// Terminal check of CAM: PK_map,IC == CA_IC · PK_IC.
    func camVerifies(caValue: [UInt8], staticPublic: [UInt8], mappingPublic: [UInt8]) -> Bool {
        guard let ec, let pk = try? ec.point(staticPublic), let product = try? ec.multiply(BigNumber(caValue), pk)
        else {
            return false
        }
        return product.encoded == (try? ec.point(mappingPublic).encoded)
    }
}

/// The integrated mapping's pseudo-random function and EC point encoding (ICAO 9303-11 §4.4.3.3.2).
enum PACEMapping {
    static let c0_128: [UInt8] = [
        0xA6, 0x68, 0x89, 0x2A, 0x7C, 0x41, 0xE3, 0xCA, 0x73, 0x9F, 0x40, 0xB0, 0x57, 0xD8, 0x59, 0x04,
    ]
    static let c1_128: [UInt8] = [
        0xA4, 0xE1, 0x36, 0xAC, 0x72, 0x5F, 0x73, 0x8B, 0x01, 0xC1, 0xF6, 0x02, 0x17, 0xC1, 0x88, 0xAD,
    ]
    static let c0_256: [UInt8] = [
        0xD4, 0x63, 0xD6, 0x52, 0x34, 0x12, 0x4E, 0xF7, 0x89, 0x70, 0x54, 0x98, 0x6D, 0xCA, 0x0A, 0x17,
        0x4E, 0x28, 0xDF, 0x75, 0x8C, 0xBA, 0xA0, 0x3F, 0x24, 0x06, 0x16, 0x41, 0x4D, 0x5A, 0x16, 0x76,
    ]
    static let c1_256: [UInt8] = [
        0x54, 0xBD, 0x72, 0x55, 0xF0, 0xAA, 0xF8, 0x31, 0xBE, 0xC3, 0x42, 0x3F, 0xCF, 0x39, 0xD6, 0x9B,
        0x6C, 0xBF, 0x06, 0x66, 0x77, 0xD0, 0xFA, 0xAE, 0x5A, 0xAD, 0xD9, 0x9D, 0xF8, 0xE5, 0x35, 0x17,
    ]

    /// l, the bit length of the nonce s, of c0/c1 and of each output block: 128 for 3DES and AES-128, 256 for
    /// AES-192 and AES-256 (ICAO 9303-11 §4.4.3.3.2).
    static func blockBits(_ cipher: SecureMessagingCipher) -> Int { cipher == .aes192 || cipher == .aes256 ? 256 : 128 }

    /// The PACE nonce length in bytes (l / 8).
    static func nonceLength(_ cipher: SecureMessagingCipher) -> Int { blockBits(cipher) / 8 }

    /// R_p(s,t) = int(x₁‖…‖xₙ) mod p with n·l ≥ |p| + 64.
    static func pseudoRandom(s: [UInt8], t: [UInt8], p: [UInt8], cipher: SecureMessagingCipher) throws -> [UInt8] {
        let out = try pseudoRandomBlocks(s: s, t: t, bits: BigNumber(p).bitCount, cipher: cipher)
        return try BigNumber(out).mod(BigNumber(p)).bytes(length: p.count)
    }

    /// R(s,t) before reduction: with E the cipher in CBC mode, IV 0, and keys truncated to the key size k
    /// (3DES counts as k = 128): k₁ = E(t, s); for i = 1…n: xᵢ = E(kᵢ, c1), kᵢ₊₁ = E(kᵢ, c0).
    static func pseudoRandomBlocks(s: [UInt8], t: [UInt8], bits: Int, cipher: SecureMessagingCipher = .aes128) throws
        -> [UInt8]
    {
        let l = blockBits(cipher)
        let (c0, c1) = l == 128 ? (c0_128, c1_128) : (c0_256, c1_256)
        let k = cipher.keyLength
        guard s.count * 8 == l, t.count == k else {
            throw AccessControlError(
                code: .malformedResponse,
                reason: "integrated mapping: nonces of \(s.count) and \(t.count) bytes do not fit \(cipher.rawValue)")
        }
        let algorithm: CipherAlgorithm = cipher == .tripleDES ? .tripleDES2Key : try .aes(keyLength: k)
        func encrypt(_ key: [UInt8], _ data: [UInt8]) throws -> [UInt8] {
            try BlockCipher(algorithm, mode: .cbc, key: key).encrypt(data)
        }
        var key = Array(try encrypt(t, s).prefix(k))
        var out: [UInt8] = []
        for _ in 0..<((bits + 64 + l - 1) / l) {
            out += try encrypt(key, c1)
            key = Array(try encrypt(key, c0).prefix(k))
        }
        return out
    }

    /// Point encoding for p ≡ 3 (mod 4) (Brier et al., simplified SWU), as ICAO 9303-11 specifies:
    /// α = −t², X₂ = −b·a⁻¹·(1 + (α + α²)⁻¹), X₃ = α·X₂, h₂ = X₂³ + a·X₂ + b, h₃ likewise, U = t³·h₂,
    /// A = h₂^(p − 1 − (p+1)/4); if A²·h₂ = 1 then (X₂, A·h₂) else (X₃, A·U).
    static func encodePoint(_ tBytes: [UInt8], group: ECGroup) throws -> ECPoint {
        let p = BigNumber(group.prime)
        let a = BigNumber(group.a)
        let b = BigNumber(group.b)
        let t = BigNumber(tBytes)
        let one = BigNumber(1)
        guard try p.mod(BigNumber(4)) == BigNumber(3) else {
            throw AccessControlError(
                code: .unsupported,
                reason:
                    "integrated mapping on \(group.curve?.rawValue ?? "this curve") (p ≡ 1 mod 4) is not implemented")
        }
        let alpha = try BigNumber(0).modSub(t.modMul(t, p), p)
        guard let inv1 = try alpha.modAdd(alpha.modMul(alpha, p), p).modInverse(p), let aInv = a.modInverse(p) else {
            throw AccessControlError(code: .chipNotAuthenticated, reason: "point encoding: value not invertible")
        }
        let x2 = try BigNumber(0).modSub(b.modMul(aInv, p), p).modMul(one.modAdd(inv1, p), p)
        let x3 = try alpha.modMul(x2, p)
        func h(_ x: BigNumber) throws -> BigNumber {
            try x.modMul(x, p).modMul(x, p).modAdd(a.modMul(x, p), p).modAdd(b, p)
        }
        let h2 = try h(x2)
        let u = try t.modMul(t, p).modMul(t, p).modMul(h2, p)
        let exponent = try p.subtracting(one).subtracting(p.adding(one).dividing(BigNumber(4)))
        let A = try h2.modExp(exponent, p)
        if try A.modMul(A, p).modMul(h2, p).isOne {
            return try group.point(x: x2, y: A.modMul(h2, p))
        }
        return try group.point(x: x3, y: A.modMul(u, p))
    }
}
