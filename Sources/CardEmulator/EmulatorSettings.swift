import CardCore

/// How the software chip behaves on the link, for tests and benchmarks.
public struct EmulatorSettings: Hashable, Sendable {
    /// Extended-length APDUs accepted (an extended command is answered 6700 otherwise).
    public var supportsExtendedLength: Bool
    /// The largest response data field the chip sends in one APDU (protected responses included).
    public var maxResponseLength: Int
    public var faultPlan: FaultPlan

    public init(supportsExtendedLength: Bool = true, maxResponseLength: Int = 65536, faultPlan: FaultPlan = .init()) {
        self.supportsExtendedLength = supportsExtendedLength
        self.maxResponseLength = maxResponseLength
        self.faultPlan = faultPlan
    }
}

/// Faults to inject: a pulled card, a status word at a given command, a chip that refuses extended Le.
public struct FaultPlan: Hashable, Sendable {
    /// After this many commands the link drops: every later command throws `TransportError.cardRemoved`.
    public var dropLinkAfterCommands: Int?
    /// Answer the k-th command (1-based) with this status word instead of processing it.
    public var statusForCommand: [Int: StatusWord]
    /// Answer 6700 to every command whose Ne is over 256 (a chip that claims extended length but refuses it).
    public var wrongLengthForExtendedLe: Bool

    public init(
        dropLinkAfterCommands: Int? = nil, statusForCommand: [Int: StatusWord] = [:],
        wrongLengthForExtendedLe: Bool = false
    ) {
        self.dropLinkAfterCommands = dropLinkAfterCommands
        self.statusForCommand = statusForCommand
        self.wrongLengthForExtendedLe = wrongLengthForExtendedLe
    }
}
