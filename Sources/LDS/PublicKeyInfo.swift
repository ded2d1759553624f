import CardCore
import CardCrypto
import ChipAccess
import SwiftASN1

/// SubjectPublicKeyInfo for Chip Authentication keys (TR-03110-3 §A.2.1): EC keys with a named curve or with
/// explicit prime-field parameters (as most passports write them), DH keys with {p, g, q}.
public enum PublicKeyInfo {
    static let ecPublicKey: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]  // 1.2.840.10045.2.1
    static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]  // 1.2.840.113549.1.1.1
    static let dhPublicNumber: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3E, 0x02, 0x01]  // 1.2.840.10046.2.1

    static let curveOIDs: [NamedCurve: [UInt8]] = [
        .secp192r1: [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01],
        .secp224r1: [0x2B, 0x81, 0x04, 0x00, 0x21],
        .secp256r1: [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
        .secp384r1: [0x2B, 0x81, 0x04, 0x00, 0x22],
        .secp521r1: [0x2B, 0x81, 0x04, 0x00, 0x23],
        .brainpoolP192r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x03],
        .brainpoolP224r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x05],
        .brainpoolP256r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        .brainpoolP320r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x09],
        .brainpoolP384r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B],
        .brainpoolP512r1: [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
    ]

    /// Decodes a SubjectPublicKeyInfo into domain parameters and the raw key.
    public static func decode(_ der: [UInt8]) throws(LDSError) -> (parameters: DomainParameters, key: [UInt8]) {
        do {
            let root = try DER.parse(der)
            return try DER.sequence(root, identifier: .sequence) { nodes in
                guard let algorithm = nodes.next(), let keyNode = nodes.next() else {
                    throw ASN1Error.invalidASN1Object(reason: "SubjectPublicKeyInfo needs algorithm and key")
                }
                let bits = try ASN1BitString(derEncoded: keyNode)
                return try DER.sequence(algorithm, identifier: .sequence) { alg in
                    let oid = try OID.content(try ASN1ObjectIdentifier(derEncoded: &alg))
                    let params = alg.next()
                    if oid == ecPublicKey || oid == ObjectIdentifiers.publicKey + [2] {
                        guard let params else { throw ASN1Error.invalidASN1Object(reason: "EC key without parameters") }
                        return (.curve(try curve(params)), Array(bits.bytes))
                    }
                    if oid == dhPublicNumber || oid == ObjectIdentifiers.publicKey + [1] {
                        guard let params else { throw ASN1Error.invalidASN1Object(reason: "DH key without parameters") }
                        let group = try dhGroup(params)
                        let y = try ArraySlice<UInt8>(derEncoded: try DER.parse(Array(bits.bytes)))
                        return (.dh(group), leftPad(Array(y), group.elementLength))
                    }
                    throw ASN1Error.invalidASN1Object(reason: "unsupported public key algorithm")
                }
            }
        } catch let error as LDSError {
            throw error
        } catch {
            throw LDSError(code: .malformedFile, field: "public key", reason: "\(error)")
        }
    }

    static func curve(_ node: ASN1Node) throws -> NamedCurve {
        if node.identifier == .objectIdentifier {
            let oid = try OID.content(try ASN1ObjectIdentifier(derEncoded: node))
            guard let c = curveOIDs.first(where: { $0.value == oid })?.key else {
                throw LDSError(code: .malformedFile, field: "public key", reason: "unknown named curve")
            }
            return c
        }
        // ECParameters ::= SEQUENCE { version, fieldID { prime-field, p }, curve { a, b, seed? }, base, order, cofactor? }
        return try DER.sequence(node, identifier: .sequence) { n in
            _ = try Int(derEncoded: &n)
            let p: ArraySlice<UInt8> = try DER.sequence(n.next() ?? node, identifier: .sequence) { f in
                _ = try ASN1ObjectIdentifier(derEncoded: &f)
                return try ArraySlice<UInt8>(derEncoded: &f)
            }
            let (a, b): (ArraySlice<UInt8>, ArraySlice<UInt8>) = try DER.sequence(
                n.next() ?? node, identifier: .sequence
            ) { c in
                let a = try ASN1OctetString(derEncoded: &c).bytes
                let b = try ASN1OctetString(derEncoded: &c).bytes
                _ = c.next()
                return (a, b)
            }
            let base = try ASN1OctetString(derEncoded: &n).bytes
            let order = try ArraySlice<UInt8>(derEncoded: &n)
            let cofactor = try n.next().map { try ArraySlice<UInt8>(derEncoded: $0) } ?? [1]
            guard
                let named = try NamedCurve.matching(
                    p: Array(p), a: Array(a), b: Array(b), generator: Array(base), order: Array(order),
                    cofactor: Array(cofactor))
            else {
                throw LDSError(
                    code: .malformedFile, field: "public key", reason: "explicit curve parameters of an unknown curve")
            }
            return named
        }
    }

    static func dhGroup(_ node: ASN1Node) throws -> DHGroup {
        try DER.sequence(node, identifier: .sequence) { n in
            let p = Array(try ArraySlice<UInt8>(derEncoded: &n))
            let g = Array(try ArraySlice<UInt8>(derEncoded: &n))
            let q = Array(try ArraySlice<UInt8>(derEncoded: &n))
            while n.next() != nil {}
            return try DHGroup.validated(p: p, q: q, g: g)
        }
    }

    /// A SubjectPublicKeyInfo for an EC point on a named curve (the form this toolchain writes).
    public static func encodeEC(curve: NamedCurve, point: [UInt8]) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(try OID.object(ecPublicKey))
                try a.serialize(try OID.object(curveOIDs[curve] ?? []))
            }
            try c.serialize(ASN1BitString(bytes: point[...]))
        }
        return s.serializedBytes
    }

    /// A SubjectPublicKeyInfo for an RSA public key (rsaEncryption, NULL parameters; RSAPublicKey {n, e}).
    public static func encodeRSA(modulus: [UInt8], exponent: [UInt8]) throws -> [UInt8] {
        var key = DER.Serializer()
        try key.appendConstructedNode(identifier: .sequence) { k in
            try k.serialize(ArraySlice(stripZeros(modulus)))
            try k.serialize(ArraySlice(stripZeros(exponent)))
        }
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(try OID.object(rsaEncryption))
                try a.serialize(ASN1Null())
            }
            try c.serialize(ASN1BitString(bytes: key.serializedBytes[...]))
        }
        return s.serializedBytes
    }

    /// A SubjectPublicKeyInfo for a DH public value (id-dhpublicnumber, {p, g, q}).
    public static func encodeDH(group: DHGroup, y: [UInt8]) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(try OID.object(dhPublicNumber))
                try a.appendConstructedNode(identifier: .sequence) { d in
                    try d.serialize(ArraySlice(group.p))
                    try d.serialize(ArraySlice(group.g))
                    try d.serialize(ArraySlice(group.q))
                }
            }
            var inner = DER.Serializer()
            try inner.serialize(ArraySlice(y))
            try c.serialize(ASN1BitString(bytes: inner.serializedBytes[...]))
        }
        return s.serializedBytes
    }

    static func stripZeros(_ b: [UInt8]) -> [UInt8] { Array(b.drop { $0 == 0 }) }
    static func leftPad(_ b: [UInt8], _ n: Int) -> [UInt8] {
        let s = stripZeros(b)
        return s.count >= n ? s : [UInt8](repeating: 0, count: n - s.count) + s
    }
}

