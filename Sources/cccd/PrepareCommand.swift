import ArgumentParser
import Foundation
import LDS
import Personalization

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn one citizen record into a card image: validate, build every file, sign EF.SOD.",
        discussion: """
            The record (one JSON object, UTF-8) is read by the same strict decoder as `cccd validate` and validated \
            against the profile; an invalid record produces no card and a list of reasons (exit 2). \
            The image holds EF.CardAccess, EF.COM, DG1 (TD1 MRZ), DG2 (portrait), DG3 (fingers, if any), DG13, \
            DG14 (Chip Authentication key), DG15 (Active Authentication key), EF.SOD signed by the document \
            signer, and the chip's secrets (MRZ key, CAN, fresh CA and AA private keys).

            Example: cccd prepare --profile vn-cccd-2021 --signer out/pki \\
                       --record Vectors/sample-card/record.json --out out/card.json
            """
    )

    @Option(
        help: ArgumentHelp(
            "A built-in card profile by name (vn-cccd-2021), or a profile YAML file by path.", valueName: "name|path"))
    var profile: String = "vn-cccd-2021"

    @Option(help: "A folder with the document signer: ds.crt and ds.key (see `cccd pki init`).")
    var signer: String

    @Option(help: "The citizen record (one JSON object). Relative portrait paths are resolved against its folder.")
    var record: String

    @Option(help: "Where to write the card image (JSON).")
    var out: String

    func run() throws {
        let cardProfile: CardProfile
        let documentSigner: DocumentSigner
        let citizen: CitizenRecord
        do {
            cardProfile = try CardProfile(nameOrPath: profile)
            documentSigner = try DocumentSigner.load(directory: signer)
            guard let data = FileManager.default.contents(atPath: record) else {
                throw PreparationError(reason: "cannot read \(record)")
            }
            citizen = try RecordDecoder.decodeRecord([UInt8](data))
        } catch let error as PreparationError {
            throw fail(error.description, code: CCCDExit.failure)
        } catch let error as RecordDecodingError {
            // The same decoder as `validate`: a record it cannot read is an invalid record.
            throw fail(
                "\(record) is not a readable record:\n" + error.problems.map { "  \($0)" }.joined(separator: "\n"),
                code: CCCDExit.invalidRecords)
        }
        let folder = (record as NSString).deletingLastPathComponent
        let image: CardImage
        do {
            image = try DataPreparation.prepare(
                citizen, profile: cardProfile, signer: documentSigner, baseDirectory: folder.isEmpty ? "." : folder)
        } catch let error as PreparationError {
            throw fail(error.description, code: error.issues.isEmpty ? CCCDExit.failure : CCCDExit.invalidRecords)
        }
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try image.json().write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: out)
        let files = image.lDSFiles.keys.sorted().map(\.name).joined(separator: ", ")
        print("wrote \(out): \(cardProfile.name), \(files) (the image holds the chip's private keys: keep it safe)")
    }
}
