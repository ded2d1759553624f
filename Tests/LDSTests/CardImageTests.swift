import CardCore
import ChipAccess
import ChipImage
import Foundation
import LDS
import Testing

@Suite("EF.COM, LDS file identifiers and the CardImage file")
struct CardImageTests {
    @Test("EF.COM round trip: build → bytes → parse → same; ICAO D.4 EF.COM prefix")
    func efCOM() throws {
        let com = EFCOM(dataGroups: [
            .dataGroup(1), .dataGroup(2), .dataGroup(3), .dataGroup(13), .dataGroup(14), .dataGroup(15),
        ])
        let bytes = com.encoded
        #expect(try EFCOM(bytes: bytes) == com)
        #expect(bytes.starts(with: [0x60]))
        // ICAO 9303-11 App. D.4: EF.COM "60145F0104303130365F36063034303030305C026175" lists DG1 and DG2.
        let icao = try EFCOM(bytes: Hex.decode("60145F0104303130365F36063034303030305C026175"))
        #expect(icao.dataGroups == [.dataGroup(1), .dataGroup(2)])
        #expect(icao.ldsVersion == "0106" && icao.unicodeVersion == "040000")
        #expect(throws: LDSError.self) { try EFCOM(bytes: Hex.decode("61035C0161")) }
        #expect(throws: LDSError.self) { try EFCOM(bytes: Hex.decode("6003")) }
        #expect(throws: LDSError.self) { try EFCOM(bytes: Hex.decode("6003 5C01 99")) }
    }

    @Test("File identifiers and tags")
    func identifiers() {
        #expect(LDSFile.com.fileID == 0x011E && LDSFile.com.shortFileID == 0x1E)
        #expect(LDSFile.dataGroup(13).fileID == 0x010D && LDSFile.dataGroup(13).tag == 0x6D)
        #expect(LDSFile.dataGroup(tag: 0x75) == .dataGroup(2))
        #expect(LDSFile.cardAccess.shortFileID == 0x1C && LDSFile.cardAccess.isInMasterFile)
        #expect(LDSFile(name: "DG15") == .dataGroup(15))
    }

    @Test("CardImage JSON round trip; secrets never in the description")
    func json() throws {
        let key = BACKey(documentNumber: "090000000", dateOfBirth: "900101", dateOfExpiry: "300101")
        let image = CardImage.eMRTD(
            files: [
                .com: EFCOM(dataGroups: [.dataGroup(1)]).encoded, .dataGroup(1): [0x61, 0x01, 0x00],
                .cardAccess: [0x31, 0x00],
            ],
            bac: key, can: "000000")
        let data = try image.json()
        let back = try CardImage(json: data)
        #expect(back == image)
        #expect(back.content(of: .dataGroup(1)) == [0x61, 0x01, 0x00])
        #expect(back.masterFiles.map(\.name) == ["EF.CardAccess"])
        #expect(back.secrets.bacKey == key)
        #expect(!"\(image)".contains("090000000"))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"fileID\" : \"0101\""))
        #expect(throws: LDSError.self) { try CardImage(json: Data("{}".utf8)) }
        #expect(throws: LDSError.self) {
            try CardImage(json: Data(text.replacingOccurrences(of: "0101", with: "XYZ1").utf8))
        }
    }
}
