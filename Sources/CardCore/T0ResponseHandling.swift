/// Gives any transport T=0 response handling (ISO/IEC 7816-4 §5.3.4 and §5.1.3):
/// `61xx` → GET RESPONSE until the data is complete; `6Cxx` → the same command again with Le = xx (once).
/// A hostile card cannot loop it forever: at most `maxGetResponses` GET RESPONSE commands per command.
public final class T0ResponseHandling: CardTransport {
    public let base: any CardTransport
    public let maxGetResponses: Int

    public init(_ base: any CardTransport, maxGetResponses: Int = 256) {
        self.base = base
        self.maxGetResponses = maxGetResponses
    }

    public var capabilities: TransportCapabilities { base.capabilities }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        var response = try base.transmit(command)
        if let exact = response.statusWord.exactLe {
            var again = command
            again.ne = exact
            response = try base.transmit(again)
        }
        guard response.statusWord.availableBytes != nil else { return response }
        var data = response.data
        var rounds = 0
        while let waiting = response.statusWord.availableBytes {
            rounds += 1
            guard rounds <= maxGetResponses else {
                throw TransportError.protocolError(
                    "card kept answering 61xx after \(maxGetResponses) GET RESPONSE commands")
            }
            let getResponse = CommandAPDU(cla: command.cla & 0x03, ins: 0xC0, p1: 0, p2: 0, ne: waiting)
            response = try base.transmit(getResponse)
            data.append(contentsOf: response.data)
        }
        return ResponseAPDU(data: data, statusWord: response.statusWord)
    }
}
