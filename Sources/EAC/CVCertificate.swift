import CardCore
import CardCrypto
import ChipAccess
import Foundation
import LDS

/// A Card Verifiable certificate of the EAC1 profile for eMRTDs (BSI TR-03110-3 appendix C; TR-03110 v1.11
/// appendix C): `7F21 { 7F4E body, 5F37 signature }`, the body `5F29` profile identifier (0), `42` CAR,
/// `7F49` public key, `5F20` CHR, `7F4C` holder authorization (id-IS and one byte of role and rights),
/// `5F25` effective and `5F24` expiration dates (six unpacked digits, YYMMDD).
///
/// Parsing is strict and bounded: every field once, in order, of its own size; anything else is refused by name.
/// The signature is over the body's encoding as received (`body`), so a certificate verifies byte for byte.
public struct CVCertificate: Hashable, Sendable, CustomStringConvertible {
    /// The biggest certificate this toolchain takes (an RSA-4096 key and signature fit twice over).
    public static let maximumSize = 4096

    public var profileIdentifier: UInt8
    /// Certification Authority Reference: whose key signed this certificate.
    public var authorityReference: CVReference
    public var publicKey: CVPublicKey
    /// Certificate Holder Reference: the name of this certificate's key.
    public var holderReference: CVReference
    public var authorization: CVAuthorization
    public var effectiveDate: CVDate
    public var expirationDate: CVDate
    /// The body's encoding (`7F4E …`), as signed.
    public private(set) var body: [UInt8]
    public var signature: [UInt8]

    /// The whole certificate (`7F21 …`).
    public var encoded: [UInt8] {
        TLVWriter.encode(tag: 0x7F21, value: body + TLVWriter.encode(tag: 0x5F37, value: signature))
    }

    public var description: String {
        "CV certificate \(holderReference) (\(authorization.role), \(authorization.rights)) by \(authorityReference), \(effectiveDate) to \(expirationDate)"
    }

    /// True for a self-signed certificate (a CVCA's root) and for a link certificate (a CVCA signed by the one
    /// before it): both have the CVCA role.
    public var isCVCA: Bool { authorization.role == .cvca }

    /// A certificate to be signed: the body is built from the fields.
    public init(
        authorityReference: CVReference, publicKey: CVPublicKey, holderReference: CVReference,
        authorization: CVAuthorization, effectiveDate: CVDate, expirationDate: CVDate
    ) {
        profileIdentifier = 0
        self.authorityReference = authorityReference
        self.publicKey = publicKey
        self.holderReference = holderReference
        self.authorization = authorization
        self.effectiveDate = effectiveDate
        self.expirationDate = expirationDate
        signature = []
        body = []
        body = encodeBody()
    }

