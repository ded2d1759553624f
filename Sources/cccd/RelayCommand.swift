import ArgumentParser
import CardCore
import CardCrypto
import CardEmulator
import ChipImage
import Foundation
import LDS
import PCSC
import Personalization
import Reader
import Relay
import RelayWire
import Verification

/// `cccd relay`: the bank's server reads a card through a phone that only relays APDUs.
struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "The bank's relay: the server reads the card itself over APDUs a phone relays, and signs the report.",
        discussion: """
            The phone is a dumb pipe: PACE, Chip and Active Authentication and every file read run on the server \
            (serve), over a WebSocket the phone app opens (protocol: GET /relay/v1/asyncapi.json, README "Bank \
            relay"). The secure channel ends on the server, the Active Authentication challenge is the server's, and \
            a relay that replays, drops or reorders answers never gets a genuine report. The report comes back as \
            a JWS signed with the server's key, for the bank's back end to verify (verify). `keygen` makes the \
            report key and the token secret; `token` issues a session token; `client` is the reference relay \
            client (a PC/SC reader or a card image), with a modelled phone network for tests.
            """,
        subcommands: [
            RelayServeCommand.self, RelayTokenCommand.self, RelayClientCommand.self, RelayVerifyCommand.self,
            RelayKeygenCommand.self,
        ])
}

/// `cccd relay keygen --out DIR`: report key (P-256), its public half, the token secret.
struct RelayKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make the relay's report key (report.key, P-256 or RSA), its public half (report.pub.pem) and a token secret.")

    @Option(help: ArgumentHelp("The folder to write (files are 0600; existing ones are kept).", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("P-256, P-384 or RSA-3072.", valueName: "algorithm"))
    var algorithm = "P-256"

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let keyPath = out + "/report.key"
        let secretPath = out + "/token.secret"
        var stderr = StandardError()
        if !FileManager.default.fileExists(atPath: keyPath) {
            let key: AsymmetricKey
            switch algorithm.uppercased() {
            case "P-256": key = try AsymmetricKey.generateEC(.secp256r1)
            case "P-384": key = try AsymmetricKey.generateEC(.secp384r1)
            case "RSA-3072": key = try AsymmetricKey.generateRSA(bits: 3072)
            default: throw ValidationError("--algorithm: P-256, P-384 or RSA-3072")
            }
            try PrivateFile.write(Array(try key.privateKeyPEM().utf8), to: keyPath)
            try Array(try key.publicKeyPEM().utf8).write(to: out + "/report.pub.pem")
        } else {
            print("kept the existing \(keyPath)", to: &stderr)
        }
        if !FileManager.default.fileExists(atPath: secretPath) {
            try PrivateFile.write(Array((Hex.encode(try SecureRandom.bytes(32)) + "\n").utf8), to: secretPath)
        } else {
            print("kept the existing \(secretPath)", to: &stderr)
        }
        print("report key: \(keyPath) (public: \(out)/report.pub.pem); token secret: \(secretPath)")
    }
}

extension Array where Element == UInt8 {
    fileprivate func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}

/// The server's token secret and report key options, shared by serve and token.
struct RelaySecretOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The token secret (32 bytes or more: raw, hex or base64), shared by every instance (cccd relay keygen).",
            valueName: "file"))
    var tokenSecret: String

    func issuer() throws -> RelayTokenIssuer { try RelayTokenIssuer(secretFile: tokenSecret) }
}

