import ArgumentParser
import CardCore
import Desk
import Dispatch
import Foundation
import LDS
import Reader
import Verification

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A local card service for hospital and bank software, with a page for the clerk at /.",
        discussion: """
            Watches every PC/SC reader. Desk software asks for a read with the key the clerk has (the CAN, the \
            12-digit ID number, the text of the card's QR code, or the MRZ); a card inserted after the key was given \
            is read the moment it arrives. The answer is the object `cccd read --json` prints, plus portraitURL.

            API (every /v1/ call needs Authorization: Bearer <token>; the OpenAPI document is at /openapi.yaml):
              GET  /v1/readers                 the readers and their state
              POST /v1/read                    {"reader"?, "can"|"idNumber"|"qr"|"mrz"|("documentNumber", \
            "dateOfBirth", "dateOfExpiry"), "fields"?: "basic"|"all", "wait"?: seconds}
              GET  /v1/reads/latest, /v1/reads/{id}     a report while it is kept
              GET  /v1/reads/{id}/portrait     the portrait (JPEG, or PNG decoded from JPEG 2000)
              GET  /v1/events                  Server-Sent Events: cardInserted, readStarted, readProgress, \
            reportReady, readFailed, cardRemoved

            Hardened at the edge: a body over 64 KiB gets 413, two Host headers or a target naming another host 400, \
            unknown JSON fields 400 (named); a request head must arrive within 15 s (--header-timeout) and its body within 30 s (--request-timeout, then \
            408); \
            past --max-connections or --max-event-streams, 503 with Retry-After.

            Locked down: it listens on loopback unless told otherwise; the bearer token is random, made on first \
            start in the token file (mode 0600, refused if others can read it); a request whose Host is not \
            the listen address or localhost is refused (DNS rebinding); a browser Origin not given with \
            --allow-origin is refused and CORS answers only those; reports are erased from memory after \
            --report-lifetime seconds. The audit log (SQLite) records who asked (token id, origin), when, which \
            reader, the ID number and the verdicts, never the portrait, the key or the raw files.

            The clerk's page: open the URL `cccd serve --print-page-url` prints (it carries the token in the \
            fragment, which never reaches the network; the page keeps it in the browser).

            Example: cccd serve --trust csca.crt --allow-origin https://his.hospital.example
            """)

    @Option(help: ArgumentHelp("Address and port to listen on (0 picks a free port).", valueName: "host:port"))
    var listen = "127.0.0.1:8731"

    @Option(help: ArgumentHelp("The bearer token's file (made on first start, mode 0600).", valueName: "path"))
    var tokenFile: String = ServeCommand.defaultPath("XDG_CONFIG_HOME", ".config", "cccd/desk-token")

    @Option(
        help:
            "Trusted CSCA certificates for Passive Authentication: a file (PEM/DER, .crl, .ml master list) or a folder. Repeatable."
    )
    var trust: [String] = []

    @Option(
        help: ArgumentHelp(
            "A browser origin allowed to call the API (scheme://host[:port]). Repeatable.", valueName: "url"))
    var allowOrigin: [String] = []

    @Option(help: ArgumentHelp("The audit log (SQLite).", valueName: "file.db"))
    var audit: String = ServeCommand.defaultPath("XDG_STATE_HOME", ".local/state", "cccd/desk-audit.db")

    @Option(help: ArgumentHelp("Seconds a report and its portrait are kept in memory.", valueName: "seconds"))
    var reportLifetime: Double = 120

    @Flag(help: "Print the clerk's page URL, with the token in its fragment, and exit.")
    var printPageURL = false

    static func defaultPath(_ variable: String, _ fallback: String, _ leaf: String) -> String {
        let env = ProcessInfo.processInfo.environment
        let base = env[variable].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? "/tmp") + "/" + fallback)
        return base + "/" + leaf
    }

    var address: (host: String, port: Int)? { ListenAddress.parse(listen) }

    func validate() throws {
        guard address != nil else { throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8731.") }
        if !(1...100_000).contains(maxConnections) { throw ValidationError("--max-connections must be 1...100000.") }
        if !(0.5...3600).contains(headerTimeout) { throw ValidationError("--header-timeout must be 0.5...3600 seconds.") }
        if !(0.5...3600).contains(requestTimeout) { throw ValidationError("--request-timeout must be 0.5...3600 seconds.") }
        if !(1...10_000).contains(maxEventStreams) { throw ValidationError("--max-event-streams must be 1...10000.") }
        if !(1...86400).contains(reportLifetime) {
            throw ValidationError("--report-lifetime must be 1...86400 seconds.")
        }
        for origin in allowOrigin {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil, url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil,
                !origin.hasSuffix("/")
            else {
                throw ValidationError("--allow-origin \(origin): give an origin, scheme://host[:port], no path.")
            }
        }
    }

    @Option(help: ArgumentHelp("Open connections served at once; the next gets 503.", valueName: "n"))
    var maxConnections = DeskLimits.standard.maxConnections

    @Option(help: ArgumentHelp("Open /v1/events streams at once; the next gets 503.", valueName: "n"))
    var maxEventStreams = DeskLimits.standard.maxEventStreams

    @Option(help: ArgumentHelp("Seconds for a request's head to arrive (and an idle connection to stay open).", valueName: "seconds"))
    var headerTimeout = DeskLimits.standard.headerTimeout

    @Option(help: ArgumentHelp("Seconds for a request's body to arrive after its head (then 408).", valueName: "seconds"))
    var requestTimeout = DeskLimits.standard.requestTimeout

    @OptionGroup(title: "EAC (fingerprints behind Terminal Authentication)") var eac: TerminalOptions

    @OptionGroup(title: "PKCS#11 (a terminal key in a token)") var pkcs11: PKCS11Options

    @OptionGroup(title: "Images") var images: ImageBoundsOptions

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let (host, port) = address!
        let token: AccessToken
        let created: Bool
        do {
            (token, created) = try AccessToken.loadOrCreate(path: tokenFile)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        if printPageURL {
            let shown = host.contains(":") ? "[\(host)]" : host == "0.0.0.0" ? "127.0.0.1" : host
            print("http://\(shown):\(port)/#token=\(token.value)")
            return
        }
        let trustStore: TrustStore?
        let auditLog: AuditLog
        do {
            trustStore = trust.isEmpty ? nil : try TrustStore.load(paths: trust)
            auditLog = try AuditLog(path: audit)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        var stderr = StandardError()
        if created { print("A new bearer token is in \(tokenFile) (mode 0600).", to: &stderr) }
        if !["127.0.0.1", "::1", "localhost"].contains(host) {
            print("warning: listening on \(host), not loopback: other machines can reach this service.", to: &stderr)
        }
        if trustStore == nil {
            print("warning: no --trust: document signers cannot be verified (verdict signerUnverified).", to: &stderr)
        }
        var configuration = CardDesk.Configuration(trust: trustStore, reportLifetime: reportLifetime)
        configuration.imageBounds = images.bounds
        do { configuration.terminal = try eac.load(token: pkcs11) } catch { throw fail("the terminal: \(error)", code: CCCDExit.failure) }
        let desk = CardDesk(configuration: configuration, audit: auditLog)
        let server = DeskServer(
            desk: desk, token: token, options: .init(
                host: host, port: port, allowedOrigins: Set(allowOrigin),
                limits: {
                    var limits = DeskLimits.standard
                    limits.maxConnections = maxConnections
                    limits.maxEventStreams = maxEventStreams
                    limits.headerTimeout = headerTimeout
                    limits.requestTimeout = requestTimeout
                    return limits
                }()),
            audit: auditLog)
        let shown = host.contains(":") ? "[\(host)]" : host
        let tokenFile = self.tokenFile
        do {
            try waitFor {
                try await server.run { bound in
                    print("cccd desk listening on http://\(shown):\(bound)/ (token file: \(tokenFile))")
                    fflush(nil)
                }
            }
        } catch {
            throw fail("the desk service stopped: \(error)", code: CCCDExit.failure)
        }
    }
}

