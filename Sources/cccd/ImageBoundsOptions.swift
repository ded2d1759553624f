import ArgumentParser
import LDS

/// How large a card's images may be before they are decoded (`cccd read --out`, `cccd serve`): a portrait or
/// fingerprint whose header declares more is reported as "cannot be shown", never decoded.
struct ImageBoundsOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The most pixels (width × height) a portrait or fingerprint image may declare to be decoded or shown.",
            valueName: "pixels"))
    var maxImagePixels: Int = ImageBounds.standard.maxPixels

    @Option(
        help: ArgumentHelp(
            "The most memory decoding one image may take, from its header (components × pixels × 4 bytes, and a tile).",
            valueName: "MiB"))
    var maxImageMemory: Int = ImageBounds.standard.maxDecodeBytes >> 20

    func validate() throws {
        guard (1...(1 << 28)).contains(maxImagePixels) else {
            throw ValidationError("--max-image-pixels must be 1...\(1 << 28).")
        }
        guard (1...4096).contains(maxImageMemory) else { throw ValidationError("--max-image-memory must be 1...4096 MiB.") }
    }

    var bounds: ImageBounds {
        var bounds = ImageBounds.standard
        bounds.maxPixels = maxImagePixels
        bounds.maxSide = max(bounds.maxSide, Int(Double(maxImagePixels).squareRoot().rounded(.up)))
        bounds.maxDecodeBytes = maxImageMemory << 20
        return bounds
    }
}