    private func encodeBody() -> [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x7F4E) { b in
            b.write(tag: 0x5F29, value: [profileIdentifier])
            b.write(tag: 0x42, value: authorityReference.bytes)
            b.writeRaw(publicKey.encoded)
            b.write(tag: 0x5F20, value: holderReference.bytes)
            b.writeRaw(authorization.encoded)
            b.write(tag: 0x5F25, value: effectiveDate.digits)
            b.write(tag: 0x5F24, value: expirationDate.digits)
        }
        return w.bytes
    }

    /// Signs the body with the issuer's private key, by the algorithm of the issuer's public key (`algorithm`,
    /// which a certificate it signs also names: TR-03110-3 §C.2.1).
    public mutating func sign(with key: AsymmetricKey, algorithm: TerminalAuthenticationAlgorithm) throws {
        signature = try algorithm.sign(body, with: key)
    }

    /// Parses a whole certificate (`7F21`), or throws `CVCertificateError` naming the field.
    public init(bytes: [UInt8]) throws(CVCertificateError) {
        guard bytes.count <= Self.maximumSize else {
            throw .init(.oversize, "the certificate is \(bytes.count) bytes (at most \(Self.maximumSize))")
        }
        let outer: TLV
        do { outer = try TLV(parsing: bytes) } catch {
            throw .init(.malformed, "not one TLV object: \(error)")
        }
        guard outer.tag == 0x7F21 else { throw .init(.malformed, "the certificate's tag is \(outer.tag), not 7F21") }
        let parts: [TLV]
        do { parts = try outer.children() } catch { throw .init(.malformed, "the certificate's content: \(error)") }
        guard parts.count == 2, parts[0].tag == 0x7F4E, parts[1].tag == 0x5F37 else {
            throw .init(.malformed, "a certificate holds a body (7F4E) and a signature (5F37), in that order")
        }
        try self.init(body: parts[0].encoded, signature: Array(parts[1].value))
    }

    /// Parses the body (`7F4E …`) as PSO:Verify Certificate sends it, with its signature.
    public init(body: [UInt8], signature: [UInt8]) throws(CVCertificateError) {
        guard body.count + signature.count <= Self.maximumSize else {
            throw .init(.oversize, "the certificate is \(body.count + signature.count) bytes")
        }
        guard (1...1024).contains(signature.count) else {
            throw .init(.malformed, "a signature of \(signature.count) bytes")
        }
        let fields: [TLV]
        do {
            let outer = try TLV(parsing: body)
            guard outer.tag == 0x7F4E else { throw CVCertificateError(.malformed, "the body's tag is \(outer.tag)") }
            fields = try outer.children()
        } catch let error as CVCertificateError {
            throw error
        } catch {
            throw .init(.malformed, "the certificate body: \(error)")
        }
        let expected: [TLVTag] = [0x5F29, 0x42, 0x7F49, 0x5F20, 0x7F4C, 0x5F25, 0x5F24]
        // EAC1 has no extensions; an EAC2 body may end with 65 (extensions), which this profile leaves alone.
        let tags = fields.map(\.tag)
        guard tags == expected || tags == expected + [0x65] else {
            throw .init(
                .malformed,
                "the body's fields are \(tags.map(\.description).joined(separator: " ")); EAC1 asks for 5F29 42 7F49 5F20 7F4C 5F25 5F24")
        }
        guard fields[0].value.count == 1 else { throw .init(.malformed, "the profile identifier is not one byte") }
        profileIdentifier = fields[0].value.first ?? 0xFF
        guard profileIdentifier == 0 else {
            throw .init(.unsupported, "certificate profile identifier \(profileIdentifier) (EAC1 is 0)")
        }
        authorityReference = try CVReference(bytes: Array(fields[1].value), field: "CAR")
        publicKey = try CVPublicKey(tlv: fields[2])
        holderReference = try CVReference(bytes: Array(fields[3].value), field: "CHR")
        authorization = try CVAuthorization(tlv: fields[4])
        effectiveDate = try CVDate(digits: Array(fields[5].value), field: "effective date")
        expirationDate = try CVDate(digits: Array(fields[6].value), field: "expiration date")
        guard effectiveDate <= expirationDate else {
            throw .init(.malformed, "it expires (\(expirationDate)) before it becomes effective (\(effectiveDate))")
        }
        self.body = body
        self.signature = signature
    }

    /// True when `issuerKey` (with the domain parameters it inherits, for EC keys) verifies the signature.
    public func isSigned(by issuerKey: CVPublicKey, curve: NamedCurve?) -> Bool {
        guard let key = try? issuerKey.asymmetricKey(curve: curve) else { return false }
        return issuerKey.algorithm.verify(signature, message: body, with: key)
    }
}

/// What is wrong with a CV certificate, by kind.
public struct CVCertificateError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case malformed, oversize, unsupported
    }
    public let code: Code
    public let reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { "CV certificate \(code.rawValue): \(reason)" }
}

