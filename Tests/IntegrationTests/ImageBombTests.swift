import CardCore
import CardCrypto
import Foundation
import Glibc
import LDS
import Reader
import TestSupport
import Testing

/// The crafted images (TestSupport's ImageBombs) with the real portrait they are cut from.
enum Bombs {
    static let good = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.jp2"))))
        ?? []
    static let all = ImageBombs.all(good: good)
    static var names: [String] { all.map(\.name) }
    static func named(_ name: String) -> ImageBombs.Bomb { all.first { $0.name == name }! }

    /// DG2 holding `image` as its one face (the facial record says 240 × 320, as a hostile chip may).
    static func dataGroup2(_ image: [UInt8]) -> [UInt8] {
        let format: ImageFormat = image.starts(with: [0xFF, 0xD8]) ? .jpeg : .jpeg2000
        return DataGroup2(faces: [.init(format: format, width: 240, height: 320, image: image)]).encoded
    }

    /// A genuine card (the test issuer's signature over it) whose DG2 holds `image`.
    static func card(_ image: [UInt8]) throws -> (Forge, CardImage) {
        let forge = try Forge()
        return (forge, try forge.resigned([.dataGroup(2): dataGroup2(image)]))
    }

    /// What GNU time says of one command: its peak resident memory and its CPU time.
    struct Cost {
        var outcome: CommandLineRunner.Outcome
        var maxRSSKiB: Int
        var cpuSeconds: Double
    }

    static func measured(_ arguments: [String]) throws -> Cost {
        let file = NSTemporaryDirectory() + "cccdkit-time-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let binary = CommandLineRunner.root + "/.build/debug/cccd"
        let outcome = try CommandLineRunner.tool("/usr/bin/time", ["-f", "%M %U %S", "-o", file, binary] + arguments)
        let fields = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isWhitespace)
        let numbers = fields.suffix(3).compactMap { Double($0) }
        try #require(numbers.count == 3, "GNU time said \(fields)")
        return Cost(outcome: outcome, maxRSSKiB: Int(numbers[0]), cpuSeconds: numbers[1] + numbers[2])
    }
}

@Suite("Image bombs: every crafted portrait refused from its header, in bounded time and memory")
struct ImageBombTests {
    @Test("Real portraits are within the default bounds and their headers read right")
    func realPortraits() throws {
        let jp2 = try ImageBounds.standard.check(Bombs.good)
        #expect(jp2.format == .jpeg2000 && jp2.width == 240 && jp2.height == 320 && jp2.components.count == 3)
        let jpg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.jpg")))
        let header = try ImageBounds.standard.check(jpg)
        #expect(header.format == .jpeg && header.components.count == 3 && header.width > 0)
        // A fingerprint as ISO/IEC 19794-4 has it: 1000 ppi, a slap of four fingers, grey.
        let slap = ImageBombs.codestream(width: 3200, height: 1000, components: 1)
        #expect(ImageBounds.standard.refusal(try ImageHeader(slap)) == nil)
        // Round trip: the header the generator writes is the header read.
        let made = try ImageHeader(ImageBombs.codestream(width: 640, height: 480, components: 3, bitDepth: 12, levels: 6))
        #expect(made.width == 640 && made.height == 480 && made.components.map(\.bitDepth) == [12, 12, 12])
        #expect(made.decompositionLevels == 6 && made.tiles == 1)
        // The sample portrait converts (the bounds let real images through).
        let png = try Portrait.png(fromJPEG2000: Bombs.good)
        #expect(png.width == 240 && png.height == 320)
    }

