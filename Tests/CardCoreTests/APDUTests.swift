import CardCore
import TestSupport
import Testing

@Suite("Command and response APDUs (ISO 7816-4 §5.1)")
struct APDUTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let nc: Int
        let ne: Int?
        var testDescription: String { "Nc=\(nc) Ne=\(ne.map(String.init) ?? "-")" }
    }

    static let shapes: [Shape] = [
        Shape(nc: 0, ne: nil), Shape(nc: 0, ne: 1), Shape(nc: 0, ne: 255), Shape(nc: 0, ne: 256),
        Shape(nc: 0, ne: 257), Shape(nc: 0, ne: 65535), Shape(nc: 0, ne: 65536),
        Shape(nc: 1, ne: nil), Shape(nc: 255, ne: nil), Shape(nc: 256, ne: nil), Shape(nc: 65535, ne: nil),
        Shape(nc: 1, ne: 1), Shape(nc: 255, ne: 256), Shape(nc: 2, ne: 65536), Shape(nc: 300, ne: 1),
        Shape(nc: 65535, ne: 65536),
    ]

    @Test("encode → parse round trip, short and extended", arguments: shapes)
    func roundTrip(_ shape: Shape) throws {
        var rng = SeededGenerator(seed: UInt64(shape.nc) &* 31 &+ UInt64(shape.ne ?? 0))
        let command = CommandAPDU(cla: 0x0C, ins: 0xB0, p1: 0x81, p2: 0x02, data: rng.bytes(shape.nc), ne: shape.ne)
        let expectedCase = shape.nc == 0 ? (shape.ne == nil ? 1 : 2) : (shape.ne == nil ? 3 : 4)
        #expect(command.isoCase == expectedCase)

        let natural = command.encoded()
        #expect(try CommandAPDU(bytes: natural) == command)
        let shortPossible = shape.nc <= 255 && (shape.ne ?? 0) <= 256
        #expect(command.needsExtendedLength == !shortPossible)
        if shortPossible {
            let extra = (shape.nc > 0 ? 1 : 0) + (shape.ne != nil ? 1 : 0)
            #expect(natural.count == 4 + shape.nc + extra)
        }
        let extended = command.encoded(extended: true)
        #expect(try CommandAPDU(bytes: extended) == command)
        if command.isoCase != 1 {
            #expect(extended[4] == 0x00)
            let extra = 1 + (shape.nc > 0 ? 2 : 0) + (shape.ne != nil ? 2 : 0)
            #expect(extended.count == 4 + shape.nc + extra)
        }
    }

    @Test("Le conventions: Ne=256 ↔ Le=00, Ne=65536 ↔ Le=0000")
    func leConventions() throws {
        #expect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256).encoded() == [0x00, 0xB0, 0, 0, 0x00])
        #expect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 65536).encoded() == [0x00, 0xB0, 0, 0, 0, 0, 0])
        #expect(
            CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256).encoded(extended: true) == [0, 0xB0, 0, 0, 0, 0x01, 0x00])
        #expect(try CommandAPDU(bytes: [0, 0xB0, 0, 0, 0]).ne == 256)
        #expect(try CommandAPDU(bytes: [0, 0xB0, 0, 0, 0, 0, 0]).ne == 65536)
        #expect(
            try CommandAPDU(bytes: Hex.decode("00A4020C02011C"))
                == CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x01, 0x1C]))
    }

    static let malformed: [String] = [
        "", "00", "00A4", "00A402",  // shorter than a header
        "00A4020C0201",  // Lc 2, one data byte
        "00A4020C02011C0000",  // Lc 2, two trailing bytes
        "00B0000000FF",  // extended marker, then one byte
        "00B000000000000102",  // extended Lc 0 with trailing bytes
        "00A4020C000002011C00",  // extended Lc 2, one byte of Le
        "00A4020C0000030102",  // extended Lc 3, two data bytes
        "00A4020C05010203",  // short Lc 5, three data bytes
    ]

    @Test("Malformed lengths are rejected with APDUError", arguments: malformed)
    func rejectsMalformed(_ hex: String) throws {
        let bytes = try Hex.decode(hex)
        #expect(throws: APDUError.self) { try CommandAPDU(bytes: bytes) }
    }

    @Test("Random byte strings either parse and re-encode, or throw")
    func randomCommands() {
        var rng = SeededGenerator(seed: 7)
        var parsed = 0
        for _ in 0..<20000 {
            let length = Int.random(in: 0...12, using: &rng)
            var bytes = rng.bytes(length)
            if length > 4, Bool.random(using: &rng) { bytes[4] = UInt8(length - 5) }
            if let command = try? CommandAPDU(bytes: bytes) {
                parsed += 1
                let again = command.encoded(extended: bytes.count > 4 && bytes[4] == 0 && bytes.count != 5)
                #expect(again == bytes)
            }
        }
        #expect(parsed > 1000)
    }

    @Test("Class byte: secure messaging and chaining")
    func classBits() {
        let select = CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: [0xA0, 0, 0, 2, 0x47, 0x10, 0x01])
        #expect(!select.isSecureMessaging)
        #expect(select.withSecureMessagingClass().cla == 0x0C)
        #expect(select.withSecureMessagingClass().isSecureMessaging)
        let long = CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: (0..<600).map { UInt8($0 & 0xFF) }, ne: 16)
        let chain = long.chained(maxDataLength: 255)
        #expect(chain.map(\.data.count) == [255, 255, 90])
        #expect(chain.map(\.isChained) == [true, true, false])
        #expect(chain.map(\.ne) == [nil, nil, 16])
        #expect(chain.flatMap(\.data) == long.data)
        #expect(select.chained() == [select])
    }

    @Test("Response APDUs parse and keep data and status word")
    func responses() throws {
        let r = try ResponseAPDU(bytes: Hex.decode("60145F019000"))
        #expect(r.data == [0x60, 0x14, 0x5F, 0x01])
        #expect(r.statusWord == .success && r.isSuccess)
        #expect(r.encoded == (try Hex.decode("60145F019000")))
        #expect(throws: APDUError.self) { try ResponseAPDU(bytes: [0x90]) }
    }

    @Test("Descriptions never print command data")
    func noDataInDescription() {
        let c = CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: [0xDE, 0xAD, 0xBE, 0xEF], ne: 40)
        #expect(!c.description.contains("DEADBEEF"))
        #expect(c.description.contains("Nc=4"))
    }
}