/// `cccd relay serve`.
struct RelayServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the relay endpoint (WebSocket /relay/v1; /metrics for Prometheus).",
        discussion: """
            Each connection is one read: the phone sends a hello with its session token and the card's access key, \
            then relays each command APDU to the card and its answer back; the server answers with the signed \
            report. Put TLS in front (a reverse proxy, README "Bank relay"). Several instances behind any load \
            balancer share --token-secret, the report key and --audit postgres://…
            """)

    @Option(help: ArgumentHelp("Address and port to listen on (0 picks a free port).", valueName: "host:port"))
    var listen = "127.0.0.1:8790"

    @OptionGroup var secret: RelaySecretOptions

    @Option(
        help: ArgumentHelp(
            "The report signing key: a file (PKCS#8 or PEM; P-256/P-384/P-521 or RSA ≥ 2048) or pkcs11:token=LABEL;object=LABEL (with --pkcs11 and --report-public-key).",
            valueName: "file|pkcs11-uri"))
    var reportKey: String

    @Option(help: ArgumentHelp("With a key in a token: its public key (PEM).", valueName: "file"))
    var reportPublicKey: String?

    @Option(
        help: ArgumentHelp(
            "Trusted CSCA certificates: PEM/DER files, folders of them, or ICAO master lists. Repeatable. Without it no report is genuine.",
            valueName: "path"))
    var trust: [String] = []

    @Option(
        help: ArgumentHelp(
            "The audit store: an SQLite file, or postgres://user@host/db (shared by every instance; it also makes each token good for one read across them). Default: in memory.",
            valueName: "file|url"))
    var audit: String?

    @Option(
        help: ArgumentHelp(
            "A file holding the bearer token the bank's back end presents to POST /relay/v1/sessions (else that route is off).",
            valueName: "file"))
    var backendTokenFile: String?

    @Option(help: ArgumentHelp("A browser origin allowed to open the WebSocket. Repeatable.", valueName: "url"))
    var allowOrigin: [String] = []

    @Option(help: ArgumentHelp("Sessions open at once on this instance (then busy).", valueName: "n"))
    var maxSessions = 500

    @Option(help: ArgumentHelp("Sessions one client (the token's client) may start per minute.", valueName: "n"))
    var ratePerMinute = 12

    @Option(help: ArgumentHelp("Caps per session: APDUs.", valueName: "n"))
    var maxApdus = 200

    @Option(help: ArgumentHelp("Seconds to wait for each answer.", valueName: "seconds"))
    var answerTimeout: Double = 10

    @Option(help: ArgumentHelp("Seconds a whole session may take.", valueName: "seconds"))
    var sessionTimeout: Double = 60

    @OptionGroup(title: "EAC (fingerprints behind Terminal Authentication)") var eac: TerminalOptions

    @OptionGroup(title: "PKCS#11 (a report or terminal key in a token)") var pkcs11: PKCS11Options

    @OptionGroup var logging: LoggingOptions

    var address: (host: String, port: Int)? { ListenAddress.parse(listen) }

    func validate() throws {
        guard address != nil else { throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8790.") }
        if !(1...100_000).contains(maxSessions) { throw ValidationError("--max-sessions must be 1...100000.") }
        if !(1...10_000).contains(ratePerMinute) { throw ValidationError("--rate-per-minute must be 1...10000.") }
        if !(10...10_000).contains(maxApdus) { throw ValidationError("--max-apdus must be 10...10000.") }
        if !(0.1...600).contains(answerTimeout) { throw ValidationError("--answer-timeout must be 0.1...600 seconds.") }
        if !(1...3600).contains(sessionTimeout) { throw ValidationError("--session-timeout must be 1...3600 seconds.") }
    }

    func signer() throws -> ReportSigner {
        guard PKCS11URI.isURI(reportKey) else { return try ReportSigner(key: try ReportSigner.loadKey(path: reportKey)) }
        guard let reportPublicKey, let pem = FileManager.default.contents(atPath: reportPublicKey) else {
            throw ValidationError("a report key in a token needs --report-public-key FILE (its public key, PEM)")
        }
        let publicKey = try AsymmetricKey(publicKeyPEM: [UInt8](pem))
        return try ReportSigner(key: try pkcs11.signingKey(reportKey, publicKey: publicKey), publicKey: publicKey)
    }

    func run() throws {
        logging.bootstrap()
        let (host, port) = address!
        var stderr = StandardError()
        let verifier: RelayVerifier
        let backendToken: String?
        do {
            var configuration = RelayVerifier.Configuration(trust: trust.isEmpty ? nil : try TrustStore.load(paths: trust))
            configuration.terminal = try eac.load(token: pkcs11)
            configuration.maxSessions = maxSessions
            configuration.sessionsPerClientPerMinute = ratePerMinute
            configuration.maxAPDUs = maxApdus
            configuration.answerTimeout = answerTimeout
            configuration.sessionTimeout = sessionTimeout
            let store: any RelayAuditStore
            if let audit, audit.hasPrefix("postgres://") || audit.hasPrefix("postgresql://") {
                store = try waitFor { try await RelayPostgresAudit(url: audit) }
            } else if let audit {
                store = try RelaySQLiteAudit(path: audit)
            } else {
                store = RelayMemoryAudit()
                print("warning: no --audit: sessions are not recorded, and a token's single use holds on this instance only.", to: &stderr)
            }
            backendToken = try backendTokenFile.map { path in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                    let line = text.split(whereSeparator: \.isNewline).first, line.count >= 16
                else { throw ValidationError("--backend-token-file: \(path) must hold a token of 16 characters or more") }
                return String(line)
            }
            verifier = RelayVerifier(
                configuration: configuration, tokens: try secret.issuer(), signer: try signer(), audit: store)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        if trust.isEmpty {
            print("warning: no --trust: document signers cannot be verified, so no report is genuine.", to: &stderr)
        }
        let server = RelayServer(
            verifier: verifier,
            options: .init(host: host, port: port, allowedOrigins: Set(allowOrigin), backendToken: backendToken))
        let shown = host.contains(":") ? "[\(host)]" : host
        do {
            try waitFor {
                try await server.run { bound in
                    print("cccd relay listening on ws://\(shown):\(bound)\(RelayProtocol.path) (metrics: http://\(shown):\(bound)/metrics)")
                    fflush(nil)
                }
            }
        } catch {
            throw fail("the relay stopped: \(error)", code: CCCDExit.failure)
        }
    }
}

/// `cccd relay token`: a session token (what the back end's POST /relay/v1/sessions gives).
struct RelayTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue a session token: one read, one client, an expiry; bound to one card when its key is given.")

    @OptionGroup var secret: RelaySecretOptions

    @Option(help: ArgumentHelp("Who the read is for (the customer or app installation): rate limits and audit.", valueName: "id"))
    var client: String

    @Option(help: ArgumentHelp("Seconds the token is valid.", valueName: "seconds"))
    var lifetime: Double = 300

    @Option(help: ArgumentHelp("Bind the token to the card with this CAN (the hello must give the same key).", valueName: "digits"))
    var can: String?

    @Flag(help: "Print {token, sid, expires} as JSON.")
    var json = false

    func run() throws {
        let issuer: RelayTokenIssuer
        do { issuer = try secret.issuer() } catch { throw fail("\(error)", code: CCCDExit.failure) }
        let (token, claims) = issuer.issue(client: client, lifetime: lifetime, card: can.map { .can($0) })
        if json {
            print("{\"token\":\"\(token)\",\"sid\":\"\(claims.sid)\",\"expires\":\(claims.exp)}")
        } else {
            print(token)
        }
    }
}