/// DG14 (ICAO 9303-10 §4.7.14): `6E { SecurityInfos }`.
public struct DataGroup14: Hashable, Sendable {
    public var securityInfos: SecurityInfos
    public init(securityInfos: SecurityInfos) { self.securityInfos = securityInfos }
    public init(bytes: [UInt8]) throws(LDSError) {
        securityInfos = try LDSError.parsing("DG14") {
            try SecurityInfos(derEncoded: Array(try LDSError.outerObject(bytes, tag: 0x6E, field: "DG14").value))
        }
    }
    public func encoded() throws -> [UInt8] { TLVWriter.encode(tag: 0x6E, value: try securityInfos.derEncoded()) }

    /// The name of the Chip Authentication protocol DG14 offers ("Chip Authentication" when unknown).
    public var caProtocolName: String {
        securityInfos.chipAuthenticationInfos.first?.chipAuthenticationProtocol?.description ?? "Chip Authentication"
    }
}

/// DG15 (ICAO 9303-10 §4.7.15): `6F { SubjectPublicKeyInfo }`, the Active Authentication public key.
public struct DataGroup15: Hashable, Sendable {
    public var subjectPublicKeyInfo: [UInt8]
    public init(subjectPublicKeyInfo: [UInt8]) { self.subjectPublicKeyInfo = subjectPublicKeyInfo }
    public init(bytes: [UInt8]) throws(LDSError) {
        subjectPublicKeyInfo = try LDSError.parsing("DG15") {
            Array(try LDSError.outerObject(bytes, tag: 0x6F, field: "DG15").value)
        }
    }
    public var encoded: [UInt8] { TLVWriter.encode(tag: 0x6F, value: subjectPublicKeyInfo) }
    /// RSA moduli a DG15 may hold: ICAO 9303-11 §6.1 asks for at least 1024 bits; larger than 4096 only makes a
    /// card slow to verify.
    public static let rsaModulusBits = 1024...4096

    /// The key, through OpenSSL: RSA within `rsaModulusBits`, or EC on a named curve.
    public func publicKey() throws(LDSError) -> AsymmetricKey {
        func fail(_ reason: String) -> LDSError { LDSError(code: .malformedFile, field: "DG15", reason: reason) }
        guard subjectPublicKeyInfo.count <= 4096 else { throw fail("the Active Authentication key is too large") }
        let key: AsymmetricKey
        do { key = try AsymmetricKey(publicKeyDER: subjectPublicKeyInfo) } catch {
            throw fail("the Active Authentication key cannot be read")
        }
        switch key.kind {
        case .rsa:
            guard Self.rsaModulusBits.contains(key.bits) else {
                throw fail(
                    "an RSA key of \(key.bits) bits is outside \(Self.rsaModulusBits.lowerBound)–\(Self.rsaModulusBits.upperBound)"
                )
            }
        case .ec:
            // Named or explicit parameters (OpenSSL checks explicit ones); no field larger than P-521's.
            guard key.bits <= 521 else { throw fail("an EC key of \(key.bits) bits is larger than any curve in use") }
        case .other:
            throw fail("the Active Authentication key is neither RSA nor EC")
        }
        return key
    }
}
