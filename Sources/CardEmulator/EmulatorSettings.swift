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

/// How chips nobody here wrote depart from ICAO 9303, each item exactly as FIELD.md records it on the wire
/// (combinable), so that the reader's tolerance is tested against the bytes peers really send, in-process and
/// through pcscd. Variants FIELD.md does not record (a chip that counts its plain answers, a bare DO'99', other
/// refusal statuses) are faults (`FaultPlan`), not oddities: the emulator claims no chip sends them.
public struct ChipOddities: Hashable, Sendable, CustomStringConvertible {
    /// FIELD.md §1.1 (`over-read-6282`): a READ BINARY whose Le runs past the end of the file is answered with the
    /// data up to the end encrypted in DO'87', without DO'8E' and DO'99', status 6282, not counted in the SSC.
    public var overReadUnauthenticated = false
    /// FIELD.md §1.2 (`plain-errors`): under secure messaging every status but 9000 is a plain two-byte status,
    /// no DO'8E', not counted in the SSC.
    public var plainErrors = false
    /// FIELD.md §1.3 (`no-do99`): 9000 answers carry DO'87' (with data) and DO'8E' but never DO'99'.
    public var noStatusObject = false
    /// FIELD.md §1.4 (`wrong-key-6988`): a wrong BAC key is answered 6988 on EXTERNAL AUTHENTICATE (and a wrong
    /// PACE password on GENERAL AUTHENTICATE), not 6300.
    public var wrongKey6988 = false
    /// FIELD.md §1.5 (`no-sfi`): no short file identifiers: READ BINARY by SFI is answered 6A82.
    public var noShortFileIDs = false
    /// FIELD.md §2.4 (`sfi-as-offset`): READ BINARY takes P1 with bit 8 set as part of an offset; with no file
    /// selected the answer is 6985. (With a file selected the offset is negative as a Java short: 6B00, which
    /// FIELD.md does not record.)
    public var shortFileIDAsOffset = false
    /// FIELD.md §2.5 (`card-access-6986`): before the application is selected, READ BINARY is answered 6986
    /// (command not allowed, no current EF), and SELECT of an EF 6A82.
    public var noCurrentEFBeforeSelect = false
    /// FIELD.md §2.6 (`bac-until-reset`): once BAC has run, its state survives SELECT until the card is reset:
    /// a GET CHALLENGE is answered 6982 until then.
    public var bacStateUntilReset = false
    /// FIELD.md §2.2 (`no-serial`): GET DATA `80 CA 00 CF` is answered 6D00 (JMRTD's applet has no serial).
    public var noSerial = false

    public init(
        overReadUnauthenticated: Bool = false, plainErrors: Bool = false, noStatusObject: Bool = false,
        wrongKey6988: Bool = false, noShortFileIDs: Bool = false, shortFileIDAsOffset: Bool = false,
        noCurrentEFBeforeSelect: Bool = false, bacStateUntilReset: Bool = false, noSerial: Bool = false
    ) {
        self.overReadUnauthenticated = overReadUnauthenticated
        self.plainErrors = plainErrors
        self.noStatusObject = noStatusObject
        self.wrongKey6988 = wrongKey6988
        self.noShortFileIDs = noShortFileIDs
        self.shortFileIDAsOffset = shortFileIDAsOffset
        self.noCurrentEFBeforeSelect = noCurrentEFBeforeSelect
        self.bacStateUntilReset = bacStateUntilReset
        self.noSerial = noSerial
    }

    /// The Python ICAO card OS of FIELD.md §1 (vsmartcard's vicc): §1.1–1.4 (its stock TD3 card adds `no-sfi`).
    public static let vicc = ChipOddities(
        overReadUnauthenticated: true, plainErrors: true, noStatusObject: true, wrongKey6988: true)
    /// JMRTD's Java Card applet of FIELD.md §2, as a reader meets it: §2.4–2.6 and no serial (it has no
    /// extended length either: `EmulatorSettings.personality`).
    public static let jmrtdApplet = ChipOddities(
        shortFileIDAsOffset: true, noCurrentEFBeforeSelect: true, bacStateUntilReset: true, noSerial: true)
    /// Every item of FIELD.md §1 at once (the TD3 card's missing short identifiers included).
    public static let allOfSection1: ChipOddities = {
        var o = vicc
        o.noShortFileIDs = true
        return o
    }()