    @Test("Each bomb is refused in-process, saying why, in under a second of CPU", arguments: Bombs.names)
    func inProcess(_ name: String) throws {
        let bomb = Bombs.named(name)
        let start = Forge.threadCPUTime()
        let face = Portrait(format: ImageFormat(detecting: bomb.bytes) ?? .jpeg2000, width: 240, height: 320, original: bomb.bytes)
        do {
            let image = try face.forBrowser()
            Issue.record("\(name) was converted: \(image.bytes.count) bytes")
        } catch {
            #expect("\(error)".contains(bomb.refusal), "\(name): \(error)")
        }
        #expect(Forge.threadCPUTime() - start < .seconds(1), "\(name)")
        // The report says so, keeps the verdict, and serves no image.
        let (forge, image) = try Bombs.card(bomb.bytes)
        let (result, _) = try forge.read(image)
        let report = CardReport(result, convertPortrait: true)
        #expect(report.genuine, "\(name): \(report.reasons)")
        #expect(report.browserPortrait == nil)
        let problem = try #require(report.portrait?.problem, "\(name)")
        #expect(problem.hasPrefix("portrait cannot be shown: ") && problem.contains(bomb.refusal), "\(problem)")
    }

    @Test(
        "cccd read --out on each bomb card: genuine, 'portrait cannot be shown', no PNG; within 1 s of CPU and 64 MB of memory more than a real portrait"
    )
    func commandLine() throws {
        let folder = NSTemporaryDirectory() + "cccdkit-bombs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func run(_ image: [UInt8], _ tag: String) throws -> (Dictionary<String, Any>, Bombs.Cost, String) {
            let (forge, card) = try Bombs.card(image)
            let path = folder + "/\(tag).json"
            try card.json().write(to: URL(fileURLWithPath: path))
            let trust = folder + "/csca-\(tag).pem"
            try Data(forge.issuer.csca.pem.utf8).write(to: URL(fileURLWithPath: trust))
            let out = folder + "/out-\(tag)"
            let cost = try Bombs.measured([
                "read", "--card", path, "--can", "000000", "--trust", trust, "--out", out, "--json",
            ])
            #expect(cost.outcome.status == 0, "\(tag): \(cost.outcome.stderr)")
            return (try #require(cost.outcome.json, "\(tag): \(cost.outcome.stdout)"), cost, out)
        }
        let (goodJSON, baseline, goodOut) = try run(Bombs.good, "good")
        #expect((goodJSON["portrait"] as? [String: Any])?["problem"] == nil)
        #expect(FileManager.default.fileExists(atPath: goodOut + "/portrait.png"))
        for (n, bomb) in Bombs.all.enumerated() {
            let (json, cost, out) = try run(bomb.bytes, "bomb\(n)")
            #expect(json["genuine"] as? Bool == true, "\(bomb.name)")
            let problem = (json["portrait"] as? [String: Any])?["problem"] as? String ?? ""
            #expect(problem.contains(bomb.refusal), "\(bomb.name): \(problem)")
            #expect(cost.outcome.stderr.contains("portrait cannot be shown"), "\(bomb.name)")
            #expect(!FileManager.default.fileExists(atPath: out + "/portrait.png"), "\(bomb.name)")
            #expect(FileManager.default.fileExists(atPath: out + "/DG2.bin"), "\(bomb.name)")
            #expect(
                cost.maxRSSKiB - baseline.maxRSSKiB < 64 * 1024,
                "\(bomb.name): \(cost.maxRSSKiB) KiB against \(baseline.maxRSSKiB) KiB")
            #expect(
                cost.cpuSeconds - baseline.cpuSeconds < 1.0,
                "\(bomb.name): \(cost.cpuSeconds) s of CPU against \(baseline.cpuSeconds) s")
        }
    }

    @Test("Headers cut at every byte: a typed refusal or a header, never a trap")
    func everyTruncation() throws {
        for source in [ImageBombs.codestream(width: 640, height: 480, components: 3), Bombs.good,
                       ImageBombs.jpeg(width: 640, height: 480, components: 3)] {
            for n in 0..<min(source.count, 400) {
                if let header = try? ImageHeader(Array(source.prefix(n))) {
                    #expect(header.width > 0 && header.height > 0)
                }
            }
        }
    }
}
