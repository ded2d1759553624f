/// Base Latin letter (upper case) of each precomposed letter, for the MRZ (ICAO 9303-3 §6: diacritics are
/// dropped; Đ/đ become D). Generated from Unicode's canonical decompositions; `?` marks code points that are
/// not letters with a Latin base. Covers every Vietnamese letter.
enum LatinBaseLetters {
    /// U+00C0 … U+024F (Latin-1 Supplement letters, Latin Extended-A and -B).
    static let latinExtended: [UInt8] = Array(
        "AAAAAA?CEEEEIIII?NOOOOO??UUUUY??AAAAAA?CEEEEIIII?NOOOOO??UUUUY?YAAAAAACCCCCCCCDDDDEEEEEEEEEEGGGGGGGGHH??IIIIIIIII???JJKK?LLLLLL????NNNNNN???OOOOOO??RRRRRRSSSSSSSSTTTT??UUUUUUUUUUUUWWYYYZZZZZZ?????????????????????????????????OO?????????????UU????????????????????????????AAIIOOUUUUUUUUUU?AAAA????GGKKOOOO??J???GG??NNAA????AAAAEEEEIIIIOOOORRRRUUUUSSTT??HH??????AAEEOOOOOOOOYY????????????????????????????"
            .utf8)
    /// U+1E00 … U+1EFF (Latin Extended Additional: most Vietnamese letters with tone marks).
    static let latinExtendedAdditional: [UInt8] = Array(
        "AABBBBBBCCDDDDDDDDDDEEEEEEEEEEFFGGHHHHHHHHHHIIIIKKKKKKLLLLLLLLMMMMMMNNNNNNNNOOOOOOOOPPPPRRRRRRRRSSSSSSSSSSTTTTTTTTUUUUUUUUUUVVVVWWWWWWWWWWXXXXYYZZZZZZHTWY??????AAAAAAAAAAAAAAAAAAAAAAAAEEEEEEEEEEEEEEEEIIIIOOOOOOOOOOOOOOOOOOOOOOOOUUUUUUUUUUUUUUYYYYYYYY??????"
            .utf8)

    /// The base letter, or nil when the scalar has none.
    static func base(of scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        let table: [UInt8]
        let index: Int
        switch v {
        case 0xC0...0x24F:
            table = latinExtended
            index = v - 0xC0
        case 0x1E00...0x1EFF:
            table = latinExtendedAdditional
            index = v - 0x1E00
        default: return nil
        }
        let letter = table[index]
        return letter == UInt8(ascii: "?") ? nil : letter
    }
}
