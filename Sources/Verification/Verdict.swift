/// The outcome of one check of a read (DESIGN.md: passed / failed / not checked, each with its reason).
public struct Verdict: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Status: String, Hashable, Sendable, Codable {
        case passed, failed, notChecked
    }

    public var status: Status
    public var reason: String

    public init(_ status: Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public static func passed(_ reason: String) -> Verdict { Verdict(.passed, reason) }
    public static func failed(_ reason: String) -> Verdict { Verdict(.failed, reason) }
    public static func notChecked(_ reason: String) -> Verdict { Verdict(.notChecked, reason) }

    public var description: String { "\(status.rawValue): \(reason)" }
}
