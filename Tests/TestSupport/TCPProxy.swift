import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay on a loopback port in front of a server (a database): `cut()` drops every relayed connection and
/// refuses new ones, as a database that went away does; `restore()` takes connections again on the same port.
/// What crosses it is not looked at.
public final class TCPProxy: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let port: Int
    let target: Int
    private let lock = NSLock()
    private var listener: Int32 = -1
    /// The relayed connections' descriptors, by number; one leaves the list before its descriptors are closed.
    private var pairs: [Int: (Int32, Int32)] = [:]
    private var nextPair = 0
    private var generation = 0

    /// Relays 127.0.0.1:`port` (a free one) to 127.0.0.1:`target`.
    public init(to target: Int) throws {
        self.target = target
        let fd = try Self.listen(port: 0)
        var address = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        start(fd)
    }

    deinit { cut() }

    /// Drops every connection and refuses new ones (nothing listens on the port).
    public func cut() {
        // Under the lock: a pair still listed is not closed yet.
        let fd = lock.withLock {
            for (a, b) in pairs.values {
                shutdown(a, Int32(SHUT_RDWR))
                shutdown(b, Int32(SHUT_RDWR))
            }
            defer {
                listener = -1
                generation += 1
            }
            return listener
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    /// Listens again on the same port.
    public func restore() throws {
        start(try Self.listen(port: port))
    }

    private func start(_ fd: Int32) {
        let mine = lock.withLock {
            listener = fd
            return generation
        }
        Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = Self.loopback(target)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                let number: Int? = lock.withLock {
                    guard connected == 0, generation == mine else { return nil }
                    nextPair += 1
                    pairs[nextPair] = (client, server)
                    return nextPair
                }
                guard let number else {
                    close(client)
                    close(server)
                    continue
                }
                let ends = Ends { [self] in lock.withLock { _ = pairs.removeValue(forKey: number) } }
                for (from, to) in [(client, server), (server, client)] {
                    Thread { Self.pump(from, to, ends) }.start()
                }
            }
        }.start()
    }

    /// The two pumps of a connection: the second to finish closes both descriptors (never one still in use).
    private final class Ends: @unchecked Sendable {
        private let lock = NSLock()
        private var finished = 0
        private let unlist: @Sendable () -> Void
        init(unlist: @escaping @Sendable () -> Void) { self.unlist = unlist }
        func finish() -> Bool {
            let last = lock.withLock {
                finished += 1
                return finished == 2
            }
            if last { unlist() }
            return last
        }
    }

    /// Copies bytes one way until either side ends, then shuts both ways down.
    private static func pump(_ from: Int32, _ to: Int32, _ ends: Ends) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = buffer[sent..<n].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { break }
                sent += m
            }
            if sent < n { break }
        }
        shutdown(to, Int32(SHUT_RDWR))
        shutdown(from, Int32(SHUT_RDWR))
        if ends.finish() {
            close(from)
            close(to)
        }
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func listen(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            throw Failure(description: "cannot listen on 127.0.0.1:\(port) (errno \(errno))")
        }
        return fd
    }
}
