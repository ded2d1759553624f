import CardCore
import ChipAccess
import RelayWire

/// What a phone (or anyone on the network) sends the bank's relay: every message the server parses, and tokens.
enum RelayTargets {
    static let all: [FuzzTarget] = [messages]

    static let secret: [UInt8] = (0..<32).map { UInt8($0) }

    /// Input: one message as a client sends it; the first byte picks how it is read (hello, answer/abort, a
    /// server message as the reference client reads it, a token, the back end's session request).
    static let messages = FuzzTarget(
        name: "relay-messages",
        summary: "the relay's wire: hello, answer and abort messages, server messages, session tokens (strict, bounded)",
        seeds: {
            let issuer = try? RelayTokenIssuer(secret: secret)
            let token = issuer?.issue(client: "seed", card: .can("000000")).token ?? "v1.x.y"
            var hello = RelayHello(token: token, can: "000000", extendedLength: true)
            hello.client = "seed/1"
            hello.atr = [0x3B, 0x88, 0x80, 0x01]
            return [
                [0] + Array(hello.json().utf8),
                [1] + Array(RelayAnswer(seq: 3, apdu: [0x87, 0x09, 0x01, 0x90, 0x00]).json().utf8),
                [1] + Array(RelayClientMessage.abort("tag lost").json().utf8),
                [2] + Array(RelayServerMessage.command(seq: 1, apdu: [0x00, 0xA4, 0x04, 0x0C]).json().utf8),
                [2] + Array(RelayServerMessage.error(RelayError(.tampering, "x")).json().utf8),
                [3] + Array(token.utf8),
                [0] + Array("{\"type\":\"hello\",\"version\":1,\"token\":\"t\",\"can\":\"1\",\"can\":\"2\"}".utf8),
            ]
        }
    ) { input in
        guard let mode = input.first else { return .rejected("empty") }
        let body = Array(input.dropFirst())
        switch mode % 4 {
        case 0:
            return FuzzOutcome.of {
                let hello = try RelayHello(json: body)
                // What parses encodes and parses back to the same hello.
                let again = try RelayHello(json: Array(hello.json().utf8))
                if again != hello { roundTripFailed("hello: \(differingProperties(hello, again))") }
            }
        case 1:
            return FuzzOutcome.of {
                let message = try RelayClientMessage(json: body)
                let again = try RelayClientMessage(json: Array(message.json().utf8))
                if again != message { roundTripFailed("client message") }
            }
        case 2:
            return FuzzOutcome.of {
                let message = try RelayServerMessage(json: body)
                let again = try RelayServerMessage(json: Array(message.json().utf8))
                if again != message { roundTripFailed("server message") }
            }
        default:
            return FuzzOutcome.of {
                guard let issuer = try? RelayTokenIssuer(secret: secret) else { return }
                let claims = try issuer.verify(String(decoding: body, as: UTF8.self))
                // A token that verifies was issued with this secret: its claims issue the same token again.
                if try issuer.verify(issuer.issue(claims)) != claims { roundTripFailed("token claims") }
            }
        }
    }
}
