import CardCore

/// Reads the worked-example files in `Vectors/`: `name = value` lines grouped into sections, a new section
/// starting at each comment line that follows an entry; a section's title is
/// the last comment line before its entries. Names may carry notes ("plain_1 (SELECT EF.DG1)"):
/// lookups match the whole name first, then the name up to its first space.
public struct VectorFile: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let value: String
        public var shortName: String { String(name.split(separator: " ", maxSplits: 1).first ?? "") }
    }

    public struct Section: Sendable {
        public let title: String
        public let entries: [Entry]

        public func has(_ name: String) -> Bool { find(name) != nil }

        public func find(_ name: String) -> Entry? {
            entries.first { $0.name == name } ?? entries.first { $0.shortName == name }
        }

        /// The value's text up to its first space ("123456 (PIN, key ref 03)" → "123456").
        public func text(_ name: String) throws -> String {
            guard let entry = find(name) else { throw VectorError("no entry '\(name)' in section '\(title)'") }
            return String(entry.value.split(separator: " ", maxSplits: 1).first ?? "")
        }

        public func hex(_ name: String) throws -> [UInt8] { try Hex.decode(text(name)) }
    }

    public let name: String
    public let sections: [Section]

    /// Loads `Vectors/<fileName>` of this repository.
    public init(_ fileName: String) throws {
        name = fileName
        let path = VectorFile.directory + "/" + fileName
        guard let text = readTextFile(path) else { throw VectorError("cannot read \(path)") }
        var sections: [Section] = []
        var title = ""
        var entries: [Entry] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingWhitespace()
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                if !entries.isEmpty {
                    sections.append(Section(title: title, entries: entries))
                    entries = []
                    title = ""
                }
                let comment = line.drop { $0 == "#" || $0 == " " }
                if !comment.isEmpty { title = String(comment) }  // the comment nearest the entries names them
                continue
            }
            guard let range = line.firstRange(of: " = ") else { continue }
            entries.append(
                Entry(name: String(line[..<range.lowerBound]), value: String(line[range.upperBound...])))
        }
        if !entries.isEmpty { sections.append(Section(title: title, entries: entries)) }
        self.sections = sections
    }

    /// All entries of every section, in order.
    public var allEntries: [Entry] { sections.flatMap(\.entries) }

    /// The first section that has an entry `name`.
    public func section(with name: String) throws -> Section {
        guard let found = sections.first(where: { $0.has(name) }) else {
            throw VectorError("no section with '\(name)' in \(self.name)")
        }
        return found
    }

    /// The first section whose title contains `text`.
    public func section(titled text: String) throws -> Section {
        guard let found = sections.first(where: { $0.title.contains(text) }) else {
            throw VectorError("no section titled '\(text)' in \(name)")
        }
        return found
    }

    public func hex(_ name: String) throws -> [UInt8] { try section(with: name).hex(name) }

    /// `Vectors/` at the top of this repository.
    public static let directory: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/TestSupport/VectorFile.swift
        return parts.joined(separator: "/") + "/Vectors"
    }()
}

public struct VectorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return s
    }
}

/// Reads a whole text file (no Foundation in the library modules; tests use the C library directly).
public func readTextFile(_ path: String) -> String? {
    guard let bytes = readBinaryFile(path) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public func readBinaryFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { out.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    return out
}
