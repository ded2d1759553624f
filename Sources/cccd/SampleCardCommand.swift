import ArgumentParser
import CardEmulator
import Foundation

struct SampleCardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-card",
        abstract: "Write the synthetic sample Vietnamese card image (for demos and tests; no real person).",
        discussion: """
            The card: ID 001090000000, born 1990-01-01, male, valid to 2030-01-01, "Nguyễn Văn A"; BAC key from
            the ID (--id 001090000000 --dob 900101 --doe 300101). DG2 and EF.SOD hold filler until data
            preparation exists.
            """
    )

    @Option(help: "Where to write the card image (JSON).")
    var out: String

    @Option(help: "Size of the DG2 filler in bytes.")
    var dg2Size = 20_000

    func validate() throws {
        guard (0...60_000).contains(dg2Size) else { throw ValidationError("--dg2-size must be 0...60000.") }
    }

    func run() throws {
        let data = try SampleCard.image(dg2Size: dg2Size).json()
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        print("wrote \(out) (\(data.count) bytes)")
    }
}
