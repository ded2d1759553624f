import CardCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Serves an `EmulatedChip` to vsmartcard's vpcd driver inside pcscd, so every PC/SC program on the machine
/// sees the card in "Virtual PCD 00 00" (port 35963) or "… 00 01" (35964), or in the second vpcd reader that
/// `scripts/vpcd-readers.sh` installs, "Virtual PCD B 00 00" (35965) or "… 00 01" (35966).
///
/// The protocol: 2-byte big-endian length + payload; a 1-byte payload is a control code (00 power off, 01 power
/// on, 02 reset, 04 send the ATR), anything longer a command APDU, answered with the response APDU. vpcd sends
/// length and APDU in two writes, so the socket sets TCP_NODELAY and re-arms TCP_QUICKACK before every receive
/// (otherwise delayed ACKs stall every APDU by about 40 ms). When pcscd goes away the bridge reconnects.
public final class VPCDBridge: @unchecked Sendable {
    public let chip: EmulatedChip
    public let host: String
    public let port: UInt16
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopRequested = false
    private var socketFD: Int32 = -1

    public static let defaultPort: UInt16 = 35963

    public init(
        chip: EmulatedChip, host: String = "127.0.0.1", port: UInt16 = defaultPort,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.chip = chip
        self.host = host
        self.port = port
        self.log = log
    }

    /// Asks `run()` to return (from any thread or a signal handler's queue).
    public func stop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    public enum Outcome: Sendable, Equatable {
        /// `stop()` was called.
        case stopped
        /// The chip left the field (fault plan): the connection was closed as a pulled card.
        case cardRemoved
    }

    /// Connects (retrying every half second until vpcd listens) and serves until stopped.
    public func run() -> Outcome {
        var announcedWaiting = false
        while !shouldStop {
            guard let fd = connectOnce() else {
                if !announcedWaiting {
                    log("waiting for vpcd on \(host):\(port) (is pcscd running with vsmartcard-vpcd?)")
                    announcedWaiting = true
                }
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            announcedWaiting = false
            log("connected to vpcd on \(host):\(port)")
            let outcome = serve(fd)
            close(fd)
            switch outcome {
            case .some(let final): return final
            case .none: log("vpcd closed the connection; reconnecting")
            }
        }
        return .stopped
    }

    /// vpcd's addresses for a host name or address literal (IPv4 and IPv6, via getaddrinfo), in the resolver's
    /// order. Throws with the resolver's own words when the name does not resolve.
    public static func resolve(host: String, port: UInt16) throws(VPCDAddressError) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw VPCDAddressError(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let e = entry {
            if let address = e.pointee.ai_addr {
                out.append(
                    Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(address), count: Int(e.pointee.ai_addrlen))))
            }
            entry = e.pointee.ai_next
        }
        guard !out.isEmpty else { throw VPCDAddressError(host: host, reason: "no address") }
        return out
    }

    private func connectOnce() -> Int32? {
        guard let addresses = try? Self.resolve(host: host, port: port) else { return nil }
        for address in addresses {
            let family = address.withUnsafeBytes { $0.load(as: sa_family_t.self) }
            let fd = socket(Int32(family), Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            // Connect with a deadline: a listener whose backlog is full (vpcd takes one card at a time) would
            // otherwise hold a blocking connect for minutes, and stop() could not end the bridge.
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            // errno is read inside the closure: anything Swift runs after connect() may overwrite it.
            let (rc, failure) = address.withUnsafeBytes {
                let rc = connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
                return (rc, errno)
            }
            var connected = rc == 0
            if !connected && failure == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&poller, 1, 1000) == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    connected = error == 0
                }
            }
            guard connected else {
                close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        return nil
    }

    /// Serves one connection: nil when vpcd went away (reconnect), an outcome when the bridge should end.
    private func serve(_ fd: Int32) -> Outcome? {
        while true {
            if shouldStop { return .stopped }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 200)
            if ready == 0 { continue }
            if ready < 0 {
                if errno == EINTR { continue }
                return nil
            }
            guard let header = receive(fd, 2) else { return nil }
            let length = Int(header[0]) << 8 | Int(header[1])
            guard let payload = receive(fd, length) else { return nil }
            if payload.count == 1 {
                switch payload[0] {
                case 0x00, 0x01, 0x02: chip.reset()
                case 0x04: guard send(fd, chip.atr) else { return nil }
                default: break
                }
                continue
            }
            do {
                let answer = try chip.process(payload)
                guard send(fd, answer) else { return nil }
            } catch {
                log("the card left the field: \(error)")
                return .cardRemoved
            }
        }
    }

    private func receive(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress.map { $0 + got }, count - got, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return out
    }

    private func send(_ fd: Int32, _ payload: [UInt8]) -> Bool {
        let message = [UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF)] + payload
        var sent = 0
        while sent < message.count {
            let n = message.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress.map { $0 + sent }, message.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

/// vpcd's host name does not resolve.
public struct VPCDAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var reason: String
    public var description: String { "cannot resolve vpcd's host \"\(host)\": \(reason)" }
}
