import ArgumentParser
import CardEmulator
import Foundation

struct SampleCardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-card",
        abstract: "Write the synthetic sample Vietnamese card image (for demos and tests; no real person).",
        discussion: """
            The card: ID 001090000000, born 1990-01-01, male, valid to 2030-01-01, "Nguyễn Văn A". Like the CCCD
            it offers PACE (CAN 000000 = the last 6 digits of the ID; or the MRZ), BAC (--id 001090000000 --dob
            900101 --doe 300101), Chip Authentication (brainpoolP256r1, DG14) and Active Authentication (RSA-2048,
            DG15), with fresh keys each time. DG2 and EF.SOD hold filler until data preparation exists.
            """
    )

    @Option(help: "Where to write the card image (JSON).")
    var out: String

    @Option(help: "Size of the DG2 filler in bytes.")
    var dg2Size = 20_000

    @Flag(help: "A BAC-only card (no EF.CardAccess, DG14 or DG15).")
    var bacOnly = false

    @Flag(help: "Give the chip CA and AA keys that do not match DG14/DG15: a clone, for testing verdicts.")
    var clone = false

    func validate() throws {
        guard (0...60_000).contains(dg2Size) else { throw ValidationError("--dg2-size must be 0...60000.") }
    }

    func run() throws {
        let data = try SampleCard.image(
            dg2Size: dg2Size, security: bacOnly ? .bacOnly : .vietnamese, mismatchedKeys: clone
        ).json()
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        print("wrote \(out) (\(data.count) bytes)")
    }
}
