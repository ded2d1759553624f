import CardCore

/// How the software chip behaves on the link, for tests and benchmarks.
public struct EmulatorSettings: Hashable, Sendable {
    /// Extended-length APDUs accepted (an extended command is answered 6700 otherwise).
    public var supportsExtendedLength: Bool
    /// The largest response data field the chip sends in one APDU (protected responses included).
    public var maxResponseLength: Int
    public var faultPlan: FaultPlan
    /// How this chip departs from the letter of ICAO 9303 in ways deployed chips do (all off: a textbook chip).
    public var oddities: ChipOddities

    public init(
        supportsExtendedLength: Bool = true, maxResponseLength: Int = 65536, faultPlan: FaultPlan = .init(),
        oddities: ChipOddities = .init()
    ) {
        self.supportsExtendedLength = supportsExtendedLength
        self.maxResponseLength = maxResponseLength
        self.faultPlan = faultPlan
        self.oddities = oddities
    }
}

/// Behaviours of card operating systems in the field that a reader must tolerate (combinable), so the reader's
/// tolerance is tested against each of them, in-process and through pcscd.
public struct ChipOddities: Hashable, Sendable, CustomStringConvertible {
    /// Under secure messaging, errors and warnings without data are answered as a plain status word, no MAC.
    public var plainErrorStatus = false
    /// Whether the chip counts such a plain answer in its send sequence counter (deployed chips differ).
    public var plainAnswersCountInSSC = true
    /// Plain answers carry the status as a bare DO'99' (`99 02 SW1 SW2`) without a MAC, instead of nothing.
    public var plainAnswersAsDO99 = false
    /// Protected answers carry DO'87' and DO'8E' but no DO'99' (the MAC covers what is there).
    public var noStatusObject = false
    /// A READ BINARY asking for more than is left in the file is refused with this status, no data, unprotected
    /// (6282, 6B00 or 6700), instead of returning what there is.
    public var readPastEndStatus: StatusWord? = nil
    /// READ BINARY by short file identifier is refused with this status (6A82, 6A86, 6B00, 6D00, 6981): files must
    /// be selected by their identifier.
    public var shortFileIDStatus: StatusWord? = nil
    /// The status for a wrong access key (BAC, PACE) instead of 6300, e.g. 6988.
    public var wrongKeyStatus: StatusWord? = nil

    public init(
        plainErrorStatus: Bool = false, plainAnswersCountInSSC: Bool = true, plainAnswersAsDO99: Bool = false,
        noStatusObject: Bool = false,
        readPastEndStatus: StatusWord? = nil, shortFileIDStatus: StatusWord? = nil, wrongKeyStatus: StatusWord? = nil
    ) {
        self.plainErrorStatus = plainErrorStatus
        self.plainAnswersCountInSSC = plainAnswersCountInSSC
        self.plainAnswersAsDO99 = plainAnswersAsDO99
        self.noStatusObject = noStatusObject
        self.readPastEndStatus = readPastEndStatus
        self.shortFileIDStatus = shortFileIDStatus
        self.wrongKeyStatus = wrongKeyStatus
    }

    /// Every oddity at once (plain answers counted in the SSC).
    public static let all = ChipOddities(
        plainErrorStatus: true, noStatusObject: true, readPastEndStatus: .endOfFileWarning,
        shortFileIDStatus: .incorrectP1P2, wrongKeyStatus: .incorrectSMDataObjects)

    /// The names `cccd emulate --oddity` takes: `plain-status`, `plain-status-uncounted`, `no-status-object`,
    /// `plain-status-do99`, `refuse-read-past-end[=SW]`, `no-sfi[=SW]`, `wrong-key[=SW]`, `all`.
    public static let names = [
        "plain-status", "plain-status-uncounted", "plain-status-do99", "no-status-object",
        "refuse-read-past-end[=6282]", "no-sfi[=6A86]",
        "wrong-key[=6988]", "all",
    ]

