/// What an image in DG2 (portrait) or DG3 (fingerprints) declares about itself, read from its header alone, before
/// any decoder sees it: a chip is hostile input, and a 65 KB JPEG 2000 codestream can declare 16,384 components of
/// 65,535 × 256 pixels (a terabyte to decode). `ImageBounds.check` turns the header into a yes or a reason.
public struct ImageHeader: Hashable, Sendable {
    public struct Component: Hashable, Sendable {
        /// Bits per sample (1…38 in JPEG 2000, 8/12/16 in JPEG).
        public var bitDepth: Int
        public var signed: Bool
        /// Subsampling (JPEG 2000 XRsiz/YRsiz; 1 for JPEG).
        public var dx: Int
        public var dy: Int
    }

    public var format: ImageFormat
    public var width: Int
    public var height: Int
    public var components: [Component]
    /// Tiles of the image (JPEG 2000; 1 for JPEG).
    public var tiles: Int
    /// Width and height of one tile (JPEG 2000; the image's for JPEG).
    public var tileWidth: Int
    public var tileHeight: Int
    /// Wavelet decomposition levels (JPEG 2000 COD; 0 for JPEG or when the main header has none).
    public var decompositionLevels: Int

    public var pixels: Int { width * height }

    /// Bytes a decoder holds for the samples: OpenJPEG keeps 32 bits per sample for the whole image and again for
    /// the tile being decoded; a JPEG decoder a byte per sample plus its coefficients (2 bytes each).
    public var decodeBytes: Int {
        func times(_ a: Int, _ b: Int) -> Int {
            let (p, o) = a.multipliedReportingOverflow(by: b)
            return o ? .max : p
        }
        func plus(_ a: Int, _ b: Int) -> Int {
            let (p, o) = a.addingReportingOverflow(b)
            return o ? .max : p
        }
        var samples = 0
        for c in components {
            samples = plus(samples, times((width + c.dx - 1) / max(c.dx, 1), (height + c.dy - 1) / max(c.dy, 1)))
        }
        switch format {
        case .jpeg2000:
            let tile = times(times(min(tileWidth, width), min(tileHeight, height)), components.count)
            return plus(times(samples, 4), times(tile, 4))
        case .jpeg, .wsq: return times(samples, 3)
        }
    }
}

/// Why an image header is refused: cut short, malformed, or over a bound. `description` is in the reader's terms.
public struct ImageHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ImageHeader {
    /// Reads the header of a JPEG, a JP2 file or a J2K codestream. Reads only what the header holds; never
    /// allocates in proportion to what it declares.
    public init(_ bytes: [UInt8]) throws(ImageHeaderError) {
        guard let format = ImageFormat(detecting: bytes) else {
            throw ImageHeaderError("not a JPEG or JPEG 2000 image")
        }
        switch format {
        case .jpeg: self = try Self.jpeg(bytes)
        case .jpeg2000:
            if bytes.starts(with: [0xFF, 0x4F, 0xFF, 0x51]) {
                self = try Self.codestream(bytes[...])
            } else {
                self = try Self.jp2(bytes)
            }
        case .wsq: throw ImageHeaderError("a WSQ image (not decoded here)")
        }
    }

