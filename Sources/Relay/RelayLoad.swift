import CardCore
import ChipAccess
import Foundation
import RelayWire

/// Many relay sessions at once, each with its own card and token (benchmarks, the soak test): what one server
/// holds.
public enum RelayLoad {
    public struct Session: Sendable {
        public var seconds: Double
        public var genuine: Bool
        public var apdus: Int
        /// The error code or verdict when not genuine.
        public var problem: String?
    }

    /// `count` sessions started together; `card` makes each session's card (called on the session's task).
    public static func run(
        url: String, count: Int, tokens: RelayTokenIssuer, key: AccessKey, link: RelayClient.Link,
        card: @escaping @Sendable () throws -> any CardTransport
    ) async -> [Session] {
        await withTaskGroup(of: Session.self) { group in
            for i in 0..<count {
                group.addTask {
                    let token = tokens.issue(client: "load-\(i)", card: key).token
                    var hello = RelayHello(token: token)
                    switch key {
                    case .can(let can): hello.can = can
                    case .mrz(let mrz):
                        hello.documentNumber = mrz.documentNumber
                        hello.dateOfBirth = mrz.dateOfBirth
                        hello.dateOfExpiry = mrz.dateOfExpiry
                    default: break
                    }
                    hello.client = "relay-load"
                    var sessionLink = link
                    sessionLink.seed = link.seed &+ UInt64(i) &* 0x9E37_79B9
                    do {
                        let chip = try card()
                        hello.extendedLength = chip.capabilities.supportsExtendedLength
                        let outcome = try await RelayClient.run(url: url, hello: hello, card: chip, link: sessionLink)
                        switch outcome.final {
                        case .result(_, let genuine, let verdict, _)?:
                            return Session(
                                seconds: outcome.seconds, genuine: genuine, apdus: outcome.commands,
                                problem: genuine ? nil : verdict)
                        case .error(let error)?:
                            return Session(seconds: outcome.seconds, genuine: false, apdus: outcome.commands, problem: "\(error)")
                        default:
                            return Session(seconds: outcome.seconds, genuine: false, apdus: outcome.commands, problem: "no result")
                        }
                    } catch {
                        return Session(seconds: 0, genuine: false, apdus: 0, problem: "\(error)")
                    }
                }
            }
            var out: [Session] = []
            for await session in group { out.append(session) }
            return out
        }
    }

    /// The p-th percentile (0…100) of `values` (nearest rank).
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
