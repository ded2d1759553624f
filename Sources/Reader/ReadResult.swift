import CardCore
import CardCrypto
import ChipAccess
import LDS
import Verification

/// One verdict per check of a read.
public struct ReadChecks: Sendable, Hashable {
    public var passiveAuthentication = Verdict.notChecked("not verified")
    public var chipAuthentication = Verdict.notChecked("not performed")
    public var activeAuthentication = Verdict.notChecked("not performed")
    public var documentValidity = Verdict.notChecked("not verified")
    public var recordConsistency = Verdict.notChecked("not verified")
    /// EAC Terminal Authentication (with `--terminal`): not a requirement of "genuine"; it opens DG3/DG4.
    public var terminalAuthentication = Verdict.notChecked("not performed")
    public init() {}
}

/// The raw files a read brought back and what it cost on the wire.
public struct ReadResult: Sendable {
    public var files: [LDSFile: [UInt8]] = [:]
    /// Files listed but deliberately not read, with the reason (Terminal Authentication needed, not asked for).
    public var skipped: [LDSFile: String] = [:]
    /// Files that should have been read but could not be (absent, refused, malformed, broken channel), with the
    /// reason.
    public var unreadable: [LDSFile: String] = [:]
    /// Files the chip says it does not have (6A82); each is in `unreadable` too.
    public var absent: Set<LDSFile> = []
    /// The data groups EF.SOD lists (signs), or nil when EF.SOD could not be read.
    public var securityObjectGroups: Set<Int>?
    /// EF.SOD as the read parsed it (once): its CMS and the security object inside, for Passive Authentication.
    public var securityObject: (document: SecurityObjectDocument, object: LDSSecurityObject)?
    /// PACE ran with the Chip Authentication mapping (so the chip's key must be proven against DG14).
    public var usedChipAuthenticationMapping = false
    /// The document's expiry from DG1 (nil: no expiry, or DG1 not read).
    public var dateOfExpiry: CalendarDate?
    /// The two answers a desk needs, decided in one place (`Assessment`).
    public var assessment = Assessment.unassessed
    public var accessControl: String?
    public var checks = ReadChecks()
    /// Passive Authentication in detail (hashes, signature, chain, validity, revocation).
    public var passiveAuthentication: PassiveAuthentication.Result?
    /// Fallbacks and other departures from the plan.
    public var notes: [String] = []
    /// DG1's MRZ and DG13 as parsed by the verification (each file is parsed once; the report uses these).
    public var mrz: MRZ?
    public var dataGroup13: DataGroup13?
    public var apduCount = 0
    public var bytesSent = 0
    public var bytesReceived = 0

    /// An empty result: nothing read, nothing verified (`assessment` is `unassessed`).
    public init(accessControl: String? = nil) { self.accessControl = accessControl }
}

/// A step of a read, as it starts (no data of the card: file names and sizes only).
public enum ReadStep: Sendable, Hashable, CustomStringConvertible {
    /// "PACE-CAN", "PACE-MRZ", "BAC".
    case accessControl(String)
    /// `bytes` of the file's `of` read so far.
    case reading(file: String, bytes: Int, of: Int)
    case chipAuthentication
    case activeAuthentication
    case terminalAuthentication
    case passiveAuthentication

    public var description: String {
        switch self {
        case .accessControl(let name): return name
        case .reading(let file, let bytes, let total):
            return total >= 2048
                ? "reading \(file) \(bytes / 1024)/\(total / 1024) KB" : "reading \(file) \(bytes)/\(total) B"
        case .chipAuthentication: return "Chip Authentication"
        case .activeAuthentication: return "Active Authentication"
        case .terminalAuthentication: return "Terminal Authentication"
        case .passiveAuthentication: return "Passive Authentication"
        }
    }
}
