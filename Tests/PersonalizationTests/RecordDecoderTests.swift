import Foundation
import Personalization
import TestSupport
import Testing

/// One row: the bytes of a file, and the rule, field and words the decoder must report.
struct DecoderCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let rule: String
    let field: String
    /// Words the message must contain (the place: line, column, byte; the suggestion).
    var says: [String] = []
    /// The problem is about the whole file (encoding, no records): the batch throws instead of reporting a line.
    var wholeFile = false
    var testDescription: String { name }
}

@Suite("Citizen records: one strict decoder for validate, prepare and every batch")
struct RecordDecoderTests {
    /// A valid record on one line (the sample card's).
    static let record: String = {
        let text =
            (try? String(contentsOfFile: VectorFile.directory + "/sample-card/record.json", encoding: .utf8)) ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    /// The sample record's fingerprints, as record.json writes them.
    static let fingers =
        "\"fingerprints\":[{\"position\":2,\"image\":\"finger-2.jp2\"},{\"position\":7,\"image\":\"finger-7.jp2\"}]"

    static func replacing(_ a: String, _ b: String) -> [UInt8] {
        Array(record.replacingOccurrences(of: a, with: b).utf8)
    }

    static func utf16(_ text: String, bigEndian: Bool, mark: Bool) -> [UInt8] {
        var out: [UInt8] = mark ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let pair = [UInt8(unit >> 8), UInt8(unit & 0xFF)]
            out += bigEndian ? pair : pair.reversed()
        }
        return out
    }

