/// Crafted image headers as a hostile chip would hold them in DG2 or DG3: each declares far more than it carries
/// (or is cut short), and must be refused before any decoder allocates for it.
public enum ImageBombs {
    /// One crafted image: its name, the bytes, and a phrase the refusal must contain.
    public struct Bomb: Sendable, CustomStringConvertible {
        public var name: String
        public var bytes: [UInt8]
        public var refusal: String
        public var description: String { name }
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// A J2K codestream: SOC, SIZ as given, COD (`levels`), QCD, then one tile part with a few bytes of data and EOC.
    public static func codestream(
        width: Int, height: Int, components: Int, bitDepth: Int = 8, signed: Bool = false, tileWidth: Int? = nil,
        tileHeight: Int? = nil, tileOffset: (Int, Int) = (0, 0), subsampling: Int = 1, levels: Int = 5,
        lsiz: Int? = nil
    ) -> [UInt8] {
        var siz: [UInt8] = be16(0)  // Rsiz
        siz += be32(width) + be32(height) + be32(0) + be32(0)
        siz += be32(tileWidth ?? width) + be32(tileHeight ?? height) + be32(tileOffset.0) + be32(tileOffset.1)
        siz += be16(components)
        let ssiz = UInt8((bitDepth - 1) & 0x7F) | (signed ? 0x80 : 0)
        for _ in 0..<components { siz += [ssiz, UInt8(subsampling), UInt8(subsampling)] }
        var out: [UInt8] = [0xFF, 0x4F, 0xFF, 0x51] + be16(lsiz ?? (siz.count + 2)) + siz
        // COD: Scod 0, LRCP, 1 layer, no MCT; levels, 64×64 code blocks, no style, 5-3 reversible.
        out += [0xFF, 0x52] + be16(12) + [0x00, 0x00, 0x00, 0x01, 0x00, UInt8(levels), 0x04, 0x04, 0x00, 0x01]
        // QCD: no quantization, guard bits 2, one exponent per sub-band.
        let bands = 3 * min(levels, 32) + 1
        out += [0xFF, 0x5C] + be16(3 + bands) + [0x40] + [UInt8](repeating: 0x40, count: bands)
        // One tile part: SOT, SOD, a little data, EOC.
        let data: [UInt8] = [0x80, 0x00, 0x00, 0x00]
        out += [0xFF, 0x90] + be16(10) + be16(0) + be32(12 + 2 + data.count) + [0x00, 0x01]
        out += [0xFF, 0x93] + data + [0xFF, 0xD9]
        return out
    }

    /// A JP2 file around a codestream: signature, file type, header (ihdr as given) and the codestream box.
    public static func jp2(_ codestream: [UInt8], width: Int = 240, height: Int = 320, components: Int = 3) -> [UInt8] {
        func box(_ type: String, _ content: [UInt8]) -> [UInt8] { be32(8 + content.count) + Array(type.utf8) + content }
        let ihdr = box("ihdr", be32(height) + be32(width) + be16(components) + [7, 7, 0, 0])
        let colr = box("colr", [1, 0, 0] + be32(16))
        return [0, 0, 0, 0x0C] + Array("jP  ".utf8) + [0x0D, 0x0A, 0x87, 0x0A]
            + box("ftyp", Array("jp2 ".utf8) + be32(0) + Array("jp2 ".utf8))
            + box("jp2h", ihdr + colr) + box("jp2c", codestream)
    }

    /// The codestream inside a JP2 file (what follows its 'jp2c' box header), or the bytes themselves.
    public static func codestream(of jp2: [UInt8]) -> [UInt8] {
        let type = Array("jp2c".utf8)
        guard jp2.count > 8 else { return jp2 }
        for i in 4..<(jp2.count - 4) where Array(jp2[i..<(i + 4)]) == type { return Array(jp2[(i + 4)...]) }
        return jp2
    }

    /// A baseline JPEG header (SOI, SOF0 as given, then SOS and EOC).
    public static func jpeg(width: Int, height: Int, components: Int, precision: Int = 8) -> [UInt8] {
        var sof: [UInt8] = [UInt8(precision)] + be16(height) + be16(width) + [UInt8(components)]
        for k in 0..<components { sof += [UInt8(k + 1), 0x11, 0x00] }
        return [0xFF, 0xD8, 0xFF, 0xC0] + be16(2 + sof.count) + sof + [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0xFF, 0xD9]
    }

