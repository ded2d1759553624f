import ArgumentParser
import CardCore
import CardCrypto
import Foundation
import Issuance
import ChipAccess
import EAC
import Personalization

#if canImport(Glibc)
    import Glibc
#endif

struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki", abstract: "Test PKI for demos and tests; the document signer's signing rate.",
        subcommands: [PKIInit.self, PKISignRate.self, PKITransportKey.self])
}

struct PKIInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract:
            "Create a TEST CSCA and document signer (csca.crt/.key, ds.crt/.key, or the DS key in a PKCS#11 token) and a TEST EAC PKI (eac/: CVCA, DV, inspection system).",
        discussion: """
            FOR TESTING ONLY. The private keys are written unencrypted; a real CSCA lives in an HSM under the \
            issuing authority's control and is never created by a command like this.

            With --eac (the default; --no-eac leaves it out), eac/ holds a TEST EAC PKI as CV certificates (BSI             TR-03110-3, the EAC1 profile, what openpace's cvc-print reads): cvca.cvcert (the trust point perso             writes into every chip of a profile with extendedAccessControl), dv.cvcert (a domestic document             verifier) and is.cvcert (an inspection system), each with its key (.pkcs8, PKCS#8 DER, 0600); every             certificate again under its CHR in eac/cvc/ (cvc-print --cvc-dir); and eac/terminal/, the inspection             system's folder for cccd read --terminal. All may read DG3 and DG4. With --pkcs11, the inspection             system's key is made in the token too (label "is"; read with --terminal-key 'pkcs11:token=LABEL;object=is').

            Algorithms: brainpoolP256r1 (default), brainpoolP384r1, brainpoolP512r1, p256, p384, p521, rsa2048, \
            rsa3072, rsa4096. The CSCA is valid 10 years, the document signer 5 years.

            With --pkcs11 MODULE --token LABEL the document signer's key pair is generated inside the token (sensitive, \
            never extractable); ds.crt is written and stored on the token with the CSCA's certificate, and no ds.key \
            exists. The PIN comes from CCCD_PKCS11_PIN or --pin-file. Then sign with \
            --signer 'pkcs11:token=LABEL;object=ds' --pkcs11 MODULE.
            """
    )

    @Option(help: "The folder to write into (created if needed).")
    var out: String

    @Option(help: "The key algorithm of the CSCA and the document signer.")
    var algorithm = "brainpoolP256r1"

    @Flag(help: "Overwrite existing files.")
    var force = false

    @Flag(
        inversion: .prefixedNo,
        help: "Make the TEST EAC PKI in eac/ (CVCA, document verifier, inspection system) for DG3 behind Terminal Authentication.")
    var eac = true

    @Option(help: ArgumentHelp("The key algorithm of the EAC PKI (as --algorithm).", valueName: "algorithm"))
    var eacAlgorithm = "brainpoolP256r1"

    @OptionGroup var token: PKCS11Options

    @Option(
        name: .customLong("token"),
        help: ArgumentHelp(
            "With --pkcs11: the label of the token in which the document signer's key pair is generated (never leaves it).",
            valueName: "label"))
    var tokenLabel: String?

    @Option(help: "With --pkcs11: the label of the document signer's key and certificate in the token.")
    var label = "ds"

    func validate() throws {
        guard (token.pkcs11 == nil) == (tokenLabel == nil) else {
            throw ValidationError("--pkcs11 MODULE and --token LABEL go together")
        }
        guard TestPKI.algorithms.contains(algorithm) else {
            throw ValidationError("--algorithm must be one of: \(TestPKI.algorithms.joined(separator: ", ")).")
        }
        guard EACTestPKI.algorithms.contains(eacAlgorithm) else {
            throw ValidationError(
                "--eac-algorithm must be one of: \(EACTestPKI.algorithms.joined(separator: ", ")).")
        }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        if let module = token.pkcs11 { return try initToken(module) }
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        if !force,
            let existing = TestPKI.fileNames.first(where: {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            })
        {
            throw fail("\(out)/\(existing) exists; use --force to overwrite", code: CCCDExit.failure)
        }
        let pki = try TestPKI(algorithm: algorithm, eacAlgorithm: eac ? eacAlgorithm : nil, eacSequence: Self.sequence())
        try pki.write(to: out)
        let hash = TestPKI.hash(for: algorithm)
        if let chain = pki.eac { print(Self.describe(chain, in: out + "/eac", algorithm: eacAlgorithm)) }
        print(
            """
            wrote \(out)/csca.crt, csca.key, ds.crt, ds.key (\(algorithm), \(hash.rawValue))
            *** FOR TESTING ONLY: these keys are unprotected and the CSCA is self-made. Never sign real documents with them. ***
            """)
    }

    /// A sequence number for this PKI's CV references (five digits, random): two TEST PKIs never share a CHR, so a
    /// chip of one meets the other's chain as unknown (6A88), as between countries.
    static func sequence() -> String { String(format: "%05d", Int.random(in: 1...99_999)) }

    /// What `--eac` wrote, for a person.
    static func describe(_ chain: EACTestPKI, in folder: String, algorithm: String) -> String {
        let c = chain.cvca.certificate
        let d = chain.documentVerifier.certificate
        let i = chain.inspectionSystem.certificate
        return """
            wrote \(folder)/cvca.cvcert (\(c.holderReference), to \(c.expirationDate)), dv.cvcert (\(d.holderReference), to \(d.expirationDate)), is.cvcert (\(i.holderReference), to \(i.expirationDate)) and their keys (\(algorithm), \(c.publicKey.algorithm)); \(folder)/terminal is an inspection system for cccd read --terminal
            """
    }

    /// The TEST CSCA in files, the document signer's key pair generated inside the token.
    func initToken(_ module: String) throws {
        let tokenLabel = self.tokenLabel ?? ""
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        if !force,
            let existing = ["csca.crt", "csca.key", "ds.crt"].first(where: {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            })
        {
            throw fail("\(out)/\(existing) exists; use --force to overwrite", code: CCCDExit.failure)
        }
        do {
            let pkcs11 = try PKCS11Token(module: module, token: tokenLabel)
            try pkcs11.login(pin: try token.pin())
            let ds = try TestPKI.initialize(in: pkcs11, label: label, algorithm: algorithm, directory: out)
            if eac {
                // The inspection system's key pair in the token; the CVCA's and the DV's in files (TEST only).
                if try pkcs11.hasKey(label: "is") {
                    throw PKCS11Error(.failed, "the token already holds a key labelled \"is\"")
                }
                let curve = try EACTestPKI.key(eacAlgorithm).curve
                let rsaBits = eacAlgorithm.hasPrefix("rsa") ? Int(eacAlgorithm.dropFirst(3)) ?? 3072 : 0
                let isPublic = try AsymmetricKey(
                    publicKeyDER: try pkcs11.generateKeyPair(label: "is", curve: curve, rsaBits: rsaBits).publicKeyDER())
                let chain = try EACTestPKI.make(
                    algorithm: eacAlgorithm, inspectionSystemKey: isPublic, sequence: Self.sequence())
                try chain.write(to: out + "/eac")
                print(Self.describe(chain, in: out + "/eac", algorithm: eacAlgorithm))
                print(
                    "inspection system key pair generated in token \"\(tokenLabel)\" as \"is\": read with --terminal \(out)/eac/terminal --terminal-key 'pkcs11:token=\(tokenLabel);object=is' --pkcs11 \(module)"
                )
            }
            try pkcs11.selectKey(label: label)
            let flags = try pkcs11.keyFlags()
            print(
                """
                wrote \(out)/csca.crt, csca.key, ds.crt (\(algorithm), \(TestPKI.hash(for: algorithm).rawValue))
                document signer key pair generated in token "\(tokenLabel)" as "\(label)": \(flags.extractable ? "EXTRACTABLE" : "not extractable"), \(flags.sensitive ? "sensitive" : "NOT sensitive"); its certificate (\(ds.subject)) and the CSCA's are on the token
                sign with: --signer 'pkcs11:token=\(tokenLabel);object=\(label)' --pkcs11 \(module)\(eac ? " --cvca \(out)/eac/cvca.cvcert" : "")
                *** FOR TESTING ONLY: the CSCA key is an unprotected file and the CSCA is self-made. ***
                """)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
    }
}

