import CPCSCLite
import CardCore

/// A PC/SC failure in the user's terms (shape of swift-asn1's error type): no service, no reader, no card,
/// card removed, timeout, cancelled, or another pcsc-lite status.
public struct PCSCError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case noService, noReader, unknownReader, noCard, cardRemoved, cardReset, timeout, cancelled, sharingViolation, communication, other
        public var description: String { rawValue }
    }

    public let code: Code
    /// The pcsc-lite status (e.g. 0x80100069 for SCARD_W_REMOVED_CARD).
    public let status: UInt32
    public let operation: String

    public init(status: Int, operation: String) {
        self.status = UInt32(truncatingIfNeeded: status)  // LONG codes are positive on 64-bit pcsc-lite
        self.operation = operation
        switch self.status {
        case 0x8010_001D: code = .noService
        case 0x8010_002E: code = .noReader
        case 0x8010_0009: code = .unknownReader
        case 0x8010_000C: code = .noCard
        case 0x8010_0069: code = .cardRemoved
        case 0x8010_0068: code = .cardReset
        case 0x8010_000A: code = .timeout
        case 0x8010_0002: code = .cancelled
        case 0x8010_000B: code = .sharingViolation
        case 0x8010_0013, 0x8010_0016, 0x8010_0017, 0x8010_0066, 0x8010_0067: code = .communication
        default: code = .other
        }
    }

    public var description: String {
        let text = String(cString: pcsc_stringify_error(Int(status)))
        let hex = String(status, radix: 16, uppercase: true)
        switch code {
        case .noService: return "no PC/SC service (is pcscd running?): \(text) (0x\(hex))"
        case .noReader: return "no smart-card reader connected (0x\(hex))"
        case .unknownReader: return "no such reader (0x\(hex))"
        case .noCard: return "no card in the reader (0x\(hex))"
        case .cardRemoved: return "the card was removed (0x\(hex))"
        case .timeout: return "timed out waiting for the card (0x\(hex))"
        case .communication: return "the link to the card broke; was it removed? (\(operation): 0x\(hex))"
        default: return "\(operation) failed: \(text) (0x\(hex))"
        }
    }

    /// The same failure as a transport error (for readers above the PC/SC layer).
    public var transportError: TransportError {
        switch code {
        case .cardRemoved, .noCard, .cardReset, .communication:
            return TransportError(code: .cardRemoved, reason: description)
        case .noService: return TransportError(code: .noService, reason: description)
        case .noReader, .unknownReader: return TransportError(code: .noReader, reason: description)
        case .timeout: return TransportError(code: .timeout, reason: description)
        case .cancelled: return TransportError(code: .cancelled, reason: description)
        default: return TransportError(code: .other, reason: description)
        }
    }
}