    /// One entry per item: its `--oddity` name, the FIELD.md item, what it does.
    public static var items: [(name: String, field: String, keyPath: WritableKeyPath<ChipOddities, Bool>)] {
        [
        ("over-read-6282", "§1.1", \.overReadUnauthenticated),
        ("plain-errors", "§1.2", \.plainErrors),
        ("no-do99", "§1.3", \.noStatusObject),
        ("wrong-key-6988", "§1.4", \.wrongKey6988),
        ("no-sfi", "§1.5", \.noShortFileIDs),
        ("sfi-as-offset", "§2.4", \.shortFileIDAsOffset),
        ("card-access-6986", "§2.5", \.noCurrentEFBeforeSelect),
        ("bac-until-reset", "§2.6", \.bacStateUntilReset),
        ("no-serial", "§2.2", \.noSerial),
        ]
    }

    /// The names `cccd emulate --oddity` takes: each item, and `vicc` (FIELD.md §1.1–1.4), `vicc-td3` (§1, all),
    /// `jmrtd-applet` (§2.2, 2.4–2.6, no extended length).
    public static let names = items.map(\.name) + ["vicc", "vicc-td3", "jmrtd-applet"]

    /// Adds the oddity or personality named (see `names`); throws a message for an unknown one.
    public mutating func add(_ name: String) throws(OddityError) {
        switch name {
        case "vicc": self = self.union(.vicc)
        case "vicc-td3": self = self.union(.allOfSection1)
        case "jmrtd-applet": self = self.union(.jmrtdApplet)
        default:
            guard let item = Self.items.first(where: { $0.name == name }) else {
                throw OddityError(message: "unknown oddity \"\(name)\"; known: \(Self.names.joined(separator: ", "))")
            }
            self[keyPath: item.keyPath] = true
        }
    }

    /// Both sets of oddities at once.
    public func union(_ other: ChipOddities) -> ChipOddities {
        var out = self
        for item in Self.items where other[keyPath: item.keyPath] { out[keyPath: item.keyPath] = true }
        return out
    }

    /// Whether the personality of JMRTD's applet (or one of its items) is in: the chip then has no extended length.
    public var refusesExtendedLength: Bool { self.union(.jmrtdApplet) == self }

    public var description: String {
        let parts = Self.items.filter { self[keyPath: $0.keyPath] }.map(\.name)
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}

extension EmulatorSettings {
    /// The settings of a chip with these oddities: JMRTD's applet has no extended length (FIELD.md §2.2).
    public static func personality(_ oddities: ChipOddities, faultPlan: FaultPlan = .init()) -> EmulatorSettings {
        EmulatorSettings(
            supportsExtendedLength: !oddities.refusesExtendedLength, faultPlan: faultPlan, oddities: oddities)
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

    // Hypothetical chips FIELD.md does not record, kept to test the reader's general rules.
    /// Errors and warnings without data go out unprotected, as a bare status word (like `plain-errors`) ...
    public var plainErrors = false
    /// ... but counted in the chip's SSC (the rule a reader must learn the other way).
    public var plainErrorsCounted = false
    /// ... as a bare DO'99' without MAC instead of a bare status word.
    public var plainErrorsAsDO99 = false
    /// A READ BINARY asking past the end is refused with this status, no data, unprotected (6282, 6B00, 6700).
    public var readPastEndStatus: StatusWord? = nil
    /// READ BINARY by short file identifier is refused with this status (6A86, 6B00, 6D00, 6981, 6985, …).
    public var shortFileIDStatus: StatusWord? = nil

    public init(
        dropLinkAfterCommands: Int? = nil, statusForCommand: [Int: StatusWord] = [:],
        wrongLengthForExtendedLe: Bool = false, plainStatusForCommand: [Int: StatusWord] = [:],
        wrongMACForCommand: Set<Int> = [], wrongSSCForCommand: Set<Int> = [], plainErrors: Bool = false,
        plainErrorsCounted: Bool = false, plainErrorsAsDO99: Bool = false, readPastEndStatus: StatusWord? = nil,
        shortFileIDStatus: StatusWord? = nil
    ) {
        self.plainErrors = plainErrors
        self.plainErrorsCounted = plainErrorsCounted
        self.plainErrorsAsDO99 = plainErrorsAsDO99
        self.readPastEndStatus = readPastEndStatus
        self.shortFileIDStatus = shortFileIDStatus
        self.dropLinkAfterCommands = dropLinkAfterCommands
        self.statusForCommand = statusForCommand
        self.wrongLengthForExtendedLe = wrongLengthForExtendedLe
        self.plainStatusForCommand = plainStatusForCommand
        self.wrongMACForCommand = wrongMACForCommand
        self.wrongSSCForCommand = wrongSSCForCommand
    }
}
