import CCryptoShim
import COpenSSL

/// An X.509 certificate (owns an OpenSSL X509): CSCA and document signer certificates of ICAO 9303-12.
public final class Certificate: CustomStringConvertible {
    let x509: OpaquePointer

    init(owning x509: OpaquePointer) { self.x509 = x509 }

    deinit { X509_free(x509) }

    public init(der: [UInt8]) throws(CryptoError) {
        guard let cert = OpenSSLDER.decode(der, { d2i_X509(nil, $0, $1) }) else {
            throw CryptoError(code: .invalidEncoding, reason: "not a DER certificate")
        }
        x509 = cert
    }

    /// Every certificate in PEM text.
    public static func fromPEM(_ text: [UInt8]) -> [Certificate] {
        guard let bio = text.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            return []
        }
        defer { BIO_free(bio) }
        var out: [Certificate] = []
        while let cert = PEM_read_bio_X509(bio, nil, nil, nil) { out.append(Certificate(owning: cert)) }
        ERR_clear_error()
        return out
    }

    /// A new certificate: self-signed (a CSCA) when `issuer` is nil, otherwise signed by the issuer's key.
    /// `distinguishedName` is "C=VN,O=…,CN=…"; validity runs from now + `notBeforeOffset` seconds.
    public static func create(
        subjectKey: AsymmetricKey, issuerKey: AsymmetricKey, issuer: Certificate?, distinguishedName: String,
        serial: Int,
        notBeforeOffset: Int = 0, validity: Int, isCA: Bool, hash: HashAlgorithm = .sha256
    ) throws(CryptoError) -> Certificate {
        guard
            let cert = cccd_x509_create(
                subjectKey.pkey, issuerKey.pkey, issuer?.x509, distinguishedName, serial, notBeforeOffset, validity,
                isCA ? 1 : 0,
                hash.openSSLName)
        else { throw .library("certificate creation") }
        return Certificate(owning: cert)
    }

    public var der: [UInt8] { OpenSSLDER.encode { i2d_X509(x509, $0) } }

    public var pem: String { PEM.encode(der, label: "CERTIFICATE") }

    public var subject: String { Self.name(X509_get_subject_name(x509)) }
    public var issuerName: String { Self.name(X509_get_issuer_name(x509)) }

    public var serialNumber: Int { Int(ASN1_INTEGER_get(X509_get0_serialNumber(x509))) }

    /// The public key.
    public var publicKey: AsymmetricKey? {
        guard let key = X509_get_pubkey(x509) else { return nil }
        return AsymmetricKey(owning: key)
    }

    public enum Validity: Hashable, Sendable { case notYetValid, valid, expired }

    /// Validity at the current time.
    public var validityNow: Validity {
        switch cccd_x509_validity(x509) {
        case -1: return .notYetValid
        case 1: return .expired
        default: return .valid
        }
    }

    /// What the certificate's extensions say about its role (ICAO 9303-12's profiles are checked from this).
    public struct Profile: Hashable, Sendable {
        public struct KeyUsage: OptionSet, Hashable, Sendable {
            public let rawValue: UInt32
            public init(rawValue: UInt32) { self.rawValue = rawValue }
            public static let digitalSignature = KeyUsage(rawValue: 0x80)
            public static let nonRepudiation = KeyUsage(rawValue: 0x40)
            public static let keyEncipherment = KeyUsage(rawValue: 0x20)
            public static let dataEncipherment = KeyUsage(rawValue: 0x10)
            public static let keyAgreement = KeyUsage(rawValue: 0x08)
            public static let keyCertSign = KeyUsage(rawValue: 0x04)
            public static let cRLSign = KeyUsage(rawValue: 0x02)
            public static let encipherOnly = KeyUsage(rawValue: 0x01)
            public static let decipherOnly = KeyUsage(rawValue: 0x8000)
        }
        public var version: Int
        /// basicConstraints: nil when absent, else its cA flag.
        public var certificateAuthority: Bool?
        /// Subject and issuer are the same name.
        public var selfIssued: Bool
        /// keyUsage: nil when absent.
        public var keyUsage: KeyUsage?
        public var keyUsageCritical: Bool
        /// extKeyUsage OIDs (dotted); nil when absent.
        public var extendedKeyUsage: [String]?
        public var hasAuthorityKeyIdentifier: Bool
        public var hasSubjectKeyIdentifier: Bool
        /// An extension is present but cannot be decoded (or appears twice).
        public var malformedExtension: Bool
    }

    public var profile: Profile {
        var raw = cccd_certificate_profile()
        var eku = [CChar](repeating: 0, count: 1024)
        let ok = cccd_x509_profile(x509, &raw, &eku, eku.count)
        let ekuText = eku.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return Profile(
            version: Int(raw.version),
            certificateAuthority: raw.has_basic_constraints != 0 ? raw.basic_constraints_ca != 0 : nil,
            selfIssued: raw.self_issued != 0,
            keyUsage: raw.has_key_usage != 0 ? Profile.KeyUsage(rawValue: UInt32(raw.key_usage)) : nil,
            keyUsageCritical: raw.key_usage_critical != 0,
            extendedKeyUsage: raw.has_extended_key_usage != 0 ? ekuText.split(separator: " ").map(String.init) : nil,
            hasAuthorityKeyIdentifier: raw.has_authority_key_id != 0,
            hasSubjectKeyIdentifier: raw.has_subject_key_id != 0,
            malformedExtension: ok == 0)
    }

    /// True when `other` certifies the same public key.
    public func hasSameKey(as other: Certificate) -> Bool {
        guard let a = X509_get0_pubkey(x509), let b = X509_get0_pubkey(other.x509) else { return false }
        return cccd_pkey_equal(a, b) == 1
    }

    static func name(_ n: OpaquePointer?) -> String {
        guard let n, let text = X509_NAME_oneline(n, nil, 0) else { return "" }
        defer { CRYPTO_free(text, #fileID, #line) }
        return String(cString: text)
    }

    public var description: String { "Certificate(\(subject), serial \(serialNumber))" }

    /// Verifies this certificate up to one of `trusted`; `crls` are checked when `checkRevocation`.
    /// Returns nil when the chain holds, or the reason it does not.
    public func verifyChain(
        trusted: [Certificate], crls: [CertificateRevocationList], checkRevocation: Bool, checkTime: Bool
    ) -> ChainError? {
        var anchors: [OpaquePointer?] = trusted.map { $0.x509 }
        var lists: [OpaquePointer?] = crls.map { $0.crl }
        let code = anchors.withUnsafeMutableBufferPointer { a in
            lists.withUnsafeMutableBufferPointer { l in
                cccd_verify_chain(
                    x509, a.baseAddress, Int32(a.count), l.baseAddress, Int32(l.count), checkRevocation ? 1 : 0,
                    checkTime ? 1 : 0)
            }
        }
        guard code != 0 else { return nil }
        let text = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
        return ChainError(code: Int(code), message: text)
    }

    /// Why a chain did not verify (OpenSSL's X509_V_ERR code and text).
    public struct ChainError: Hashable, Sendable {
        public let code: Int
        public let message: String
        public var isRevoked: Bool { code == 23 }
        public var isExpired: Bool { code == 10 || code == 9 }
        public var isMissingCRL: Bool { code == 3 }
        public var isUntrustedIssuer: Bool { [2, 20, 21].contains(code) }
    }
}

/// A certificate revocation list (owns an OpenSSL X509_CRL).
public final class CertificateRevocationList {
    let crl: OpaquePointer

    init(owning crl: OpaquePointer) { self.crl = crl }
    deinit { X509_CRL_free(crl) }

    public init(der: [UInt8]) throws(CryptoError) {
        guard let crl = OpenSSLDER.decode(der, { d2i_X509_CRL(nil, $0, $1) }) else {
            throw CryptoError(code: .invalidEncoding, reason: "not a DER CRL")
        }
        self.crl = crl
    }

    /// A CRL by `issuer` revoking `serials`.
    public static func create(
        issuer: Certificate, issuerKey: AsymmetricKey, revoking serials: [Int], validity: Int = 30 * 86400
    ) throws(CryptoError) -> CertificateRevocationList {
        let list = serials.map { CLong($0) }
        guard
            let crl = list.withUnsafeBufferPointer({
                cccd_crl_create(issuer.x509, issuerKey.pkey, $0.baseAddress, Int32($0.count), validity, "SHA256")
            })
        else {
            throw .library("CRL creation")
        }
        return CertificateRevocationList(owning: crl)
    }

    public var der: [UInt8] { OpenSSLDER.encode { i2d_X509_CRL(crl, $0) } }
}

/// CMS SignedData (RFC 5652) as ICAO 9303-10 §4.6.2 uses it for EF.SOD, EF.CardSecurity and master lists.
public enum CMS {
    /// Signs `content` (eContentType `contentType`, dotted OID) with one signer and the signed attributes
    /// contentType, signingTime and messageDigest; the signer's certificate is included.
    public static func sign(
        _ content: [UInt8], contentType: String, signer: Certificate, key: AsymmetricKey, hash: HashAlgorithm,
        pss: Bool = false
    ) throws(CryptoError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = cccd_cms_sign(
            signer.x509, key.pkey, content, content.count, contentType, hash.openSSLName, pss ? 1 : 0, &out)
        guard n > 0, let out else { throw .library("CMS signing") }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: n))
    }

    public enum SignatureCheck: Hashable, Sendable {
        case valid
        /// The signed attributes' messageDigest does not match the content (the content was changed).
        case contentDigestMismatch
        /// The signature over the signed attributes does not verify.
        case badSignature
        case malformed
        case noSignerCertificate
    }

    /// Checks the signature with the signer certificate inside the CMS (the chain is checked separately).
    public static func verifySignature(_ der: [UInt8]) -> (SignatureCheck, Certificate?) {
        var signer: OpaquePointer? = nil
        let code = cccd_cms_verify_signature(der, der.count, &signer)
        let cert = signer.map { Certificate(owning: $0) }
        switch code {
        case 1: return (.valid, cert)
        case -1: return (.contentDigestMismatch, cert)
        case -2: return (.badSignature, cert)
        case -4: return (.noSignerCertificate, nil)
        default: return (.malformed, nil)
        }
    }

    /// The encapsulated content and its type (dotted OID), without checking anything.
    public static func content(_ der: [UInt8]) -> (content: [UInt8], contentType: String)? {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var oid = [CChar](repeating: 0, count: 128)
        let n = cccd_cms_content(der, der.count, &out, &oid, oid.count)
        guard n > 0, let out else { return nil }
        defer { CRYPTO_free(out, #fileID, #line) }
        let type = String(decoding: oid.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (Array(UnsafeBufferPointer(start: out, count: n)), type)
    }
}

extension HashAlgorithm {
    var openSSLName: String {
        switch self {
        case .sha1: return "SHA1"
        case .sha224: return "SHA224"
        case .sha256: return "SHA256"
        case .sha384: return "SHA384"
        case .sha512: return "SHA512"
        }
    }
}

/// Base64 without Foundation (for PEM output).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
