import CardCore

/// One libFuzzer target: a name, what it feeds, the function that takes one input, and where its seeds come from.
///
/// The same functions run in two places: `cccd-fuzz` (the `Fuzz/` package, built with `-sanitize=fuzzer,address`
/// by `make fuzz`) and the normal test suite, which runs every seed and every input that ever crashed, leaked or
/// ran slow (`Tests/Fixtures/fuzz/<target>/`) through them.
///
/// A target's function must never trap on any input: a parser answers with a typed error, never a crash. Where a
/// round trip exists (parse → encode → parse) the target also checks it and traps when it does not hold, so that a
/// parser that accepts what its own encoder cannot reproduce is found as well.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the input is, in a line (shown by `cccd-fuzz list`).
    public let summary: String
    /// Runs one input. Returns what happened in a few words ("accepted", "rejected: …"), for tests and listings.
    public let run: @Sendable ([UInt8]) -> FuzzOutcome
    /// Seed inputs (from `Vectors/` and the sample card), computed on demand.
    public let seeds: @Sendable () -> [[UInt8]]

    public init(
        name: String, summary: String, seeds: @escaping @Sendable () -> [[UInt8]],
        run: @escaping @Sendable ([UInt8]) -> FuzzOutcome
    ) {
        self.name = name
        self.summary = summary
        self.seeds = seeds
        self.run = run
    }
}

/// What one input did to a target: taken as valid, or refused with a typed error (never a crash).
public enum FuzzOutcome: Hashable, Sendable, CustomStringConvertible {
    case accepted
    case rejected(String)

    public var isAccepted: Bool { self == .accepted }

    public var description: String {
        switch self {
        case .accepted: return "accepted"
        case .rejected(let why): return "rejected: \(why)"
        }
    }

    /// Runs `body`; a thrown error is a rejection named by its type.
    static func of(_ body: () throws -> Void) -> FuzzOutcome {
        do {
            try body()
            return .accepted
        } catch {
            return .rejected(String(describing: type(of: error)))
        }
    }
}

/// Every target, in the order `make fuzz` runs them.
public enum FuzzTargets {
    public static let all: [FuzzTarget] =
        ParserTargets.all + SecurityTargets.all + RecordTargets.all + EmulatorTargets.all + EACTargets.all
        + ImageAndDeskTargets.all + RelayTargets.all

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// A round-trip property that failed: a bug, reported as a crash so the fuzzer keeps the input.
func roundTripFailed(_ what: String, file: StaticString = #file, line: UInt = #line) -> Never {
    fatalError("round trip failed: \(what)", file: file, line: line)
}

/// The names of the stored properties in which two values differ (for a round-trip failure's message; values are
/// not shown).
func differingProperties<T>(_ a: T, _ b: T) -> [String] {
    let left = Mirror(reflecting: a).children
    let right = Array(Mirror(reflecting: b).children)
    return zip(left, right).compactMap { l, r in
        String(describing: l.value) == String(describing: r.value) ? nil : (l.label ?? "?")
    }
}

/// Reads a fuzz input as a stream of small decisions and byte strings (for targets that take structured input).
struct FuzzInput {
    private var bytes: ArraySlice<UInt8>
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// A length-prefixed chunk (one length byte, then up to that many bytes).
    mutating func chunk() -> [UInt8] {
        let n = Int(byte())
        let take = bytes.prefix(n)
        bytes = bytes.dropFirst(take.count)
        return Array(take)
    }

    /// A chunk with a two-byte length (for the few inputs that may exceed 255 bytes).
    mutating func longChunk() -> [UInt8] {
        let n = Int(byte()) << 8 | Int(byte())
        let take = bytes.prefix(n)
        bytes = bytes.dropFirst(take.count)
        return Array(take)
    }

    mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}

/// Seeds for sequence targets: each command as `control, length, bytes`.
func commandSequence(_ commands: [[UInt8]], control: UInt8 = 0) -> [UInt8] {
    var out: [UInt8] = []
    for c in commands where c.count <= 255 {
        out.append(control)
        out.append(UInt8(c.count))
        out.append(contentsOf: c)
    }
    return out
}