/// How fast the document signer signs EF.SOD's signed attributes: one thread, then every core (one PKCS#11 session
/// per thread for a token).
struct PKISignRate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-rate",
        abstract:
            "Measure the document signer's signatures per second (file key or PKCS#11 token), 1 thread and all cores."
    )

    @Option(help: ArgumentHelp("A signer folder, or pkcs11:token=LABEL;object=ds.", valueName: "dir|pkcs11-uri"))
    var signer: String

    @OptionGroup var token: PKCS11Options

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 2

    @Option(help: "The signature hash.")
    var hash: String = "SHA-256"

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let documentSigner: DocumentSigner
        do { documentSigner = try token.signer(signer).0 } catch { throw fail("\(error)", code: CCCDExit.failure) }
        guard let algorithm = HashAlgorithm(rawValue: hash) else {
            throw fail("--hash must be SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512", code: CCCDExit.failure)
        }
        // About the size of EF.SOD's signed attributes (contentType, signingTime, messageDigest).
        let message = [UInt8](repeating: 0x5A, count: 110)
        nonisolated(unsafe) let key = documentSigner.key
        func rate(threads: Int) -> Double {
            let lock = NSLock()
            nonisolated(unsafe) var count = 0
            let deadline = Date().addingTimeInterval(seconds)
            let start = Date()
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                var mine = 0
                while Date() < deadline {
                    guard (try? key.digestSign(message, hash: algorithm)) != nil else { break }
                    mine += 1
                }
                lock.withLock { count += mine }
            }
            return Double(count) / Date().timeIntervalSince(start)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let one = rate(threads: 1)
        let all = rate(threads: cores)
        let kind = PKCS11URI.isURI(signer) ? "PKCS#11 token" : "file key"
        if json {
            let object: [String: Any] = [
                "signer": kind, "key": key.kind == .rsa ? "RSA-\(key.bits)" : "EC-\(key.bits)",
                "signaturesPerSecond1Thread": one, "signaturesPerSecondAllCores": all, "cores": cores,
            ]
            let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: out, as: UTF8.self))
        } else {
            print(
                String(
                    format: "%@ (%@-%d, %@): %.0f signatures/s on 1 thread, %.0f on %d cores", kind,
                    key.kind == .rsa ? "RSA" : "EC", key.bits, hash, one, all, cores))
        }
    }
}