    static let cases: [DecoderCase] = [
        DecoderCase(
            name: "UTF-8 with a byte-order mark", bytes: [0xEF, 0xBB, 0xBF] + Array(record.utf8),
            rule: "record.encoding", field: "record", says: ["byte-order mark", "EF BB BF"], wholeFile: true),
        DecoderCase(
            name: "UTF-16LE with its mark", bytes: utf16(record, bigEndian: false, mark: true), rule: "record.encoding",
            field: "record", says: ["UTF-16LE"], wholeFile: true),
        DecoderCase(
            name: "UTF-16BE with its mark", bytes: utf16(record, bigEndian: true, mark: true), rule: "record.encoding",
            field: "record", says: ["UTF-16BE"], wholeFile: true),
        DecoderCase(
            name: "UTF-16LE without a mark", bytes: utf16(record, bigEndian: false, mark: false),
            rule: "record.encoding", field: "record", says: ["UTF-16LE"], wholeFile: true),
        DecoderCase(
            name: "UTF-32LE with its mark", bytes: [0xFF, 0xFE, 0x00, 0x00, 0x7B, 0, 0, 0], rule: "record.encoding",
            field: "record", says: ["UTF-32LE"], wholeFile: true),
        DecoderCase(
            name: "invalid UTF-8 (a Windows-1258 byte) names line and byte",
            bytes: Array("{\"idNumber\": \"1\"}\n".utf8) + Array(record.utf8.prefix(30)) + [0xD0]
                + Array(record.utf8.dropFirst(30)),
            rule: "record.utf8", field: "record", says: ["line 2", "byte 31 of the line", "0xD0"]),
        DecoderCase(
            name: "a truncated UTF-8 sequence",
            bytes: Array("{\"fullName\": \"Nguy".utf8) + [0xE1, 0xBB] + Array("n\"}".utf8),
            rule: "record.utf8", field: "record", says: ["byte 19 of the line"]),
        DecoderCase(
            name: "an overlong UTF-8 form of '/'", bytes: Array("{\"a\": \"".utf8) + [0xC0, 0xAF] + Array("\"}".utf8),
            rule: "record.utf8", field: "record", says: ["byte 8"]),
        DecoderCase(
            name: "a UTF-8-encoded surrogate",
            bytes: Array("{\"a\": \"".utf8) + [0xED, 0xA0, 0x80] + Array("\"}".utf8),
            rule: "record.utf8", field: "record"),
        DecoderCase(
            name: "a syntax error names line and column", bytes: replacing("\"sex\":\"M\",", "\"sex\":\"M\",,"),
            rule: "record.syntax", field: "record", says: ["line 1, column 91", "found character ','"]),
        DecoderCase(
            name: "a missing closing brace", bytes: Array(record.utf8.dropLast()), rule: "record.syntax",
            field: "record", says: ["one whole line"]),
        DecoderCase(
            name: "a string that never closes", bytes: Array("{\"idNumber\": \"0010".utf8), rule: "record.syntax",
            field: "record", says: ["column 14"]),
        DecoderCase(
            name: "single quotes are not JSON", bytes: Array("{'idNumber': '001090000000'}".utf8),
            rule: "record.syntax", field: "record", says: ["column 2"]),
        DecoderCase(
            name: "a trailing comma", bytes: replacing("\"finger-7.jp2\"}]}", "\"finger-7.jp2\"}],}"),
            rule: "record.syntax", field: "record"),
        DecoderCase(
            name: "content after the record", bytes: Array((record + " {}").utf8), rule: "record.syntax",
            field: "record", says: ["after the JSON value"]),
        DecoderCase(
            name: "a raw tab inside a string", bytes: replacing("Nguyễn Văn A", "Nguyễn\tVăn A"), rule: "record.syntax",
            field: "record", says: ["control character 0x09"]),
        DecoderCase(
            name: "a lone surrogate escape", bytes: replacing("Nguyễn Văn A", "Nguy\\ud800n"), rule: "record.syntax",
            field: "record", says: ["surrogate"]),
        DecoderCase(
            name: "a list, not a record", bytes: Array("[1, 2]".utf8), rule: "record.notObject", field: "record",
            says: ["a list"]),
        DecoderCase(
            name: "nesting a record needs never", bytes: Array(("{\"a\":" + String(repeating: "[", count: 40)).utf8),
            rule: "record.syntax", field: "record", says: ["deeper"]),
        DecoderCase(
            name: "an unknown key suggests the nearest", bytes: replacing("\"spouseName\"", "\"spouseNmae\""),
            rule: "record.unknownKey", field: "spouseNmae", says: ["did you mean \"spouseName\"", "column"]),
        DecoderCase(
            name: "a key in the wrong case", bytes: replacing("\"idNumber\"", "\"IDNumber\""),
            rule: "record.unknownKey",
            field: "IDNumber", says: ["did you mean \"idNumber\""]),
        DecoderCase(
            name: "a key by another name", bytes: replacing("\"placeOfResidence\"", "\"address\""),
            rule: "record.unknownKey", field: "address", says: ["did you mean \"placeOfResidence\""]),
        DecoderCase(
            name: "a key far from any", bytes: replacing("\"religion\"", "\"bloodType\""), rule: "record.unknownKey",
            field: "bloodType"),
        DecoderCase(
            name: "a key given twice", bytes: replacing("\"sex\":\"M\"", "\"sex\":\"M\",\"sex\":\"F\""),
            rule: "record.duplicateKey", field: "sex", says: ["twice"]),
        DecoderCase(
            name: "a number where text belongs",
            bytes: replacing("\"oldIdNumber\":\"012345678\"", "\"oldIdNumber\":12345678"),
            rule: "record.type", field: "oldIdNumber", says: ["found a number", "leading zeros"]),
        DecoderCase(
            name: "true where text belongs", bytes: replacing("\"sex\":\"M\"", "\"sex\":true"), rule: "record.type",
            field: "sex", says: ["found true or false"]),
        DecoderCase(
            name: "null for a required field", bytes: replacing("\"fullName\":\"Nguyễn Văn A\"", "\"fullName\":null"),
            rule: "record.type", field: "fullName", says: ["null"]),
        DecoderCase(
            name: "a list where text belongs", bytes: replacing("\"religion\":\"Không\"", "\"religion\":[\"Không\"]"),
            rule: "record.type", field: "religion", says: ["a list"]),
        DecoderCase(
            name: "fingerprints not a list", bytes: replacing(Self.fingers, "\"fingerprints\":5"),
            rule: "record.type", field: "fingerprints"),
        DecoderCase(
            name: "a finger position as text",
            bytes: replacing(Self.fingers, "\"fingerprints\":[{\"position\":\"1\",\"image\":\"f.wsq\"}]"),
            rule: "record.type", field: "fingerprints[0].position"),
        DecoderCase(
            name: "a misspelt key in a finger",
            bytes: replacing(Self.fingers, "\"fingerprints\":[{\"positon\":1,\"image\":\"f.wsq\"}]"),
            rule: "record.unknownKey", field: "fingerprints[0].positon", says: ["did you mean \"position\""]),
        DecoderCase(
            name: "a required key missing", bytes: replacing("\"dateOfIssue\":\"2021-04-10\",", ""),
            rule: "record.missing", field: "dateOfIssue"),
        DecoderCase(
            name: "an empty batch", bytes: Array("\n   \n\r\n".utf8), rule: "batch.empty", field: "batch",
            says: ["no records"], wholeFile: true),
        DecoderCase(
            name: "a zero-byte batch", bytes: [], rule: "batch.empty", field: "batch", says: ["no records"],
            wholeFile: true),
    ]

