import CardCore
import CardCrypto
import ChipImage
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

extension PCSCReadTests {
    /// The server's peak resident memory (VmHWM, KiB) and CPU seconds so far, from /proc.
    static func cost(of pid: pid_t) throws -> (peakKiB: Int, cpuSeconds: Double) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let peak = try #require(Int(line.split(whereSeparator: \.isWhitespace)[1]))
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // After the command name's closing parenthesis: field 3 is the state; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        let ticks = try #require(Double(fields[11])) + (try #require(Double(fields[12])))
        return (peak, ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    @Test(
        "cccd serve through pcscd with bomb portraits (16,384 components, huge tiles, bit depth, declared size, a cut stream): the report genuine with 'portrait cannot be shown', no portraitURL, the portrait route 422; the server within 1 s of CPU and 64 MB of memory more per bomb"
    )
    func deskPortraitBombs() throws {
        let folder = NSTemporaryDirectory() + "cccdkit-desk-bombs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/pki", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let forge = try Forge()
        try Data(forge.issuer.csca.pem.utf8).write(to: URL(fileURLWithPath: folder + "/pki/csca.crt"))
        let card = JP2Card(folder: folder)
        func put(_ image: [UInt8]) throws {
            let made = try forge.resigned([.dataGroup(2): Bombs.dataGroup2(image)])
            try made.json().write(to: URL(fileURLWithPath: card.card))
        }
        try put(Bombs.good)
        let desk = try DeskHarness(card: card, lifetime: 60, allowOrigin: "https://his.hospital.example")
        defer { desk.stop() }
        let yaml = try desk.http("GET", "/openapi.yaml", token: false)
        let api = try OpenAPIDocument(yaml: String(decoding: yaml.body, as: UTF8.self))
        let read = #"{"reader":"\#(DeskHarness.reader)","can":"000000","wait":15}"#

        // A real portrait first: the baseline.
        let good = try desk.http("POST", "/v1/read", body: read)
        #expect(good.status == 200, "\(String(decoding: good.body, as: UTF8.self))")
        let goodURL = try #require(good.json?["portraitURL"] as? String)
        #expect(try desk.http("GET", goodURL).status == 200)
        var before = try Self.cost(of: desk.server.pid)

        let names = [
            "16,384 components of 65,535 × 256", "huge tiles over a huge image", "38 bits per sample",
            "65,535 × 65,535 grey", "33 wavelet levels", "a real portrait cut in half",
            "a real portrait's codestream cut in half", "a JPEG declaring 65,535 × 65,535 in colour",
        ]
        let chosen = Bombs.all.filter { names.contains($0.name) }
        #expect(chosen.count == names.count, "bombs found: \(chosen.map(\.name)) of \(Bombs.names)")
        for bomb in chosen {
            try desk.removeCard()
            try put(bomb.bytes)
            try desk.insertCard()
            let answer = try desk.http("POST", "/v1/read", body: read)
            #expect(answer.status == 200, "\(bomb.name): \(String(decoding: answer.body, as: UTF8.self))")
            api.check(answer, "/v1/read", "post")
            let report = try #require(answer.json, "\(bomb.name)")
            #expect(report["genuine"] as? Bool == true, "\(bomb.name)")
            let problem = (report["portrait"] as? [String: Any])?["problem"] as? String ?? ""
            #expect(problem.contains("portrait cannot be shown") && problem.contains(bomb.refusal), "\(bomb.name): \(problem)")
            #expect(report["portraitURL"] == nil, "\(bomb.name): a portrait URL for a bomb")
            let id = try #require(report["readId"] as? String)
            let portrait = try desk.http("GET", "/v1/reads/\(id)/portrait")
            #expect(portrait.status == 422, "\(bomb.name): \(portrait.status)")
            #expect((portrait.json?["error"] as? [String: Any])?["code"] as? String == "portraitUnavailable")
            api.check(portrait, "/v1/reads/{id}/portrait", "get")
            let after = try Self.cost(of: desk.server.pid)
            #expect(after.peakKiB - before.peakKiB < 64 * 1024, "\(bomb.name): peak \(after.peakKiB) KiB after \(before.peakKiB)")
            #expect(after.cpuSeconds - before.cpuSeconds < 1.0, "\(bomb.name): \(after.cpuSeconds - before.cpuSeconds) s of CPU")
            before = after
        }
    }
}