@Suite("Status words")
struct StatusWordTests {
    static let named: [(UInt16, StatusWord)] = [
        (0x9000, .success), (0x6282, .endOfFileWarning), (0x6300, .verificationFailed), (0x6700, .wrongLength),
        (0x6982, .securityStatusNotSatisfied), (0x6983, .authenticationMethodBlocked),
        (0x6984, .referenceDataNotUsable), (0x6985, .conditionsOfUseNotSatisfied),
        (0x6987, .expectedSMDataObjectsMissing), (0x6988, .incorrectSMDataObjects), (0x6A80, .incorrectData),
        (0x6A82, .fileNotFound), (0x6A86, .incorrectP1P2), (0x6A88, .referencedDataNotFound), (0x6B00, .wrongP1P2),
        (0x6D00, .instructionNotSupported), (0x6E00, .classNotSupported), (0x6F00, .noPreciseDiagnosis),
    ]

    @Test("Every named code matches itself only, and has its own meaning")
    func named() {
        var meanings = Set<String>()
        for (raw, sw) in Self.named {
            #expect(sw.rawValue == raw)
            meanings.insert(sw.meaning)
            for (other, _) in Self.named where other != raw {
                #expect(!(sw ~= StatusWord(rawValue: other)))
            }
        }
        #expect(meanings.count == Self.named.count)
    }

    @Test("Families 61xx, 6Cxx, 63Cx match as patterns and expose their parameter")
    func families() {
        func kind(_ sw: StatusWord) -> String {
            switch sw {
            case .success: return "ok"
            case .bytesAvailable: return "61"
            case .wrongLe: return "6C"
            case .verificationFailedRetries: return "63C"
            case .verificationFailed: return "6300"
            default: return "other"
            }
        }
        #expect(kind(StatusWord(rawValue: 0x6110)) == "61")
        #expect(StatusWord(rawValue: 0x6110).availableBytes == 16)
        #expect(StatusWord(rawValue: 0x6100).availableBytes == 256)
        #expect(kind(StatusWord(rawValue: 0x6CDF)) == "6C")
        #expect(StatusWord(rawValue: 0x6CDF).exactLe == 0xDF)
        #expect(kind(StatusWord(rawValue: 0x63C2)) == "63C")
        #expect(StatusWord(rawValue: 0x63C2).retriesLeft == 2)
        #expect(kind(StatusWord(rawValue: 0x6300)) == "6300")
        #expect(kind(StatusWord(rawValue: 0x6A82)) == "other")
        #expect(StatusWord(rawValue: 0x6A82).description == "6A82 (file or application not found)")
    }
}
