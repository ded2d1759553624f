import DeskProtocol
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The desk's connections and event streams, counted across the server (the caps of `DeskLimits`).
final class DeskEdgeCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var connections = 0
    private var streams = 0

    /// Counts a new connection; false when it is over `limit` (it is counted all the same, until it closes).
    func openConnection(limit: Int) -> Bool {
        lock.withLock {
            connections += 1
            return connections <= limit
        }
    }
    func closeConnection() { lock.withLock { connections -= 1 } }

    /// Takes an event stream slot; false when all `limit` are taken.
    func openStream(limit: Int) -> Bool {
        lock.withLock {
            guard streams < limit else { return false }
            streams += 1
            return true
        }
    }
    func closeStream() { lock.withLock { streams -= 1 } }

    var openConnections: Int { lock.withLock { connections } }
    var openStreams: Int { lock.withLock { streams } }
}

/// Hummingbird's HTTP/1 channel with the desk's edge in front of it: `DeskEdgeHandler` sees each request head as
/// the client sent it (every Host header, the target as written), before it is turned into Hummingbird's request.
struct DeskHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
    let responder: HTTPChannelHandler.Responder
    let limits: DeskLimits
    let counters: DeskEdgeCounters

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false)
            try channel.pipeline.syncOperations.addHandler(DeskEdgeHandler(limits: limits, counters: counters))
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

/// The edge of one connection: refuses what the framework would take (two Host headers, a target naming another
/// host, a body over the limit, a connection over the cap) with the desk's problem JSON and `Connection: close`;
/// times out a head or a body that does not come; and lingers after a refusal (reading and dropping) so that the
/// client reads the answer rather than a reset.
final class DeskEdgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let limits: DeskLimits
    let counters: DeskEdgeCounters
    private var counted = false
    private var overCap = false
    private var refused = false
    /// A response is being written (its head went out, its end not yet).
    private var answering = false
    /// A request is being received (its head came, its end not yet).
    private var receiving = false
    /// A request came whose answer has not ended (a read may wait minutes for a card: no timeout runs then).
    private var awaitingAnswer = false
    private var bodyBytes = 0
    /// Bytes dropped while lingering after a refusal (at most `maxBody`, then the connection is closed).
    private var dropped = 0
    /// This connection holds an event stream slot (released when its answer ends or the connection closes).
    private var holdsStream = false
    private var timer: Scheduled<Void>?

    init(limits: DeskLimits, counters: DeskEdgeCounters) {
        self.limits = limits
        self.counters = counters
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { opened(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        opened(context)
        context.fireChannelActive()
    }

    private func opened(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        overCap = !counters.openConnection(limit: limits.maxConnections)
        arm(context, seconds: limits.headerTimeout, answerTimeout: false)
    }

    func handlerRemoved(context: ChannelHandlerContext) { closed() }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
        context.fireChannelInactive()
    }

    private func closed() {
        timer?.cancel()
        timer = nil
        releaseStream()
        if counted {
            counted = false
            counters.closeConnection()
        }
    }

    /// A deadline: when it passes, a 408 when `answerTimeout` (if nothing is being answered), else a plain close.
    private func arm(_ context: ChannelHandlerContext, seconds: Double, answerTimeout: Bool) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            let context = loopBound.value
            timer = nil
            if answerTimeout, !answering {
                refuse(context, DeskError(.requestTimeout, "the request body did not arrive within \(Int(seconds)) s"))
            } else if !answering {
                context.close(promise: nil)
            }
        }
    }

    private func releaseStream() {
        if holdsStream {
            holdsStream = false
            counters.closeStream()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused {
            // Lingering: dropped, up to a body's worth; a client that keeps sending is cut off.
            if case .body(let buffer) = unwrapInboundIn(data) {
                dropped += buffer.readableBytes
                if dropped > limits.maxBody { context.close(promise: nil) }
            }
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            timer?.cancel()
            timer = nil
            if overCap {
                refuse(
                    context,
                    DeskError(.overloaded, "the service has \(limits.maxConnections) connections open; try again shortly"),
                    retryAfter: true)
                return
            }
            let headers = head.headers.map { (name: $0.name, value: $0.value) }
            switch DeskEdgePolicy.check(method: head.method.rawValue, target: head.uri, headers: headers, limits: limits) {
            case .reject(let problem):
                refuse(context, problem)
                return
            case .pass: break
            }
            if head.method == .GET, DeskEdgePolicy.path(of: head.uri) == "/v1/events" {
                guard counters.openStream(limit: limits.maxEventStreams) else {
                    refuse(
                        context,
                        DeskError(.overloaded, "\(limits.maxEventStreams) event streams are open; close one or try again shortly"),
                        retryAfter: true)
                    return
                }
                holdsStream = true
            }
            receiving = true
            awaitingAnswer = true
            bodyBytes = 0
            arm(context, seconds: limits.requestTimeout, answerTimeout: true)
            context.fireChannelRead(data)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > limits.maxBody {
                refuse(context, DeskError(.payloadTooLarge, "the request body is over \(limits.maxBody) bytes"))
                return
            }
            context.fireChannelRead(data)
        case .end:
            receiving = false
            timer?.cancel()
            timer = nil
            // Answered before the body ended (a 401, say): the next head is due from now.
            if !awaitingAnswer { arm(context, seconds: limits.headerTimeout, answerTimeout: false) }
            context.fireChannelRead(data)
        }
    }

    /// A request the HTTP parser cannot take (a Content-Length beside a Transfer-Encoding, a bad chunk size, …) is
    /// refused here, on the event loop, with the desk's problem JSON: not left to the framework's task, which answers
    /// with an empty 400 only when the process's task pool gets to it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if refused { return }
        if let parse = error as? HTTPParserError {
            refuse(context, DeskError(.badRequest, "the request is not valid HTTP/1.1 (\(parse))"))
            return
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if refused {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head: answering = true
        case .body: break
        case .end:
            answering = false
            awaitingAnswer = false
            releaseStream()
            // The next request's head must come within the header timeout (an idle keep-alive connection closes).
            if !receiving { arm(context, seconds: limits.headerTimeout, answerTimeout: false) }
        }
        context.write(data, promise: promise)
    }

    /// Answers with the desk's problem JSON and closes: output at once, input after the linger.
    private func refuse(_ context: ChannelHandlerContext, _ problem: DeskError, retryAfter: Bool = false) {
        refused = true
        timer?.cancel()
        timer = nil
        guard !answering else {
            context.close(promise: nil)
            return
        }
        let body = DeskEdgeHandler.problemJSON(problem)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if retryAfter { headers.add(name: "Retry-After", value: "1") }
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: problem.statusCode), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            let context = loopBound.value
            context.close(mode: .output, promise: nil)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(self.limits.linger * 1000))) {
                loopBound.value.close(promise: nil)
            }
        }
    }

    static func problemJSON(_ problem: DeskError) -> String {
        String(decoding: DeskServer.problemBody(problem), as: UTF8.self)
    }
}
