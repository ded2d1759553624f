import CardCore
import ArgumentParser
import ChipImage
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

    @Option(
        help: ArgumentHelp(
            "The document signer: a folder with ds.crt and ds.key (see `cccd pki init`), or a key in a PKCS#11 token, pkcs11:token=LABEL;object=ds (with --pkcs11 MODULE).",
            valueName: "dir|pkcs11-uri"))
    var signer: String

    @OptionGroup var token: PKCS11Options

    @OptionGroup var eacTrust: CVCAOption

    @Option(help: "The citizen record (one JSON object). Relative portrait paths are resolved against its folder.")
    var record: String?

    @Option(
        help: "A batch (JSON Lines): every valid record is prepared, in parallel on every core, into --out as a folder."
    )
    var batch: String?

    @Option(help: "Where to write the card image (JSON); with --batch, the folder for LINE-ID.json images.")
    var out: String

    @Option(
        help: ArgumentHelp(
            "TEST ONLY: derive the chip keys from this seed and each record's ID, so the same batch gives the same chips on any core (anyone with the seed has every key: never for real cards).",
            valueName: "text"))
    var seed: String?

    var keys: ChipKeySource { seed.map { .seeded(Array($0.utf8)) } ?? .random }

    func validate() throws {
        guard (record != nil) != (batch != nil) else { throw ValidationError("give --record FILE or --batch FILE") }
        if let seed, seed.isEmpty { throw ValidationError("--seed must not be empty") }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        if let batch { return try prepareBatch(batch) }
        guard let record else { return }
        let cardProfile: CardProfile
        let documentSigner: DocumentSigner
        let citizen: CitizenRecord
        do {
            cardProfile = try CardProfile(nameOrPath: profile)
            noteHostKeys(cardProfile)
            documentSigner = try token.signer(signer, cvca: eacTrust.cvca).0
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
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let folder = (record as NSString).deletingLastPathComponent
        let image: CardImage
        do {
            image = try DataPreparation.prepare(
                citizen, profile: cardProfile, signer: documentSigner, baseDirectory: folder.isEmpty ? "." : folder,
                keys: keys)
        } catch let error as PreparationError {
            throw fail(error.description, code: error.issues.isEmpty ? CCCDExit.failure : CCCDExit.invalidRecords)
        }
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PrivateFile.write(try image.json(), to: out)
        let files = image.lDSFiles.keys.sorted().map(\.name).joined(separator: ", ")
        print("wrote \(out): \(cardProfile.name), \(files) (the image holds the chip's private keys: keep it safe)")
    }

    /// Every valid record of a batch, prepared on every core (chip key generation dominates); invalid records are
    /// A card image is a whole chip for the emulator, keys included: for a profile whose chips make their own keys,
    /// say that these keys were made here, unlike the line's.
    func noteHostKeys(_ profile: CardProfile) {
        guard profile.keysMadeOnChip else { return }
        FileHandle.standardError.write(
            Data(
                "note: \(profile.name)'s chips make their own keys on a line (cccd perso never makes or holds one); these card images are whole chips for the emulator, with keys made on this host: files 0600, for development and tests\n"
                    .utf8))
    }

    /// listed with their reasons and skipped. Images go to OUT/LINE-ID.json.
    func prepareBatch(_ batch: String) throws {
        let cardProfile: CardProfile
        let documentSigner: DocumentSigner
        let entries: [RecordDecoder.Entry]
        do {
            cardProfile = try CardProfile(nameOrPath: profile)
            noteHostKeys(cardProfile)
            documentSigner = try token.signer(signer, cvca: eacTrust.cvca).0
            guard let data = FileManager.default.contents(atPath: batch) else {
                throw PreparationError(reason: "cannot read \(batch)")
            }
            entries = try RecordDecoder.decodeBatch([UInt8](data))
        } catch let error as RecordDecodingError {
            throw fail(
                "\(batch): " + error.problems.map(\.description).joined(separator: "; "), code: CCCDExit.invalidRecords)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let folder = (batch as NSString).deletingLastPathComponent
        let base = folder.isEmpty ? "." : folder
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let start = Date()
        let lock = NSLock()
        nonisolated(unsafe) var outcomes: [Int: String] = [:]
        nonisolated(unsafe) var written = 0
        // Signing with one key from several threads: OpenSSL 3 keys are read-only while signing, each signature has
        // its own context.
        nonisolated(unsafe) let signer = documentSigner
        let meter = SigningMeter()
        DispatchQueue.concurrentPerform(iterations: entries.count) { index in
            let entry = entries[index]
            let outcome: String
            switch entry.result {
            case .failure(let error):
                outcome = "REJECTED " + error.problems.map(\.description).joined(separator: "; ")
            case .success(let citizen):
                do {
                    let image = try DataPreparation.prepare(
                        citizen, profile: cardProfile, signer: signer, baseDirectory: base, keys: keys, meter: meter)
                    let path = (out as NSString).appendingPathComponent("\(entry.line)-\(citizen.idNumber).json")
                    try PrivateFile.write(try image.json(), to: path)
                    outcome = "prepared \(path)"
                    lock.withLock { written += 1 }
                } catch let error as PreparationError {
                    outcome = "REJECTED " + ([error.reason] + error.issues.map(\.description)).joined(separator: "; ")
                } catch {
                    outcome = "FAILED \(error)"
                }
            }
            lock.withLock { outcomes[entry.line] = outcome }
        }
        for line in outcomes.keys.sorted() where !(outcomes[line] ?? "").hasPrefix("prepared") {
            print("line \(line): \(outcomes[line] ?? "")")
        }
        let seconds = Date().timeIntervalSince(start)
        print(
            "\(written) of \(entries.count) records prepared into \(out) in \(String(format: "%.1f", seconds)) s "
                + "(\(String(format: "%.1f", seconds > 0 ? Double(written) / seconds : 0)) cards/s on \(ProcessInfo.processInfo.activeProcessorCount) cores)"
        )
        if meter.signatures > 0 {
            let kind = PKCS11URI.isURI(self.signer) ? "PKCS#11 token" : "file key"
            print(
                String(
                    format:
                        "EF.SOD signed %d times by the %@: %.0f signatures/s per signing thread (%.0f ms of %.1f s)",
                    meter.signatures, kind, meter.perSecondPerThread, meter.seconds * 1000, seconds))
        }
        if written < entries.count { throw ExitCode(CCCDExit.invalidRecords) }
    }
}
