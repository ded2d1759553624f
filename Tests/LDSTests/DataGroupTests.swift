import CardCore
import Foundation
import LDS
import TestSupport
import Testing

@Suite("Data groups: DG2, DG3, DG11/12, DG13 build → bytes → parse → same; hostile input")
struct DataGroupTests {
    static func portrait(_ ext: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: VectorFile.directory + "/sample-portrait.\(ext)")))
    }

    @Test("DG2 with a JPEG and a JPEG 2000 portrait", arguments: ["jpg", "jp2"])
    func dg2(_ ext: String) throws {
        let image = try Self.portrait(ext)
        let face = try DataGroup2.FaceImage(image: image, gender: 1)
        #expect(face.width == 240 && face.height == 320)
        #expect(face.format == (ext == "jpg" ? .jpeg : .jpeg2000))
        let dg2 = DataGroup2(faces: [face])
        let back = try DataGroup2(bytes: dg2.encoded)
        #expect(back == dg2)
        #expect(back.faces.first?.image == image)
    }

    @Test("DG2 rejects what is not a portrait")
    func dg2Hostile() throws {
        #expect(throws: LDSError.self) { try DataGroup2.FaceImage(image: [1, 2, 3]) }
        let good = DataGroup2(faces: [try DataGroup2.FaceImage(image: try Self.portrait("jpg"))]).encoded
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<3 {
                bytes[Int.random(in: 0..<min(bytes.count, 120), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = try? DataGroup2(bytes: bytes)
            _ = try? DataGroup2(bytes: Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))))
        }
    }

    @Test("DG3 finger records round-trip")
    func dg3() throws {
        let dg3 = DataGroup3(fingers: [
            .init(position: 2, compression: 5, width: 300, height: 400, image: try Self.portrait("jp2")),
            .init(position: 7, compression: 5, width: 300, height: 400, image: [1, 2, 3, 4]),
        ])
        #expect(try DataGroup3(bytes: dg3.encoded) == dg3)
        #expect(throws: LDSError.self) { try DataGroup3(bytes: [0x63, 0x03, 0x7F, 0x61, 0x00]) }
    }

    @Test("DG11/DG12 read generically")
    func generic() throws {
        let dg11 = GenericDataGroup(
            number: 11,
            elements: [
                TLV(tag: 0x5F0E, value: Array("NGUYEN<<VAN<AN".utf8)), TLV(tag: 0x5F11, value: Array("HA NOI".utf8)),
            ])
        let back = try GenericDataGroup(number: 11, bytes: dg11.encoded)
        #expect(back == dg11 && back.text(0x5F11) == "HA NOI")
        #expect(throws: LDSError.self) { try GenericDataGroup(number: 12, bytes: dg11.encoded) }
    }

    @Test("DG13 with every field, an unknown field kept, and a hostile run")
    func dg13() throws {
        var dg = DataGroup13()
        dg.idNumber = "001090000123"
        dg.fullName = "Nguyễn Văn An"
        dg.dateOfBirth = "01/01/1990"
        dg.sex = "Nam"
        dg.nationality = "Việt Nam"
        dg.ethnicity = "Kinh"
        dg.religion = "Không"
        dg.placeOfOrigin = "Hà Nội"
        dg.placeOfResidence = "Hà Nội"
        dg.identifyingMarks = "Sẹo"
        dg.dateOfIssue = "15/06/2021"
        dg.dateOfExpiry = "01/01/2030"
        dg.fatherName = "Nguyễn Văn Bình"
        dg.motherName = "Trần Thị Cúc"
        dg.oldIdNumber = "012345678"
        dg.field16 = "ABCDEF0123456789"
        dg.otherFields[17] = [0x02, 0x01, 0x11, 0x0C, 0x02, 0x41, 0x42]
        let bytes = dg.encoded
        #expect(try DataGroup13(bytes: bytes) == dg)
        // Fields in another order still parse (no offsets).
        var rng = SeededGenerator(seed: 13)
        for _ in 0..<3000 {
            var mutated = bytes
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? DataGroup13(bytes: mutated)
        }
        #expect(throws: LDSError.self) { try DataGroup13(bytes: [0x6D, 0x00]) }
    }

    @Test("Image headers: JPEG SOF and JP2 ihdr dimensions; J2K codestream")
    func dimensions() throws {
        #expect(imageDimensions(try Self.portrait("jpg"))! == (240, 320))
        #expect(imageDimensions(try Self.portrait("jp2"))! == (240, 320))
        #expect(imageDimensions([0xFF, 0xD8, 0xFF]) == nil)
    }
}