    @Test("Table of files the decoder refuses: rule, field and place", arguments: cases)
    func table(_ c: DecoderCase) throws {
        // The batch path (`cccd validate`, every batch command).
        do {
            let lines = try BatchValidation.validate(jsonLines: c.bytes, baseDirectory: nil)
            #expect(!c.wholeFile, "a whole-file problem must throw, got \(lines)")
            let issues = lines.flatMap(\.errors)
            let issue = try #require(issues.first { $0.rule == c.rule }, "expected \(c.rule), got \(issues)")
            #expect(issue.field == c.field)
            for word in c.says { #expect(issue.message.contains(word), "\(issue.message) lacks \(word)") }
            #expect(!lines.contains { $0.valid && $0.line > 1 } || c.rule == "record.utf8")
        } catch let error as RecordDecodingError {
            #expect(c.wholeFile, "\(error)")
            let problem = try #require(error.problems.first)
            #expect(problem.rule == c.rule && problem.field == c.field)
            for word in c.says { #expect(problem.description.contains(word), "\(problem) lacks \(word)") }
        }
        // The single-record path (`cccd prepare`) says the same, for a one-record file.
        if !c.bytes.contains(0x0A) && c.rule != "batch.empty" {
            #expect {
                _ = try RecordDecoder.decodeRecord(c.bytes)
            } throws: { error in
                guard let e = error as? RecordDecodingError else { return false }
                return e.problems.contains { $0.rule == c.rule && $0.field == c.field }
            }
        }
    }

    @Test("The valid sample record decodes the same as Foundation's decoder reads it, and round-trips")
    func roundTrip() throws {
        let strict = try RecordDecoder.decodeRecord(Array(Self.record.utf8))
        let foundation = try JSONDecoder().decode(CitizenRecord.self, from: Data(Self.record.utf8))
        #expect(strict == foundation)
        let again = try RecordDecoder.decodeRecord(Array(try JSONEncoder().encode(strict)))
        #expect(again == strict)
    }

    @Test("Escapes, CRLF line ends, pretty-printed single records and Unicode beyond the BMP")
    func escapesAndLayouts() throws {
        let escaped = Self.replacing("Nguyễn Văn A", "Nguy\\u1ec5n V\\u0103n A \\ud83d\\ude00 \\\"q\\\" \\\\ \\/")
        let record = try RecordDecoder.decodeRecord(escaped)
        #expect(record.fullName == "Nguyễn Văn A 😀 \"q\" \\ /")
        // A batch written on Windows.
        let crlf = Array((Self.record + "\r\n" + Self.record + "\r\n").utf8)
        let entries = try RecordDecoder.decodeBatch(crlf)
        #expect(entries.map(\.line) == [1, 2])
        #expect(entries.allSatisfy { (try? $0.result.get()) != nil })
        // prepare's file may be laid out on many lines.
        let pretty = try JSONSerialization.data(
            withJSONObject: try JSONSerialization.jsonObject(with: Data(Self.record.utf8)), options: .prettyPrinted)
        #expect(try RecordDecoder.decodeRecord(Array(pretty)).idNumber == "001090000000")
    }

    @Test("A syntax error on a later line of a pretty-printed record names that line and column")
    func positionsInPrettyFiles() throws {
        let text = "{\n  \"idNumber\": \"001090000000\",\n  \"fullName\": \"Nguyễn\" \"x\"\n}"
        #expect {
            _ = try RecordDecoder.decodeRecord(Array(text.utf8))
        } throws: { error in
            guard let p = (error as? RecordDecodingError)?.problems.first else { return false }
            // Column in characters: `  "fullName": "Nguyễn" ` is 23 characters, the stray string starts at 24.
            return p.rule == "record.syntax" && p.line == 3 && p.column == 24
        }
    }