    private static func u16(_ b: ArraySlice<UInt8>, _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    private static func u32(_ b: ArraySlice<UInt8>, _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    // MARK: JPEG 2000

    /// A JP2 file: boxes up to the contiguous codestream box ('jp2c'), whose SIZ and COD are the header read.
    static func jp2(_ bytes: [UInt8]) throws(ImageHeaderError) -> ImageHeader {
        let b = bytes[...]
        var i = 0
        var boxes = 0
        while i + 8 <= b.count {
            boxes += 1
            guard boxes <= 64 else { throw ImageHeaderError("the JP2 file has more than 64 boxes before its image") }
            var length = u32(b, i)
            let type = Array(b[(i + 4)..<(i + 8)])
            var headerLength = 8
            if length == 1 {
                guard i + 16 <= b.count else { throw ImageHeaderError("the JP2 file is cut short in a box header") }
                let high = u32(b, i + 8)
                guard high == 0 else { throw ImageHeaderError("a JP2 box declares more than 4 GB") }
                length = u32(b, i + 12)
                headerLength = 16
            } else if length == 0 {
                length = b.count - i
            }
            guard length >= headerLength, length <= b.count - i else {
                throw ImageHeaderError("a JP2 box declares \(length) bytes where \(b.count - i) remain")
            }
            if type == Array("jp2c".utf8) {
                return try codestream(b[(i + headerLength)..<(i + length)])
            }
            i += length
        }
        throw ImageHeaderError("the JP2 file has no image (no codestream box)")
    }

    /// A J2K codestream: SOC, then SIZ (image and tile sizes, components), then the main header up to the first
    /// tile (COD gives the decomposition levels).
    static func codestream(_ b: ArraySlice<UInt8>) throws(ImageHeaderError) -> ImageHeader {
        let b = ArraySlice(Array(b))  // indices from 0
        let short = ImageHeaderError("the JPEG 2000 header is cut short")
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0x4F, b[2] == 0xFF, b[3] == 0x51 else {
            throw ImageHeaderError("the JPEG 2000 codestream does not start with SOC and SIZ")
        }
        guard b.count >= 6 else { throw short }
        let lsiz = u16(b, 4)
        guard lsiz >= 41, 4 + 2 + lsiz - 2 <= b.count else { throw lsiz < 41 ? malformedSIZ : short }
        let s = 6  // after Lsiz
        let xsiz = u32(b, s + 2), ysiz = u32(b, s + 6), xo = u32(b, s + 10), yo = u32(b, s + 14)
        let xt = u32(b, s + 18), yt = u32(b, s + 22), xto = u32(b, s + 26), yto = u32(b, s + 30)
        let csiz = u16(b, s + 34)
        guard lsiz == 38 + 3 * csiz else {
            throw ImageHeaderError("the JPEG 2000 SIZ length (\(lsiz)) does not fit its \(csiz) components")
        }
        guard csiz >= 1 else { throw ImageHeaderError("the JPEG 2000 image declares no component") }
        guard xsiz > xo, ysiz > yo, xt > 0, yt > 0, xto <= xo, yto <= yo, xto + xt > xo, yto + yt > yo else {
            throw malformedSIZ
        }
        var components: [Component] = []
        for k in 0..<csiz {
            let at = s + 36 + 3 * k
            let ssiz = Int(b[at])
            let dx = Int(b[at + 1]), dy = Int(b[at + 2])
            guard dx >= 1, dy >= 1 else { throw ImageHeaderError("a JPEG 2000 component has no sampling step") }
            components.append(Component(bitDepth: (ssiz & 0x7F) + 1, signed: ssiz & 0x80 != 0, dx: dx, dy: dy))
        }
        let width = xsiz - xo, height = ysiz - yo
        let across = (xsiz - xto + xt - 1) / xt
        let down = (ysiz - yto + yt - 1) / yt
        let tiles = across.multipliedReportingOverflow(by: down)
        // The main header's markers, up to the first tile part (SOT) or the end of what is there.
        var levels = 0
        var i = 4 + 2 + lsiz - 2
        var markers = 0
        while i + 4 <= b.count, b[i] == 0xFF, b[i + 1] != 0x90, b[i + 1] != 0xD9 {
            markers += 1
            guard markers <= 256 else { throw ImageHeaderError("the JPEG 2000 main header has over 256 markers") }
            let marker = b[i + 1]
            let length = u16(b, i + 2)
            guard length >= 2, i + 2 + length <= b.count else { throw short }
            if marker == 0x52, length >= 12 {  // COD: Scod, SGcod (4), SPcod: levels first
                levels = Int(b[i + 9])
            }
            i += 2 + length
        }
        return ImageHeader(
            format: .jpeg2000, width: width, height: height, components: components,
            tiles: tiles.overflow ? Int.max : tiles.partialValue, tileWidth: xt, tileHeight: yt,
            decompositionLevels: levels)
    }

    private static let malformedSIZ = ImageHeaderError("the JPEG 2000 SIZ marker is malformed (image or tile grid)")

    // MARK: JPEG

    /// A JPEG (ISO/IEC 10918-1): markers up to the first frame header (SOFn), which gives precision, size and
    /// components.
    static func jpeg(_ bytes: [UInt8]) throws(ImageHeaderError) -> ImageHeader {
        let b = bytes[...]
        let short = ImageHeaderError("the JPEG header is cut short")
        var i = 2  // after SOI
        var segments = 0
        while true {
            guard i + 2 <= b.count else { throw short }
            guard b[i] == 0xFF else { throw ImageHeaderError("the JPEG header is malformed (no marker)") }
            var marker = b[i + 1]
            while marker == 0xFF {  // fill bytes
                i += 1
                guard i + 2 <= b.count else { throw short }
                marker = b[i + 1]
            }
            i += 2
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }  // no length
            if marker == 0xD9 || marker == 0xDA {
                throw ImageHeaderError("the JPEG has no frame header before its image data")
            }
            segments += 1
            guard segments <= 512 else { throw ImageHeaderError("the JPEG has over 512 segments before its frame") }
            guard i + 2 <= b.count else { throw short }
            let length = u16(b, i)
            guard length >= 2, i + length <= b.count else { throw short }
            let frame = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if frame {
                guard length >= 8 else { throw ImageHeaderError("the JPEG frame header is malformed") }
                let precision = Int(b[i + 2])
                let height = u16(b, i + 3), width = u16(b, i + 5)
                let count = Int(b[i + 7])
                guard length == 8 + 3 * count, count >= 1 else {
                    throw ImageHeaderError("the JPEG frame header's length does not fit its \(count) components")
                }
                guard height > 0 else {
                    throw ImageHeaderError("the JPEG declares its height later (DNL): not accepted")
                }
                guard width > 0 else { throw ImageHeaderError("the JPEG declares a width of 0") }
                let components = (0..<count).map { _ in Component(bitDepth: precision, signed: false, dx: 1, dy: 1) }
                return ImageHeader(
                    format: .jpeg, width: width, height: height, components: components, tiles: 1,
                    tileWidth: width, tileHeight: height, decompositionLevels: 0)
            }
            i += length
        }
    }
}

/// How large an image from a card may be before it is decoded (DG2 portraits, DG3 fingerprints). The defaults hold
/// every real portrait (ICAO: about 0.3 to 1 megapixel, grey or colour, 8 bits) and fingerprint (ISO/IEC 19794-4:
/// 500 or 1000 ppi, grey, a slap of four fingers under 4 megapixels) with room, and keep what a hostile header can
/// make the decoder allocate under `maxDecodeBytes`.
public struct ImageBounds: Hashable, Sendable, Codable {
    public var maxPixels: Int
    /// Width or height.
    public var maxSide: Int
    public var maxComponents: Int
    public var maxBitDepth: Int
    public var maxTiles: Int
    public var maxDecompositionLevels: Int
    /// What the decoder may allocate for samples (`ImageHeader.decodeBytes`).
    public var maxDecodeBytes: Int

