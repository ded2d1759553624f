import CImaging
import LDS

/// The holder's portrait from DG2: the image as the chip holds it, and one a browser can show (JPEG as is; JPEG 2000,
/// which ICAO allows and browsers do not render, decoded with OpenJPEG and re-encoded as PNG).
public struct Portrait: Sendable, Hashable {
    public var format: ImageFormat
    /// The dimensions DG2's facial record header gives.
    public var width: Int
    public var height: Int
    /// The image as read from the chip.
    public var original: [UInt8]

    public init(format: ImageFormat, width: Int, height: Int, original: [UInt8]) {
        self.format = format
        self.width = width
        self.height = height
        self.original = original
    }

    /// The first face of DG2, or nil when DG2 holds none.
    public init?(dataGroup2 bytes: [UInt8]) {
        guard let face = try? DataGroup2(bytes: bytes).faces.first else { return nil }
        self.init(format: face.format, width: face.width, height: face.height, original: face.image)
    }

    /// The MIME type of `original`.
    public var mediaType: String {
        switch format {
        case .jpeg: return "image/jpeg"
        case .jpeg2000: return "image/jp2"
        case .wsq: return "image/x-wsq"
        }
    }

    /// An image a browser renders, with its MIME type: the JPEG itself, or the JPEG 2000 decoded to PNG. The header
    /// is checked against `bounds` first (a JPEG too: the browser decodes it), so a bomb is refused, never decoded.
    public func forBrowser(bounds: ImageBounds = .standard) throws(PortraitError) -> (
        mediaType: String, bytes: [UInt8]
    ) {
        switch format {
        case .jpeg:
            do { _ = try bounds.check(original) } catch { throw PortraitError(error.description) }
            return ("image/jpeg", original)
        case .jpeg2000: return ("image/png", try Self.png(fromJPEG2000: original, bounds: bounds).bytes)
        case .wsq: throw PortraitError("a WSQ image is not a portrait a browser can show")
        }
    }

    /// Decodes a JPEG 2000 image (JP2 file or J2K codestream) and encodes it as an 8-bit PNG (grey or RGB), once
    /// its header is within `bounds`.
    public static func png(fromJPEG2000 data: [UInt8], bounds: ImageBounds = .standard) throws(PortraitError) -> (
        bytes: [UInt8], width: Int, height: Int
    ) {
        let header: ImageHeader
        do { header = try bounds.check(data) } catch { throw PortraitError(error.description) }
        guard header.format == .jpeg2000 else { throw PortraitError("not a JPEG 2000 image") }
        var png: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        var width: UInt32 = 0
        var height: UInt32 = 0
        let status = data.withUnsafeBufferPointer {
            cccd_jpeg2000_to_png($0.baseAddress, $0.count, UInt64(bounds.maxPixels), &png, &length, &width, &height)
        }
        defer { cccd_imaging_free(png) }
        switch Int(status) {
        case CCCD_IMAGING_OK:
            guard let png else { throw PortraitError("the PNG encoder returned nothing") }
            return (Array(UnsafeBufferPointer(start: png, count: length)), Int(width), Int(height))
        case CCCD_IMAGING_NOT_JPEG2000: throw PortraitError("not a JPEG 2000 image")
        case CCCD_IMAGING_TOO_LARGE:
            throw PortraitError("the JPEG 2000 image has more than \(bounds.maxPixels) pixels")
        case CCCD_IMAGING_UNSUPPORTED:
            throw PortraitError("the JPEG 2000 image's components cannot be shown as grey or RGB")
        case CCCD_IMAGING_NO_MEMORY: throw PortraitError("out of memory decoding the JPEG 2000 image")
        default: throw PortraitError("the JPEG 2000 image cannot be decoded (damaged or cut short)")
        }
    }
}

public struct PortraitError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
