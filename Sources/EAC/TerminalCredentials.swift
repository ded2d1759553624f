import CardCore
import CardCrypto
import Foundation

/// What an inspection system shows a chip in Terminal Authentication: its certificate chain (from the one the
/// chip's CVCA signed down to its own) and its private key (a file's, or a token's that signs inside the token).
public struct TerminalCredentials: @unchecked Sendable {
    public let chain: [CVCertificate]
    public let key: AsymmetricKey

    public init(chain: [CVCertificate], key: AsymmetricKey) throws(CVCertificateError) {
        guard let last = chain.last, last.authorization.role == .inspectionSystem else {
            throw .init(.malformed, "a terminal's chain ends with its inspection system certificate")
        }
        for (issuer, subject) in zip(chain, chain.dropFirst()) where subject.authorityReference != issuer.holderReference {
            throw .init(
                .malformed,
                "the chain breaks: \(subject.holderReference) is signed by \(subject.authorityReference), not by \(issuer.holderReference)")
        }
        self.chain = chain
        self.key = key
    }

    public var inspectionSystem: CVCertificate { chain[chain.count - 1] }

    /// The rights the whole chain grants (what the chip will let the terminal read).
    public var rights: CVAuthorization.Rights {
        chain.reduce(CVAuthorization.Rights.all) { $0.intersection($1.authorization.rights) }
    }

    /// A terminal folder: every `*.cvcert` in it (a CVCA's self-signed root is left out: the chip holds it), the
    /// chain ordered from the inspection system's certificate up by CAR; the key is `key`, or the folder's
    /// `is.pkcs8` (PKCS#8 DER, as cvc-create writes) or `is.key` (PEM).
    public static func load(directory: String, key given: AsymmetricKey? = nil) throws -> TerminalCredentials {
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        let chain = try Self.chain(in: directory)
        let key: AsymmetricKey
        if let given {
            key = given
        } else if let der = FileManager.default.contents(atPath: folder.appendingPathComponent("is.pkcs8").path) {
            key = try AsymmetricKey(privateKeyDER: [UInt8](der))
        } else if let pem = FileManager.default.contents(atPath: folder.appendingPathComponent("is.key").path) {
            key = try AsymmetricKey(privateKeyPEM: [UInt8](pem))
        } else {
            throw CVCertificateError(
                .malformed, "\(directory) has no is.pkcs8 or is.key: give the inspection system's key (a token's)")
        }
        return try TerminalCredentials(chain: chain, key: key)
    }

    /// The certificates of a terminal folder (`*.cvcert`).
    static func certificates(in directory: String) throws -> [CVCertificate] {
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw CVCertificateError(.malformed, "cannot read the terminal folder \(directory)")
        }
        var certificates: [CVCertificate] = []
        for name in names.sorted() where name.hasSuffix(".cvcert") {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
                continue
            }
            do { certificates.append(try CVCertificate(bytes: [UInt8](data))) } catch {
                throw CVCertificateError(error.code, "\(directory)/\(name): \(error.reason)")
            }
        }
        return certificates
    }

    /// The chain of a terminal folder, from below the CVCA down to the inspection system.
    public static func chain(in directory: String) throws -> [CVCertificate] {
        let certificates = try certificates(in: directory)
        let systems = certificates.filter { $0.authorization.role == .inspectionSystem }
        guard systems.count == 1, var current = systems.first else {
            throw CVCertificateError(
                .malformed,
                "\(directory) holds \(systems.count) inspection system certificates (*.cvcert); a terminal has one")
        }
        var chain = [current]
        while let issuer = certificates.first(where: {
            $0.holderReference == current.authorityReference && $0.holderReference != $0.authorityReference
        }) {
            guard !chain.contains(issuer), chain.count < 8 else {
                throw CVCertificateError(.malformed, "the certificates in \(directory) loop")
            }
            chain.insert(issuer, at: 0)
            current = issuer
        }
        return chain
    }

    /// The inspection system's public key, for a token's key (an EC key inherits its curve from the CVCA: the
    /// chain's or a CVCA certificate in the folder).
    public static func inspectionSystemPublicKey(directory: String) throws -> AsymmetricKey {
        let all = try certificates(in: directory)
        let chain = try Self.chain(in: directory)
        let curve = (chain + all).lazy.compactMap { $0.publicKey.curve(inheriting: nil) }.first
        let key = chain[chain.count - 1].publicKey
        if case .ec(_, nil) = key.value, curve == nil {
            throw CVCertificateError(
                .malformed,
                "the inspection system's EC key inherits its curve from the CVCA: put the CVCA's certificate (cvca.cvcert) in \(directory) too")
        }
        return try key.asymmetricKey(curve: curve)
    }
}

/// A TEST EAC PKI: a country verifying CA (CVCA), a document verifier and an inspection system, each a CV
/// certificate with its key. FOR TESTING ONLY: the keys are unprotected files (the inspection system's may be
/// in a token instead).
public struct EACTestPKI {
    public struct Entity {
        public var certificate: CVCertificate
        /// Nil when the key lives in a token.
        public var key: AsymmetricKey?

        public init(certificate: CVCertificate, key: AsymmetricKey?) {
            self.certificate = certificate
            self.key = key
        }
    }

    public var cvca: Entity
    public var documentVerifier: Entity
    public var inspectionSystem: Entity

    public static let algorithms = ["brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "p256", "p384", "p521",
        "rsa2048", "rsa3072"]

