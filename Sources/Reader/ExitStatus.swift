/// The stable exit codes of `cccd` (terminal software relies on them), and the one table from what happened to a
/// code: a read's verdicts (`init(_: Assessment)`) and a read's errors (`init(_: ReaderError)`). The case name is the
/// `code` of the JSON error a command prints with `--json`.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    /// The command did what it was asked; a read: genuine and valid.
    case ok = 0
    /// Something else failed (I/O, malformed card image, …).
    case failure = 1
    /// At least one record is invalid (`cccd validate`, `prepare`, `perso`).
    case invalidRecords = 2
    /// The chip refused the access key (wrong CAN / MRZ).
    case accessDenied = 3
    /// A verification failed (data not genuine, chip not authentic, record inconsistent).
    case verificationFailed = 4
    /// No card, or the card was removed during the read.
    case noCard = 5
    /// No reader (or no PC/SC service).
    case noReader = 6
    /// The chip broke the protocol before access control completed (malformed answers, secure messaging failure).
    case protocolError = 7
    /// Every check passed, but no trusted CSCA was given: the signature is intact, the signer unverified.
    case signerUnverified = 8
    /// Genuine, but the document has expired (or its validity could not be established).
    case genuineNotValid = 9
    /// `cccd perso`: stopped by the operator (SIGINT/SIGTERM); the same command goes on where it stopped.
    case stopped = 130

    /// The name terminal software sees (`{"error": {"code": …}}`).
    public var name: String { "\(self)" }

    /// A read that reached its verdicts: not genuine (4) before signer unverified (8) before expired (9).
    public init(_ assessment: Assessment) {
        switch assessment.authenticity {
        case .notGenuine: self = .verificationFailed
        case .signerUnverified: self = .signerUnverified
        case .genuine: self = assessment.valid ? .ok : .genuineNotValid
        }
    }

    /// A read that ended in an error.
    public init(_ error: ReaderError) {
        switch error.code {
        case .accessDenied: self = .accessDenied
        case .cardRemoved: self = .noCard
        case .noReader: self = .noReader
        case .secureMessaging, .protocolError, .malformedData, .notAnEMRTD, .fileUnreadable: self = .protocolError
        default: self = .failure
        }
    }
}