/// `cccd relay client`: the reference relay client.
struct RelayClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "The reference relay client: bridge a PC/SC reader (or a card image) to a relay server.",
        discussion: """
            What a phone app does: open the WebSocket, send the hello (token and access key), pass each command to \
            the card and each answer back, and show the result. --latency and --loss model a phone's network on \
            top of the real one (each APDU costs one round trip more; a lost message costs TCP's retransmission \
            timeout). Exit codes: 0 genuine and valid, 4 not genuine, 8 signer unverified, 9 genuine but expired, \
            3 the card refused the key, 5 card removed or timeout, 1 any other error.
            """)

    @Option(help: ArgumentHelp("The relay endpoint.", valueName: "ws-url"))
    var url = "ws://127.0.0.1:8790/relay/v1"

    @Option(help: ArgumentHelp("The session token (from the bank's back end, or cccd relay token).", valueName: "token"))
    var token: String

    @OptionGroup var key: AccessKeyOptions

    @Option(help: "The PC/SC reader (default: the first reader with a card).")
    var reader: String?

    @Option(help: "A card image (JSON) run by the built-in software chip instead of a reader.")
    var card: String?

    @Option(help: ArgumentHelp("Added round trip per APDU, milliseconds (a phone network: 20–200).", valueName: "ms"))
    var latency: Double = 0

    @Option(help: ArgumentHelp("Probability that an exchange loses a message once (0…0.5).", valueName: "p"))
    var loss: Double = 0

    @Option(help: ArgumentHelp("Save the signed report (compact JWS) to this file.", valueName: "file"))
    var out: String?

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if !(0...5000).contains(latency) { throw ValidationError("--latency must be 0...5000 ms.") }
        if !(0...0.5).contains(loss) { throw ValidationError("--loss must be 0...0.5.") }
    }

    var hello: RelayHello {
        var hello = RelayHello(token: token)
        hello.client = "cccd-relay-client/\(CCCD.version)"
        if let can = key.can { hello.can = can }
        if let qr = key.qr { hello.qr = qr }
        if let mrz = key.mrz { hello.mrz = mrz }
        if let id = key.idNumber {
            if key.byMRZFields {
                hello.documentNumber = id
                hello.dateOfBirth = key.dob
                hello.dateOfExpiry = key.doe
            } else {
                hello.idNumber = id
            }
        }
        return hello
    }

    func run() throws {
        logging.bootstrap()
        let transport: any CardTransport
        var context: PCSCContext? = nil
        if let card {
            do {
                let image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card)))
                transport = try EmulatedChip(image: image)
            } catch { throw fail("\(card): \(error)", code: CCCDExit.failure) }
        } else {
            do {
                let pcsc = try PCSCContext()
                let state = try pcsc.waitForCard(reader: reader, timeout: 10)
                let connected = try pcsc.connect(reader: state.reader, reset: true)
                context = pcsc
                transport = connected.isT1 ? connected : T0ResponseHandling(connected)
            } catch {
                throw fail("\(error)", code: CCCDExit.noCard)
            }
        }
        defer { _ = context }
        var hello = self.hello
        hello.extendedLength = transport.capabilities.supportsExtendedLength
        hello.atr = transport.capabilities.atr
        let link = RelayClient.Link(roundTrip: latency / 1000, loss: loss, seed: UInt64(Date().timeIntervalSince1970))
        let finalHello = hello
        let url = self.url
        nonisolated(unsafe) let card = transport
        let outcome: RelayClient.Outcome
        do {
            outcome = try waitFor {
                try await RelayClient.run(url: url, hello: finalHello, card: card, link: link)
            }
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let wall = String(format: "%.3f", outcome.seconds)
        switch outcome.final {
        case .result(let sid, let genuine, let verdict, let report)?:
            if let out { try Array(report.utf8).write(to: out) }
            if json {
                print(
                    "{\"sid\":\"\(sid)\",\"genuine\":\(genuine),\"verdict\":\(Self.quote(verdict)),\"apdus\":\(outcome.commands),\"seconds\":\(wall),\"injectedSeconds\":\(String(format: "%.3f", outcome.injectedSeconds)),\"report\":\"\(report)\"}"
                )
            } else {
                print("\(verdict) (session \(sid); \(outcome.commands) APDUs relayed in \(wall) s)")
            }
            if !genuine { throw ExitCode(4) }
            if !verdict.hasPrefix("GENUINE") || verdict.contains("EXPIRED") { throw ExitCode(9) }
        case .error(let error)?:
            if json {
                print("{\"error\":\"\(error.code.rawValue)\",\"message\":\(Self.quote(error.message)),\"apdus\":\(outcome.commands),\"seconds\":\(wall)}")
            }
            let code: Int32 =
                switch error.code {
                case .accessDenied: 3
                case .cardRemoved, .timeout: 5
                case .tampering: 4
                default: 1
                }
            throw fail("the relay ended the session: \(error)", code: ExitStatus(rawValue: code) ?? .failure)
        default:
            throw fail("the server closed the connection without a result", code: CCCDExit.failure)
        }
    }

    static func quote(_ s: String) -> String {
        String(decoding: (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// `cccd relay verify`: what the bank's back end does with a report.
struct RelayVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed report (compact JWS) with the relay's public key and print its payload.")

    @Option(help: ArgumentHelp("The relay's report public key (PEM or DER), pinned by the back end.", valueName: "file"))
    var key: String

    @Argument(help: ArgumentHelp("The JWS file ('-' for standard input).", valueName: "file"))
    var report: String

    @Option(help: ArgumentHelp("Save the portrait (as the chip holds it) to this file.", valueName: "file"))
    var portrait: String?

    func run() throws {
        let text: String
        if report == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: report) else {
                throw fail("cannot read \(report)", code: CCCDExit.failure)
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let payload: [UInt8]
        do {
            payload = try ReportVerifier(publicKeyFile: key).verify(text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw fail("NOT VERIFIED: \(error)", code: ExitStatus.verificationFailed)
        }
        if let portrait,
            let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let face = object["portrait"] as? [String: Any], let b64 = face["data"] as? String,
            let bytes = Data(base64Encoded: b64)
        {
            try bytes.write(to: URL(fileURLWithPath: portrait))
        }
        print(String(decoding: payload, as: UTF8.self))
    }
}
