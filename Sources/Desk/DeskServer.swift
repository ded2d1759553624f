import CardCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Reader
import ServiceLifecycle

/// `cccd serve`: the desk's local HTTP service (Hummingbird). Locked down: loopback by default; every `/v1/` call
/// needs the bearer token; a `Host` that is not the listen address or localhost is refused (DNS rebinding); a
/// browser `Origin` outside the allow-list is refused, and CORS answers only allowed origins.
public final class DeskServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        /// Browser origins allowed besides the service's own (`scheme://host[:port]`).
        public var allowedOrigins: Set<String>
        /// Body size, timeouts, and the caps on connections and event streams.
        public var limits: DeskLimits
        public init(
            host: String = "127.0.0.1", port: Int = 8731, allowedOrigins: Set<String> = [],
            limits: DeskLimits = .standard
        ) {
            self.host = host
            self.port = port
            self.allowedOrigins = allowedOrigins
            self.limits = limits
        }
    }

    let desk: CardDesk
    let token: AccessToken
    let options: Options
    let audit: AuditLog?
    /// The port actually bound (`--listen …:0` picks one), set when the server runs.
    let boundPort = Locked<Int?>(nil)
    /// Open connections and event streams (the caps of `options.limits`).
    let counters = DeskEdgeCounters()

    public init(desk: CardDesk, token: AccessToken, options: Options, audit: AuditLog?) {
        self.desk = desk
        self.token = token
        self.options = options
        self.audit = audit
    }

    /// Runs until SIGINT or SIGTERM: the HTTP application and the desk's reader watch, as services of one group
    /// that shuts both down gracefully on either signal; `ready` is called with the bound port once the server
    /// listens.
    public func run(ready: @escaping @Sendable (Int) -> Void) async throws {
        let logger = {
            var logger = Logger(label: "cccd.desk")
            logger.logLevel = .warning
            return logger
        }()
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application(ready: ready)), .init(service: DeskReaderWatch(desk: desk))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The HTTP application: the edge, the middlewares, the routes.
    func application(ready: @escaping @Sendable (Int) -> Void) -> some Service {
        let router = Router()
        // Outermost first: every answer gets the security headers; then Host, Origin (and CORS), the token.
        router.add(middleware: DeskSecurityHeaders())
        router.add(middleware: DeskHostGuard(server: self))
        router.add(middleware: DeskOriginGuard(server: self))
        router.add(middleware: DeskTokenGuard(server: self))
        addRoutes(router)
        let limits = options.limits
        let counters = counters
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                DeskHTTPChannel(responder: responder, limits: limits, counters: counters)
            },
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? options.port
                boundPort.set(port)
                ready(port)
            },
            logger: {
                var logger = Logger(label: "cccd.desk")
                logger.logLevel = .warning
                return logger
            }())
        return app
    }

    // MARK: Who may ask

    /// `Host` values accepted: loopback names and the listen address, with the bound port.
    func allowedHosts() -> Set<String> {
        let port = boundPort.get() ?? options.port
        var names: Set<String> = ["127.0.0.1", "localhost", "[::1]"]
        names.insert(options.host.contains(":") ? "[\(options.host)]" : options.host)
        names.remove("0.0.0.0")
        names.remove("[::]")
        var out: Set<String> = []
        for n in names {
            out.insert("\(n):\(port)".lowercased())
            if port == 80 { out.insert(n.lowercased()) }
        }
        return out
    }

    /// The service's own origins (its page), always allowed.
    func ownOrigins() -> Set<String> { Set(allowedHosts().map { "http://\($0)" }) }

    // MARK: Routes

    func addRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.staticResponse(DeskPage.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.staticResponse(DeskPage.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.staticResponse(DeskPage.style, type: "text/css; charset=utf-8") }
        router.get("/openapi.yaml") { _, _ in
            Self.staticResponse(DeskOpenAPI.document, type: "application/yaml; charset=utf-8")
        }
        // A route refuses by throwing a DeskError: it is an HTTPResponseError, answered with its status and the
        // problem body by the middlewares around the routes (which add their headers to it).
        router.get("/v1/readers") { [desk] _, _ in
            try Self.json(["readers": try desk.readerList()])
        }
        router.post("/v1/read") { [self] request, _ in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: options.limits.maxBody)
            } catch {
                throw DeskError(.payloadTooLarge, "the request body is over \(options.limits.maxBody) bytes")
            }
            let asked: DeskReadRequest
            do {
                asked = try DeskReadRequest(json: Array(buffer: body))
            } catch {
                throw DeskError(.badRequest, "\(error)")
            }
            let stored = try await desk.read(asked, by: requester(request))
            return try Self.json(Self.published(stored))
        }
        router.post("/v1/read/cancel") { [desk] request, _ in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: 4 * 1024) } catch {
                throw DeskError(.payloadTooLarge, "the request body is over 4096 bytes")
            }
            let asked: DeskCancelRequest
            do { asked = try DeskCancelRequest(json: Array(buffer: body)) } catch {
                throw DeskError(.badRequest, "\(error)")
            }
            desk.cancel(requestId: asked.requestId)
            struct Done: Encodable { var cancelled: String }
            return try Self.json(Done(cancelled: asked.requestId))
        }
        router.get("/v1/reads/latest") { [desk] _, _ in
            guard let stored = desk.latestRead() else {
                throw DeskError(.notFound, "no report: none read yet, or erased after its lifetime")
            }
            return try Self.json(Self.published(stored))
        }
        router.get("/v1/reads/:id") { [desk] _, context in
            guard let id = context.parameters.get("id"), let stored = desk.storedRead(id: id) else {
                throw DeskError(.notFound, "no such report (erased after its lifetime, or never made)")
            }
            return try Self.json(Self.published(stored))
        }
        router.get("/v1/reads/:id/portrait") { [desk] _, context in
            guard let id = context.parameters.get("id"), let stored = desk.storedRead(id: id) else {
                throw DeskError(.notFound, "no such report (erased after its lifetime, or never made)")
            }
            guard let info = stored.report.portrait else {
                throw DeskError(.notFound, "this read has no portrait (DG2 not read or empty)")
            }
            guard let image = stored.report.browserPortrait else {
                throw DeskError(.portraitUnavailable, info.problem ?? "portrait cannot be shown: it was not converted")
            }
            var headers = HTTPFields()
            headers[.contentType] = image.mediaType
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: image.bytes)))
        }
        // The cap on open streams is the edge's (DeskEdgeHandler): it knows when a stream's connection closes.
        router.get("/v1/events") { [desk] _, _ in
            let stream = desk.events()
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": cccd desk events\n\n"))
                    for await event in stream {
                        try await writer.write(ByteBuffer(string: Self.serverSentEvent(event)))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    func requester(_ request: Request) -> Requester {
        Requester(tokenID: token.id, origin: request.headers[.origin])
    }

    static func published(_ stored: CardDesk.StoredRead) -> CardReport {
        var report = stored.report
        report.readId = stored.id
        report.reader = report.reader ?? stored.reader
        if report.browserPortrait != nil { report.portraitURL = "/v1/reads/\(stored.id)/portrait" }
        return report
    }

    static func serverSentEvent(_ event: DeskEvent) -> String {
        func encode(_ value: some Encodable) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
        struct ReaderOnly: Encodable { var reader: String }
        struct Started: Encodable {
            var reader: String
            var id: String
        }
        struct Progress: Encodable {
            var reader: String
            var id: String
            var step: String
        }
        struct Ready: Encodable {
            var reader: String
            var id: String
            var report: CardReport
        }
        struct Failed: Encodable {
            var reader: String
            var id: String
            var error: ProblemBody.Problem
        }
        let data: String
        switch event {
        case .cardInserted(let reader), .cardRemoved(let reader): data = encode(ReaderOnly(reader: reader))
        case .readStarted(let reader, let id): data = encode(Started(reader: reader, id: id))
        case .readProgress(let reader, let id, let step): data = encode(Progress(reader: reader, id: id, step: step))
        case .reportReady(let reader, let id, let report):
            data = encode(
                Ready(
                    reader: reader, id: id,
                    report: published(.init(id: id, reader: reader, report: report, expires: .distantFuture))))
        case .readFailed(let reader, let id, let error):
            data = encode(Failed(reader: reader, id: id, error: .init(code: error.code.rawValue, message: error.message)))
        case .reportCleared(let reader, let id, let reason):
            struct Cleared: Encodable {
                var reader: String
                var id: String
                var reason: String
            }
            data = encode(Cleared(reader: reader, id: id, reason: reason))
        case .heartbeat: return ": heartbeat\n\n"
        }
        return "event: \(event.name)\ndata: \(data)\n\n"
    }

    // MARK: Responses

    static func staticResponse(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// `{"error": {"code", "message"}}`: every error the desk answers, from a route or from the edge.
    struct ProblemBody: Encodable {
        struct Problem: Encodable {
            var code: String
            var message: String
        }
        var error: Problem
    }

    /// The problem body's bytes (the edge writes them itself, on the event loop).
    static func problemBody(_ error: DeskError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = ProblemBody(error: .init(code: error.code.rawValue, message: error.message))
        return (try? encoder.encode(body)).map { Array($0) } ?? Array(#"{"error":{"code":"cardError","message":""}}"#.utf8)
    }
}

/// A desk problem is an HTTP error as Hummingbird expects one: its status from the desk's one table
/// (`DeskError.statusCode`), its body the problem JSON.
extension DeskError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if code == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="cccd desk""# }
        return Response(
            status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: DeskServer.problemBody(self))))
    }
}

