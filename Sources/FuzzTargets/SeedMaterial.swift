import CardCore
import CardCrypto
import ChipImage
import Foundation
import LDS

/// Where seeds come from: the published worked examples in `Vectors/` (every hex value in them) and the sample
/// card (`Vectors/sample-card/card.json`, a card image made by data preparation, with its CSCA).
enum SeedMaterial {
    /// The repository's `Vectors/` folder (found from this file's path: targets run from a build of this tree).
    static let vectors: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/FuzzTargets/SeedMaterial.swift
        return parts.joined(separator: "/") + "/Vectors"
    }()

    static func file(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: vectors + "/" + relative).map { [UInt8]($0) }
    }

    /// Every `name = HEX` value of every vector file, by name.
    static let vectorValues: [(name: String, bytes: [UInt8])] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vectors)) ?? []
        var out: [(String, [UInt8])] = []
        for name in names.sorted() where name.hasSuffix(".txt") {
            guard let text = file(name).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingCharacters(in: .whitespaces)
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                guard !value.isEmpty, value.count % 2 == 0, let bytes = try? Hex.decode(value) else { continue }
                out.append((key, bytes))
            }
        }
        return out
    }()

    static func vectorValues(named predicate: (String) -> Bool) -> [[UInt8]] {
        vectorValues.filter { predicate($0.name.lowercased()) }.map(\.bytes)
    }

    /// The sample card image (all LDS files, the chip's keys); nil when the file is missing.
    static let sampleCard: CardImage? = file("sample-card/card.json").flatMap { try? CardImage(json: Data($0)) }

    static func sampleFile(_ file: LDSFile) -> [UInt8]? { sampleCard?.content(of: file) }

    /// The sample card's CSCA certificate (DER).
    nonisolated(unsafe) static let csca: Certificate? = file("sample-card/csca.crt").flatMap {
        Certificate.fromPEM($0).first
    }

    /// The document signer's certificate inside the sample card's EF.SOD.
    static var documentSigner: [UInt8]? {
        guard let sod = sampleFile(.sod), let document = try? SecurityObjectDocument(bytes: sod) else { return nil }
        return CMS.verifySignature(document.cms).1?.der
    }

    static var portraits: [[UInt8]] { ["sample-portrait.jpg", "sample-portrait.jp2"].compactMap { file($0) } }
}