    @Test("Every problem of a record is reported at once, in file order")
    func allProblemsAtOnce() throws {
        let text = String(decoding: Self.replacing("\"spouseName\"", "\"spouseNmae\""), as: UTF8.self)
            .replacingOccurrences(of: "\"sex\":\"M\"", with: "\"sex\":1")
        #expect {
            _ = try RecordDecoder.decodeRecord(Array(text.utf8))
        } throws: { error in
            let rules = (error as? RecordDecodingError)?.problems.map(\.rule) ?? []
            return rules == ["record.type", "record.unknownKey"]
        }
    }

    @Test("A line of random bytes never traps the decoder", arguments: 0..<4)
    func randomBytes(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<300 {
            let count = Int.random(in: 0..<200, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) {
                // Mostly JSON-looking text, to reach deeper paths.
                let alphabet = Array("{}[]\":,0123456789-eE.tfnul \\u\"idNumber".utf8)
                bytes = bytes.map { alphabet[Int($0) % alphabet.count] }
            }
            _ = try? RecordDecoder.decodeBatch(bytes)
            _ = try? RecordDecoder.decodeRecord(bytes)
        }
    }

    @Test("Suggestions: transpositions, case, aliases; none for a key far from every known one")
    func suggestions() {
        #expect(RecordDecoder.suggestion(for: "spouseNmae") == "spouseName")
        #expect(RecordDecoder.suggestion(for: "dateofbirth") == "dateOfBirth")
        #expect(RecordDecoder.suggestion(for: "dateOfBrith") == "dateOfBirth")
        #expect(RecordDecoder.suggestion(for: "oldIDNumber") == "oldIdNumber")
        #expect(RecordDecoder.suggestion(for: "gender") == "sex")
        #expect(RecordDecoder.suggestion(for: "zzz") == nil)
        #expect(RecordDecoder.suggestion(for: String(repeating: "x", count: 100_000)) == nil)
    }
}

@Suite("Validation rules are a contract")
struct ValidationRuleContractTests {
    @Test("README's table lists every rule with its kind and meaning, in order")
    func readmeTable() throws {
        let readme = try String(contentsOfFile: VectorFile.directory + "/../README.md", encoding: .utf8)
        let after = try #require(readme.components(separatedBy: "### Validation rules").dropFirst().first)
        let section = after.components(separatedBy: "\n## ").first ?? after
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(rows.count == ValidationRules.all.count)
        for (row, rule) in zip(rows, ValidationRules.all) {
            #expect(row == ["`\(rule.name)`", rule.severity.rawValue, rule.meaning])
        }
        #expect(Set(ValidationRules.all.map(\.name)).count == ValidationRules.all.count)
    }

    @Test("Every rule the record and decoder tables meet is catalogued, with the right severity")
    func tablesUseCataloguedRules() throws {
        for c in RecordValidationTests.cases {
            var r = RecordValidationTests.base
            c.change(&r)
            let result = RecordValidator(today: RecordValidationTests.today).validate(r)
            for e in result.errors { #expect(ValidationRules.rule(named: e.rule)?.severity == .error, "\(e.rule)") }
            for w in result.warnings { #expect(ValidationRules.rule(named: w.rule)?.severity == .warning, "\(w.rule)") }
        }
        for c in RecordDecoderTests.cases { #expect(ValidationRules.rule(named: c.rule) != nil, "\(c.rule)") }
    }
}
