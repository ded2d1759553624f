/// Anything that carries command APDUs to a chip and brings its answers back: a PC/SC reader, the in-process
/// emulator, a scripted replay, or a wrapper around one of these.
///
/// Calls are synchronous and made from one thread at a time; a transport is owned by one session.
public protocol CardTransport: AnyObject {
    /// What the link and the chip support, as far as the transport knows.
    var capabilities: TransportCapabilities { get }

    /// Sends one command and returns the chip's answer. Throws `TransportError` when the link fails; wrappers
    /// (secure messaging) throw their own typed errors.
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU
}

/// What a transport can carry.
public struct TransportCapabilities: Hashable, Sendable {
    /// The card's Answer To Reset.
    public var atr: [UInt8]
    /// Extended-length APDUs (Lc/Le over 255/256) pass end to end.
    public var supportsExtendedLength: Bool
    /// Largest command data field the link passes in one APDU.
    public var maxCommandDataLength: Int
    /// Largest response data field the link passes in one APDU.
    public var maxResponseLength: Int

    public init(
        atr: [UInt8] = [], supportsExtendedLength: Bool = false, maxCommandDataLength: Int? = nil,
        maxResponseLength: Int? = nil
    ) {
        self.atr = atr
        self.supportsExtendedLength = supportsExtendedLength
        self.maxCommandDataLength = maxCommandDataLength ?? (supportsExtendedLength ? 65535 : 255)
        self.maxResponseLength = maxResponseLength ?? (supportsExtendedLength ? 65536 : 256)
    }
}

/// A failure of the link, not of a command (commands fail with a status word).
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case cardRemoved, timeout, noService, noReader, noCard, protocolError, unexpectedCommand, cancelled, other
        public var description: String { rawValue }
    }

    public let code: Code
    public let reason: String

    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String {
        switch code {
        case .cardRemoved: return "card removed or link lost: \(reason)"
        case .timeout: return "the card did not answer in time: \(reason)"
        case .noService: return "no PC/SC service: \(reason)"
        case .noReader: return "no reader: \(reason)"
        case .noCard: return "no card in the reader: \(reason)"
        default: return "transport error (\(code)): \(reason)"
        }
    }

    public static func cardRemoved(_ reason: String) -> TransportError { .init(code: .cardRemoved, reason: reason) }
    public static func protocolError(_ reason: String) -> TransportError { .init(code: .protocolError, reason: reason) }
    public static func timeout(_ reason: String) -> TransportError { .init(code: .timeout, reason: reason) }
}
