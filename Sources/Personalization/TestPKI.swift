import EAC
import CardCore
import CardCrypto
import Foundation

/// A TEST country signing CA and document signer, for demos and tests only: keys in files, unprotected, the CSCA
/// self-made. A real CSCA lives in an HSM under the issuing authority and is never made like this.
public struct TestPKI {
    public let cscaKey: AsymmetricKey
    public let csca: Certificate
    public let signer: DocumentSigner
    /// The TEST EAC PKI (CVCA, DV, inspection system) whose CVCA the signer's chips trust; nil without EAC.
    public let eac: EACTestPKI?

    /// Key algorithms: brainpoolP256r1/384r1/512r1, p256, p384, p521, rsa2048, rsa3072, rsa4096.
    public static let algorithms = [
        "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "p256", "p384", "p521", "rsa2048", "rsa3072",
        "rsa4096",
    ]

    /// A fresh CSCA (10 years) and document signer (5 years) with keys of `algorithm`, and an EAC PKI with keys of
    /// `eacAlgorithm` (nil: none).
    public init(
        algorithm: String = "brainpoolP256r1", eacAlgorithm: String? = "brainpoolP256r1", eacSequence: String = "00001"
    ) throws {
        func key() throws -> AsymmetricKey {
            switch algorithm {
            case "p256": return try .generateEC(.secp256r1)
            case "p384": return try .generateEC(.secp384r1)
            case "p521": return try .generateEC(.secp521r1)
            case "rsa2048": return try .generateRSA(bits: 2048)
            case "rsa3072": return try .generateRSA(bits: 3072)
            case "rsa4096": return try .generateRSA(bits: 4096)
            default:
                guard let curve = NamedCurve(rawValue: algorithm) else {
                    throw PreparationError(reason: "unknown key algorithm \(algorithm)")
                }
                return try .generateEC(curve)
            }
        }
        let hash = Self.hash(for: algorithm)
        cscaKey = try key()
        csca = try Certificate.create(
            subjectKey: cscaKey, issuerKey: cscaKey, issuer: nil,
            distinguishedName: "C=VN,O=CCCDKit TEST,CN=CCCDKit TEST CSCA - NOT FOR PRODUCTION",
            serial: Int(UInt32.random(in: 1...UInt32.max)), notBeforeOffset: -86400, validity: 86400 * 3653, isCA: true,
            hash: hash)
        let dsKey = try key()
        let ds = try Certificate.create(
            subjectKey: dsKey, issuerKey: cscaKey, issuer: csca,
            distinguishedName: "C=VN,O=CCCDKit TEST,CN=CCCDKit TEST Document Signer",
            serial: Int(UInt32.random(in: 1...UInt32.max)), notBeforeOffset: -3600, validity: 86400 * 1826, isCA: false,
            hash: hash)
        eac = try eacAlgorithm.map { try EACTestPKI.make(algorithm: $0, sequence: eacSequence) }
        signer = DocumentSigner(certificate: ds, key: dsKey, cvca: eac?.cvca.certificate)
    }

    /// The signature hash that matches the key size.
    public static func hash(for algorithm: String) -> HashAlgorithm {
        if algorithm.hasSuffix("384") || algorithm == "rsa3072" { return .sha384 }
        if algorithm.hasSuffix("512") || algorithm == "p521" || algorithm == "rsa4096" { return .sha512 }
        return .sha256
    }

    /// The files a TEST PKI folder holds.
    public static let fileNames = ["csca.crt", "csca.key", "ds.crt", "ds.key"]

    /// Writes csca.crt, csca.key, ds.crt, ds.key (keys readable by the owner only).
    public func write(to directory: String) throws {
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try csca.pem.write(to: folder.appendingPathComponent("csca.crt"), atomically: true, encoding: .utf8)
        try PrivateFile.write(Array(try cscaKey.privateKeyPEM().utf8), to: folder.appendingPathComponent("csca.key").path)
        try signer.certificate.pem.write(to: folder.appendingPathComponent("ds.crt"), atomically: true, encoding: .utf8)
        try PrivateFile.write(Array(try signer.key.privateKeyPEM().utf8), to: folder.appendingPathComponent("ds.key").path)
        try eac?.write(to: folder.appendingPathComponent("eac").path)
    }
}
