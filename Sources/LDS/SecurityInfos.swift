import CardCore
import CardCrypto
import ChipAccess
import SwiftASN1

/// SecurityInfos (BSI TR-03110-3 §A.1, ICAO 9303-11 §9.2): the SET OF SecurityInfo in EF.CardAccess,
/// EF.CardSecurity and DG14. Each SecurityInfo is SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY,
/// optionalData ANY OPTIONAL }; unknown protocols are kept as they are.
public struct SecurityInfos: Hashable, Sendable {
    public var infos: [SecurityInfo]

    public init(_ infos: [SecurityInfo]) { self.infos = infos }

    /// The most SecurityInfos a file may hold (real ones hold fewer than ten).
    public static let maximumCount = 64

    public init(derEncoded bytes: [UInt8]) throws(LDSError) {
        do {
            // BER: the SET OF may come in any order (real cards do not sort it), so its members are taken as
            // they stand rather than through DER's ordering check.
            let root = try DER.parse(bytes)
            guard root.identifier == .set, case .constructed(let children) = root.content else {
                throw ASN1Error.unexpectedFieldType(root.identifier)
            }
            var parsed: [SecurityInfo] = []
            for child in children {
                guard parsed.count < Self.maximumCount else {
                    throw ASN1Error.invalidASN1Object(reason: "more than \(Self.maximumCount) SecurityInfos")
                }
                parsed.append(try SecurityInfo(derEncoded: child))
            }
            infos = parsed
        } catch {
            throw LDSError(code: .malformedFile, field: "SecurityInfos", reason: "\(error)")
        }
    }

    public func derEncoded() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serializeSetOf(infos)
        return serializer.serializedBytes
    }

    public var paceInfos: [PACEInfo] { infos.compactMap { if case .pace(let i) = $0 { return i } else { return nil } } }
    public var chipAuthenticationInfos: [ChipAuthenticationInfo] {
        infos.compactMap { if case .chipAuthentication(let i) = $0 { return i } else { return nil } }
    }
    public var chipAuthenticationPublicKeys: [ChipAuthenticationPublicKeyInfo] {
        infos.compactMap { if case .chipAuthenticationPublicKey(let i) = $0 { return i } else { return nil } }
    }
    public var terminalAuthenticationInfos: [TerminalAuthenticationInfo] {
        infos.compactMap { if case .terminalAuthentication(let i) = $0 { return i } else { return nil } }
    }
    public var activeAuthenticationInfo: ActiveAuthenticationInfo? {
        infos.lazy.compactMap { if case .activeAuthentication(let i) = $0 { return i } else { return nil } }.first
    }
    public var paceDomainParameterInfos: [PACEDomainParameterInfo] {
        infos.compactMap { if case .paceDomainParameters(let i) = $0 { return i } else { return nil } }
    }
}