    /// Adds the oddity named (see `names`); throws a message for an unknown one.
    public mutating func add(_ spec: String) throws(OddityError) {
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        var status: StatusWord? = nil
        if parts.count == 2 {
            guard parts[1].count == 4, let v = UInt16(parts[1], radix: 16) else {
                throw OddityError(message: "\(spec): the status must be 4 hex digits, like 6A86")
            }
            status = StatusWord(rawValue: v)
        }
        switch name {
        case "plain-status": plainErrorStatus = true
        case "plain-status-uncounted":
            plainErrorStatus = true
            plainAnswersCountInSSC = false
        case "plain-status-do99":
            plainErrorStatus = true
            plainAnswersAsDO99 = true
        case "no-status-object": noStatusObject = true
        case "refuse-read-past-end": readPastEndStatus = status ?? .endOfFileWarning
        case "no-sfi": shortFileIDStatus = status ?? .incorrectP1P2
        case "wrong-key": wrongKeyStatus = status ?? .incorrectSMDataObjects
        case "all":
            let (counted, do99) = (plainAnswersCountInSSC, plainAnswersAsDO99)
            self = .all
            plainAnswersCountInSSC = counted
            plainAnswersAsDO99 = do99
        default:
            throw OddityError(message: "unknown oddity \"\(name)\"; known: \(Self.names.joined(separator: ", "))")
        }
    }

    public var description: String {
        var parts: [String] = []
        if plainErrorStatus { parts.append(plainAnswersCountInSSC ? "plain-status" : "plain-status-uncounted") }
        if plainAnswersAsDO99 { parts.append("plain-status-do99") }
        if noStatusObject { parts.append("no-status-object") }
        if let s = readPastEndStatus { parts.append("refuse-read-past-end=\(s.hex)") }
        if let s = shortFileIDStatus { parts.append("no-sfi=\(s.hex)") }
        if let s = wrongKeyStatus { parts.append("wrong-key=\(s.hex)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}

public struct OddityError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Faults to inject: a pulled card, a status word at a given command, a chip that refuses extended Le.
public struct FaultPlan: Hashable, Sendable {
    /// After this many commands the link drops: every later command throws `TransportError.cardRemoved`.
    public var dropLinkAfterCommands: Int?
    /// Answer the k-th command (1-based) with this status word instead of processing it.
    public var statusForCommand: [Int: StatusWord]
    /// Answer 6700 to every command whose Ne is over 256 (a chip that claims extended length but refuses it).
    public var wrongLengthForExtendedLe: Bool
    /// Under secure messaging, answer the k-th command with this status word unprotected (no DO'99', no MAC).
    public var plainStatusForCommand: [Int: StatusWord]
    /// Under secure messaging, the protected answer to the k-th command carries a wrong checksum (DO'8E'); on a
    /// blank chip, the answer's SCP03 R-MAC is wrong.
    public var wrongMACForCommand: Set<Int>
    /// Under secure messaging, the chip counts its send sequence counter one step too far before protecting the
    /// answer to the k-th command (so that answer, and every later one, is under the wrong SSC).
    public var wrongSSCForCommand: Set<Int>

    public init(
        dropLinkAfterCommands: Int? = nil, statusForCommand: [Int: StatusWord] = [:],
        wrongLengthForExtendedLe: Bool = false, plainStatusForCommand: [Int: StatusWord] = [:],
        wrongMACForCommand: Set<Int> = [], wrongSSCForCommand: Set<Int> = []
    ) {
        self.dropLinkAfterCommands = dropLinkAfterCommands
        self.statusForCommand = statusForCommand
        self.wrongLengthForExtendedLe = wrongLengthForExtendedLe
        self.plainStatusForCommand = plainStatusForCommand
        self.wrongMACForCommand = wrongMACForCommand
        self.wrongSSCForCommand = wrongSSCForCommand
    }
}
