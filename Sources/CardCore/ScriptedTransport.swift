/// A transport for tests that replays an expected conversation: each command must equal the next scripted one
/// byte for byte, and gets the scripted answer. Any deviation throws `unexpectedCommand`.
public final class ScriptedTransport: CardTransport {
    public struct Exchange: Hashable, Sendable {
        public var command: [UInt8]
        public var response: [UInt8]
        public init(command: [UInt8], response: [UInt8]) {
            self.command = command
            self.response = response
        }
    }

    public private(set) var script: [Exchange]
    public private(set) var position = 0
    public let capabilities: TransportCapabilities
    /// Encode commands in extended form even when short would do.
    public let forceExtended: Bool

    public init(_ script: [Exchange], capabilities: TransportCapabilities = .init(), forceExtended: Bool = false) {
        self.script = script
        self.capabilities = capabilities
        self.forceExtended = forceExtended
    }

    /// True when every scripted exchange has happened.
    public var isFinished: Bool { position == script.count }

    public func transmit(_ command: CommandAPDU) throws(TransportError) -> ResponseAPDU {
        let sent = command.encoded(extended: forceExtended)
        guard position < script.count else {
            throw TransportError(
                code: .unexpectedCommand, reason: "command #\(position + 1) after the end of the script")
        }
        let expected = script[position]
        guard sent == expected.command else {
            throw TransportError(
                code: .unexpectedCommand,
                reason:
                    "command #\(position + 1) was \(sent.hexString), the script expects \(expected.command.hexString)")
        }
        position += 1
        do {
            return try ResponseAPDU(bytes: expected.response)
        } catch {
            throw .protocolError("scripted response #\(position) is malformed: \(error)")
        }
    }
}
