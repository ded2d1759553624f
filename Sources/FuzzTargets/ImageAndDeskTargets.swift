import DeskProtocol
import LDS
import Reader

/// What a card's image and a desk client's request reach first: the image header bounds, the JPEG 2000 decoder
/// behind them, and the desk edge's request checks with the strict JSON bodies.
enum ImageAndDeskTargets {
    static let all: [FuzzTarget] = [imageHeader, jpeg2000Decode, deskRequest]

    /// Bounds small enough that any accepted input decodes in a few milliseconds.
    static let fuzzBounds = ImageBounds(maxPixels: 512 * 512, maxSide: 1024, maxDecodeBytes: 4 << 20)

    static let imageHeader = FuzzTarget(
        name: "image-header",
        summary: "image headers (JPEG 2000 J2K/JP2, JPEG): sizes, components, tiles, levels; the bounds' verdict",
        seeds: { SeedMaterial.portraits + SeedMaterial.portraits.map { Array($0.prefix(200)) } }
    ) { input in
        FuzzOutcome.of {
            let header = try ImageHeader(input)
            // The figures the bounds compare may be anything a header declares, but never negative or trapping.
            guard header.width >= 0, header.height >= 0, header.tiles >= 0, header.decodeBytes >= 0 else {
                fatalError("image header with a negative figure: \(header)")
            }
            let refusal = ImageBounds.standard.refusal(header)
            do {
                _ = try ImageBounds.standard.check(input)
                guard refusal == nil else { fatalError("check accepted what refusal refused: \(refusal!)") }
            } catch {
                guard refusal != nil else { fatalError("check refused what refusal accepted: \(error)") }
            }
        }
    }

    static let jpeg2000Decode = FuzzTarget(
        name: "jpeg2000-decode",
        summary: "JPEG 2000 portraits decoded to PNG under small image bounds (OpenJPEG in strict mode)",
        seeds: {
            SeedMaterial.portraits.filter { ImageFormat(detecting: $0) == .jpeg2000 }
        }
    ) { input in
        FuzzOutcome.of {
            let png = try Portrait.png(fromJPEG2000: input, bounds: fuzzBounds)
            guard png.width * png.height <= fuzzBounds.maxPixels else {
                fatalError("decoded \(png.width)×\(png.height), over the bounds")
            }
        }
    }

    /// Input: a request head (request line, header lines, an empty line) and then a JSON body.
    static let deskRequest = FuzzTarget(
        name: "desk-request",
        summary: "the desk's request edge: head checks (Host, target, Content-Length, Transfer-Encoding), strict JSON bodies",
        seeds: {
            [
                "POST /v1/read HTTP/1.1\nHost: 127.0.0.1:8080\nContent-Length: 17\n\n{\"can\":\"123456\"}",
                "POST /v1/read/cancel HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n{\"requestId\":\"r1\"}",
                "GET http://127.0.0.1:8080/v1/readers HTTP/1.1\nHost: 127.0.0.1:8080\n\n",
                "GET /x HTTP/1.1\nHost: a\nHost: b\n\n{\"can\":\"1\",\"can\":\"2\"}",
            ].map { Array($0.utf8) }
        }
    ) { input in
        let text = String(decoding: input, as: UTF8.self)
        let parts = text.split(separator: "\n\n", maxSplits: 1, omittingEmptySubsequences: false)
        let lines = (parts.first ?? "").split(separator: "\n").map(String.init)
        let requestLine = (lines.first ?? "").split(separator: " ").map(String.init)
        let method = requestLine.first ?? ""
        let target = requestLine.count > 1 ? requestLine[1] : ""
        let headers: [(name: String, value: String)] = lines.dropFirst().map { line in
            let pair = line.split(separator: ":", maxSplits: 1)
            return (String(pair.first ?? ""), pair.count > 1 ? pair[1].trimmingCharacters(in: .whitespaces) : "")
        }
        let verdict = DeskEdgePolicy.check(method: method, target: target, headers: headers, limits: .standard)
        // A target the head checks let through names a path (what the edge routes the event stream by).
        let path = DeskEdgePolicy.path(of: target)
        if verdict == .pass && !path.hasPrefix("/") { fatalError("\(target) passed and names no path: \(path)") }
        let body = parts.count > 1 ? Array(parts[1].utf8) : []
        let read = FuzzOutcome.of { _ = try DeskReadRequest(json: body) }
        let cancel = FuzzOutcome.of { _ = try DeskCancelRequest(json: body) }
        switch verdict {
        case .reject(let problem):
            guard (400..<600).contains(problem.statusCode) else { fatalError("edge status \(problem.statusCode)") }
            return .rejected("edge \(problem.statusCode)")
        case .pass:
            return read.isAccepted || cancel.isAccepted ? .accepted : read
        }
    }
}
