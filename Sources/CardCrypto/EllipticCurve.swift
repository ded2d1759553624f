import COpenSSL

/// The curves of the standardized PACE domain parameters (ICAO 9303-11 §9.5.1, BSI TR-03110-3 Table 4).
public enum NamedCurve: String, CaseIterable, Hashable, Sendable {
    case secp192r1, brainpoolP192r1, secp224r1, brainpoolP224r1, secp256r1, brainpoolP256r1, brainpoolP320r1
    case secp384r1, brainpoolP384r1, brainpoolP512r1, secp521r1

    /// The standardized domain parameter identifier (8…18).
    public var parameterID: Int {
        switch self {
        case .secp192r1: return 8
        case .brainpoolP192r1: return 9
        case .secp224r1: return 10
        case .brainpoolP224r1: return 11
        case .secp256r1: return 12
        case .brainpoolP256r1: return 13
        case .brainpoolP320r1: return 14
        case .secp384r1: return 15
        case .brainpoolP384r1: return 16
        case .brainpoolP512r1: return 17
        case .secp521r1: return 18
        }
    }

    public init?(parameterID: Int) {
        guard let c = Self.allCases.first(where: { $0.parameterID == parameterID }) else { return nil }
        self = c
    }

    /// OpenSSL's name for the curve.
    public var openSSLName: String {
        switch self {
        case .secp192r1: return "prime192v1"
        case .secp256r1: return "prime256v1"
        default: return rawValue
        }
    }

    var nid: Int32 { OBJ_sn2nid(openSSLName) }

    /// p, a, b and n of each curve the system OpenSSL provides, read once per process.
    private static let parameters: [NamedCurve: (p: [UInt8], a: [UInt8], b: [UInt8], n: [UInt8])] = {
        var table: [NamedCurve: (p: [UInt8], a: [UInt8], b: [UInt8], n: [UInt8])] = [:]
        for curve in allCases {
            guard let group = try? ECGroup(curve) else { continue }
            table[curve] = (group.prime, group.a, group.b, group.order)
        }
        return table
    }()

    /// The named curve whose parameters these are (explicit ECParameters, as most passports write DG14 and
    /// DG15), or nil. Compares numbers, not encodings (leading zeros do not matter); sizes past the largest
    /// named curve are rejected before any arithmetic.
    public static func matching(
        p: [UInt8], a: [UInt8], b: [UInt8], generator: [UInt8], order: [UInt8], cofactor: [UInt8]
    ) throws(CryptoError) -> NamedCurve? {
        func strip(_ x: [UInt8]) -> [UInt8] { Array(x.drop { $0 == 0 }) }
        guard p.count <= 67, a.count <= 67, b.count <= 67, order.count <= 67, generator.count <= 1 + 2 * 67,
            strip(cofactor) == [1]
        else {
            return nil
        }
        let (P, A, B, N) = (strip(p), strip(a), strip(b), strip(order))
        for (curve, known) in parameters
        where strip(known.p) == P && strip(known.a) == A && strip(known.b) == B && strip(known.n) == N {
            let group = try ECGroup(curve)
            guard let g = group.normalized(generator), g == group.generator.encoded else { return nil }
            return curve
        }
        return nil
    }

    public init?(openSSLName: String) {
        guard let c = Self.allCases.first(where: { $0.openSSLName == openSSLName }) else { return nil }
        self = c
    }
}

/// A prime-field elliptic curve group (owns an EC_GROUP) with the point arithmetic PACE and CA need.
public final class ECGroup {
    let group: OpaquePointer
    let ctx: OpaquePointer
    /// The named curve, when the group is one.
    public let curve: NamedCurve?

    /// The named curve's group. Throws when the system OpenSSL lacks the curve (some distributions ship
    /// without the brainpool curves).
    public init(_ curve: NamedCurve) throws(CryptoError) {
        guard let g = EC_GROUP_new_by_curve_name(curve.nid) else {
            ERR_clear_error()
            throw CryptoError(
                code: .unsupportedAlgorithm, reason: "the system OpenSSL does not provide the curve \(curve.rawValue)")
        }
        guard let ctx = BN_CTX_new() else {
            EC_GROUP_free(g)
            preconditionFailure("BN_CTX_new: out of memory")
        }
        group = g
        self.ctx = ctx
        self.curve = curve
    }

    /// A group from explicit parameters (p, a, b, generator point, order n, cofactor h). Only the named curves
    /// are accepted: the group is the named one whose parameters these are (`NamedCurve.matching`), so card
    /// data never makes OpenSSL build a curve of its choosing.
    public convenience init(p: [UInt8], a: [UInt8], b: [UInt8], generator: [UInt8], order: [UInt8], cofactor: [UInt8])
        throws(CryptoError)
    {
        guard
            let named = try NamedCurve.matching(
                p: p, a: a, b: b, generator: generator, order: order, cofactor: cofactor)
        else {
            throw CryptoError(code: .invalidKey, reason: "explicit curve parameters of an unknown curve")
        }
        try self.init(named)
    }

    deinit {
        EC_GROUP_free(group)
        BN_CTX_free(ctx)
    }

