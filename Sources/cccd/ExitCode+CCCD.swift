import ArgumentParser
import Foundation
import Reader

/// `cccd`'s exit codes: the one table is `ExitStatus` (Reader), which the desk's reports carry too.
typealias CCCDExit = ExitStatus

extension ExitCode {
    init(_ status: ExitStatus) { self.init(status.rawValue) }
}

/// Prints a message to standard error and exits with a stable code.
func fail(_ message: String, code: ExitStatus) -> ExitCode {
    var stderr = StandardError()
    print("error: \(message)", to: &stderr)
    return ExitCode(code)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