    public init(
        maxPixels: Int = 4 << 20, maxSide: Int = 8192, maxComponents: Int = 4, maxBitDepth: Int = 16,
        maxTiles: Int = 1024, maxDecompositionLevels: Int = 12, maxDecodeBytes: Int = 96 << 20
    ) {
        self.maxPixels = maxPixels
        self.maxSide = maxSide
        self.maxComponents = maxComponents
        self.maxBitDepth = maxBitDepth
        self.maxTiles = maxTiles
        self.maxDecompositionLevels = maxDecompositionLevels
        self.maxDecodeBytes = maxDecodeBytes
    }

    public static let standard = ImageBounds()

    /// Nil when the image may be decoded, else why not: every bound it is over, naming the figure and the bound.
    public func refusal(_ header: ImageHeader) -> String? {
        let kind = header.format == .jpeg ? "JPEG" : "JPEG 2000 image"
        var over: [String] = []
        if header.width > maxSide || header.height > maxSide {
            over.append("\(header.width) × \(header.height) pixels (at most \(maxSide) a side)")
        } else if header.pixels > maxPixels {
            over.append("\(header.width) × \(header.height) pixels (at most \(maxPixels))")
        }
        if header.components.count > maxComponents {
            over.append("\(header.components.count) components (at most \(maxComponents))")
        }
        if let deep = header.components.map(\.bitDepth).max(), deep > maxBitDepth {
            over.append("\(deep) bits per sample (at most \(maxBitDepth))")
        }
        if header.tiles > maxTiles { over.append("\(header.tiles) tiles (at most \(maxTiles))") }
        if header.decompositionLevels > maxDecompositionLevels {
            over.append("\(header.decompositionLevels) wavelet levels (at most \(maxDecompositionLevels))")
        }
        if over.isEmpty, header.decodeBytes > maxDecodeBytes {
            return "decoding the \(kind) would take \(header.decodeBytes >> 20) MiB (at most \(maxDecodeBytes >> 20) MiB)"
        }
        return over.isEmpty ? nil : "the \(kind) declares " + over.joined(separator: ", ")
    }

    /// The header of `bytes`, if it is within the bounds; else a typed error saying why.
    public func check(_ bytes: [UInt8]) throws(ImageHeaderError) -> ImageHeader {
        let header = try ImageHeader(bytes)
        if let why = refusal(header) { throw ImageHeaderError(why) }
        return header
    }
}