    /// The bomb (16,384 components of 65,535 × 256 pixels in a 49 KB codestream) and its variants.
    /// `good` is a real JPEG 2000 portrait (Vectors/sample-portrait.jp2), cut short for the truncated variants.
    public static func all(good: [UInt8]) -> [Bomb] {
        let bomb = codestream(width: 65_535, height: 256, components: 16_384)
        return [
            Bomb(name: "16,384 components of 65,535 × 256", bytes: bomb, refusal: "16384 components"),
            Bomb(name: "the same bomb in a JP2 file", bytes: jp2(bomb), refusal: "16384 components"),
            Bomb(
                name: "65,535 × 65,535 grey", bytes: codestream(width: 65_535, height: 65_535, components: 1),
                refusal: "65535 × 65535"),
            Bomb(
                name: "4,294,967,295 × 1", bytes: codestream(width: 0xFFFF_FFFF, height: 1, components: 1),
                refusal: "4294967295 × 1"),
            Bomb(
                name: "8,192 × 4,096 of 3 components (over the pixel bound)",
                bytes: codestream(width: 8192, height: 4096, components: 3), refusal: "pixels"),
            Bomb(
                name: "1 × 1 tiles over 2,048 × 2,048 (4 M tiles)",
                bytes: codestream(width: 2048, height: 2048, components: 1, tileWidth: 1, tileHeight: 1),
                refusal: "tiles"),
            Bomb(
                name: "huge tiles over a huge image",
                bytes: codestream(
                    width: 60_000, height: 60_000, components: 3, tileWidth: 0xFFFF_FFFF, tileHeight: 0xFFFF_FFFF),
                refusal: "60000 × 60000"),
            Bomb(
                name: "a tile grid starting past the image",
                bytes: codestream(width: 100, height: 100, components: 1, tileWidth: 10, tileHeight: 10, tileOffset: (50, 50)),
                refusal: "SIZ marker is malformed"),
            Bomb(
                name: "38 bits per sample",
                bytes: codestream(width: 240, height: 320, components: 3, bitDepth: 38), refusal: "38 bits"),
            Bomb(
                name: "signed 31 bits per sample",
                bytes: codestream(width: 240, height: 320, components: 1, bitDepth: 31, signed: true),
                refusal: "31 bits"),
            Bomb(
                name: "SIZ length that does not fit 16,384 components",
                bytes: codestream(width: 240, height: 320, components: 16_384, lsiz: 41), refusal: "SIZ length"),
            Bomb(
                name: "components with no sampling step",
                bytes: codestream(width: 240, height: 320, components: 3, subsampling: 0), refusal: "sampling step"),
            Bomb(
                name: "33 wavelet levels", bytes: codestream(width: 2048, height: 2048, components: 1, levels: 33),
                refusal: "wavelet levels"),
            Bomb(
                name: "2,048 × 2,048 of 4 components at 16 bits (over the memory bound)",
                bytes: codestream(width: 2048, height: 2048, components: 4, bitDepth: 16),
                refusal: "MiB"),
            Bomb(name: "the bomb's header cut in its components", bytes: Array(bomb.prefix(3000)), refusal: "cut short"),
            Bomb(name: "a JP2 cut in its header boxes", bytes: Array(good.prefix(60)), refusal: "JP2"),
            Bomb(name: "a real portrait cut in half", bytes: Array(good.prefix(good.count / 2)), refusal: "JP2 box"),
            Bomb(
                name: "a real portrait's codestream cut in half", bytes: Array(codestream(of: good).prefix(2000)),
                refusal: "cannot be decoded"),
            Bomb(
                name: "a JPEG declaring 65,535 × 65,535 in colour",
                bytes: jpeg(width: 65_535, height: 65_535, components: 3), refusal: "65535 × 65535"),
            Bomb(
                name: "a JPEG whose height comes later (DNL)", bytes: jpeg(width: 640, height: 0, components: 1),
                refusal: "DNL"),
            Bomb(
                name: "a JPEG of 255 components", bytes: jpeg(width: 640, height: 480, components: 255),
                refusal: "255 components"),
        ]
    }
}