/// One SecurityInfo.
public enum SecurityInfo: Hashable, Sendable, DERParseable, DERSerializable {
    case pace(PACEInfo)
    case paceDomainParameters(PACEDomainParameterInfo)
    case chipAuthentication(ChipAuthenticationInfo)
    case chipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo)
    case terminalAuthentication(TerminalAuthenticationInfo)
    case activeAuthentication(ActiveAuthenticationInfo)
    /// A protocol this toolchain does not interpret, kept byte for byte.
    case other(oid: [UInt8], encoded: [UInt8])

    public init(derEncoded node: ASN1Node) throws {
        self = try DER.sequence(node, identifier: .sequence) { nodes in
            let oidObject = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let oid = try OID.content(oidObject)
            guard let required = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "SecurityInfo without required data")
            }
            let optional = nodes.next()
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "SecurityInfo with extra data") }
            func int(_ n: ASN1Node) throws -> Int { try Int(derEncoded: n) }
            if oid.starts(with: ObjectIdentifiers.pace) && oid.count == ObjectIdentifiers.pace.count + 2 {
                return .pace(PACEInfo(protocolOID: oid, version: try int(required), parameterID: try optional.map(int)))
            }
            if oid.starts(with: ObjectIdentifiers.pace) && oid.count == ObjectIdentifiers.pace.count + 1 {
                return .paceDomainParameters(
                    PACEDomainParameterInfo(
                        protocolOID: oid, domainParameter: Array(required.encodedBytes),
                        parameterID: try optional.map(int)))
            }
            if oid.starts(with: ObjectIdentifiers.chipAuthentication)
                && oid.count == ObjectIdentifiers.chipAuthentication.count + 2
            {
                return .chipAuthentication(
                    ChipAuthenticationInfo(protocolOID: oid, version: try int(required), keyID: try optional.map(int)))
            }
            if oid.starts(with: ObjectIdentifiers.publicKey) && oid.count == ObjectIdentifiers.publicKey.count + 1 {
                return .chipAuthenticationPublicKey(
                    ChipAuthenticationPublicKeyInfo(
                        protocolOID: oid, subjectPublicKeyInfo: Array(required.encodedBytes),
                        keyID: try optional.map(int)))
            }
            if oid == ObjectIdentifiers.terminalAuthentication {
                return .terminalAuthentication(
                    TerminalAuthenticationInfo(
                        version: try int(required), optional: optional.map { Array($0.encodedBytes) }))
            }
            if oid == ObjectIdentifiers.activeAuthentication, let optional {
                let alg = try OID.content(try ASN1ObjectIdentifier(derEncoded: optional))
                return .activeAuthentication(
                    ActiveAuthenticationInfo(version: try int(required), signatureAlgorithm: alg))
            }
            return .other(oid: oid, encoded: Array(node.encodedBytes))
        }
    }

    public func serialize(into coder: inout DER.Serializer) throws {
        if case .other(_, let encoded) = self {
            coder.serializeRawBytes(encoded)
            return
        }
        try coder.appendConstructedNode(identifier: .sequence) { c in
            switch self {
            case .pace(let i):
                try c.serialize(try OID.object(i.protocolOID))
                try c.serialize(i.version)
                if let p = i.parameterID { try c.serialize(p) }
            case .paceDomainParameters(let i):
                try c.serialize(try OID.object(i.protocolOID))
                c.serializeRawBytes(i.domainParameter)
                if let p = i.parameterID { try c.serialize(p) }
            case .chipAuthentication(let i):
                try c.serialize(try OID.object(i.protocolOID))
                try c.serialize(i.version)
                if let k = i.keyID { try c.serialize(k) }
            case .chipAuthenticationPublicKey(let i):
                try c.serialize(try OID.object(i.protocolOID))
                c.serializeRawBytes(i.subjectPublicKeyInfo)
                if let k = i.keyID { try c.serialize(k) }
            case .terminalAuthentication(let i):
                try c.serialize(try OID.object(ObjectIdentifiers.terminalAuthentication))
                try c.serialize(i.version)
                if let o = i.optional { c.serializeRawBytes(o) }
            case .activeAuthentication(let i):
                try c.serialize(try OID.object(ObjectIdentifiers.activeAuthentication))
                try c.serialize(i.version)
                try c.serialize(try OID.object(i.signatureAlgorithm))
            case .other: break
            }
        }
    }
}

/// PACEInfo: protocol, version (2), parameterId (standardized domain parameters).
public struct PACEInfo: Hashable, Sendable {
    public var protocolOID: [UInt8]
    public var version: Int
    public var parameterID: Int?
    public init(protocolOID: [UInt8], version: Int = 2, parameterID: Int?) {
        self.protocolOID = protocolOID
        self.version = version
        self.parameterID = parameterID
    }
    public init(protocol proto: PACEProtocol, parameterID: Int?) {
        self.init(protocolOID: proto.oid, parameterID: parameterID)
    }
    /// The protocol, when this toolchain knows it.
    public var paceProtocol: PACEProtocol? { PACEProtocol(oid: protocolOID) }
    /// The standardized domain parameters named by parameterId.
    public var domainParameters: DomainParameters? { parameterID.flatMap { DomainParameters(standardizedID: $0) } }
}

/// PACEDomainParameterInfo: proprietary domain parameters (kept as their DER AlgorithmIdentifier).
public struct PACEDomainParameterInfo: Hashable, Sendable {
    public var protocolOID: [UInt8]
    public var domainParameter: [UInt8]
    public var parameterID: Int?
}

