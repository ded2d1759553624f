import ArgumentParser
import Foundation
import Reader

/// Stable exit codes of `cccd` (terminal software relies on them).
enum CCCDExit {
    /// The read succeeded and no check failed.
    static let ok: Int32 = 0
    /// Something else failed (I/O, malformed card image, …).
    static let failure: Int32 = 1
    /// `cccd validate`: at least one record is invalid.
    static let invalidRecords: Int32 = 2
    /// The chip refused the access key (wrong CAN / MRZ).
    static let accessDenied: Int32 = 3
    /// A verification failed (data not genuine, chip not authentic, record inconsistent).
    static let verificationFailed: Int32 = 4
    /// No card, or the card was removed during the read.
    static let noCard: Int32 = 5
    /// No reader (or no PC/SC service).
    static let noReader: Int32 = 6
    /// The chip broke the protocol before access control completed (malformed answers, secure messaging failure).
    static let protocolError: Int32 = 7
    /// Every check passed, but no trusted CSCA was given: the signature is intact, the signer unverified.
    static let signerUnverified: Int32 = 8
    /// Genuine, but the document has expired (or its validity could not be established).
    static let genuineNotValid: Int32 = 9
    /// `cccd perso`: stopped by the operator (SIGINT/SIGTERM); the same command goes on where it stopped.
    static let stopped: Int32 = 130

    /// The exit code of a read that reached its verdicts: not genuine (4) before signer unverified (8) before
    /// expired (9).
    static func code(for assessment: Assessment) -> Int32 { assessment.exitCode }

    static func code(for error: ReaderError) -> Int32 {
        switch error.code {
        case .accessDenied: return accessDenied
        case .cardRemoved: return noCard
        case .noReader: return noReader
        case .secureMessaging, .protocolError, .malformedData, .notAnEMRTD, .fileUnreadable: return protocolError
        default: return failure
        }
    }
}

/// Prints a message to standard error and exits with a stable code.
func fail(_ message: String, code: Int32) -> ExitCode {
    var stderr = StandardError()
    print("error: \(message)", to: &stderr)
    return ExitCode(code)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
