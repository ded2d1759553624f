import EAC
import LDS
import Verification

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
    /// Trusted CSCAs (and CRLs) for Passive Authentication; nil: the chain is not checked.
    public var trust: TrustStore? = nil
    /// The date documents are checked against (today when nil).
    public var today: CalendarDate? = nil
    /// The largest file a card may announce (bytes). A larger one is not read and fails its check.
    public var maxFileSize = ReadOptions.defaultMaxFileSize
    /// Read EF.COM too. EF.SOD decides what is read (EF.COM is not signed), so by default EF.COM is read only
    /// when EF.SOD cannot be read or lists nothing: one round trip less. Set it to keep every file of the card
    /// (`cccd read --out`, `--fields complete`, the line's read-back).
    public var readsEFCOM = false
    /// An inspection system's certificates and key: Terminal Authentication runs after Chip Authentication and
    /// DG3/DG4 are read as far as the chain grants. Nil: they are skipped (not a check of "genuine").
    public var terminal: TerminalCredentials? = nil
    /// Open the card again when its secure channel breaks (a garbled answer, a chip out of step) and read on. Off
    /// for the relay (`cccd relay`): there an answer that fails secure messaging is a relay that altered, replayed
    /// or reordered it, and the read ends.
    public var reopensBrokenChannel = true

    /// 1 MiB: real DG2 portraits are 10–100 KB and DG3 fingerprints under 200 KB, so this leaves room for any
    /// card in use while bounding what a hostile card can make the terminal read. Offsets of odd-INS READ
    /// BINARY reach 16 MiB, the largest value this may take.
    public static let defaultMaxFileSize = 1 << 20
    public static let maxFileSizeRange = 256...(1 << 24 - 1)

    public init(
        allowBACFallback: Bool = false, chipAuthentication: Bool = true, activeAuthentication: Bool = true,
        dataGroups: Set<Int>? = nil, trust: TrustStore? = nil, today: CalendarDate? = nil
    ) {
        self.allowBACFallback = allowBACFallback
        self.chipAuthentication = chipAuthentication
        self.activeAuthentication = activeAuthentication
        self.dataGroups = dataGroups
        self.trust = trust
        self.today = today
    }
}