/// ChipAuthenticationInfo: protocol, version (1 ICAO / 2 TR-03110 v2), keyId.
public struct ChipAuthenticationInfo: Hashable, Sendable {
    public var protocolOID: [UInt8]
    public var version: Int
    public var keyID: Int?
    public init(protocol proto: ChipAuthenticationProtocol, version: Int, keyID: Int? = nil) {
        self.init(protocolOID: proto.oid, version: version, keyID: keyID)
    }
    public init(protocolOID: [UInt8], version: Int, keyID: Int?) {
        self.protocolOID = protocolOID
        self.version = version
        self.keyID = keyID
    }
    public var chipAuthenticationProtocol: ChipAuthenticationProtocol? { ChipAuthenticationProtocol(oid: protocolOID) }
}

/// ChipAuthenticationPublicKeyInfo: id-PK-DH / id-PK-ECDH, the chip's static key (SubjectPublicKeyInfo), keyId.
public struct ChipAuthenticationPublicKeyInfo: Hashable, Sendable {
    public var protocolOID: [UInt8]
    public var subjectPublicKeyInfo: [UInt8]
    public var keyID: Int?
    public init(protocolOID: [UInt8], subjectPublicKeyInfo: [UInt8], keyID: Int? = nil) {
        self.protocolOID = protocolOID
        self.subjectPublicKeyInfo = subjectPublicKeyInfo
        self.keyID = keyID
    }

    /// The domain parameters and the raw public key (EC point or DH element), checked: the point lies on its
    /// curve, the element in its group.
    public func publicKey() throws(LDSError) -> (parameters: DomainParameters, key: [UInt8]) {
        let (parameters, key) = try PublicKeyInfo.decode(subjectPublicKeyInfo)
        func fail(_ reason: String) -> LDSError {
            LDSError(code: .malformedFile, field: "Chip Authentication public key", reason: reason)
        }
        switch parameters {
        case .curve(let curve):
            do { _ = try ECGroup(curve).point(key) } catch { throw fail("\(error.reason)") }
        case .dh(let group):
            guard group.isValidElement(key) else { throw fail("the DH public key is not in its group") }
        }
        return (parameters, key)
    }
}

/// TerminalAuthenticationInfo: version, optional efCVCA.
public struct TerminalAuthenticationInfo: Hashable, Sendable {
    public var version: Int
    public var optional: [UInt8]?
    public init(version: Int, optional: [UInt8]? = nil) {
        self.version = version
        self.optional = optional
    }
}

/// ActiveAuthenticationInfo (ICAO 9303-11 §9.2.9): version 1 and the ECDSA signature algorithm.
public struct ActiveAuthenticationInfo: Hashable, Sendable {
    public var version: Int
    public var signatureAlgorithm: [UInt8]
    public init(version: Int = 1, signatureAlgorithm: [UInt8]) {
        self.version = version
        self.signatureAlgorithm = signatureAlgorithm
    }
    public init(ecdsaPlainWith hash: HashAlgorithm) {
        let n: UInt8 = [.sha1: 1, .sha224: 2, .sha256: 3, .sha384: 4, .sha512: 5][hash] ?? 3
        self.init(signatureAlgorithm: ObjectIdentifiers.ecdsaPlain + [n])
    }
    /// The hash of an ecdsa-plain-SHAx algorithm.
    public var hash: HashAlgorithm? {
        guard signatureAlgorithm.count == ObjectIdentifiers.ecdsaPlain.count + 1,
            signatureAlgorithm.starts(with: ObjectIdentifiers.ecdsaPlain)
        else {
            return nil
        }
        return [1: .sha1, 2: .sha224, 3: .sha256, 4: .sha384, 5: .sha512][
            signatureAlgorithm[signatureAlgorithm.count - 1]]
    }
}

/// OBJECT IDENTIFIER content bytes ↔ swift-asn1.
enum OID {
    static func content(_ oid: ASN1ObjectIdentifier) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.serialize(oid)
        let node = try DER.parse(s.serializedBytes)
        guard case .primitive(let bytes) = node.content else { return [] }
        return Array(bytes)
    }

    static func object(_ content: [UInt8]) throws -> ASN1ObjectIdentifier {
        try ASN1ObjectIdentifier(derEncoded: DER.parse([0x06, UInt8(content.count)] + content))
    }
}
