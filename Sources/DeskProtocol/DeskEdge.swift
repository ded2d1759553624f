import CardCore

/// The limits of the desk's HTTP edge (`cccd serve`), each answered as a hardened server answers it: a body over
/// `maxBody` gets 413 at once (from Content-Length, or as it streams) and the connection is closed after a short
/// linger; a request whose head does not arrive in `headerTimeout` seconds is closed, one whose body does not arrive
/// in `requestTimeout` gets 408; past `maxConnections` open connections or `maxEventStreams` event streams, 503.
public struct DeskLimits: Sendable, Hashable {
    /// Bytes of a request body (a read request is well under 1 KiB).
    public var maxBody: Int
    /// Seconds for a request's head to arrive, from the connection's start or the end of the previous answer (an
    /// idle keep-alive connection is closed after as long).
    public var headerTimeout: Double
    /// Seconds for a request's body to arrive, from its head.
    public var requestTimeout: Double
    /// Open connections; the next one gets 503.
    public var maxConnections: Int
    /// Open `/v1/events` streams; the next one gets 503.
    public var maxEventStreams: Int
    /// Seconds a refused connection is still read (and its bytes dropped) after the answer, so that the client
    /// reads the answer instead of a reset.
    public var linger: Double

    public init(
        maxBody: Int = 64 * 1024, headerTimeout: Double = 15, requestTimeout: Double = 30, maxConnections: Int = 128,
        maxEventStreams: Int = 32, linger: Double = 2
    ) {
        self.maxBody = maxBody
        self.headerTimeout = headerTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.maxEventStreams = maxEventStreams
        self.linger = linger
    }

    public static let standard = DeskLimits()
}

/// What the edge decides about a request head before any route sees it.
public enum DeskEdgeVerdict: Hashable, Sendable {
    case pass
    /// Refused, with the problem the desk answers (its code gives the HTTP status).
    case reject(DeskError)
}

/// The checks of a request head that the framework does not make (it keeps the first of two Host headers, and
/// turns an absolute-form target into a path): one Host; a target that is a path, or an absolute URL naming that
/// same host; one Content-Length, a number, within the body limit; no Content-Length beside Transfer-Encoding
/// (request smuggling); chunked the only transfer coding.
public enum DeskEdgePolicy {
    /// The path a target names (origin-form or absolute-form), without its query or fragment.
    public static func path(of target: String) -> String {
        var rest = Substring(target)
        if let scheme = rest.range(of: "://"), !target.hasPrefix("/") {
            rest = rest[scheme.upperBound...]
            rest = rest.drop { $0 != "/" && $0 != "?" && $0 != "#" }
        }
        let path = rest.prefix { $0 != "?" && $0 != "#" }
        return path.isEmpty ? "/" : String(path)
    }

    public static func check(
        method: String, target: String, headers: [(name: String, value: String)], limits: DeskLimits
    ) -> DeskEdgeVerdict {
        func bad(_ message: String) -> DeskEdgeVerdict { .reject(DeskError(.badRequest, message)) }
        let hosts = headers.filter { $0.name.lowercased() == "host" }.map(\.value)
        if hosts.count > 1 { return bad("the request has \(hosts.count) Host headers (one is allowed)") }
        // The target: origin-form, or absolute-form naming the Host itself.
        if !target.hasPrefix("/") {
            let lower = target.lowercased()
            guard let scheme = ["http://", "https://"].first(where: { lower.hasPrefix($0) }) else {
                return bad("the request target must be a path")
            }
            let rest = lower.dropFirst(scheme.count)
            let authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
            if authority.contains("@") { return bad("the request target carries user information") }
            guard let host = hosts.first?.lowercased(), host == authority else {
                return bad("the request target names another host than the Host header")
            }
        }
        let transfer = headers.filter { $0.name.lowercased() == "transfer-encoding" }.map(\.value)
        let lengths = headers.filter { $0.name.lowercased() == "content-length" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingCharacters(in: " \t") }
        if !transfer.isEmpty {
            if !lengths.isEmpty { return bad("the request has both Content-Length and Transfer-Encoding") }
            let codings = transfer.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: " \t").lowercased() }
            guard codings == ["chunked"] else { return bad("the only transfer coding taken is chunked") }
        }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 19,
                first.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let length = Int(first)
            else { return bad("the Content-Length is not one number") }
            if length > limits.maxBody {
                return .reject(
                    DeskError(.payloadTooLarge, "the request body is \(length) bytes; at most \(limits.maxBody) are taken"))
            }
        }
        return .pass
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String { self[...].trimmingCharacters(in: set) }
}