extension RouterMiddleware where Context: RequestContext {
    /// What comes from further in, a refusal thrown as an HTTP error included, so that this middleware can add its
    /// headers to it.
    func answer(
        _ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }
}

/// The desk's watch on the readers (card insertions and removals, report lifetimes) as a service: it runs from the
/// group's start to its graceful shutdown.
struct DeskReaderWatch: Service {
    let desk: CardDesk

    func run() async throws {
        desk.start()
        defer { desk.stop() }
        try? await gracefulShutdown()
    }
}

/// Every answer: no sniffing, no referrer, no caching; the page also gets its content security policy and is never
/// framed.
struct DeskSecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await answer(request, context, next)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        if request.uri.path == "/" {
            response.headers[.contentSecurityPolicy] =
                "default-src 'self'; img-src 'self' blob:; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'"
            response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        }
        return response
    }
}

/// DNS rebinding: a page served from evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example.
/// Only the loopback names and the listen address, with the bound port, are answered.
struct DeskHostGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: DeskServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let host = request.head.authority?.lowercased(), server.allowedHosts().contains(host) else {
            server.audit?.record(
                Requester(tokenID: "-", origin: request.headers[.origin]), reader: nil,
                outcome: "refused: host \(request.head.authority ?? "(none)")")
            throw DeskError(.misdirected, "this service answers to 127.0.0.1 or localhost only (Host refused)")
        }
        return try await next(request, context)
    }
}

