import CardCore
import Foundation
import RelayWire
import HummingbirdWSClient
import Logging
import NIOCore

/// The reference relay client: what a bank's phone app does, in a page of code. It opens the WebSocket, sends the
/// hello (token and access key), passes each command to the card and its answer back, and returns the server's
/// result. Here it bridges any `CardTransport`: a PC/SC reader (our vpcd card included) or an in-process chip.
///
/// For tests and benchmarks it models the phone's network (`Link`) and can misbehave on purpose (`Tamper`).
public enum RelayClient {
    /// The phone's network, modelled at the client: each APDU exchange costs one `roundTrip` more (the command's
    /// way down and the answer's way up), and with probability `loss` one of its two messages is lost once and
    /// TCP sends it again after its retransmission timeout (200 ms, or two round trips if longer). WebSocket runs
    /// over TCP: a loss delays, it never drops.
    public struct Link: Sendable {
        public var roundTrip: Double
        public var loss: Double
        public var seed: UInt64
        public init(roundTrip: Double = 0, loss: Double = 0, seed: UInt64 = 1) {
            self.roundTrip = roundTrip
            self.loss = loss
            self.seed = seed
        }
        var retransmissionTimeout: Double { max(0.2, 2 * roundTrip) }
    }

    /// A relay that misbehaves (tests): what the server must catch.
    public enum Tamper: Sendable, Hashable {
        case none
        /// Answer every command with the answer a recorded session gave to the command of the same number; the card
        /// is not asked.
        case replay([[UInt8]])
        /// Never answer command `n`.
        case drop(Int)
        /// From command `n` on, deliver each card answer one command late (the server gets the answer to n − 1
        /// again for n, then the answer to n for n + 1, …): the answer stream reordered, labels kept.
        case reorderAnswers(Int)
        /// At command `n`, send its answer labelled n + 1 first, then labelled n: two answers out of order.
        case reorderLabels(Int)
        /// Answer command `n` twice.
        case duplicate(Int)
    }

    public struct Outcome: Sendable {
        /// The server's last message: a result or an error (nil if it closed without one).
        public var final: RelayServerMessage?
        /// Commands relayed and the card's answers (in order): a recording, for a replay test.
        public var answers: [[UInt8]]
        public var commands: Int
        public var seconds: Double
        /// The injected delay (round trips and retransmissions) in `seconds`.
        public var injectedSeconds: Double
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Runs one session: `card` answers the server's commands. `url`: ws://host:port/relay/v1 (wss:// behind TLS).
    public static func run(
        url: String, hello: RelayHello, card: any CardTransport, link: Link = .init(), tamper: Tamper = .none,
        logger: Logger = Logger(label: "cccd.relay.client")
    ) async throws -> Outcome {
        let state = ClientState(card: card, link: link, tamper: tamper)
        let started = Date()
        do {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: RelayProtocol.maxMessageBytes), logger: logger
            ) { inbound, outbound, _ in
                try await state.pause(link.roundTrip)
                try await outbound.write(.text(hello.json()))
                for try await message in inbound.messages(maxSize: RelayProtocol.maxMessageBytes) {
                    let bytes: [UInt8]
                    switch message {
                    case .text(let s): bytes = Array(s.utf8)
                    case .binary(let b): bytes = Array(buffer: b)
                    }
                    let parsed = try RelayServerMessage(json: bytes)
                    guard case .command(let seq, let apdu) = parsed else {
                        state.final = parsed
                        break
                    }
                    for text in try state.answer(seq: seq, apdu: apdu) {
                        try await state.pause(state.delay())
                        try await outbound.write(.text(text))
                    }
                }
            }
        } catch let error as RelayError {
            throw Failure(description: "the server's message does not parse: \(error)")
        } catch let error as Failure {
            throw error
        } catch {
            if state.final == nil { throw Failure(description: "the relay connection failed: \(error)") }
        }
        return Outcome(
            final: state.final, answers: state.recorded, commands: state.commands,
            seconds: Date().timeIntervalSince(started), injectedSeconds: state.injected)
    }

    /// Sends `messages` as they are (a protocol check, hostile input) and returns every message the server sent
    /// until it closed (at most `timeout` seconds).
    public static func exchange(
        url: String, messages: [String], timeout: Double = 10, logger: Logger = Logger(label: "cccd.relay.client")
    ) async throws -> [String] {
        let received = Locked<[String]>([])
        _ = try? await withTimeout(seconds: timeout) {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: RelayProtocol.maxMessageBytes), logger: logger
            ) { inbound, outbound, _ in
                for text in messages { try await outbound.write(.text(text)) }
                for try await message in inbound.messages(maxSize: RelayProtocol.maxMessageBytes) {
                    if case .text(let s) = message { received.withLock { $0.append(s) } }
                }
            }
        }
        return received.get()
    }

    /// The client's state (one connection's handler at a time).
    final class ClientState: @unchecked Sendable {
        let card: any CardTransport
        let link: Link
        let tamper: Tamper
        var random: UInt64
        var final: RelayServerMessage?
        var recorded: [[UInt8]] = []
        var commands = 0
        var injected = 0.0
        var held: [UInt8]?

        init(card: any CardTransport, link: Link, tamper: Tamper) {
            self.card = card
            self.link = link
            self.tamper = tamper
            random = link.seed | 1
        }

        /// The delay of one exchange: the round trip, plus a retransmission when a message is lost.
        func delay() -> Double {
            var d = link.roundTrip
            if link.loss > 0 {
                random ^= random >> 12
                random ^= random << 25
                random ^= random >> 27
                let u = Double((random &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
                if u < link.loss { d += link.retransmissionTimeout }
            }
            return d
        }

        func pause(_ seconds: Double) async throws {
            guard seconds > 0 else { return }
            injected += seconds
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        }

        /// The messages that answer command `seq`.
        func answer(seq: Int, apdu: [UInt8]) throws -> [String] {
            commands += 1
            if case .replay(let answers) = tamper {
                guard seq <= answers.count else { return [] }
                return [RelayAnswer(seq: seq, apdu: answers[seq - 1]).json()]
            }
            let response: [UInt8]
            do {
                response = try card.transmit(try CommandAPDU(bytes: apdu)).encoded
            } catch {
                return [RelayClientMessage.abort("the card did not answer: \(error)").json()]
            }
            recorded.append(response)
            switch tamper {
            case .drop(let n) where n == seq: return []
            case .reorderAnswers(let n) where seq >= n:
                let late = held ?? recorded[max(0, recorded.count - 2)]
                held = response
                return [RelayAnswer(seq: seq, apdu: late).json()]
            case .reorderLabels(let n) where n == seq:
                return [RelayAnswer(seq: seq + 1, apdu: response).json(), RelayAnswer(seq: seq, apdu: response).json()]
            case .duplicate(let n) where n == seq:
                return [RelayAnswer(seq: seq, apdu: response).json(), RelayAnswer(seq: seq, apdu: response).json()]
            default:
                return [RelayAnswer(seq: seq, apdu: response).json()]
            }
        }
    }
}