/// A CAR or CHR (TR-03110-3 §A.6.1): country code (2 letters), holder mnemonic (up to 9), sequence number (5);
/// 8 to 16 printable characters in all.
public struct CVReference: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ value: String) throws(CVCertificateError) {
        try self.init(bytes: Array(value.utf8), field: "reference")
    }

    init(bytes: [UInt8], field: String) throws(CVCertificateError) {
        guard (8...16).contains(bytes.count) else {
            throw .init(.malformed, "the \(field) has \(bytes.count) characters (8 to 16)")
        }
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) }), let text = String(bytes: bytes, encoding: .ascii) else {
            throw .init(.malformed, "the \(field) is not printable text")
        }
        value = text
    }

    public var bytes: [UInt8] { Array(value.utf8) }
    /// The country code (its first two characters).
    public var country: String { String(value.prefix(2)) }
    /// The holder's name without its sequence number.
    public var mnemonic: String { String(value.dropFirst(2).dropLast(5)) }
    public var sequence: String { String(value.suffix(5)) }
    public var description: String { value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// A certificate date: six unpacked BCD digits YYMMDD (years 2000–2099, TR-03110-3 §D.2.1.3).
public struct CVDate: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) throws(CVCertificateError) {
        guard (2000...2099).contains(year), (1...12).contains(month), (1...Self.days(year, month)).contains(day)
        else {
            throw .init(.malformed, "\(year)-\(month)-\(day) is not a date a certificate can hold")
        }
        (self.year, self.month, self.day) = (year, month, day)
    }

    init(digits: [UInt8], field: String) throws(CVCertificateError) {
        guard digits.count == 6, digits.allSatisfy({ $0 <= 9 }) else {
            throw .init(.malformed, "the \(field) is not six unpacked digits")
        }
        let n = digits.map(Int.init)
        do {
            try self.init(year: 2000 + n[0] * 10 + n[1], month: n[2] * 10 + n[3], day: n[4] * 10 + n[5])
        } catch {
            throw .init(.malformed, "the \(field): \(error.reason)")
        }
    }

    /// Six unpacked digits, as a certificate and PUT DATA carry them.
    public init(digits: [UInt8]) throws(CVCertificateError) { try self.init(digits: digits, field: "date") }

    /// "2026-12-04".
    public init(iso text: String) throws(CVCertificateError) {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { throw .init(.malformed, "\(text) is not YYYY-MM-DD") }
        try self.init(year: parts[0], month: parts[1], day: parts[2])
    }

    /// The UTC calendar day of `date`.
    public init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        let year = min(max(c.year ?? 2000, 2000), 2099)
        (self.year, self.month, self.day) = (year, c.month ?? 1, c.day ?? 1)
    }

    public static func today() -> CVDate { CVDate(Date()) }

    /// This day plus `count` days (clamped to 2099-12-31).
    public func adding(days count: Int) -> CVDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let start = calendar.date(from: DateComponents(year: year, month: month, day: day)) ?? Date()
        return CVDate(calendar.date(byAdding: .day, value: count, to: start) ?? start)
    }

    public var digits: [UInt8] {
        [year % 100 / 10, year % 10, month / 10, month % 10, day / 10, day % 10].map { UInt8($0) }
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    static func days(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(iso: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The Certificate Holder Authorization Template (`7F4C { 06 terminal type, 53 discretionary data }`). For an
/// inspection system's chain (id-IS, EAC1) one byte: the role (bits 8–7) and the read rights (bit 2 DG4 iris, bit 1
/// DG3 fingerprints). Other terminal types (id-AT, id-ST of EAC2, up to five bytes) parse with their role and
/// grant nothing on an eMRTD.
public struct CVAuthorization: Hashable, Sendable {
    /// id-IS 0.4.0.127.0.7.3.1.2.1.
    public static let inspectionSystemOID: [UInt8] = ObjectIdentifiers.bsiDE + [0x03, 0x01, 0x02, 0x01]

    public enum Role: UInt8, Hashable, Sendable, CustomStringConvertible, CaseIterable {
        case cvca = 0xC0
        case domesticDocumentVerifier = 0x80
        case foreignDocumentVerifier = 0x40
        case inspectionSystem = 0x00

        public var description: String {
            switch self {
            case .cvca: return "CVCA"
            case .domesticDocumentVerifier: return "domestic DV"
            case .foreignDocumentVerifier: return "foreign DV"
            case .inspectionSystem: return "inspection system"
            }
        }
    }

    public struct Rights: OptionSet, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue & 0x03 }
        public static let dataGroup3 = Rights(rawValue: 0x01)
        public static let dataGroup4 = Rights(rawValue: 0x02)
        public static let all: Rights = [.dataGroup3, .dataGroup4]

        public var description: String {
            let names = [(Rights.dataGroup3, "DG3"), (.dataGroup4, "DG4")].filter { contains($0.0) }.map(\.1)
            return names.isEmpty ? "no data groups" : "reads " + names.joined(separator: ", ")
        }

        /// Whether these rights read data group `n`.
        public func reads(dataGroup n: Int) -> Bool {
            (n == 3 && contains(.dataGroup3)) || (n == 4 && contains(.dataGroup4))
        }
    }

    /// The terminal type's OID (id-IS for an eMRTD's inspection systems).
    public let terminalType: [UInt8]
    /// The discretionary data as the certificate holds it.
    public let discretionaryData: [UInt8]

    public var role: Role { Role(rawValue: (discretionaryData.first ?? 0) & 0xC0) ?? .inspectionSystem }
    /// What the holder may read on an eMRTD (nothing unless the terminal type is id-IS).
    public var rights: Rights {
        terminalType == Self.inspectionSystemOID ? Rights(rawValue: discretionaryData.first ?? 0) : []
    }
    public var isInspectionSystemType: Bool { terminalType == Self.inspectionSystemOID }

    /// An inspection system chain's authorization (id-IS, one byte).
    public init(role: Role, rights: Rights) {
        terminalType = Self.inspectionSystemOID
        discretionaryData = [role.rawValue | rights.rawValue]
    }

    var encoded: [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x7F4C) { t in
            t.write(tag: 0x06, value: terminalType)
            t.write(tag: 0x53, value: discretionaryData)
        }
        return w.bytes
    }

    init(tlv: TLV) throws(CVCertificateError) {
        let children: [TLV]
        do { children = try tlv.children() } catch { throw .init(.malformed, "the holder authorization: \(error)") }
        guard children.count == 2, children[0].tag == 0x06, children[1].tag == 0x53 else {
            throw .init(.malformed, "the holder authorization is not an OID and one discretionary data object")
        }
        guard (1...16).contains(children[0].value.count), (1...5).contains(children[1].value.count) else {
            throw .init(.malformed, "the holder authorization's terminal type or data has an impossible size")
        }
        guard Array(children[0].value.prefix(6)) == ObjectIdentifiers.bsiDE + [0x03] else {
            throw .init(.unsupported, "the holder authorization's terminal type is not a BSI one (id-IS, id-AT, id-ST)")
        }
        terminalType = Array(children[0].value)
        discretionaryData = Array(children[1].value)
        if isInspectionSystemType, discretionaryData.count != 1 {
            throw .init(.malformed, "an inspection system's authorization is one byte")
        }
    }
}

