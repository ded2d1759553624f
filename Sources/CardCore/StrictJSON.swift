import Foundation

/// A strict JSON reader (RFC 8259) for citizen records and the desk's requests: it keeps where every value starts, so an error can name
/// the line and column, and it refuses what lenient readers let through (duplicate keys, lone surrogates, raw
/// control characters, trailing content, nesting deeper than a record needs). Foundation's reader gives neither
/// positions nor duplicate keys, hence this one; it is small because records are small and flat.
public struct StrictJSON {
    public indirect enum Value {
        case string(String)
        case number(String)
        case bool(Bool)
        case null
        case array([Located])
        case object([Member])

        public var kind: String {
            switch self {
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "true or false"
            case .null: return "null"
            case .array: return "a list"
            case .object: return "an object"
            }
        }
    }

    public struct Located {
        public var value: Value
        /// Byte offset of the value's first byte in the text.
        public var offset: Int
    }

    public struct Member {
        public var key: String
        public var keyOffset: Int
        public var value: Located
    }

    /// A syntax error at a byte offset.
    public struct SyntaxError: Error {
        public var message: String
        public var offset: Int
        /// The text ended inside a value.
        public var atEnd: Bool = false
        /// A key that appears twice.
        public var duplicateKey: String? = nil
    }

    public static let maxDepth = 8

    private let bytes: [UInt8]
    private var i: Int
    private let end: Int

    /// Parses exactly one value filling `bytes[range]` (whitespace around it allowed). The text must be valid
    /// UTF-8 (the caller checks, to say where it is not).
    public static func parse(_ bytes: [UInt8], in range: Range<Int>) throws(SyntaxError) -> Located {
        var parser = StrictJSON(bytes: bytes, i: range.lowerBound, end: range.upperBound)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.i < parser.end {
            throw SyntaxError(message: "unexpected \(parser.describe(parser.i)) after the JSON value", offset: parser.i)
        }
        return value
    }

