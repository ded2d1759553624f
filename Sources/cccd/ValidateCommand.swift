import ArgumentParser
import Foundation
import Personalization

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check citizen records (JSON Lines) before a card is spent on them.",
        discussion: """
            Each line is one record (keys: idNumber, fullName, dateOfBirth YYYY-MM-DD, sex M/F, nationality, \
            ethnicity, religion, placeOfOrigin, placeOfResidence, identifyingMarks, dateOfIssue, dateOfExpiry or \
            null, fatherName, motherName, spouseName, oldIdNumber, portrait path or base64, fingerprints). \
            The file must be UTF-8 without a byte-order mark; every key must be known and every value of its type \
            (errors name the line and column, and suggest the nearest key for a misspelt one). \
            Checked: the 12-digit ID (place code, century/sex digit, birth year), real and ordered dates, the \
            25/40/60 expiry rule, names that transliterate to the MRZ, files that fit the profile's capacities, and \
            a portrait that decodes. Relative portrait paths are resolved against the batch file's folder. \
            Every rule name is listed in the README ("Validation rules").

            Exit codes: 0 every record valid, 2 at least one invalid (or no records, or not UTF-8), 1 the batch \
            or the profile cannot be read.
            """
    )

    @Option(help: "The batch: one JSON record per line (UTF-8).")
    var batch: String?

    @Flag(help: "Print every validation rule (name, error or warning, meaning) and exit; with --json as an array.")
    var rules = false

    @Option(
        help: ArgumentHelp(
            "The card profile whose file capacities and MRZ rules apply: a built-in name or a YAML path.",
            valueName: "name|path"))
    var profile: String = "vn-cccd-2021"

    @Flag(help: "Print a JSON array: one object per record with line, idNumber, valid, errors, warnings.")
    var json = false

    func validate() throws {
        if batch == nil && !rules { throw ValidationError("give --batch FILE (or --rules to list the rules)") }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        if rules {
            if json {
                print(String(decoding: try Self.encoder.encode(ValidationRules.all), as: UTF8.self))
            } else {
                for r in ValidationRules.all {
                    print(
                        "\(r.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(r.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.meaning)"
                    )
                }
            }
            return
        }
        guard let batch else { return }
        let cardProfile: CardProfile
        do { cardProfile = try CardProfile(nameOrPath: profile) } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        guard let data = FileManager.default.contents(atPath: batch) else {
            throw fail("cannot read \(batch)", code: CCCDExit.failure)
        }
        let folder = (batch as NSString).deletingLastPathComponent
        let results: [BatchValidation.Line]
        do {
            results = try BatchValidation.validate(
                jsonLines: [UInt8](data), baseDirectory: folder.isEmpty ? "." : folder,
                validator: RecordValidator(profile: cardProfile))
        } catch {
            // The whole file is unusable: its encoding, or no records at all.
            if json {
                let lines = error.problems.map {
                    BatchValidation.Line(line: $0.line, idNumber: nil, valid: false, errors: [$0.issue], warnings: [])
                }
                print(String(decoding: try Self.encoder.encode(lines), as: UTF8.self))
            }
            throw fail(
                "\(batch): " + error.problems.map(\.description).joined(separator: "; "), code: CCCDExit.invalidRecords)
        }
        if json {
            print(String(decoding: try Self.encoder.encode(results), as: UTF8.self))
        } else {
            for r in results {
                print("line \(r.line)  \(r.idNumber ?? "?")  \(r.valid ? "valid" : "INVALID")")
                for e in r.errors { print("    error   \(e.field): \(e.message) [\(e.rule)]") }
                for w in r.warnings { print("    warning \(w.field): \(w.message) [\(w.rule)]") }
            }
            let invalid = results.filter { !$0.valid }.count
            print("\(plural(results.count, "record")): \(results.count - invalid) valid, \(invalid) invalid")
        }
        if results.contains(where: { !$0.valid }) { throw ExitCode(CCCDExit.invalidRecords) }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
