import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A raw HTTP/1.1 client over a TCP socket: sends exactly the bytes given (two Host headers, an absolute-form
/// target, a Content-Length that lies), so the server's edge can be tested as an attacker reaches it.
public final class RawHTTP: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// An answer: status, headers (lower-cased names), body; `closed` when the server closed the connection.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var closed: Bool
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
        /// The problem code of the desk's error body.
        public var code: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    }

    let fd: Int32

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends bytes; false when the server no longer takes them (it closed or reset).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one answer (head and a Content-Length body), or what came before the server closed, within `timeout`
    /// seconds. Status 0: nothing arrived.
    public func answer(timeout: Double = 10) -> Answer {
        var data: [UInt8] = []
        var closed = false
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            if let parsed = Self.parse(data), parsed.complete { return Answer(
                status: parsed.status, headers: parsed.headers, body: parsed.body, closed: false) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                closed = true
                break
            }
            data += buffer[0..<n]
        }
        let parsed = Self.parse(data)
        return Answer(
            status: parsed?.status ?? 0, headers: parsed?.headers ?? [:], body: parsed?.body ?? "", closed: closed)
    }

    /// True when the server closes the connection within `timeout` seconds (reading and dropping what comes).
    public func closedByServer(within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { return false }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
        }
        return false
    }

    static func parse(_ data: [UInt8]) -> (status: Int, headers: [String: String], body: String, complete: Bool)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard data.count >= 4,
            let end = (0...(data.count - 4)).first(where: { Array(data[$0..<($0 + 4)]) == separator })
        else { return nil }
        let head = String(decoding: data[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head.first?.split(separator: " ") ?? []
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = Array(data[(end + 4)...])
        let length = headers["content-length"].flatMap { Int($0) }
        // 1xx (101 Switching Protocols), 204 and 304 never have a body (RFC 9112 §6.3).
        let bodiless = (100..<200).contains(status) || status == 204 || status == 304
        let complete = bodiless || (length.map { body.count >= $0 } ?? false)
        return (status, headers, String(decoding: body.prefix(length ?? body.count), as: UTF8.self), complete)
    }
}
