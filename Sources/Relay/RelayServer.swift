import CardCore
import CardCrypto
import ChipAccess
import Foundation
import RelayWire
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Reader
import ServiceLifecycle

/// `cccd relay serve`: the relay's HTTP service (Hummingbird, WebSocket upgrade).
///
/// - `GET  /relay/v1` (WebSocket): one read per connection (`RelayProtocol`).
/// - `POST /relay/v1/sessions`: the bank's back end asks for a session token (bearer: the back-end key).
/// - `GET  /relay/v1/report-key`: the report key's public half (PEM), to pin.
/// - `GET  /relay/v1/asyncapi.json`: the protocol, machine-readable.
/// - `GET  /metrics`: Prometheus text.  `GET /health`: 200 while the service runs.
///
/// TLS ends in front of it (a reverse proxy; README "Bank relay"). A browser `Origin` outside the allow-list is
/// refused before the upgrade; phone apps send none.
public final class RelayServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        /// Browser origins allowed to open the WebSocket (`scheme://host[:port]`); apps send no Origin.
        public var allowedOrigins: Set<String>
        /// The bearer token the bank's back end presents to `POST /relay/v1/sessions` (nil: that route is off and
        /// tokens come from `cccd relay token`).
        public var backendToken: String?
        /// The longest lifetime a back end may ask for a token (seconds).
        public var maxTokenLifetime: TimeInterval
        /// The HTTP server's own log level (an in-process server that is cancelled logs it at error).
        public var logLevel: Logger.Level = .warning
        public init(
            host: String = "127.0.0.1", port: Int = 8790, allowedOrigins: Set<String> = [], backendToken: String? = nil,
            maxTokenLifetime: TimeInterval = 600
        ) {
            self.host = host
            self.port = port
            self.allowedOrigins = allowedOrigins
            self.backendToken = backendToken
            self.maxTokenLifetime = maxTokenLifetime
        }
    }

    public let verifier: RelayVerifier
    public let options: Options
    let boundPort = Locked<Int?>(nil)
    /// WebSocket connections open now, hello or not: past twice `maxSessions` the upgrade is refused (503), so
    /// connections that never say hello cannot pile up for their hello timeout.
    let connections = Locked(0)

    public init(verifier: RelayVerifier, options: Options) {
        self.verifier = verifier
        self.options = options
    }

    /// Runs until SIGINT/SIGTERM (graceful: open sessions finish); `ready` gets the bound port.
    public func run(ready: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "cccd.relay")
        logger.logLevel = .warning
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application(ready: ready))], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// The application alone (tests run it inside their own task group).
    public func application(ready: @escaping @Sendable (Int) -> Void) -> some Service {
        let router = Router(context: BasicWebSocketRequestContext.self)
        addRoutes(router)
        var logger = Logger(label: "cccd.relay")
        logger.logLevel = options.logLevel
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: router,
                configuration: .init(
                    ws: .init(
                        maxFrameSize: RelayProtocol.maxMessageBytes, autoPing: .enabled(timePeriod: .seconds(20)),
                        closeTimeout: .seconds(5)))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? options.port
                boundPort.set(port)
                ready(port)
            },
            logger: logger)
    }

    func addRoutes(_ router: Router<BasicWebSocketRequestContext>) {
        let verifier = verifier
        let allowed = options.allowedOrigins
        let connections = connections
        let maxConnections = 2 * verifier.configuration.maxSessions
        router.ws(
            RouterPath(RelayProtocol.path),
            shouldUpgrade: { request, _ in
                // Browsers send their page's origin (http/https, or "null"); that must be allowed. Native clients
                // send none or echo the endpoint (ws/wss, as WebSocket libraries do): not a page, nothing to refuse.
                if let origin = request.headers[.origin], !allowed.contains(origin),
                    origin == "null" || origin.lowercased().hasPrefix("http://") || origin.lowercased().hasPrefix("https://")
                {
                    throw HTTPError(.forbidden, message: "origin \(origin.prefix(100)) is not allowed (--allow-origin)")
                }
                guard connections.get() < maxConnections else {
                    throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "5"], message: "too many relay connections; try again")
                }
                return .upgrade([:])
            },
            onUpgrade: { inbound, outbound, _ in
                // Counted while the handler runs (an upgrade that never reaches it holds no slot).
                let admitted = connections.withLock { n -> Bool in
                    n += 1
                    return n <= maxConnections
                }
                defer { connections.withLock { $0 -= 1 } }
                guard admitted else {
                    let busy = RelayError(.busy, "too many relay connections; try again")
                    try? await outbound.write(.text(RelayServerMessage.error(busy).json()))
                    try? await outbound.close(WebSocketErrorCode(codeNumber: Int(busy.closeCode)), reason: nil)
                    return
                }
                let iterator = InboundMessages(inbound.messages(maxSize: RelayProtocol.maxMessageBytes).makeAsyncIterator())
                let outcome = await verifier.session(
                    messages: { try await iterator.next() },
                    send: { text in try await outbound.write(.text(text)) })
                try? await outbound.close(WebSocketErrorCode(codeNumber: Int(outcome.closeCode)), reason: nil)
            })
        router.get("/health") { _, _ in Self.text("ok\n", type: "text/plain") }
        router.get("/metrics") { _, _ in Self.text(verifier.metrics.text(), type: "text/plain; version=0.0.4") }
        router.get(RouterPath(RelayProtocol.path + "/report-key")) { _, _ in
            Self.text((try? verifier.signer.publicKey.publicKeyPEM()) ?? "", type: "application/x-pem-file")
        }
        router.get(RouterPath(RelayProtocol.path + "/asyncapi.json")) { _, _ in
            Self.text(RelayAsyncAPI.document, type: "application/json")
        }
        let backendToken = options.backendToken
        let maxLifetime = options.maxTokenLifetime
        router.post(RouterPath(RelayProtocol.path + "/sessions")) { request, _ in
            guard let expected = backendToken else {
                throw HTTPError(.notFound, message: "session tokens are issued by `cccd relay token` on this server")
            }
            let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            guard let presented, constantTimeEquals(Array(presented.utf8), Array(expected.utf8)) else {
                throw HTTPError(.unauthorized, message: "the back end's bearer token is missing or wrong")
            }
            let body = try await request.body.collect(upTo: 8 * 1024)
            let asked = try RelaySessionRequest(json: Array(buffer: body))
            let key: AccessKey?
            do { key = try asked.accessKey() } catch { throw HTTPError(.badRequest, message: "\(error)") }
            let lifetime = min(max(asked.lifetime ?? 300, 10), maxLifetime)
            let (token, claims) = verifier.tokens.issue(client: asked.client, lifetime: lifetime, card: key)
            let answer = RelayJSONValue.object([
                "token": .string(token), "sid": .string(claims.sid), "expires": .int(claims.exp),
                "path": .string(RelayProtocol.path), "cardBound": .bool(claims.card != nil),
            ]).text
            return Self.text(answer, type: "application/json")
        }
    }

    static func text(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The inbound messages of one connection, taken one at a time by the session (first the hello, then the answers).
final class InboundMessages: @unchecked Sendable {
    var iterator: WebSocketInboundMessageStream.AsyncIterator
    init(_ iterator: WebSocketInboundMessageStream.AsyncIterator) { self.iterator = iterator }
    func next() async throws -> [UInt8]? {
        switch try await iterator.next() {
        case .text(let s): return Array(s.utf8)
        case .binary(let buffer): return Array(buffer: buffer)
        case nil: return nil
        }
    }
}

/// `POST /relay/v1/sessions`: {"client": "…", "lifetime": 300, and optionally the card's key as the hello takes it}.
struct RelaySessionRequest: Sendable {
    var client = ""
    var lifetime: TimeInterval?
    var fields: [String: String] = [:]

    init(json bytes: [UInt8]) throws {
        let allowed = ["client", "lifetime", "can", "idNumber", "qr", "mrz", "documentNumber", "dateOfBirth", "dateOfExpiry"]
        let members: [(String, StrictJSON.Value)]
        do { members = try RelayMessageParser.object(bytes, allowed: allowed, type: nil) } catch {
            throw HTTPError(.badRequest, message: error.message)
        }
        for (key, value) in members {
            switch (key, value) {
            case ("lifetime", .number(let text)): lifetime = TimeInterval(text)
            case (_, .string(let text)) where key != "lifetime":
                guard text.utf8.count <= 2048 else { throw HTTPError(.badRequest, message: "\(key) is too long") }
                if key == "client" { client = text } else { fields[key] = text }
            default: throw HTTPError(.badRequest, message: "\(key) has the wrong type")
            }
        }
        guard !client.isEmpty, client.utf8.count <= 128 else {
            throw HTTPError(.badRequest, message: "client (1 to 128 bytes: the customer or app installation) is required")
        }
    }

    /// The card's key when the back end named it (the token is then bound to that card).
    func accessKey() throws -> AccessKey? {
        guard !fields.isEmpty else { return nil }
        return try DeskKey.accessKey(
            can: fields["can"], idNumber: fields["idNumber"], qr: fields["qr"], mrz: fields["mrz"],
            documentNumber: fields["documentNumber"], dateOfBirth: fields["dateOfBirth"], dateOfExpiry: fields["dateOfExpiry"])
    }
}
