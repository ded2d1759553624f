import CardCore
import CardCrypto
import SwiftASN1

/// LDSSecurityObject (ICAO 9303-10 §4.6.2.2): the hash of every data group, version 0 (LDS 1.7) or version 1
/// (LDS 1.8, with LDSVersionInfo).
public struct LDSSecurityObject: Hashable, Sendable {
    public var version: Int
    public var hashAlgorithm: HashAlgorithm
    /// Data group number → hash.
    public var dataGroupHashes: [Int: [UInt8]]
    /// Version 1 only: LDS version ("0108") and Unicode version ("040000").
    public var ldsVersion: String?
    public var unicodeVersion: String?

    public init(
        hashAlgorithm: HashAlgorithm, dataGroupHashes: [Int: [UInt8]], version: Int = 0, ldsVersion: String? = nil,
        unicodeVersion: String? = nil
    ) {
        self.version = version
        self.hashAlgorithm = hashAlgorithm
        self.dataGroupHashes = dataGroupHashes
        self.ldsVersion = ldsVersion
        self.unicodeVersion = unicodeVersion
    }

    /// Hashes `dataGroups` (number → file bytes).
    public init(hashing dataGroups: [Int: [UInt8]], with hash: HashAlgorithm, version: Int = 0) {
        self.init(
            hashAlgorithm: hash, dataGroupHashes: dataGroups.mapValues { hash.hash($0) }, version: version,
            ldsVersion: version == 1 ? "0108" : nil, unicodeVersion: version == 1 ? "040000" : nil)
    }

    static let hashOIDs: [HashAlgorithm: ASN1ObjectIdentifier] = [
        .sha1: "1.3.14.3.2.26", .sha224: "2.16.840.1.101.3.4.2.4", .sha256: "2.16.840.1.101.3.4.2.1",
        .sha384: "2.16.840.1.101.3.4.2.2", .sha512: "2.16.840.1.101.3.4.2.3",
    ]

    public init(derEncoded bytes: [UInt8]) throws(LDSError) {
        do {
            let root = try DER.parse(bytes)
            self = try DER.sequence(root, identifier: .sequence) { n in
                let version = try Int(derEncoded: &n)
                guard version == 0 || version == 1 else {
                    throw ASN1Error.invalidASN1Object(reason: "LDSSecurityObject version \(version)")
                }
                let hash: HashAlgorithm = try DER.sequence(n.next() ?? root, identifier: .sequence) { a in
                    let oid = try ASN1ObjectIdentifier(derEncoded: &a)
                    _ = a.next()  // parameters: NULL or absent
                    guard let h = Self.hashOIDs.first(where: { $0.value == oid })?.key else {
                        throw ASN1Error.invalidASN1Object(reason: "unknown hash algorithm \(oid)")
                    }
                    return h
                }
                var hashes: [Int: [UInt8]] = [:]
                try DER.sequence(n.next() ?? root, identifier: .sequence) { list in
                    while let entry = list.next() {
                        try DER.sequence(entry, identifier: .sequence) { e in
                            let number = try Int(derEncoded: &e)
                            let value = try ASN1OctetString(derEncoded: &e)
                            guard (1...16).contains(number), hashes[number] == nil else {
                                throw ASN1Error.invalidASN1Object(reason: "data group number \(number)")
                            }
                            hashes[number] = Array(value.bytes)
                        }
                    }
                }
                var lds: String? = nil
                var unicode: String? = nil
                if let info = n.next() {
                    (lds, unicode) = try DER.sequence(info, identifier: .sequence) { v in
                        (
                            String(try ASN1PrintableString(derEncoded: &v)),
                            String(try ASN1PrintableString(derEncoded: &v))
                        )
                    }
                }
                return LDSSecurityObject(
                    hashAlgorithm: hash, dataGroupHashes: hashes, version: version, ldsVersion: lds,
                    unicodeVersion: unicode)
            }
        } catch {
            throw LDSError(code: .malformedFile, field: "EF.SOD", reason: "LDSSecurityObject: \(error)")
        }
    }

    public func derEncoded() throws -> [UInt8] {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(version)
            try c.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(Self.hashOIDs[hashAlgorithm] ?? "2.16.840.1.101.3.4.2.1")
            }
            try c.appendConstructedNode(identifier: .sequence) { list in
                for number in dataGroupHashes.keys.sorted() {
                    try list.appendConstructedNode(identifier: .sequence) { e in
                        try e.serialize(number)
                        try e.serialize(ASN1OctetString(contentBytes: (dataGroupHashes[number] ?? [])[...]))
                    }
                }
            }
            if version == 1 {
                try c.appendConstructedNode(identifier: .sequence) { v in
                    try v.serialize(try ASN1PrintableString(ldsVersion ?? "0108"))
                    try v.serialize(try ASN1PrintableString(unicodeVersion ?? "040000"))
                }
            }
        }
        return s.serializedBytes
    }
}

/// EF.SOD (ICAO 9303-10 §4.6.2): `77 { ContentInfo SignedData { LDSSecurityObject } }`, signed by a document
/// signer whose certificate is included.
public struct SecurityObjectDocument: Hashable, Sendable {
    /// id-icao-mrtd-security-ldsSecurityObject.
    public static let contentType = "2.23.136.1.1.1"

    /// The CMS ContentInfo (DER) inside tag 77.
    public var cms: [UInt8]

    public init(cms: [UInt8]) { self.cms = cms }

    public init(bytes: [UInt8]) throws(LDSError) {
        cms = try LDSError.parsing("EF.SOD") {
            Array(try LDSError.outerObject(bytes, tag: 0x77, field: "EF.SOD").value)
        }
    }

    public var encoded: [UInt8] { TLVWriter.encode(tag: 0x77, value: cms) }

    /// Signs a security object with a document signer.
    public static func sign(
        _ object: LDSSecurityObject, signer: Certificate, key: AsymmetricKey, signatureHash: HashAlgorithm,
        pss: Bool = false
    ) throws -> SecurityObjectDocument {
        SecurityObjectDocument(
            cms: try CMS.sign(
                object.derEncoded(), contentType: contentType, signer: signer, key: key, hash: signatureHash, pss: pss))
    }

    /// The LDSSecurityObject inside (not verified).
    public func securityObject() throws(LDSError) -> LDSSecurityObject {
        guard let (content, type) = CMS.content(cms) else {
            throw LDSError(code: .malformedFile, field: "EF.SOD", reason: "not a CMS SignedData with content")
        }
        guard type == Self.contentType else {
            throw LDSError(
                code: .malformedFile, field: "EF.SOD", reason: "content type \(type) is not an LDS security object")
        }
        return try LDSSecurityObject(derEncoded: content)
    }
}