/// The public key of a CV certificate (`7F49`): its algorithm OID, then RSA `81` n `82` e, or ECDSA `86` Y with
/// the domain parameters `81`–`85`, `87` (mandatory in a CVCA certificate, absent below it: inherited).
public struct CVPublicKey: Hashable, Sendable {
    public enum Value: Hashable, Sendable {
        case rsa(modulus: [UInt8], exponent: [UInt8])
        /// `curve` when the domain parameters are in the certificate (resolved to the named curve they are).
        case ec(point: [UInt8], curve: NamedCurve?)
    }

    public var algorithm: TerminalAuthenticationAlgorithm
    public var value: Value

    public init(algorithm: TerminalAuthenticationAlgorithm, value: Value) {
        self.algorithm = algorithm
        self.value = value
    }

    /// The public half of `key` for a certificate; `withDomainParameters` for a CVCA certificate.
    public init(_ key: AsymmetricKey, algorithm: TerminalAuthenticationAlgorithm, withDomainParameters: Bool) throws {
        self.algorithm = algorithm
        switch key.kind {
        case .rsa:
            guard algorithm.isRSA else { throw CVCertificateError(.unsupported, "an RSA key for \(algorithm)") }
            value = .rsa(modulus: try key.component("n"), exponent: try key.component("e"))
        case .ec:
            guard !algorithm.isRSA, let curve = key.curve else {
                throw CVCertificateError(.unsupported, "an EC key for \(algorithm), or a curve without a name")
            }
            value = .ec(point: try key.ecPublicPoint(), curve: withDomainParameters ? curve : nil)
        case .other:
            throw CVCertificateError(.unsupported, "a key that is neither RSA nor EC")
        }
    }

    /// The curve this key is on: its own parameters, or those it inherits from its CVCA.
    public func curve(inheriting inherited: NamedCurve?) -> NamedCurve? {
        if case .ec(_, let own?) = value { return own }
        return inherited
    }

