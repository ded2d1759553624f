import ArgumentParser
import CCCDBench
import CardEmulator
import Foundation
import Reader

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: every figure next to its floor (the protocol minimum or raw OpenSSL), in one run.",
        discussion: """
            Run it from a release build (swift build -c release) on an idle machine. Sections: round trips (APDUs \
            and bytes of the Vietnamese read, the check-in read, a BAC read and a perso, extended length on and \
            off, next to the minimum computed from the card), the peers' read strategies on the same card with a \
            modelled contactless time, host CPU per verified read (reader and chip apart) next to the raw OpenSSL \
            operations it needs, data preparation cards/s next to its floor, secure messaging MB/s next to raw \
            cipher+MAC, and memory over many reads. --quick runs fewer iterations. See BENCHMARKS.md.
            """)

    @Flag(help: "One JSON object: the machine and one entry per figure (value, unit, floor, ratio).")
    var json = false

    @Flag(help: "Fewer iterations (under a minute).")
    var quick = false

    @Option(
        help: ArgumentHelp(
            "Only these sections: \(Bench.sections.joined(separator: ", ")) (comma-separated).", valueName: "list"))
    var only: String?

    func validate() throws {
        for s in only?.split(separator: ",").map(String.init) ?? [] where !Bench.sections.contains(s) {
            throw ValidationError("--only: no section \(s) (\(Bench.sections.joined(separator: ", ")))")
        }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        var bench = Bench(quick: quick, log: !json)
        if let only { bench.sectionsToRun = Set(only.split(separator: ",").map(String.init)) }
        try bench.all()
        if json {
            struct Output: Encodable {
                var machine: [String: String]
                var figures: [BenchFigure]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(Output(machine: Bench.machine(), figures: bench.figures))
            print(String(decoding: data, as: UTF8.self))
        } else {
            bench.printTable()
        }
    }
}

/// `cccd bench-reads N` (hidden): N verified reads of the sample card, for callgrind's instruction counts.
struct BenchReadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-reads", shouldDisplay: false)
    @Argument var reads: Int = 1
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let image = try SampleCard.image()
        for _ in 0..<reads {
            _ = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCard.can))
        }
    }
}