    /// The field prime p.
    public var prime: [UInt8] { curveParameters().p }
    public var a: [UInt8] { curveParameters().a }
    public var b: [UInt8] { curveParameters().b }

    private func curveParameters() -> (p: [UInt8], a: [UInt8], b: [UInt8]) {
        guard let p = BN_new(), let a = BN_new(), let b = BN_new() else { preconditionFailure("BN_new") }
        let P = BigNumber(owning: p)
        let A = BigNumber(owning: a)
        let B = BigNumber(owning: b)
        precondition(EC_GROUP_get_curve(group, p, a, b, ctx) == 1)
        let len = coordinateLength
        return (P.bytes(length: len), A.bytes(length: len), B.bytes(length: len))
    }

    /// The order n of the generator.
    public var order: [UInt8] {
        guard let n = EC_GROUP_get0_order(group), let copy = BN_dup(n) else { preconditionFailure("order") }
        return BigNumber(owning: copy).bytes()
    }

    public var cofactor: [UInt8] {
        guard let h = EC_GROUP_get0_cofactor(group), let copy = BN_dup(h) else { return [1] }
        return BigNumber(owning: copy).bytes()
    }

    /// Bytes in one coordinate (32 for a 256-bit curve).
    public var coordinateLength: Int { (Int(EC_GROUP_get_degree(group)) + 7) / 8 }

    public var generator: ECPoint {
        guard let g = EC_GROUP_get0_generator(group), let copy = EC_POINT_dup(g, group) else {
            preconditionFailure("generator")
        }
        return ECPoint(owning: copy, group: self)
    }

    /// Decodes an uncompressed (04 ‖ x ‖ y) or compressed point; throws when it is not on the curve.
    public func point(_ bytes: some Collection<UInt8>) throws(CryptoError) -> ECPoint {
        let b = Array(bytes)
        guard let p = EC_POINT_new(group) else { preconditionFailure("EC_POINT_new") }
        guard !b.isEmpty, EC_POINT_oct2point(group, p, b, b.count, ctx) == 1, EC_POINT_is_on_curve(group, p, ctx) == 1,
            EC_POINT_is_at_infinity(group, p) == 0
        else {
            EC_POINT_free(p)
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, reason: "not a point on the curve")
        }
        return ECPoint(owning: p, group: self)
    }

    /// The point (x, y) from affine coordinates.
    public func point(x: BigNumber, y: BigNumber) throws(CryptoError) -> ECPoint {
        let len = coordinateLength
        return try point([0x04] + x.bytes(length: len) + y.bytes(length: len))
    }

    /// k · P (P = generator when nil).
    public func multiply(_ k: BigNumber, _ p: ECPoint? = nil) throws(CryptoError) -> ECPoint {
        guard let r = EC_POINT_new(group) else { preconditionFailure("EC_POINT_new") }
        let ok =
            p.map { EC_POINT_mul(group, r, nil, $0.point, k.bn, ctx) } ?? EC_POINT_mul(group, r, k.bn, nil, nil, ctx)
        guard ok == 1, EC_POINT_is_at_infinity(group, r) == 0 else {
            EC_POINT_free(r)
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, reason: "scalar multiplication gave the point at infinity")
        }
        return ECPoint(owning: r, group: self)
    }

    public func add(_ p: ECPoint, _ q: ECPoint) throws(CryptoError) -> ECPoint {
        guard let r = EC_POINT_new(group) else { preconditionFailure("EC_POINT_new") }
        guard EC_POINT_add(group, r, p.point, q.point, ctx) == 1, EC_POINT_is_at_infinity(group, r) == 0 else {
            EC_POINT_free(r)
            throw CryptoError(code: .invalidKey, reason: "point addition gave the point at infinity")
        }
        return ECPoint(owning: r, group: self)
    }

    /// The normalized (uncompressed) encoding of a point given in any form, or nil when it is not on the curve.
    func normalized(_ bytes: [UInt8]) -> [UInt8]? { (try? point(bytes))?.encoded }

    /// A random private key in [1, n).
    public func randomScalar() throws(CryptoError) -> BigNumber { try BigNumber.random(below: BigNumber(order)) }
}

/// A point of an `ECGroup` (owns an EC_POINT).
public final class ECPoint {
    let point: OpaquePointer
    let group: ECGroup

    init(owning point: OpaquePointer, group: ECGroup) {
        self.point = point
        self.group = group
    }

    deinit { EC_POINT_free(point) }

    static func encode(_ p: OpaquePointer, _ g: OpaquePointer, _ ctx: OpaquePointer) -> [UInt8] {
        let n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, nil, 0, ctx)
        var out = [UInt8](repeating: 0, count: n)
        _ = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, &out, n, ctx)
        return out
    }

    /// Uncompressed encoding 04 ‖ x ‖ y.
    public var encoded: [UInt8] { ECPoint.encode(point, group.group, group.ctx) }

    /// The x coordinate, fixed length (the ECDH shared secret).
    public var x: [UInt8] { Array(encoded.dropFirst().prefix(group.coordinateLength)) }
    public var y: [UInt8] { Array(encoded.dropFirst(1 + group.coordinateLength)) }
}
