import Foundation

/// Runs the built `cccd` (the CLI contract tests; `make test` builds it first).
public enum CommandLineRunner {
    public static let root = VectorFile.directory + "/.."

    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// stdout parsed as one JSON object, when it is one; for JSON Lines (`perso --json`), the last line (the
        /// summary).
        public var json: [String: Any]? {
            if let object = (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] {
                return object
            }
            return jsonLines.last
        }

        /// stdout parsed as JSON Lines: one object per non-empty line (lines that are not objects are skipped).
        public var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case notBuilt(String)
        public var description: String {
            switch self {
            case .notBuilt(let path): return "\(path) is missing: build cccd first (swift build)"
            }
        }
    }

    /// Runs `cccd` with `arguments` in `directory` (the repository by default).
    public static func run(_ arguments: [String], in directory: String = root, environment: [String: String] = [:])
        throws -> Outcome
    {
        let binary = root + "/.build/debug/cccd"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw Failure.notBuilt(binary) }
        return try tool(binary, arguments, in: directory, environment: environment)
    }

    /// Runs any program (openssl, …) the same way.
    public static func tool(
        _ binary: String, _ arguments: [String], in directory: String = root, environment: [String: String] = [:]
    ) throws -> Outcome {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw Failure.notBuilt(binary) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain stderr on another thread so a full pipe never blocks the child.
        nonisolated(unsafe) var stderrData = Data()
        let drained = DispatchSemaphore(value: 0)
        Thread {
            stderrData = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