    public static func key(_ algorithm: String) throws -> AsymmetricKey {
        switch algorithm {
        case "rsa2048", "rsa3072", "rsa4096": return try .generateRSA(bits: Int(algorithm.dropFirst(3)) ?? 3072)
        case "p256": return try .generateEC(.secp256r1)
        case "p384": return try .generateEC(.secp384r1)
        case "p521": return try .generateEC(.secp521r1)
        default:
            guard let curve = NamedCurve(rawValue: algorithm) else {
                throw CVCertificateError(.unsupported, "unknown key algorithm \(algorithm)")
            }
            return try .generateEC(curve)
        }
    }

    /// Issues a certificate for `subject` (a public key) signed by `issuer`'s key with the issuer's algorithm.
    public static func issue(
        subject: AsymmetricKey, holder: CVReference, role: CVAuthorization.Role, rights: CVAuthorization.Rights,
        issuer: Entity?, issuerKey: AsymmetricKey, effective: CVDate, expires: CVDate, pss: Bool = false
    ) throws -> CVCertificate {
        let algorithm = issuer?.certificate.publicKey.algorithm ?? .default(for: subject, pss: pss)
        let subjectAlgorithm = issuer == nil ? algorithm : TerminalAuthenticationAlgorithm.default(for: subject, pss: pss)
        var certificate = CVCertificate(
            authorityReference: issuer?.certificate.holderReference ?? holder,
            publicKey: try CVPublicKey(subject, algorithm: subjectAlgorithm, withDomainParameters: role == .cvca),
            holderReference: holder, authorization: CVAuthorization(role: role, rights: rights),
            effectiveDate: effective, expirationDate: expires)
        try certificate.sign(with: issuerKey, algorithm: algorithm)
        return certificate
    }

    /// A fresh PKI: the CVCA valid `cvcaDays`, the DV `dvDays`, the inspection system `isDays`, from `today`.
    /// `inspectionSystemKey`: a public key made elsewhere (a token's); else one is made here.
    public static func make(
        algorithm: String = "brainpoolP256r1", country: String = "VN", today: CVDate = .today(),
        cvcaDays: Int = 3 * 365, dvDays: Int = 365, isDays: Int = 90, rights: CVAuthorization.Rights = .all,
        inspectionSystemKey: AsymmetricKey? = nil, sequence: String = "00001"
    ) throws -> EACTestPKI {
        let cvcaKey = try key(algorithm)
        let cvcaCertificate = try issue(
            subject: cvcaKey, holder: try CVReference("\(country)CVCA\(sequence)"), role: .cvca, rights: rights,
            issuer: nil, issuerKey: cvcaKey, effective: today, expires: today.adding(days: cvcaDays))
        let cvca = Entity(certificate: cvcaCertificate, key: cvcaKey)
        let dvKey = try key(algorithm)
        let dv = Entity(
            certificate: try issue(
                subject: dvKey, holder: try CVReference("\(country)DV\(sequence)"), role: .domesticDocumentVerifier,
                rights: rights, issuer: cvca, issuerKey: cvcaKey, effective: today, expires: today.adding(days: dvDays)),
            key: dvKey)
        // A key made here (its private half kept), or the public half of a token's.
        let isKey = try inspectionSystemKey ?? key(algorithm)
        let inspectionSystem = Entity(
            certificate: try issue(
                subject: isKey, holder: try CVReference("\(country)IS\(sequence)"), role: .inspectionSystem,
                rights: rights, issuer: dv, issuerKey: dvKey, effective: today, expires: today.adding(days: isDays)),
            key: inspectionSystemKey == nil ? isKey : nil)
        return EACTestPKI(cvca: cvca, documentVerifier: dv, inspectionSystem: inspectionSystem)
    }

    /// The file names `write` uses.
    public static let fileNames = ["cvca.cvcert", "cvca.pkcs8", "dv.cvcert", "dv.pkcs8", "is.cvcert", "is.pkcs8"]

    /// Writes `cvca`, `dv` and `is` as `.cvcert` (the certificate) and `.pkcs8` (the key, PKCS#8 DER, 0600; as
    /// openpace's cvc-create names them), and every certificate again under its CHR in `cvc/` (the layout of
    /// cvc-print's `--cvc-dir`). The terminal's folder (`cccd read --terminal`) is `DIR/terminal`: the three
    /// certificates and the inspection system's key.
    public func write(to directory: String) throws {
        try PrivateFile.folder(directory)
        let trust = (directory as NSString).appendingPathComponent("cvc")
        let terminal = (directory as NSString).appendingPathComponent("terminal")
        try PrivateFile.folder(trust)
        try PrivateFile.folder(terminal)
        for (name, entity) in [("cvca", cvca), ("dv", documentVerifier), ("is", inspectionSystem)] {
            let bytes = entity.certificate.encoded
            try PrivateFile.write(bytes, to: (directory as NSString).appendingPathComponent("\(name).cvcert"))
            try PrivateFile.write(bytes, to: (trust as NSString).appendingPathComponent(entity.certificate.holderReference.value))
            if let key = entity.key {
                try PrivateFile.write(try key.privateKeyDER(), to: (directory as NSString).appendingPathComponent("\(name).pkcs8"))
            }
            // The terminal's folder: its chain, and the CVCA's certificate (its keys inherit the CVCA's curve; the
            // chain itself starts below the CVCA, whose key the chip holds).
            do {
                try PrivateFile.write(bytes, to: (terminal as NSString).appendingPathComponent("\(name).cvcert"))
                // The inspection system's own key only: a terminal never holds its DV's.
                if name == "is", let key = entity.key {
                    try PrivateFile.write(
                        try key.privateKeyDER(), to: (terminal as NSString).appendingPathComponent("is.pkcs8"))
                }
            }
        }
    }
}
