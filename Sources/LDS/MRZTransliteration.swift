/// Turns names into MRZ characters (ICAO 9303-3 §6): upper-case A–Z, diacritics dropped (Vietnamese
/// "Nguyễn Văn Đức" → NGUYEN VAN DUC), spaces and hyphens become `<`, apostrophes and periods vanish.
public enum MRZTransliteration {
    /// The MRZ form of one name component or phrase; throws when a character has no Latin equivalent.
    public static func transliterate(_ text: String, field: String = "name") throws(LDSError) -> String {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x41...0x5A: out.append(UInt8(v))
            case 0x61...0x7A: out.append(UInt8(v - 0x20))
            case 0x20, 0x2D, 0x3C: out.append(UInt8(ascii: "<"))  // space, hyphen, filler
            case 0x27, 0x2E, 0x2019: continue  // apostrophes, period
            case 0x0300...0x036F: continue  // combining marks (decomposed input)
            default:
                guard let base = LatinBaseLetters.base(of: scalar) else {
                    throw LDSError(
                        code: .cannotTransliterate, field: field,
                        reason: "character U+\(String(v, radix: 16, uppercase: true)) has no MRZ equivalent")
                }
                out.append(base)
            }
        }
        // Collapse runs of fillers made by double spaces, trim them at the ends.
        var collapsed: [UInt8] = []
        for c in out where !(c == UInt8(ascii: "<") && (collapsed.last == UInt8(ascii: "<") || collapsed.isEmpty)) {
            collapsed.append(c)
        }
        while collapsed.last == UInt8(ascii: "<") { collapsed.removeLast() }
        return String(decoding: collapsed, as: UTF8.self)
    }

    /// The name field of an MRZ: PRIMARY<<SECONDARY<NAMES padded with `<` to `width`. A name too long for the field
    /// is truncated in the profile's form (ICAO 9303-3 §4.6, see `MRZNameTruncation`); either way the last character
    /// of a truncated field is a letter, which tells a reader the name may be longer.
    public static func nameField(
        primary: String, secondary: String, width: Int, truncation: MRZNameTruncation = .cut
    ) throws(LDSError) -> String {
        let p = Array(try transliterate(primary, field: "primary identifier").utf8)
        var names = try transliterate(secondary, field: "secondary identifier").utf8
            .split(separator: UInt8(ascii: "<")).map(Array.init)
        let filler = UInt8(ascii: "<")
        func composed() -> [UInt8] {
            names.isEmpty ? p : p + [filler, filler] + Array(names.joined(separator: [filler]))
        }
        // The composed length, kept up to date as names become initials: linear in the name's length, whatever
        // the number of names (all characters are ASCII after transliteration).
        var length = p.count + (names.isEmpty ? 0 : 2 + names.reduce(names.count - 1) { $0 + $1.count })
        var field: [UInt8]
        if length <= width {
            field = composed()
        } else if !names.isEmpty && p.count + 3 > width {
            // The primary identifier alone fills the field: it is cut so that the separator and the initial of
            // the first secondary name still fit (ICAO's example: BENNELONG<WOOLOOMOOLOO<WARRANDYTE<WARNAM<<J).
            var cutPrimary = Array(p.prefix(max(0, width - 3)))
            while cutPrimary.last == filler { cutPrimary.removeLast() }
            field = cutPrimary + [filler, filler, names[0][0]]
        } else {
            if truncation == .initials {
                var i = names.count - 1
                while length > width, i >= 0 {
                    let count = names[i].count
                    if count > 1 {
                        names[i] = [names[i][0]]
                        length -= count - 1
                    }
                    i -= 1
                }
            }
            field = Array(composed().prefix(width))
            while field.last == filler { field.removeLast() }
        }
        return String(decoding: field, as: UTF8.self) + String(repeating: "<", count: max(0, width - field.count))
    }

    /// Whether an MRZ name field can have been made from this name: exactly the composed name when it fits the
    /// field; otherwise any ICAO 9303-3 §4.6 truncation of it (each component of the field a non-empty prefix of
    /// the name's component in the same place: cut at the end, or shortened to initials). A reader accepts every
    /// truncation form, since issuers differ; a different name never passes (first letters and order must agree).
    public static func nameFieldAgrees(_ field: String, primary: String, secondary: String) -> Bool {
        guard let p = try? transliterate(primary), let s = try? transliterate(secondary) else { return false }
        let full = s.isEmpty ? p : p + "<<" + s
        var written = Substring(field)
        while written.last == "<" { written.removeLast() }
        if full.utf8.count <= field.utf8.count { return written == Substring(full) }
        func parts(_ text: Substring) -> (primary: [Substring], secondary: [Substring]) {
            guard let range = text.range(of: "<<") else { return (text.split(separator: "<"), []) }
            return (
                text[..<range.lowerBound].split(separator: "<"),
                text[range.upperBound...].split(separator: "<", omittingEmptySubsequences: false)
            )
        }
        func prefixes(_ short: [Substring], _ long: [Substring]) -> Bool {
            short.count <= long.count && zip(short, long).allSatisfy { !$0.isEmpty && $1.hasPrefix($0) }
        }
        let w = parts(written)
        let n = (p.split(separator: "<"), s.split(separator: "<"))
        guard !w.primary.isEmpty, prefixes(w.primary, n.0), prefixes(w.secondary, n.1) else { return false }
        // Secondary names follow a whole primary identifier, or, when the primary identifier itself was cut, only
        // the initial of the first secondary name.
        return w.secondary.isEmpty || w.primary == n.0 || (w.secondary.count == 1 && w.secondary[0].count == 1)
    }

    /// A Vietnamese full name in the usual order (family name first): "Nguyễn Văn A" → ("Nguyễn", "Văn A").
    public static func splitVietnameseName(_ fullName: String) -> (primary: String, secondary: String) {
        let words = fullName.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first else { return ("", "") }
        return (String(first), words.dropFirst().joined(separator: " "))
    }
}

/// How a name too long for the MRZ is truncated (ICAO 9303-3 §4.6). The profile names the form its issuer uses.
public enum MRZNameTruncation: String, Sendable, Hashable, CaseIterable, Codable {
    /// The name is written in full and cut at the last position of the field, so the last character is a letter
    /// (ICAO's example: NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<KRASUA). The Vietnamese profile's form: the family
    /// name and the first names are kept whole as far as they go.
    case cut
    /// Secondary names become initials from the last one back until the name fits, then the field is cut.
    case initials
}
