import Foundation
import FuzzTargets
import TestSupport
import Testing

/// The fuzz targets in the normal suite: every target's seeds run through it (and some are taken as valid, so the
/// fuzzer starts past the error paths), and every input that ever crashed, leaked or ran slow under `make fuzz`
/// (`Tests/Fixtures/fuzz/<target>/`, named `WHAT.accepted.EXT` or `WHAT.rejected.EXT` when the outcome is known)
/// runs again and ends in that result.
@Suite("Fuzz targets: seeds and regression inputs")
struct FuzzRegressionTests {
    static let fixtures: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // IntegrationTests/FuzzRegressionTests.swift
        return parts.joined(separator: "/") + "/Fixtures/fuzz"
    }()

    static var regressionInputs: [(target: String, file: String)] {
        let fm = FileManager.default
        let folders = (try? fm.contentsOfDirectory(atPath: fixtures)) ?? []
        return folders.sorted().flatMap { folder in
            ((try? fm.contentsOfDirectory(atPath: fixtures + "/" + folder)) ?? []).sorted().map { (folder, $0) }
        }
    }

    @Test("Every target's seeds run, and some of them are accepted", arguments: FuzzTargets.all.map(\.name))
    func seeds(_ name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let seeds = target.seeds()
        #expect(!seeds.isEmpty, "\(name) has no seeds")
        let outcomes = seeds.map { target.run($0) }
        #expect(outcomes.contains(.accepted), "no seed of \(name) is accepted: the fuzzer would only see errors")
    }

    @Test("The crafted image bombs through the image-header and jpeg2000-decode targets: refused, each well within a second")
    func imageBombs() throws {
        let header = try #require(FuzzTargets.named("image-header"))
        let decode = try #require(FuzzTargets.named("jpeg2000-decode"))
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.jp2")))
        let bombs = ImageBombs.all(good: good)
        #expect(bombs.count >= 12)
        for bomb in bombs {
            let start = ContinuousClock.now
            _ = header.run(bomb.bytes)
            let outcome = decode.run(bomb.bytes)
            #expect(!outcome.isAccepted, "\(bomb.name) was decoded")
            #expect(ContinuousClock.now - start < .seconds(1), "\(bomb.name) took \(ContinuousClock.now - start)")
        }
    }

    @Test("Every input that ever crashed, leaked or ran slow now ends in a result, quickly")
    func regressions() throws {
        let inputs = Self.regressionInputs
        #expect(inputs.count >= 2, "the regression inputs are missing from \(Self.fixtures)")
        for (folder, file) in inputs {
            let target = try #require(FuzzTargets.named(folder), "Tests/Fixtures/fuzz/\(folder) names no fuzz target")
            let bytes = try #require(readBinaryFile(Self.fixtures + "/\(folder)/\(file)"))
            let start = Date()
            let outcome = target.run(bytes)
            let seconds = Date().timeIntervalSince(start)
            // A debug build is several times slower than the fuzzer's; a hang or a quadratic blow-up is far slower.
            #expect(seconds < 5, "\(folder)/\(file) took \(seconds) s")
            // A file named NAME.accepted.EXT must be taken as valid, NAME.rejected.EXT refused (with a typed error).
            if file.contains(".accepted.") { #expect(outcome == .accepted, "\(folder)/\(file): \(outcome)") }
            if file.contains(".rejected.") { #expect(!outcome.isAccepted, "\(folder)/\(file): \(outcome)") }
        }
    }
}