struct PKITransportKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport-key",
        abstract: "Make a batch's transport master key (AES) in a PKCS#11 token, or in a file for development.",
        discussion: """
            The card maker diversifies each chip's SCP03 keys from this key (the chip's serial as diversification \
            data), and every station of the batch personalizes with it.

            In a token (a line's way): --pkcs11 MODULE --token LABEL makes the key inside the token (sensitive, never \
            extractable, usable for AES-CMAC only), so it never exists on a host; --import FILE puts an existing key \
            file's key there instead (then destroy the file). The PIN comes from CCCD_PKCS11_PIN or --pin-file. Use \
            it with --transport-key 'pkcs11:token=LABEL;object=transport' --pkcs11 MODULE (cccd perso, and cccd \
            emulate --blank for test chips).

            In a file (development): --out FILE writes the key as hex on one line to a new file readable by its owner \
            only (0600); it is never printed. cccd perso warns when it is given a key file.

            Examples: cccd pki transport-key --pkcs11 /usr/lib/softhsm/libsofthsm2.so --token line-1
                      cccd pki transport-key --out batch-42.key
            """
    )

    @Option(help: ArgumentHelp("The file to write (refused if it exists, unless --force).", valueName: "file"))
    var out: String?

    @Option(help: "Key length in bits: 128, 192 or 256.")
    var bits = 128

    @Flag(help: "Overwrite an existing file.")
    var force = false

    @OptionGroup var token: PKCS11Options

    @Option(
        name: .customLong("token"),
        help: ArgumentHelp("With --pkcs11: the label of the token that keeps the key.", valueName: "label"))
    var tokenLabel: String?

    @Option(help: "With --pkcs11: the key's label in the token.")
    var label = "transport"

    @Option(
        name: .customLong("import"),
        help: ArgumentHelp("With --pkcs11: put this key file's key in the token instead of making one.", valueName: "file"))
    var importFile: String?

    func validate() throws {
        guard [128, 192, 256].contains(bits) else { throw ValidationError("--bits must be 128, 192 or 256") }
        guard (token.pkcs11 == nil) == (tokenLabel == nil) else {
            throw ValidationError("--pkcs11 MODULE and --token LABEL go together")
        }
        guard (out == nil) != (token.pkcs11 == nil) else {
            throw ValidationError("give --out FILE (a key file) or --pkcs11 MODULE --token LABEL (a token)")
        }
        if importFile != nil && token.pkcs11 == nil { throw ValidationError("--import goes with --pkcs11") }
    }

    func run() throws {
        if let module = token.pkcs11 { return try inToken(module) }
        let out = self.out ?? ""
        if FileManager.default.fileExists(atPath: out) && !force {
            throw fail("\(out) exists; give --force to overwrite it", code: CCCDExit.failure)
        }
        var key: [UInt8]
        do { key = try SystemRandom().bytes(bits / 8) } catch {
            throw fail("no random source: \(error)", code: CCCDExit.failure)
        }
        defer { for i in key.indices { key[i] = 0 } }
        // Created 0600 from the start: the key is never readable by others, not even for a moment.
        do {
            try PrivateFile.write(Array((key.map { String(format: "%02X", $0) }.joined() + "\n").utf8), to: out)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        print("wrote a \(bits)-bit transport master key to \(out) (mode 0600); use it with cccd perso --transport-key \(out)")
    }

    func inToken(_ module: String) throws {
        let tokenLabel = self.tokenLabel ?? ""
        do {
            let opened = try PKCS11Token(module: module, token: tokenLabel)
            try opened.login(pin: try token.pin())
            if opened.hasSecretKey(label: label) {
                throw fail(
                    "the token \"\(tokenLabel)\" holds a key labelled \"\(label)\" already (a batch's chips depend on it: it is never replaced here)",
                    code: CCCDExit.failure)
            }
            if let importFile {
                let (provider, _) = try TransportKeySource.open(importFile, token: token)
                guard let file = provider as? SoftwareTransportKeys else { throw fail("--import takes a key file", code: CCCDExit.failure) }
                try file.store(in: opened, label: label)
            } else {
                try opened.generateAESKey(bytes: bits / 8, label: label)
            }
            let length = try opened.selectSecretKey(label: label)
            print(
                """
                \(importFile == nil ? "made" : "imported") a \(length * 8)-bit transport master key in token "\(tokenLabel)" as "\(label)": not extractable, sensitive, AES-CMAC only
                use it with: --transport-key 'pkcs11:token=\(tokenLabel);object=\(label)' --pkcs11 \(module)
                """)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
    }
}
