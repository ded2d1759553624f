import CardCrypto
import Foundation

/// A PKCS#11 URI (RFC 7512) naming the document signer's key in a token: `pkcs11:token=LABEL;object=ds`, and
/// optionally `?module-path=/path/to/module.so`. A PIN in the URI (`pin-value`) is refused: PINs never go on a
/// command line.
public struct PKCS11URI: Hashable, Sendable {
    public var token: String
    public var object: String
    public var modulePath: String?

    public static func isURI(_ text: String) -> Bool { text.hasPrefix("pkcs11:") }

    /// `defaultObject`: the object when the URI names none (`ds` for the document signer).
    public init(_ text: String, defaultObject: String = "ds") throws(PKCS11Error) {
        guard Self.isURI(text) else { throw PKCS11Error(.failed, "not a PKCS#11 URI (pkcs11:token=…;object=…)") }
        let body = text.dropFirst("pkcs11:".count)
        let parts = body.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        func attributes(_ s: Substring?, separator: Character) throws(PKCS11Error) -> [String: String] {
            var out: [String: String] = [:]
            for item in (s ?? "").split(separator: separator) where !item.isEmpty {
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let value = String(kv[1]).removingPercentEncoding else {
                    throw PKCS11Error(.failed, "malformed PKCS#11 URI attribute \"\(item.prefix(40))\"")
                }
                out[String(kv[0])] = value
            }
            return out
        }
        let path = try attributes(parts.first, separator: ";")
        let query = try attributes(parts.count > 1 ? parts[1] : nil, separator: "&")
        if path["pin-value"] != nil || query["pin-value"] != nil || query["pin-source"] != nil {
            throw PKCS11Error(
                .failed, "the PIN never goes in the URI: give it in CCCD_PKCS11_PIN or a --pin-file")
        }
        guard let token = path["token"], !token.isEmpty else {
            throw PKCS11Error(.tokenMissing, "the PKCS#11 URI names no token (pkcs11:token=LABEL;object=ds)")
        }
        self.token = token
        object = path["object"] ?? defaultObject
        modulePath = query["module-path"]
    }
}

extension DocumentSigner {
    /// The CSCA certificate's label on a token `cccd pki init --pkcs11` prepared.
    public static let tokenCSCALabel = "csca"

    /// The document signer in a PKCS#11 token: its certificate (stored on the token under the key's label) and a key
    /// whose signatures the token makes. The PIN is used to log in and not kept.
    public static func token(_ uri: PKCS11URI, module: String?, pin: String) throws -> (DocumentSigner, PKCS11Token) {
        guard let path = module ?? uri.modulePath else {
            throw PKCS11Error(.moduleMissing, "a PKCS#11 signer needs its module: --pkcs11 /path/to/module.so")
        }
        let token = try PKCS11Token.shared(module: path, token: uri.token)
        try token.login(pin: pin)
        let kind = try token.selectKey(label: uri.object)
        let certificate = try Certificate(der: try token.certificate(label: uri.object))
        guard let publicKey = certificate.publicKey else {
            throw PKCS11Error(.wrongKeyType, "the certificate \"\(uri.object)\" on the token has no usable public key")
        }
        guard publicKey.kind == kind else {
            throw PKCS11Error(
                .wrongKeyType,
                "the key \"\(uri.object)\" is \(kind == .ec ? "EC" : "RSA") but its certificate's key is not: not this signer's key"
            )
        }
        // One signature now: a key that does not match its certificate would spoil every card at the read-back.
        let key = try token.signingKey(publicKey: publicKey)
        let probe = Array("CCCDKit: does the token's key match its certificate?".utf8)
        let signature: [UInt8]
        do { signature = try key.digestSign(probe, hash: .sha256) } catch {
            throw PKCS11Error(
                .failed, "the token \"\(uri.token)\" would not sign with \"\(uri.object)\"",
                code: token.lastSigningError)
        }
        guard publicKey.digestVerify(signature, message: probe, hash: .sha256) else {
            throw PKCS11Error(
                .wrongKeyType, "the key \"\(uri.object)\" does not match its certificate on the token \"\(uri.token)\"")
        }
        return (DocumentSigner(certificate: certificate, key: key), token)
    }

    /// A signer folder (ds.crt, ds.key) or a PKCS#11 URI.
    public static func open(_ signer: String, module: String?, pin: () throws -> String) throws -> DocumentSigner {
        guard PKCS11URI.isURI(signer) else { return try load(directory: signer) }
        return try token(try PKCS11URI(signer), module: module, pin: try pin()).0
    }
}

extension TestPKI {
    /// A TEST CSCA in files and a document signer whose key pair is generated inside `token` under `label`
    /// (sensitive, never extractable): its certificate and the CSCA's are stored on the token and written to
    /// `directory` (csca.crt, csca.key, ds.crt; no ds.key).
    public static func initialize(
        in token: PKCS11Token, label: String = "ds", algorithm: String, directory: String
    ) throws -> Certificate {
        if try token.hasKey(label: label) {
            throw PKCS11Error(.failed, "the token already holds a key labelled \"\(label)\"")
        }
        let cscaKey: AsymmetricKey
        let curve: NamedCurve?
        var bits = 0
        switch algorithm {
        case "rsa2048", "rsa3072", "rsa4096":
            bits = Int(algorithm.dropFirst(3)) ?? 3072
            cscaKey = try .generateRSA(bits: bits)
            curve = nil
        case "p256": (cscaKey, curve) = (try .generateEC(.secp256r1), .secp256r1)
        case "p384": (cscaKey, curve) = (try .generateEC(.secp384r1), .secp384r1)
        case "p521": (cscaKey, curve) = (try .generateEC(.secp521r1), .secp521r1)
        default:
            guard let c = NamedCurve(rawValue: algorithm) else {
                throw PreparationError(reason: "unknown key algorithm \(algorithm)")
            }
            (cscaKey, curve) = (try .generateEC(c), c)
        }
        let hash = hash(for: algorithm)
        let csca = try Certificate.create(
            subjectKey: cscaKey, issuerKey: cscaKey, issuer: nil,
            distinguishedName: "C=VN,O=CCCDKit TEST,CN=CCCDKit TEST CSCA - NOT FOR PRODUCTION",
            serial: Int(UInt32.random(in: 1...UInt32.max)), notBeforeOffset: -86400, validity: 86400 * 3653, isCA: true,
            hash: hash)
        let dsPublic = try token.generateKeyPair(label: label, curve: curve, rsaBits: bits)
        let ds = try Certificate.create(
            subjectKey: dsPublic, issuerKey: cscaKey, issuer: csca,
            distinguishedName: "C=VN,O=CCCDKit TEST,CN=CCCDKit TEST Document Signer (PKCS#11)",
            serial: Int(UInt32.random(in: 1...UInt32.max)), notBeforeOffset: -3600, validity: 86400 * 1826, isCA: false,
            hash: hash)
        try token.storeCertificate(ds.der, label: label)
        try token.storeCertificate(csca.der, label: DocumentSigner.tokenCSCALabel)
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try csca.pem.write(to: folder.appendingPathComponent("csca.crt"), atomically: true, encoding: .utf8)
        try cscaKey.privateKeyPEM().write(
            to: folder.appendingPathComponent("csca.key"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o600], ofItemAtPath: folder.appendingPathComponent("csca.key").path)
        try ds.pem.write(to: folder.appendingPathComponent("ds.crt"), atomically: true, encoding: .utf8)
        return ds
    }
}
