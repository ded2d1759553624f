/// Counts what crosses a transport: APDUs, bytes sent and received (encoded, as on the wire).
/// Round trips are the first cost of a read; benchmarks and tests assert these counts.
public final class MeteredTransport: CardTransport {
    public let base: any CardTransport
    public private(set) var apduCount = 0
    public private(set) var bytesSent = 0
    public private(set) var bytesReceived = 0

    public init(_ base: any CardTransport) { self.base = base }

    public var capabilities: TransportCapabilities { base.capabilities }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        apduCount += 1
        bytesSent += command.encoded().count
        CardLog.sent(command, layer: "wire")
        let response = try base.transmit(command)
        bytesReceived += response.data.count + 2
        CardLog.received(response, layer: "wire")
        return response
    }

    public func reset() {
        apduCount = 0
        bytesSent = 0
        bytesReceived = 0
    }
}
