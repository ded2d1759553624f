import ArgumentParser
import CardCrypto
import Foundation
import Personalization

struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki", abstract: "Test PKI for demos and tests.", subcommands: [PKIInit.self])
}

struct PKIInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a TEST country signing CA (CSCA) and document signer (DS): csca.crt/.key, ds.crt/.key.",
        discussion: """
            FOR TESTING ONLY. The private keys are written unencrypted; a real CSCA lives in an HSM under the \
            issuing authority's control and is never created by a command like this.

            Algorithms: brainpoolP256r1 (default), brainpoolP384r1, brainpoolP512r1, p256, p384, p521, rsa2048, \
            rsa3072, rsa4096. The CSCA is valid 10 years, the document signer 5 years.
            """
    )

    @Option(help: "The folder to write into (created if needed).")
    var out: String

    @Option(help: "The key algorithm of the CSCA and the document signer.")
    var algorithm = "brainpoolP256r1"

    @Flag(help: "Overwrite existing files.")
    var force = false

    func validate() throws {
        guard TestPKI.algorithms.contains(algorithm) else {
            throw ValidationError("--algorithm must be one of: \(TestPKI.algorithms.joined(separator: ", ")).")
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        if !force,
            let existing = TestPKI.fileNames.first(where: {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            })
        {
            throw fail("\(out)/\(existing) exists; use --force to overwrite", code: CCCDExit.failure)
        }
        try TestPKI(algorithm: algorithm).write(to: out)
        let hash = TestPKI.hash(for: algorithm)
        print(
            """
            wrote \(out)/csca.crt, csca.key, ds.crt, ds.key (\(algorithm), \(hash.rawValue))
            *** FOR TESTING ONLY: these keys are unprotected and the CSCA is self-made. Never sign real documents with them. ***
            """)
    }
}
