import ArgumentParser
import CardCrypto
import Foundation

struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki", abstract: "Test PKI for demos and tests.", subcommands: [PKIInit.self])
}

struct PKIInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a TEST country signing CA (CSCA) and document signer (DS): csca.crt/.key, ds.crt/.key.",
        discussion: """
            FOR TESTING ONLY. The private keys are written unencrypted; a real CSCA lives in an HSM under the
            issuing authority's control and is never created by a command like this.

            Algorithms: brainpoolP256r1 (default), brainpoolP384r1, brainpoolP512r1, p256, p384, p521, rsa2048,
            rsa3072, rsa4096. The CSCA is valid 10 years, the document signer 5 years.
            """
    )

    @Option(help: "The folder to write into (created if needed).")
    var out: String

    @Option(help: "The key algorithm of the CSCA and the document signer.")
    var algorithm = "brainpoolP256r1"

    @Flag(help: "Overwrite existing files.")
    var force = false

    static let algorithms = [
        "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "p256", "p384", "p521", "rsa2048", "rsa3072",
        "rsa4096",
    ]

    func validate() throws {
        guard Self.algorithms.contains(algorithm) else {
            throw ValidationError("--algorithm must be one of: \(Self.algorithms.joined(separator: ", ")).")
        }
    }

    func key() throws -> AsymmetricKey {
        switch algorithm {
        case "p256": return try .generateEC(.secp256r1)
        case "p384": return try .generateEC(.secp384r1)
        case "p521": return try .generateEC(.secp521r1)
        case "rsa2048": return try .generateRSA(bits: 2048)
        case "rsa3072": return try .generateRSA(bits: 3072)
        case "rsa4096": return try .generateRSA(bits: 4096)
        default: return try .generateEC(NamedCurve(rawValue: algorithm) ?? .brainpoolP256r1)
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        let names = ["csca.crt", "csca.key", "ds.crt", "ds.key"]
        if !force,
            let existing = names.first(where: {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            })
        {
            throw fail("\(out)/\(existing) exists; use --force to overwrite", code: CCCDExit.failure)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let hash: HashAlgorithm =
            algorithm.hasSuffix("384") || algorithm == "rsa3072"
            ? .sha384 : algorithm.hasSuffix("512") || algorithm == "p521" || algorithm == "rsa4096" ? .sha512 : .sha256
        let cscaKey = try key()
        let csca = try Certificate.create(
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
        try csca.pem.write(to: folder.appendingPathComponent("csca.crt"), atomically: true, encoding: .utf8)
        try cscaKey.privateKeyPEM().write(
            to: folder.appendingPathComponent("csca.key"), atomically: true, encoding: .utf8)
        try ds.pem.write(to: folder.appendingPathComponent("ds.crt"), atomically: true, encoding: .utf8)
        try dsKey.privateKeyPEM().write(to: folder.appendingPathComponent("ds.key"), atomically: true, encoding: .utf8)
        for name in ["csca.key", "ds.key"] {
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600], ofItemAtPath: folder.appendingPathComponent(name).path)
        }
        print(
            """
            wrote \(out)/csca.crt, csca.key, ds.crt, ds.key (\(algorithm), \(hash.rawValue))
            *** FOR TESTING ONLY: these keys are unprotected and the CSCA is self-made. Never sign real documents with them. ***
            """)
    }
}
