import CardCore
/// Why records could not be read: one problem or several (every wrong key of a record at once), each with its
/// rule (README, "Validation rules"), the field, and where in the file.
public struct RecordDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Problem: Hashable, Sendable, Codable, CustomStringConvertible {
        public var rule: String
        public var field: String
        /// 1-based line in the file.
        public var line: Int
        /// 1-based column (characters) on that line, when known.
        public var column: Int?
        public var message: String

        public var description: String {
            "line \(line)\(column.map { ", column \($0)" } ?? ""): \(field): \(message) [\(rule)]"
        }

        /// The problem as a validation issue (the message says where).
        public var issue: ValidationIssue {
            ValidationIssue(
                field: field, rule: rule, message: "\(message) (line \(line)\(column.map { ", column \($0)" } ?? ""))")
        }
    }

    public var problems: [Problem]

    public init(_ problems: [Problem]) { self.problems = problems }

    init(rule: String, field: String = "record", line: Int, column: Int? = nil, _ message: String) {
        problems = [Problem(rule: rule, field: field, line: line, column: column, message: message)]
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// The one reader of citizen records, shared by `validate`, `prepare` and every batch command, so they never
/// disagree about what a file says. UTF-8 only (a byte-order mark or UTF-16/32 is refused, naming the encoding);
/// invalid UTF-8 is reported with its line and byte, never replaced; strict JSON with line and column; every key
/// known (an unknown one suggests the nearest known key), every value of its field's type.
public enum RecordDecoder {
    enum Kind {
        case text, optionalText, fingerprints
    }

    /// The keys of a record and what each holds.
    static let fields: [(key: String, kind: Kind)] = [
        ("idNumber", .text), ("fullName", .text), ("dateOfBirth", .text), ("sex", .text), ("nationality", .text),
        ("ethnicity", .optionalText), ("religion", .optionalText), ("placeOfOrigin", .text),
        ("placeOfResidence", .text), ("identifyingMarks", .optionalText), ("dateOfIssue", .text),
        ("dateOfExpiry", .optionalText), ("fatherName", .optionalText), ("motherName", .optionalText),
        ("spouseName", .optionalText), ("oldIdNumber", .optionalText), ("portrait", .optionalText),
        ("fingerprints", .fingerprints),
    ]

    /// Every key a record may have, in the order of the README.
    public static var knownKeys: [String] { fields.map(\.key) }

    /// Names people use for a field, when the nearest spelling would not find it.
    static let aliases: [String: String] = [
        "name": "fullName", "fullname": "fullName", "dob": "dateOfBirth", "birthdate": "dateOfBirth",
        "gender": "sex", "address": "placeOfResidence", "residence": "placeOfResidence", "hometown": "placeOfOrigin",
        "origin": "placeOfOrigin", "expiry": "dateOfExpiry", "expirydate": "dateOfExpiry", "issuedate": "dateOfIssue",
        "photo": "portrait", "face": "portrait", "cmnd": "oldIdNumber", "oldid": "oldIdNumber", "id": "idNumber",
        "cccd": "idNumber", "father": "fatherName", "mother": "motherName", "spouse": "spouseName",
    ]

    /// One record file: exactly one JSON object, laid out in any way.
    public static func decodeRecord(_ data: [UInt8]) throws(RecordDecodingError) -> CitizenRecord {
        try checkEncoding(data)
        let text = Text(data)
        if let bad = firstInvalidUTF8(data, in: 0..<data.count) { throw text.invalidUTF8(at: bad) }
        guard data.contains(where: { !Text.isSpace($0) }) else {
            throw RecordDecodingError(rule: "record.empty", line: 1, "the file holds no record")
        }
        return try record(in: text, range: 0..<data.count, lineMode: false)
    }

    /// One line of a batch and what it holds.
    public struct Entry: Sendable {
        public var line: Int
        public var result: Result<CitizenRecord, RecordDecodingError>
    }

    /// A batch in JSON Lines: one record per line, blank lines ignored. A problem of the whole file (its encoding,
    /// no records at all) throws; a line that cannot be read is an entry with its problems, and the rest go on.
    public static func decodeBatch(_ data: [UInt8]) throws(RecordDecodingError) -> [Entry] {
        try checkEncoding(data)
        let text = Text(data)
        var entries: [Entry] = []
        for (index, range) in text.lines.enumerated() {
            var content = range
            if content.upperBound > content.lowerBound, data[content.upperBound - 1] == 0x0D {
                content = content.lowerBound..<(content.upperBound - 1)
            }
            if let bad = firstInvalidUTF8(data, in: content) {
                entries.append(Entry(line: index + 1, result: .failure(text.invalidUTF8(at: bad))))
                continue
            }
            guard data[content].contains(where: { !Text.isSpace($0) }) else { continue }
            do {
                entries.append(
                    Entry(line: index + 1, result: .success(try record(in: text, range: content, lineMode: true))))
            } catch {
                entries.append(Entry(line: index + 1, result: .failure(error)))
            }
        }
        guard !entries.isEmpty else {
            throw RecordDecodingError(rule: "batch.empty", field: "batch", line: 1, "no records (the batch is empty)")
        }
        return entries
    }

    // MARK: - Encoding

    static func checkEncoding(_ data: [UInt8]) throws(RecordDecodingError) {
        func refuse(_ encoding: String, _ detail: String) -> RecordDecodingError {
            RecordDecodingError(
                rule: "record.encoding", line: 1, column: 1,
                "the file is \(encoding) (\(detail)); records must be UTF-8 without a byte-order mark")
        }
        let b = data
        if b.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { throw refuse("UTF-32BE", "byte-order mark 00 00 FE FF") }
        if b.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { throw refuse("UTF-32LE", "byte-order mark FF FE 00 00") }
        if b.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw RecordDecodingError(
                rule: "record.encoding", line: 1, column: 1,
                "the file is UTF-8 with a byte-order mark (EF BB BF); save it as UTF-8 without a BOM")
        }
        if b.starts(with: [0xFE, 0xFF]) { throw refuse("UTF-16BE", "byte-order mark FE FF") }
        if b.starts(with: [0xFF, 0xFE]) { throw refuse("UTF-16LE", "byte-order mark FF FE") }
        // No mark, but ASCII text in UTF-16 has a zero byte beside each character.
        if b.count >= 4 {
            if b[0] != 0 && b[1] == 0 && b[3] == 0 { throw refuse("UTF-16LE", "no byte-order mark, zero bytes") }
            if b[0] == 0 && b[1] != 0 && b[2] == 0 { throw refuse("UTF-16BE", "no byte-order mark, zero bytes") }
        }
    }

    // MARK: - Records

    static func record(in text: Text, range: Range<Int>, lineMode: Bool) throws(RecordDecodingError)
        -> CitizenRecord
    {
        let root: StrictJSON.Located
        do {
            root = try StrictJSON.parse(text.bytes, in: range)
        } catch {
            let (line, column) = text.position(of: min(error.offset, max(range.lowerBound, range.upperBound - 1)))
            var message = error.message
            if lineMode && error.atEnd {
                message += "; in a batch each record is one whole line (JSON Lines)"
            }
            if let key = error.duplicateKey {
                throw RecordDecodingError(
                    rule: "record.duplicateKey", field: key, line: line, column: column, message)
            }
            throw RecordDecodingError(rule: "record.syntax", line: line, column: column, message)
        }
        guard case .object(let members) = root.value else {
            let (line, column) = text.position(of: root.offset)
            throw RecordDecodingError(
                rule: "record.notObject", line: line, column: column,
                "a record is a JSON object ({ … }), not \(root.value.kind)")
        }
        var problems: [RecordDecodingError.Problem] = []
        func problem(_ rule: String, _ field: String, at offset: Int, _ message: String) {
            let (line, column) = text.position(of: offset)
            problems.append(.init(rule: rule, field: field, line: line, column: column, message: message))
        }
        var strings: [String: String?] = [:]
        var fingerprints: [CitizenRecord.Fingerprint]? = nil
        let byKey = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.kind) })
        for member in members {
            guard let kind = byKey[member.key] else {
                var message = "unknown key"
                if let near = suggestion(for: member.key) { message += "; did you mean \"\(near)\"?" }
                problem("record.unknownKey", member.key, at: member.keyOffset, message)
                continue
            }
            let v = member.value
            switch (kind, v.value) {
            case (.text, .string(let s)), (.optionalText, .string(let s)): strings[member.key] = .some(s)
            case (.optionalText, .null): strings[member.key] = .some(nil)
            case (.text, .null):
                problem("record.type", member.key, at: v.offset, "is null; a text value is required")
            case (.text, let other), (.optionalText, let other):
                problem(
                    "record.type", member.key, at: v.offset,
                    "expected text in double quotes, found \(other.kind)"
                        + (member.key.hasSuffix("Number") ? " (numbers lose their leading zeros: quote them)" : ""))
            case (.fingerprints, .null): fingerprints = nil
            case (.fingerprints, .array(let items)):
                fingerprints = []
                for (index, item) in items.enumerated() {
                    let path = "fingerprints[\(index)]"
                    guard case .object(let entry) = item.value else {
                        problem("record.type", path, at: item.offset, "expected an object {position, image}")
                        continue
                    }
                    var position: Int?
                    var image: String?
                    for m in entry {
                        switch (m.key, m.value.value) {
                        case ("position", .number(let n)):
                            guard let p = Int(n), (0...15).contains(p) else {
                                problem(
                                    "record.type", path + ".position", at: m.value.offset,
                                    "expected a whole number 0–15 (ISO 19794-4 finger position), found \(n)")
                                continue
                            }
                            position = p
                        case ("image", .string(let s)): image = s
                        case ("position", let other):
                            problem(
                                "record.type", path + ".position", at: m.value.offset,
                                "expected a number, found \(other.kind)")
                        case ("image", let other):
                            problem(
                                "record.type", path + ".image", at: m.value.offset, "expected text, found \(other.kind)"
                            )
                        default:
                            var message = "unknown key"
                            if let near = nearest(m.key, among: ["position", "image"]) {
                                message += "; did you mean \"\(near)\"?"
                            }
                            problem("record.unknownKey", path + "." + m.key, at: m.keyOffset, message)
                        }
                    }
                    if let position, let image {
                        fingerprints?.append(.init(position: position, image: image))
                    } else if entry.allSatisfy({ ["position", "image"].contains($0.key) }) {
                        problem(
                            "record.missing", path + (position == nil ? ".position" : ".image"), at: item.offset,
                            "missing key")
                    }
                }
            case (.fingerprints, let other):
                problem(
                    "record.type", member.key, at: v.offset, "expected a list of {position, image}, found \(other.kind)"
                )
            }
        }
        for (key, kind) in fields where kind == .text && strings[key] == nil {
            if problems.contains(where: { $0.field == key }) { continue }
            problem("record.missing", key, at: root.offset, "missing key (required)")
        }
        guard problems.isEmpty else { throw RecordDecodingError(problems) }
        func value(_ key: String) -> String { (strings[key] ?? nil) ?? "" }
        func optional(_ key: String) -> String? { strings[key] ?? nil }
        return CitizenRecord(
            idNumber: value("idNumber"), fullName: value("fullName"), dateOfBirth: value("dateOfBirth"),
            sex: value("sex"),
            nationality: value("nationality"), ethnicity: optional("ethnicity"), religion: optional("religion"),
            placeOfOrigin: value("placeOfOrigin"), placeOfResidence: value("placeOfResidence"),
            identifyingMarks: optional("identifyingMarks"), dateOfIssue: value("dateOfIssue"),
            dateOfExpiry: optional("dateOfExpiry"), fatherName: optional("fatherName"),
            motherName: optional("motherName"), spouseName: optional("spouseName"),
            oldIdNumber: optional("oldIdNumber"), portrait: optional("portrait"), fingerprints: fingerprints)
    }

    // MARK: - Suggestions

    /// The known key nearest to an unknown one (`spouseNmae` → `spouseName`), if any is near enough.
    public static func suggestion(for key: String) -> String? {
        let folded = key.lowercased().filter { $0.isLetter }
        if let alias = aliases[folded] { return alias }
        return nearest(key, among: knownKeys)
    }

    static func nearest(_ key: String, among candidates: [String]) -> String? {
        guard key.utf8.count <= 64 else { return nil }
        let k = Array(key.lowercased().unicodeScalars)
        let limit = max(2, k.count / 3)
        var best: (String, Int)?
        for c in candidates {
            let candidate = Array(c.lowercased().unicodeScalars)
            // The distance is at least the difference in length: a candidate that far off is never the answer.
            guard abs(candidate.count - k.count) <= min(limit, (best?.1 ?? Int.max) - 1) else { continue }
            let d = distance(k, candidate)
            if d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        guard let best, best.1 <= limit else { return nil }
        return best.0
    }

    /// Edit distance with adjacent transpositions (optimal string alignment): `Nmae` is one step from `Name`.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        let width = b.count + 1
        var d = [Int](repeating: 0, count: (a.count + 1) * width)
        for i in 0...a.count { d[i * width] = i }
        for j in 0...b.count { d[j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(d[(i - 1) * width + j] + 1, d[i * width + j - 1] + 1, d[(i - 1) * width + j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    v = min(v, d[(i - 2) * width + j - 2] + 1)
                }
                d[i * width + j] = v
            }
        }
        return d[a.count * width + b.count]
    }

    // MARK: - Positions

    /// The bytes of a file with its line starts, to turn offsets into lines and columns.
    struct Text {
        let bytes: [UInt8]
        /// Offsets where each line starts.
        let lineStarts: [Int]

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            var starts = [0]
            for (i, b) in bytes.enumerated() where b == 0x0A { starts.append(i + 1) }
            lineStarts = starts
        }

        static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        /// Each line's byte range, without its line feed.
        var lines: [Range<Int>] {
            lineStarts.enumerated().map { index, start in
                start..<(index + 1 < lineStarts.count ? lineStarts[index + 1] - 1 : bytes.count)
            }
        }

        /// 1-based line of an offset.
        func line(of offset: Int) -> Int {
            var low = 0
            var high = lineStarts.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
            }
            return low + 1
        }

        /// 1-based line and column (characters: Unicode scalars, in valid UTF-8) of an offset.
        func position(of offset: Int) -> (line: Int, column: Int) {
            let line = line(of: offset)
            let start = lineStarts[line - 1]
            let column = bytes[start..<min(offset, bytes.count)].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
            return (line, column)
        }

        func invalidUTF8(at offset: Int) -> RecordDecodingError {
            let line = line(of: offset)
            let inLine = offset - lineStarts[line - 1]
            return RecordDecodingError(
                rule: "record.utf8", line: line,
                String(
                    format: "invalid UTF-8 at byte %d of the line (byte %d of the file): 0x%02X", inLine + 1,
                    offset + 1, bytes[offset]) + "; the file must be UTF-8 (not Windows-1258 or another code page)")
        }
    }
}
