import ArgumentParser
import Foundation
import Personalization

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check citizen records (JSON Lines) before a card is spent on them.",
        discussion: """
            Each line is one record (fields: idNumber, fullName, dateOfBirth YYYY-MM-DD, sex M/F, nationality,
            ethnicity, religion, placeOfOrigin, placeOfResidence, identifyingMarks, dateOfIssue, dateOfExpiry or
            null, fatherName, motherName, spouseName, oldIdNumber, portrait path or base64, fingerprints).
            Checked: the 12-digit ID (place code, century/sex digit, birth year), real and ordered dates, the
            25/40/60 expiry rule, names that transliterate to the MRZ, lengths, and a portrait that decodes.
            Relative portrait paths are resolved against the batch file's folder.

            Exit codes: 0 every record valid, 2 at least one invalid, 1 the batch cannot be read.
            """
    )

    @Option(help: "The batch: one JSON record per line.")
    var batch: String

    @Flag(help: "Print a JSON array: one object per record with line, idNumber, valid, errors, warnings.")
    var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: batch) else {
            throw fail("cannot read \(batch)", code: CCCDExit.failure)
        }
        let folder = (batch as NSString).deletingLastPathComponent
        let results = BatchValidation.validate(jsonLines: data, baseDirectory: folder.isEmpty ? "." : folder)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            for r in results {
                print("line \(r.line)  \(r.idNumber ?? "?")  \(r.valid ? "valid" : "INVALID")")
                for e in r.errors { print("    error   \(e.field): \(e.message) [\(e.rule)]") }
                for w in r.warnings { print("    warning \(w.field): \(w.message) [\(w.rule)]") }
            }
            let invalid = results.filter { !$0.valid }.count
            print("\(results.count) records: \(results.count - invalid) valid, \(invalid) invalid")
        }
        if results.contains(where: { !$0.valid }) { throw ExitCode(CCCDExit.invalidRecords) }
    }
}
