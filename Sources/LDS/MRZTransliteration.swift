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

    /// The name field of an MRZ: PRIMARY<<SECONDARY<NAMES padded with `<` to `width`, truncated the ICAO way
    /// when too long: secondary names are cut to initials from the last one back, then the field is cut at
    /// `width` (the last character stays a letter, which signals truncation).
    public static func nameField(primary: String, secondary: String, width: Int) throws(LDSError) -> String {
        let p = try transliterate(primary, field: "primary identifier")
        var names = try transliterate(secondary, field: "secondary identifier")
            .split(separator: "<").map(String.init)
        // The composed length, kept up to date as names become initials: linear in the name's length, whatever
        // the number of names (all characters are ASCII after transliteration).
        var length = p.utf8.count + (names.isEmpty ? 0 : 2 + names.reduce(names.count - 1) { $0 + $1.utf8.count })
        var i = names.count - 1
        while length > width, i >= 0 {
            let count = names[i].utf8.count
            if count > 1 {
                names[i] = String(names[i].prefix(1))
                length -= count - 1
            }
            i -= 1
        }
        var field = names.isEmpty ? p : p + "<<" + names.joined(separator: "<")
        if length > width {
            field = String(field.utf8.prefix(width).map { Character(UnicodeScalar($0)) })
            while field.last == "<" { field.removeLast() }
        }
        return field + String(repeating: "<", count: max(0, width - field.utf8.count))
    }

    /// A Vietnamese full name in the usual order (family name first): "Nguyễn Văn A" → ("Nguyễn", "Văn A").
    public static func splitVietnameseName(_ fullName: String) -> (primary: String, secondary: String) {
        let words = fullName.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first else { return ("", "") }
        return (String(first), words.dropFirst().joined(separator: " "))
    }
}
