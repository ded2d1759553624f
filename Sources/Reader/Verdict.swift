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

/// How a read may proceed.
public struct ReadOptions: Sendable {
    /// Use BAC when PACE is offered but cannot run (never on a wrong password). Reported in the result.
    public var allowBACFallback = false
    /// Run Chip Authentication when DG14 offers it.
    public var chipAuthentication = true
    /// Run Active Authentication when DG15 is present.
    public var activeAuthentication = true
    /// Only these data groups (plus what CA/AA need); nil for every group EF.COM lists.
    public var dataGroups: Set<Int>? = nil

    public init(allowBACFallback: Bool = false, chipAuthentication: Bool = true, activeAuthentication: Bool = true, dataGroups: Set<Int>? = nil) {
        self.allowBACFallback = allowBACFallback
        self.chipAuthentication = chipAuthentication
        self.activeAuthentication = activeAuthentication
        self.dataGroups = dataGroups
    }
}
