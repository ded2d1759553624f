import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running child (a server, an emulator, a stream reader) started with posix_spawn: it inherits none of this
/// process's descriptors beyond 0–2 (Foundation's `Process` lets later children inherit the descriptor it watches an
/// earlier child's exit with, so `waitUntilExit` can hang while another child runs), with default signal
/// dispositions (a test runner's ignored SIGTERM is not passed on). Output goes to a file or /dev/null.
public final class ChildProcess: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let pid: pid_t
    private var exited: Int32?
    private let lock = NSLock()

    /// Starts `binary` with `arguments`; standard output (and error, unless `stderr` is given) to `stdout`
    /// (nil: /dev/null).
    public init(_ binary: String, _ arguments: [String], stdout: String? = nil, stderr: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try Self.closeFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let all = [binary] + arguments
        var argv: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary, &actions, &attributes, &argv, environ)
        guard rc == 0 else { throw Failure(description: "cannot start \(binary) (errno \(rc))") }
        pid = child
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), looked up at run time: Swift's Glibc module does
    /// not declare it.
    public static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ fd: Int32) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { throw Failure(description: "this C library has no posix_spawn_file_actions_addclosefrom_np") }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        guard closeFrom(&actions, fd) == 0 else { throw Failure(description: "addclosefrom_np failed") }
    }

    /// Whether the child still runs (reaps it when it has ended).
    public var running: Bool {
        lock.withLock {
            if exited != nil { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = status
                return false
            }
            return true
        }
    }

    /// Waits up to `timeout` seconds for the child to end by itself: its exit status (a signal's end is 128 + the
    /// signal), or nil if it still runs.
    public func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while running && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return lock.withLock {
            guard let status = exited else { return nil }
            return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for it to end.
    public func stop(grace: TimeInterval = 5) {
        guard running else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while running && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if running {
            kill(pid, SIGKILL)
            lock.withLock {
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exited = status
            }
        }
    }
}