    private mutating func skipSpace() {
        while i < end, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    private func describe(_ at: Int) -> String {
        guard at < end else { return "end of text" }
        let c = bytes[at]
        if (0x21...0x7E).contains(c) { return "character '\(Character(UnicodeScalar(c)))'" }
        return String(format: "byte 0x%02X", c)
    }

    private func unexpected(_ expected: String) -> SyntaxError {
        SyntaxError(
            message: i < end
                ? "expected \(expected), found \(describe(i))" : "the text ends where \(expected) was expected",
            offset: i, atEnd: i >= end)
    }

    private mutating func value(depth: Int) throws(SyntaxError) -> Located {
        guard depth <= Self.maxDepth else {
            throw SyntaxError(message: "nested deeper than \(Self.maxDepth) levels", offset: i)
        }
        let start = i
        guard i < end else { throw unexpected("a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return Located(value: try object(depth: depth), offset: start)
        case UInt8(ascii: "["): return Located(value: try array(depth: depth), offset: start)
        case UInt8(ascii: "\""): return Located(value: .string(try string()), offset: start)
        case UInt8(ascii: "t"):
            try literal("true")
            return Located(value: .bool(true), offset: start)
        case UInt8(ascii: "f"):
            try literal("false")
            return Located(value: .bool(false), offset: start)
        case UInt8(ascii: "n"):
            try literal("null")
            return Located(value: .null, offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return Located(value: .number(try number()), offset: start)
        default: throw unexpected("a value")
        }
    }

    private mutating func literal(_ word: String) throws(SyntaxError) {
        let start = i
        for c in word.utf8 {
            guard i < end, bytes[i] == c else {
                throw SyntaxError(message: "expected \(word)", offset: start, atEnd: i >= end)
            }
            i += 1
        }
    }

    private mutating func number() throws(SyntaxError) -> String {
        let start = i
        func digits(_ p: inout StrictJSON) -> Int {
            let s = p.i
            while p.i < p.end, (0x30...0x39).contains(p.bytes[p.i]) { p.i += 1 }
            return p.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        if i < end, bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits(&self) == 0 {
            throw unexpected("a digit")
        }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw unexpected("a digit after the decimal point") }
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw unexpected("a digit in the exponent") }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    private mutating func string() throws(SyntaxError) -> String {
        let open = i
        i += 1
        var out: [UInt8] = []
        var runStart = i
        while true {
            // The common case: a run of plain characters, copied at once.
            while i < end, bytes[i] != 0x22, bytes[i] != 0x5C, bytes[i] >= 0x20 { i += 1 }
            guard i < end else {
                throw SyntaxError(message: "a string is not closed (it opens here)", offset: open, atEnd: true)
            }
            let c = bytes[i]
            if c == 0x22 {
                if out.isEmpty {
                    defer { i += 1 }
                    return String(decoding: bytes[runStart..<i], as: UTF8.self)
                }
                out.append(contentsOf: bytes[runStart..<i])
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 {
                throw SyntaxError(
                    message: String(format: "control character 0x%02X inside a string (write it as an escape)", c),
                    offset: i)
            }
            // A backslash escape.
            out.append(contentsOf: bytes[runStart..<i])
            let escape = i
            i += 1
            guard i < end else { throw SyntaxError(message: "a string is not closed", offset: open, atEnd: true) }
            switch bytes[i] {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: i + 1)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low: UInt32? =
                        i + 2 < end && bytes[i + 1] == 0x5C && bytes[i + 2] == UInt8(ascii: "u")
                        ? try hex4(at: i + 3) : nil
                    guard let low, (0xDC00...0xDFFF).contains(low) else {
                        throw SyntaxError(message: "\\u escape of a lone surrogate (not a character)", offset: escape)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw SyntaxError(message: "\\u escape of a lone surrogate (not a character)", offset: escape)
                }
                out.append(contentsOf: Array(String(Character(UnicodeScalar(scalar)!)).utf8))
            default:
                throw SyntaxError(
                    message: "unknown escape \\\(describe(i).replacingOccurrences(of: "character ", with: ""))",
                    offset: escape)
            }
            i += 1
            runStart = i
        }
    }

    private func hex4(at p: Int) throws(SyntaxError) -> UInt32 {
        guard p + 4 <= end else {
            throw SyntaxError(message: "a \\u escape needs 4 hex digits", offset: p - 2, atEnd: true)
        }
        var v: UInt32 = 0
        for k in p..<(p + 4) {
            let c = bytes[k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x37
            case 0x61...0x66: d = c - 0x57
            default: throw SyntaxError(message: "a \\u escape needs 4 hex digits", offset: p - 2)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private mutating func array(depth: Int) throws(SyntaxError) -> Value {
        i += 1
        var items: [Located] = []
        skipSpace()
        if i < end, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard i < end else { throw unexpected("',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "]") else { throw unexpected("',' or ']'") }
            i += 1
            return .array(items)
        }
    }

    private mutating func object(depth: Int) throws(SyntaxError) -> Value {
        i += 1
        var members: [Member] = []
        var seen: Set<String> = []
        skipSpace()
        if i < end, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < end, bytes[i] == 0x22 else { throw unexpected("a key in double quotes") }
            let keyOffset = i
            let key = try string()
            guard seen.insert(key).inserted else {
                throw SyntaxError(
                    message: "the key appears twice (which one counts is unclear)", offset: keyOffset, duplicateKey: key
                )
            }
            skipSpace()
            guard i < end, bytes[i] == UInt8(ascii: ":") else { throw unexpected("':' after the key") }
            i += 1
            skipSpace()
            members.append(Member(key: key, keyOffset: keyOffset, value: try value(depth: depth + 1)))
            skipSpace()
            guard i < end else { throw unexpected("',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "}") else { throw unexpected("',' or '}'") }
            i += 1
            return .object(members)
        }
    }
}

/// Where UTF-8 first goes wrong in `bytes[range]`: the offset of the first byte that does not start a valid
/// sequence (overlong forms, surrogates and values above U+10FFFF are invalid, as RFC 3629 says).
public func firstInvalidUTF8(_ bytes: [UInt8], in range: Range<Int>) -> Int? {
    var i = range.lowerBound
    let end = range.upperBound
    while i < end {
        let c = bytes[i]
        if c < 0x80 {
            i += 1
            continue
        }
        let need: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED:
            need = 2
            high = 0x9F
        case 0xF0:
            need = 3
            low = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            high = 0x8F
        default: return i
        }
        guard i + need < end else { return i }
        guard (low...high).contains(bytes[i + 1]) else { return i }
        for k in 2..<(need + 1) where !(0x80...0xBF).contains(bytes[i + k]) { return i }
        i += need + 1
    }
    return nil
}
