import ArgumentParser
import Foundation
import Logging

/// `--verbose` and `--trace`, on every command: diagnostics on standard error through swift-log. The trace shows each
/// APDU's header, lengths and status (and, under secure messaging, the plain command header only); never a key, the
/// CAN, the MRZ key, an SSC, protected plaintext or a portrait.
struct LoggingOptions: ParsableArguments {
    @Flag(help: "Say what is being done (debug level) on standard error.")
    var verbose = false

    @Flag(help: "Also trace every APDU: header, lengths and status only, never data.")
    var trace = false

    func bootstrap() {
        let level: Logger.Level = trace ? .trace : verbose ? .debug : .warning
        LoggingOnce.bootstrap(level)
    }
}

/// swift-log's bootstrap may run once per process.
enum LoggingOnce {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var done = false

    static func bootstrap(_ level: Logger.Level) {
        lock.withLock {
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