    /// The key as OpenSSL takes it; EC keys need the curve they are on (their own or inherited).
    public func asymmetricKey(curve inherited: NamedCurve?) throws -> AsymmetricKey {
        switch value {
        case .rsa(let n, let e):
            return try AsymmetricKey(publicKeyDER: try PublicKeyInfo.encodeRSA(modulus: n, exponent: e))
        case .ec(let point, let own):
            guard let curve = own ?? inherited else {
                throw CVCertificateError(.malformed, "an EC key without domain parameters and no CVCA to inherit them from")
            }
            _ = try ECGroup(curve).point(point)
            return try AsymmetricKey(publicKeyDER: try PublicKeyInfo.encodeEC(curve: curve, point: point))
        }
    }

    var encoded: [UInt8] {
        var w = TLVWriter()
        w.write(tag: 0x7F49) { k in
            k.write(tag: 0x06, value: algorithm.oid)
            switch value {
            case .rsa(let n, let e):
                k.write(tag: 0x81, value: n)
                k.write(tag: 0x82, value: e)
            case .ec(let point, let curve):
                if let curve, let group = try? ECGroup(curve) {
                    k.write(tag: 0x81, value: group.prime)
                    k.write(tag: 0x82, value: group.a)
                    k.write(tag: 0x83, value: group.b)
                    k.write(tag: 0x84, value: group.generator.encoded)
                    k.write(tag: 0x85, value: group.order)
                    k.write(tag: 0x86, value: point)
                    k.write(tag: 0x87, value: Array(BigNumber(group.cofactor).bytes().drop { $0 == 0 }).ifEmpty([1]))
                } else {
                    k.write(tag: 0x86, value: point)
                }
            }
        }
        return w.bytes
    }

    init(tlv: TLV) throws(CVCertificateError) {
        let children: [TLV]
        do { children = try tlv.children() } catch { throw .init(.malformed, "the public key: \(error)") }
        guard let first = children.first, first.tag == 0x06 else {
            throw .init(.malformed, "the public key does not start with its algorithm's OID")
        }
        guard let algorithm = TerminalAuthenticationAlgorithm(oid: Array(first.value)) else {
            throw .init(.unsupported, "the public key's algorithm \(Array(first.value).hexString) is not a TA algorithm")
        }
        self.algorithm = algorithm
        var parts: [UInt32: [UInt8]] = [:]
        for child in children.dropFirst() {
            let tag = child.tag.rawValue
            guard (0x81...0x87).contains(tag), parts[tag] == nil else {
                throw .init(.malformed, "the public key holds \(child.tag) twice or out of place")
            }
            guard child.value.count <= (algorithm.isRSA ? 513 : 1 + 2 * 66) else {
                throw .init(.oversize, "the public key's \(child.tag) is \(child.value.count) bytes")
            }
            parts[tag] = Array(child.value)
        }
        if algorithm.isRSA {
            guard let n = parts[0x81], let e = parts[0x82], parts.count == 2 else {
                throw .init(.malformed, "an RSA key is a modulus (81) and an exponent (82)")
            }
            let bits = Array(n.drop { $0 == 0 }).count * 8
            guard (1024...4096).contains(bits), !e.isEmpty, e.count <= 8 else {
                throw .init(.unsupported, "an RSA modulus of \(bits) bits (1024 to 4096)")
            }
            value = .rsa(modulus: n, exponent: e)
            return
        }
        guard let point = parts[0x86] else { throw .init(.malformed, "an EC key without its point (86)") }
        if parts.count == 1 {
            value = .ec(point: point, curve: nil)
            return
        }
        guard let p = parts[0x81], let a = parts[0x82], let b = parts[0x83], let g = parts[0x84],
            let r = parts[0x85], let f = parts[0x87], parts.count == 7
        else {
            throw .init(.malformed, "EC domain parameters are all of 81 to 85 and 87, or none")
        }
        guard
            let curve = try? NamedCurve.matching(p: p, a: a, b: b, generator: g, order: r, cofactor: f)
        else {
            throw .init(.unsupported, "the EC domain parameters are not a brainpool or NIST prime curve")
        }
        guard (try? ECGroup(curve).point(point)) != nil else {
            throw .init(.malformed, "the EC point is not on \(curve.rawValue)")
        }
        value = .ec(point: point, curve: curve)
    }
}

extension Array {
    fileprivate func ifEmpty(_ replacement: Self) -> Self { isEmpty ? replacement : self }
}
