import CardCore
import ChipAccess

/// What went wrong with a read, in the terminal user's terms. Never carries keys, CAN, MRZ or plaintext.
public struct ReaderError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The chip refused the access key (wrong CAN / MRZ).
        case accessDenied
        /// The card left the reader or the link broke.
        case cardRemoved
        /// No reader, or no PC/SC service.
        case noReader
        /// The chip is not an eMRTD or lacks the application.
        case notAnEMRTD
        /// The chip answered something the protocol does not allow.
        case protocolError
        /// Secure messaging failed (bad MAC); the session is gone.
        case secureMessaging
        /// A file could not be read (missing, or access conditions not met).
        case fileUnreadable
        /// The chip's data is malformed.
        case malformedData
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String
    public let statusWord: StatusWord?

    public init(code: Code, reason: String, statusWord: StatusWord? = nil) {
        self.code = code
        self.reason = reason
        self.statusWord = statusWord
    }

    public var description: String {
        reason + (statusWord.map { " (\($0.hex))" } ?? "")
    }

    /// Errors after which no verdict can be reached: the card or the reader is gone, or the key was refused.
    /// Everything else that happens after access control becomes a failed check instead.
    public var endsTheRead: Bool { code == .cardRemoved || code == .noReader || code == .accessDenied }

    /// Maps lower-layer errors to reader errors.
    static func wrap(_ error: any Error, doing what: String) -> ReaderError {
        switch error {
        case let e as ReaderError: return e
        case let e as TransportError:
            switch e.code {
            case .cardRemoved, .noCard:
                return ReaderError(code: .cardRemoved, reason: "\(what): card removed (\(e.reason))")
            case .timeout:
                return ReaderError(code: .cardRemoved, reason: "\(what): the card stopped answering (\(e.reason))")
            case .noReader, .noService: return ReaderError(code: .noReader, reason: "\(what): \(e)")
            default: return ReaderError(code: .protocolError, reason: "\(what): \(e)")
            }
        case let e as AccessControlError:
            if e.code == .wrongPassword {
                return ReaderError(code: .accessDenied, reason: e.reason, statusWord: e.statusWord)
            }
            return ReaderError(code: .protocolError, reason: e.reason, statusWord: e.statusWord)
        case let e as SecureMessagingError:
            return ReaderError(code: .secureMessaging, reason: "\(what): \(e)")
        default:
            return ReaderError(code: .protocolError, reason: "\(what): \(error)")
        }
    }
}
