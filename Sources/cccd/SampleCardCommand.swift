import CardCore
import ArgumentParser
import CardCrypto
import ChipImage
import Foundation
import LDS
import Personalization

struct SampleCardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-card",
        abstract: "Make the synthetic sample Vietnamese card: a real, signed card image and its TEST PKI.",
        discussion: """
            The sample record (built in; the same as Vectors/sample-card: ID 001090000000, "Nguyễn Văn A", born \
            1990-01-01, male, valid to 2030-01-01, a drawn portrait; no real person) goes through the real data \
            preparation of profile vn-cccd-2021, signed by a fresh TEST document signer. The card reads genuine \
            with --trust PKI/csca.crt, like any card `cccd prepare` makes.

            PACE uses the CAN 000000 (the last 6 digits of the ID) or the MRZ; BAC uses --id 001090000000 --dob \
            900101 --doe 300101.

            Example: cccd sample-card --out out/card.json && cccd read --card out/card.json --can 000000 \
            --trust out/sample-pki/csca.crt
            """
    )

    @Option(help: "Where to write the card image (JSON).")
    var out: String

    @Option(help: "Where to write the TEST CSCA and document signer (default: sample-pki beside --out).")
    var pki: String?

    @Flag(help: "An ICAO BAC-only card: no EF.CardAccess (PACE) and no Chip Authentication; AA kept.")
    var bacOnly = false

    @Flag(help: "Give the chip CA and AA keys that do not match DG14/DG15: a clone, for testing verdicts (exit 4).")
    var clone = false

    @Option(
        help:
            "Write a batch of N synthetic, valid, different records (JSON Lines) to --out instead of a card, with portrait.jpg beside it (for `cccd perso`)."
    )
    var records: Int?

    @Option(help: "With --records: the seed (the same seed gives the same batch).")
    var seed: UInt64 = 1

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        if let records {
            guard (1...1_000_000).contains(records) else {
                throw fail("--records must be 1…1000000", code: CCCDExit.failure)
            }
            let folder = (out as NSString).deletingLastPathComponent
            let base = folder.isEmpty ? "." : folder
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            try SampleRecord.writeImages(to: base)
            let batch = SampleRecord.batch(
                count: records, seed: seed, portrait: "portrait.jpg", today: CalendarDate.today())
            try SampleRecord.jsonLines(batch).write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out): \(records) synthetic records (no real person), portrait.jpg beside it")
            return
        }
        let folder = (out as NSString).deletingLastPathComponent
        let pkiFolder = pki ?? ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("sample-pki")
        let image: CardImage
        do {
            let testPKI = try TestPKI()
            let profile = bacOnly ? CardProfile.vietnamese2021.bacOnly : .vietnamese2021
            let record = try SampleRecord.record
            var prepared = try DataPreparation.prepare(
                record, profile: profile, signer: testPKI.signer,
                validator: RecordValidator(today: CalendarDate(iso: record.dateOfIssue)))
            if clone {
                // The files of the genuine card, chip keys of another: what a copy of the files onto a new chip is.
                let other = try DataPreparation.prepare(
                    record, profile: profile, signer: testPKI.signer,
                    validator: RecordValidator(today: CalendarDate(iso: record.dateOfIssue)))
                prepared.secrets.chipAuthenticationKey = other.secrets.chipAuthenticationKey
                prepared.secrets.activeAuthenticationKey = other.secrets.activeAuthenticationKey
            }
            image = prepared
            try testPKI.write(to: pkiFolder)
        } catch {
            throw fail("the sample card cannot be made: \(error)", code: CCCDExit.failure)
        }
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PrivateFile.write(try image.json(), to: out)
        print("wrote \(out)\(clone ? " (a clone)" : "") and the TEST PKI in \(pkiFolder)")
        print("read it: cccd read --card \(out) --can 000000 --trust \(pkiFolder)/csca.crt")
    }
}
