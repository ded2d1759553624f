import CardCore
import TestSupport
import Testing

@Suite("BER-TLV (ISO 7816-4 §5.2)")
struct TLVTests {
    @Test("Tags of 1, 2 and 3 bytes; constructed bit; class")
    func tags() throws {
        let objects = try TLVReader.readAll(Hex.decode("5F1F02AABB7F4903860100DF810101CC"))
        #expect(objects.map(\.tag) == [0x5F1F, 0x7F49, 0xDF8101])
        #expect(objects.map(\.tag.byteCount) == [2, 2, 3])
        #expect(objects.map(\.tag.isConstructed) == [false, true, false])
        #expect(TLVTag(rawValue: 0x7F49).tagClass == 1)
        #expect(TLVTag(rawValue: 0x87).tagClass == 2)
        #expect(try objects[1].requiredChild(0x86).value == [0x00])
    }

    @Test("Short and long lengths up to 4 length bytes; minimal encodings")
    func lengths() throws {
        for length in [0, 1, 127, 128, 255, 256, 65535, 65536, 70000] {
            let value = [UInt8](repeating: 0xA5, count: length)
            let encoded = TLVWriter.encode(tag: 0x04, value: value)
            #expect(encoded.count == 1 + TLVWriter.lengthFieldWidth(length) + length)
            let parsed = try TLV(parsing: encoded)
            #expect(parsed.value.count == length && parsed.explicitLengthWidth == nil)
            #expect(parsed.encoded == encoded)
        }
        #expect(TLVWriter.encode(tag: 0x04, value: [UInt8](repeating: 0, count: 128)).prefix(3) == [0x04, 0x81, 0x80])
        #expect(
            TLVWriter.encode(tag: 0x04, value: [UInt8](repeating: 0, count: 256)).prefix(4) == [0x04, 0x82, 0x01, 0x00])
        // A four-byte length field (84) is read.
        let four = try TLV(parsing: Hex.decode("04840000000201FF"))
        #expect(four.value == [0x01, 0xFF] && four.explicitLengthWidth == 5)
    }

    @Test("Non-minimal length forms are kept and re-encoded as they were")
    func nonMinimal() throws {
        let input = try Hex.decode("0481020102")
        let tlv = try TLV(parsing: input)
        #expect(tlv.explicitLengthWidth == 2)
        #expect(tlv.encoded == input)
    }

    @Test("Padding 00/FF between objects is skipped by the reader and kept by the tree")
    func padding() throws {
        let input = try Hex.decode("00008001AAFFFF81020102000000")
        let objects = try TLVReader.readAll(input)
        #expect(objects.map(\.tag) == [0x80, 0x81])
        let nodes = try TLVNode.parseRun(input)
        #expect(nodes.count == 5)
        #expect(TLVNode.encode(nodes) == input)
        #expect(throws: TLVError.self) { try TLV(parsing: Hex.decode("8001AA00")) }
        #expect(try TLV(parsing: Hex.decode("8001AA00"), allowTrailingPadding: true).value == [0xAA])
    }

    static let hostile: [(String, TLVError.Code)] = [
        ("5F", .truncatedTag), ("5F81", .truncatedTag), ("5F818101", .invalidTag), ("80", .truncatedLength),
        ("8080", .unsupportedLength), ("8085000000000001", .unsupportedLength), ("8082", .truncatedLength),
        ("800501", .truncatedValue), ("8084FFFFFFFF00", .truncatedValue), ("8001AA01", .truncatedLength),
        ("8001AABB", .truncatedLength),
    ]

    @Test("Truncated and overlong input throws its own error", arguments: hostile.indices)
    func hostileInput(_ index: Int) throws {
        let (hex, code) = Self.hostile[index]
        let bytes = try Hex.decode(hex)
        do {
            _ = try TLVReader.readAll(bytes)
            Issue.record("\(hex) parsed")
        } catch {
            #expect(error.code == code, "\(hex): \(error)")
        }
    }

    @Test("Nesting deeper than the limit is refused")
    func depthLimit() throws {
        var bytes: [UInt8] = [0x80, 0x00]
        for _ in 0..<40 { bytes = TLVWriter.encode(tag: 0xA0, value: bytes) }
        #expect(throws: TLVError.self) { try TLVNode.parseRun(bytes) }
        #expect(try TLVNode.parseRun(bytes, depthLimit: 64).count == 1)
    }

    @Test("Writer builds nested objects")
    func nested() throws {
        var w = TLVWriter()
        w.write(tag: 0x7C) { inner in
            inner.write(tag: 0x81, value: [1, 2, 3])
            inner.write(tag: 0x82, value: [UInt8](repeating: 9, count: 200))
        }
        let parsed = try TLV(parsing: w.bytes)
        #expect(parsed.tag == 0x7C)
        #expect(try parsed.children().map(\.tag) == [0x81, 0x82])
        #expect(try parsed.requiredChild(0x82).value.count == 200)
        #expect(throws: TLVError.self) { try parsed.requiredChild(0x83) }
    }

    @Test("Parsing is zero-copy: values are slices of the input")
    func zeroCopy() throws {
        let input = try Hex.decode("6F088401AA8503BBCCDD")
        let outer = try TLV(parsing: input)
        let child = try outer.requiredChild(0x85)
        #expect(child.value.startIndex == 7 && child.value.endIndex == 10)
    }

    /// 1,000,000 seeded random inputs: each parses or throws (never traps), and every input that parses as a
    /// complete tree re-encodes byte for byte. Half are structured (valid TLV with random mutations) so that a
    /// large share takes the deep paths.
    @Test("Seeded random run of 100,000 inputs")
    func randomRun() { run(100_000, seed: 0xCCCD_2026) }

    /// `make soak`: a million (`make fuzz` runs the real fuzzer).
    @Test("Soak: seeded random run of 1,000,000 inputs")
    func soakRandomMillion() { run(1_000_000, seed: 0xCCCD_2027) }

    func run(_ count: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var valid = 0
        var invalid = 0
        for i in 0..<count {
            var input: [UInt8]
            if i % 2 == 0 {
                input = rng.bytes(Int.random(in: 0...24, using: &rng))
            } else {
                input = randomTLV(&rng, depth: 0)
                let mutations = Int.random(in: 0...2, using: &rng)
                for _ in 0..<mutations where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            do {
                let nodes = try TLVNode.parseRun(input)
                valid += 1
                let again = TLVNode.encode(nodes)
                if again != input { Issue.record("re-encoding differs for \(input.hexString)") }
                // The lazy reader agrees on the top-level tags.
                let flat = try TLVReader.readAll(input)
                if flat.map(\.tag) != nodes.compactMap(\.tag) { Issue.record("reader disagrees: \(input.hexString)") }
            } catch {
                invalid += 1
            }
        }
        #expect(valid + invalid == count)
        #expect(valid > count / 5 && invalid > count / 5)
    }

    private func randomTLV(_ rng: inout SeededGenerator, depth: Int) -> [UInt8] {
        var w = TLVWriter()
        let count = Int.random(in: 1...3, using: &rng)
        for _ in 0..<count {
            if Int.random(in: 0..<6, using: &rng) == 0 { w.writeRaw([Bool.random(using: &rng) ? 0x00 : 0xFF]) }
            let tags: [TLVTag] = [0x80, 0x5F1F, 0x7F49, 0xA1, 0x30, 0xDF8101, 0x04]
            let tag = tags[Int.random(in: 0..<tags.count, using: &rng)]
            if tag.isConstructed && depth < 4 {
                w.write(tag: tag, value: randomTLV(&rng, depth: depth + 1))
            } else if tag.isConstructed {
                w.write(tag: tag, value: [])
            } else {
                let value = rng.bytes(Int.random(in: 0...(depth == 0 ? 140 : 12), using: &rng))
                w.writeTag(tag)
                w.writeLength(value.count, width: Int.random(in: 0..<8, using: &rng) == 0 ? 3 : nil)
                w.writeRaw(value)
            }
        }
        return w.bytes
    }
}