/// A browser origin other than the service's own page must be allowed (`--allow-origin`); its preflights are
/// answered here, and every answer to it (a refused token included) carries CORS headers.
struct DeskOriginGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: DeskServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let origin = request.headers[.origin]
        let crossOrigin = origin.map { !server.ownOrigins().contains($0) } ?? false
        if let origin, crossOrigin, !server.options.allowedOrigins.contains(origin) {
            server.audit?.record(Requester(tokenID: "-", origin: origin), reader: nil, outcome: "refused: origin not allowed")
            throw DeskError(.forbiddenOrigin, "the origin \(origin) is not allowed (cccd serve --allow-origin)")
        }
        if request.method == .options {
            // A CORS preflight from an allowed origin: the methods and headers the API takes.
            var response = Response(status: .noContent)
            if let origin, crossOrigin { Self.cors(&response, origin: origin, preflight: true) }
            return response
        }
        var response = try await answer(request, context, next)
        if let origin, crossOrigin { Self.cors(&response, origin: origin, preflight: false) }
        return response
    }

    static func cors(_ response: inout Response, origin: String, preflight: Bool) {
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        if preflight {
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = "600"
        }
    }
}

/// The bearer token, for everything under `/v1/` (the page, its script and the OpenAPI document are public).
struct DeskTokenGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: DeskServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.uri.path.hasPrefix("/v1/"), !server.token.accepts(authorization: request.headers[.authorization]) {
            server.audit?.record(
                Requester(tokenID: "-", origin: request.headers[.origin]), reader: nil,
                outcome: "refused: no valid bearer token")
            throw DeskError(.unauthorized, "a bearer token is needed (Authorization: Bearer …, from the token file)")
        }
        return try await next(request, context)
    }
}
