import CardCore
import Desk
import Foundation
import Glibc
import TestSupport
import Testing

/// A desk service to test the HTTP edge on: in-process (DeskServer on a free port) or `cccd serve` running.
protocol EdgeService {
    var port: Int { get }
    var token: String { get }
    var limits: DeskLimits { get }
}

/// The limits both services run with: small, so that every cap and timeout is reached in a test.
let edgeLimits = DeskLimits(
    maxBody: 64 * 1024, headerTimeout: 1.5, requestTimeout: 1.5, maxConnections: 6, maxEventStreams: 2, linger: 1)

final class InProcessDesk: EdgeService, @unchecked Sendable {
    let port: Int
    let token: String
    let limits = edgeLimits
    let task: Task<Void, any Error>
    let folder: String

    /// A desk on `source`'s readers (the PC/SC readers by default).
    init(source: any DeskReaderSource = PCSCReaderSource(), configuration: CardDesk.Configuration = .init())
        async throws
    {
        folder = NSTemporaryDirectory() + "cccdkit-edge-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (token, _) = try AccessToken.loadOrCreate(path: folder + "/token")
        self.token = token.value
        let server = DeskServer(
            desk: CardDesk(configuration: configuration, audit: nil, source: source), token: token,
            options: .init(host: "127.0.0.1", port: 0, limits: edgeLimits), audit: nil)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        // On threads of its own: its answers must not wait for the suite's shared task pool.
        task = Task(executorPreference: ThreadExecutor.testServer) { try await server.run { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw RawHTTP.Failure(description: "the desk did not start") }
        self.port = port
    }

    func stop() {
        task.cancel()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

final class RunningDesk: EdgeService, @unchecked Sendable {
    let port: Int
    let token: String
    let limits = edgeLimits
    let server: ChildProcess
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "cccdkit-edge-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = folder + "/serve.out"
        server = try ChildProcess(
            CommandLineRunner.root + "/.build/debug/cccd",
            [
                "serve", "--listen", "127.0.0.1:0", "--token-file", folder + "/token", "--audit", folder + "/audit.db",
                "--max-connections", "\(edgeLimits.maxConnections)", "--max-event-streams",
                "\(edgeLimits.maxEventStreams)", "--header-timeout", "\(edgeLimits.headerTimeout)",
                "--request-timeout", "\(edgeLimits.requestTimeout)",
            ], stdout: log, stderr: folder + "/serve.err")
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n") && Date() < deadline && server.running {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let match = text.split(separator: " ").first(where: { $0.hasPrefix("http://127.0.0.1:") }),
            let p = Int(match.dropFirst("http://127.0.0.1:".count).prefix { $0.isNumber })
        else {
            server.stop()
            throw RawHTTP.Failure(description: "cccd serve did not start: \(text)")
        }
        port = p
        token = try String(contentsOfFile: folder + "/token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// The edge checks' expectations. The in-process check runs on a thread of its own, where Swift Testing cannot
/// tell which test an issue belongs to: failures are gathered there and recorded by the test's task.
final class EdgeExpectations: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [(String, SourceLocation)] = []
    private let recordsAtOnce: Bool

    init(recordsAtOnce: Bool) { self.recordsAtOnce = recordsAtOnce }

    func callAsFunction(
        _ condition: Bool, _ message: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard !condition else { return }
        let text = message()
        fail(text.isEmpty ? "expectation failed" : text, at: sourceLocation)
    }

    func conforms(
        _ api: OpenAPIDocument, _ answer: RawHTTP.Answer, _ path: String, _ method: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let held = DeskHarness.Answer(status: answer.status, headers: answer.headers, body: Data(answer.body.utf8))
        if let problem = api.nonconformance(held, path, method) { fail(problem, at: sourceLocation) }
    }

    private func fail(_ message: String, at location: SourceLocation) {
        if recordsAtOnce {
            Issue.record(Comment(rawValue: message), sourceLocation: location)
        } else {
            lock.withLock { failures.append((message, location)) }
        }
    }

    /// Records what was gathered, in the calling test.
    func recordGathered() {
        for (message, location) in lock.withLock({ failures }) {
            Issue.record(Comment(rawValue: message), sourceLocation: location)
        }
    }
}

/// Every limit of the edge, against one service.
func checkEdge(_ service: some EdgeService, _ expect: EdgeExpectations) throws {
    let host = "127.0.0.1:\(service.port)"
    let auth = "Authorization: Bearer \(service.token)\r\n"
    func ask(_ text: String, timeout: Double = 10) throws -> RawHTTP.Answer {
        let c = try RawHTTP(port: service.port)
        c.send(text)
        return c.answer(timeout: timeout)
    }
    func post(_ body: String, path: String = "/v1/read") throws -> RawHTTP.Answer {
        try ask(
            "POST \(path) HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
    }

    let yaml = try ask("GET /openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n")
    let api = try OpenAPIDocument(yaml: yaml.body)
    // Bodies over the limit: 413 from the Content-Length alone, at once, and the connection closed.
    for length in [service.limits.maxBody + 1, 1 << 40] {
        let c = try RawHTTP(port: service.port)
        let start = Date()
        c.send("POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(length)\r\n\r\n")
        let a = c.answer(timeout: 5)
        expect(a.status == 413 && a.code == "payloadTooLarge", "Content-Length \(length): \(a)")
        expect.conforms(api, a, "/v1/read", "post")
        expect(a.headers["connection"] == "close", "Connection: \(a.headers["connection"] ?? "none")")
        expect(Date().timeIntervalSince(start) < 2, "413 took \(Date().timeIntervalSince(start)) s")
        expect(c.closedByServer(within: service.limits.linger + 3), "the connection stayed open")
    }
    // A 64 MiB upload: answered 413 while it is being sent; the server stops reading after its linger.
    do {
        let c = try RawHTTP(port: service.port)
        let start = Date()
        c.send("POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Length: \(64 << 20)\r\n\r\n")
        let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
        var sent = 0
        while sent < 64, Date().timeIntervalSince(start) < 20, c.send(chunk) { sent += 1 }
        let a = c.answer(timeout: 5)
        expect(a.status == 413, "64 MiB upload: \(a)")
        expect(sent < 64, "the server read all 64 MiB")
        expect(Date().timeIntervalSince(start) < 10, "the upload held the connection \(Date().timeIntervalSince(start)) s")
    }
    // A chunked body over the limit: 413 as it streams.
    do {
        let c = try RawHTTP(port: service.port)
        c.send("POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Transfer-Encoding: chunked\r\n\r\n")
        let piece = String(repeating: "x", count: 16 * 1024)
        for _ in 0..<6 { c.send(String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n") }
        let a = c.answer(timeout: 5)
        expect(a.status == 413 && a.code == "payloadTooLarge", "chunked: \(a)")
    }
    // Content-Length beside Transfer-Encoding (smuggling), and a Content-Length that is not a number.
    let smuggled = try ask(
        "POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    expect(smuggled.status == 400 && smuggled.code == "badRequest", "\(smuggled)")
    expect.conforms(api, smuggled, "/v1/read", "post")
    expect(smuggled.closed || smuggled.headers["connection"] == "close", "\(smuggled)")
    let badChunk = try ask(
        "POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    expect(badChunk.status == 400 && badChunk.code == "badRequest", "bad chunk size: \(badChunk)")
    let notANumber = try ask("POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Length: 4x\r\n\r\n{}\r\n")
    expect(notANumber.status == 400, "Content-Length 4x: \(notANumber)")
    // Two Host headers, the first valid: 400.
    let twoHosts = try ask("GET /v1/readers HTTP/1.1\r\nHost: \(host)\r\nHost: evil.example\r\n\(auth)\r\n")
    expect(twoHosts.status == 400 && twoHosts.code == "badRequest", "\(twoHosts)")
    expect.conforms(api, twoHosts, "/v1/readers", "get")
    expect(twoHosts.json?.description.contains("Host") == true)
    // An absolute-form target naming another host: 400; naming this one: served.
    let evil = try ask("GET http://evil.example/openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n")
    expect(evil.status == 400, "\(evil)")
    let same = try ask("GET http://\(host)/openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n")
    expect(same.status == 200, "\(same)")
    // Strict JSON: unknown fields named, duplicates, wrong types, not an object.
    let unknown = try post(#"{"can":"123456","evil":true}"#)
    expect(unknown.status == 400 && unknown.body.contains(#"unknown field \"evil\""#), "\(unknown)")
    expect.conforms(api, unknown, "/v1/read", "post")
    let twice = try post(#"{"can":"123456","can":"654321"}"#)
    expect(twice.status == 400 && twice.body.contains("given twice"), "\(twice)")
    expect(!twice.body.contains("654321"), "the value was echoed")
    let typed = try post(#"{"can":123456}"#)
    expect(typed.status == 400 && typed.body.contains("can must be a string"), "\(typed)")
    let array = try post(#"[1]"#)
    expect(array.status == 400, "\(array)")
    let cancelUnknown = try post(#"{"requestId":"a","x":1}"#, path: "/v1/read/cancel")
    expect(cancelUnknown.status == 400 && cancelUnknown.body.contains(#"unknown field \"x\""#), "\(cancelUnknown)")
    // A head that does not finish: closed after the header timeout. A body that does not come: 408.
    do {
        let c = try RawHTTP(port: service.port)
        c.send("GET /openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n")
        expect(c.closedByServer(within: service.limits.headerTimeout + 3), "a slow head kept its connection")
        let d = try RawHTTP(port: service.port)
        d.send("POST /v1/read HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Length: 40\r\n\r\n{\"can\"")
        let a = d.answer(timeout: service.limits.requestTimeout + 3)
        expect(a.status == 408 && a.code == "requestTimeout", "slow body: \(a)")
        expect.conforms(api, a, "/v1/read", "post")
        // An idle keep-alive connection closes after the header timeout too.
        let e = try RawHTTP(port: service.port)
        e.send("GET /openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        expect(e.answer().status == 200)
        expect(e.closedByServer(within: service.limits.headerTimeout + 3), "an idle connection stayed open")
    }
    // Event streams: the cap, then 503 with Retry-After; a slot freed is taken again.
    var streams: [RawHTTP] = []
    for _ in 0..<service.limits.maxEventStreams {
        let s = try RawHTTP(port: service.port)
        s.send("GET /v1/events HTTP/1.1\r\nHost: \(host)\r\n\(auth)\r\n")
        let a = s.answer(timeout: 2)
        expect(a.status == 200, "event stream: \(a)")
        streams.append(s)
    }
    // An answer in progress is never timed out: the streams outlive the header timeout.
    Thread.sleep(forTimeInterval: service.limits.headerTimeout + 0.5)
    expect(!streams[0].closedByServer(within: 0.2), "an event stream was closed by a timeout")
    let extra = try ask("GET /v1/events HTTP/1.1\r\nHost: \(host)\r\n\(auth)\r\n")
    expect(extra.status == 503 && extra.code == "overloaded" && extra.headers["retry-after"] != nil, "\(extra)")
    expect.conforms(api, extra, "/v1/events", "get")
    streams.removeAll()
    var again = 0
    for _ in 0..<40 where again != 200 {
        Thread.sleep(forTimeInterval: 0.25)
        let s = try RawHTTP(port: service.port)
        s.send("GET /v1/events HTTP/1.1\r\nHost: \(host)\r\n\(auth)\r\n")
        again = s.answer(timeout: 2).status
    }
    expect(again == 200, "a freed event stream slot was not taken again")
    // Connections: the cap, then 503 with Retry-After; below it again, served.
    Thread.sleep(forTimeInterval: 0.5)
    var open: [RawHTTP] = []
    for _ in 0..<service.limits.maxConnections { open.append(try RawHTTP(port: service.port)) }
    Thread.sleep(forTimeInterval: 0.3)
    let over = try ask("GET /openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n")
    expect(over.status == 503 && over.code == "overloaded" && over.headers["retry-after"] != nil, "\(over)")
    open.removeAll()
    var served = 0
    for _ in 0..<40 where served != 200 {
        Thread.sleep(forTimeInterval: 0.25)
        served = try ask("GET /openapi.yaml HTTP/1.1\r\nHost: \(host)\r\n\r\n").status
    }
    expect(served == 200, "the service did not serve again below its connection cap")
}

@Suite("The desk's HTTP edge: 413, 400 for two Hosts or another host's target, strict JSON, timeouts, caps")
struct DeskEdgeTests {
    @Test("In-process (DeskServer): every limit")
    func inProcess() async throws {
        let desk = try await InProcessDesk()
        defer { desk.stop() }
        // On a thread of its own: the blocking client must not hold the cooperative pool the server answers on.
        let expect = EdgeExpectations(recordsAtOnce: false)
        let failure: (any Error)? = await withCheckedContinuation { done in
            Thread {
                do {
                    try checkEdge(desk, expect)
                    done.resume(returning: nil)
                } catch { done.resume(returning: error) }
            }.start()
        }
        expect.recordGathered()
        if let failure { throw failure }
    }

    @Test("cccd serve running: every limit, the same answers")
    func running() throws {
        let desk = try RunningDesk()
        defer { desk.stop() }
        try checkEdge(desk, EdgeExpectations(recordsAtOnce: true))
    }

    @Test("The edge's decisions on request heads, and the strict body reader (DeskProtocol)")
    func policy() throws {
        let limits = DeskLimits.standard
        func check(_ target: String, _ headers: [(String, String)]) -> DeskEdgeVerdict {
            DeskEdgePolicy.check(
                method: "GET", target: target, headers: headers.map { (name: $0.0, value: $0.1) }, limits: limits)
        }
        #expect(check("/v1/readers", [("Host", "127.0.0.1:1")]) == .pass)
        #expect(check("/x", [("Host", "a"), ("host", "b")]) != .pass)
        #expect(check("http://127.0.0.1:1/x", [("Host", "127.0.0.1:1")]) == .pass)
        #expect(check("http://EVIL/x", [("Host", "127.0.0.1:1")]) != .pass)
        #expect(check("http://u@127.0.0.1:1/x", [("Host", "127.0.0.1:1")]) != .pass)
        #expect(check("127.0.0.1:1", [("Host", "127.0.0.1:1")]) != .pass)
        #expect(check("/", [("Content-Length", "10, 11")]) != .pass)
        #expect(check("/", [("Content-Length", "10, 10")]) == .pass)
        #expect(check("/", [("Content-Length", "-1")]) != .pass)
        #expect(check("/", [("Content-Length", "99999999999999999999999")]) != .pass)
        #expect(check("/", [("Transfer-Encoding", "gzip, chunked")]) != .pass)
        guard case .reject(let problem) = check("/", [("Content-Length", "65537")]), problem.code == .payloadTooLarge,
            problem.statusCode == 413
        else {
            Issue.record("65537 bytes not refused with 413")
            return
        }
        let read = try DeskReadRequest(json: Array(#"{"can":"123456","wait":5,"fields":null}"#.utf8))
        #expect(read.can == "123456" && read.wait == 5 && read.fields == nil)
        for bad in [#"{"can":"1","Can":"2"}"#, #"{"wait":"5"}"#, "{", "", #"{"can":"1"} x"#, "\u{FF}"] {
            #expect(throws: DeskBodyError.self, "\(bad)") { try DeskReadRequest(json: Array(bad.utf8)) }
        }
    }
}
