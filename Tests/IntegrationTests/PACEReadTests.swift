import CardCore
import CardCrypto
import CardEmulator
import CardFixtures
import ChipAccess
import ChipImage
import LDS
import Reader
import TestSupport
import Testing

/// Records every command on the wire.
final class RecordingTransport: CardTransport {
    let base: any CardTransport
    var commands: [[UInt8]] = []
    init(_ base: any CardTransport) { self.base = base }
    var capabilities: TransportCapabilities { base.capabilities }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        commands.append(command.encoded())
        return try base.transmit(command)
    }
}

@Suite("End to end in one process: the Vietnamese card over PACE, then CA, then AA, then all files")
struct PACEReadTests {
    @Test("PACE-CAN → CA → AA → every file, byte-identical; never SELECT MF; the APDU count is the minimum")
    func paceCAN() throws {
        let image = try SampleCards.image()
        let recorder = RecordingTransport(try EmulatedChip(image: image))
        let session = ReaderSession(transport: recorder)
        let result = try session.readCard(.can(SampleCards.can))
        #expect(result.accessControl == "PACE-CAN")
        #expect(result.checks.chipAuthentication.status == .passed, "\(result.checks.chipAuthentication)")
        #expect(result.checks.activeAuthentication.status == .passed, "\(result.checks.activeAuthentication)")
        var expected = image.lDSFiles
        expected[.cardAccess] = nil
        #expect(Set(result.files.keys) == Set(expected.keys))
        for (file, content) in expected { #expect(result.files[file] == content, "\(file)") }
        #expect(!recorder.commands.contains { $0.starts(with: [0x00, 0xA4, 0x00]) })
        // Order: EF.CardAccess (plain, by SFI), MSE:Set AT with tag 84, four GA, then SELECT under SM.
        #expect(recorder.commands[0].starts(with: [0x00, 0xB0, 0x9C, 0x00]))
        #expect(recorder.commands[1].starts(with: [0x00, 0x22, 0xC1, 0xA4]))
        #expect(recorder.commands[1].suffix(3) == [0x84, 0x01, 0x0D])
        #expect(recorder.commands[2...5].allSatisfy { $0[1] == 0x86 })
        // 1 EF.CardAccess + 5 PACE + 1 SELECT + EF.COM + DG14 + 2 CA + DG15 + 1 AA + DG1 + DG2 + DG13 + EF.SOD.
        #expect(result.apduCount == 17)
        #expect(recorder.commands.count == 17)
    }

    @Test(
        "PACE-IM on brainpoolP384r1 with AES-256 and with 3DES: the whole read",
        arguments: [SecureMessagingCipher.aes256, .tripleDES])
    func integratedMapping(_ cipher: SecureMessagingCipher) throws {
        var image = try SampleCards.image()
        let im = SecurityInfos([
            .pace(
                PACEInfo(
                    protocol: PACEProtocol(mapping: .integrated, agreement: .ecdh, cipher: cipher), parameterID: 16))
        ])
        image.masterFiles = [CardImage.File(.cardAccess, content: try im.derEncoded())]
        let result = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCards.can))
        #expect(result.accessControl == "PACE-CAN")
        #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        #expect(
            result.checks.chipAuthentication.status == .passed && result.checks.activeAuthentication.status == .passed)
    }

    @Test("PACE-MRZ works the same")
    func paceMRZ() throws {
        let session = ReaderSession(transport: try EmulatedChip(image: try SampleCards.image()))
        let result = try session.readCard(.mrz(try SampleCards.bacKey))
        #expect(result.accessControl == "PACE-MRZ")
        #expect(
            result.checks.chipAuthentication.status == .passed && result.checks.activeAuthentication.status == .passed)
    }

    @Test("A wrong CAN: access denied, in the user's words, with the chip's 6300")
    func wrongCAN() throws {
        let session = ReaderSession(transport: try EmulatedChip(image: try SampleCards.image()))
        do {
            _ = try session.readCard(.can("000001"))
            Issue.record("wrong CAN accepted")
        } catch let error as ReaderError {
            #expect(error.code == .accessDenied)
            #expect(error.statusWord == .verificationFailed)
            #expect("\(error)" == "PACE-CAN failed: wrong CAN (6300)")
        }
    }

    @Test("A chip whose CA and AA keys do not match DG14 and DG15 fails both checks, and the files are still read")
    func clone() throws {
        let image = try SampleCards.image(mismatchedKeys: true)
        let session = ReaderSession(transport: try EmulatedChip(image: image))
        let result = try session.readCard(.can(SampleCards.can))
        #expect(result.checks.chipAuthentication.status == .failed, "\(result.checks.chipAuthentication)")
        #expect(result.checks.activeAuthentication.status == .failed, "\(result.checks.activeAuthentication)")
        #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        #expect(result.files[.sod] == image.content(of: .sod))
    }

    @Test("CAM: PACE-CAM proves the chip's key from DG14; a mismatched key fails", arguments: [false, true])
    func cam(_ mismatched: Bool) throws {
        var image = try SampleCards.image(mismatchedKeys: mismatched)
        let cam = SecurityInfos([
            .pace(
                PACEInfo(
                    protocol: PACEProtocol(mapping: .chipAuthentication, agreement: .ecdh, cipher: .aes128),
                    parameterID: 13))
        ])
        image.masterFiles = [CardImage.File(.cardAccess, content: try cam.derEncoded())]
        let result = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCards.can))
        #expect(
            result.checks.chipAuthentication.status == (mismatched ? .failed : .passed),
            "\(result.checks.chipAuthentication)")
        #expect(result.checks.chipAuthentication.reason.contains("CAM"))
    }

    @Test("No silent downgrade: PACE that cannot run falls back to BAC only when allowed, and says so")
    func fallback() throws {
        var image = try SampleCards.image()
        // A card that offers only IM on secp224r1 (no point encoding for p ≡ 1 mod 4 here) in EF.CardAccess, and BAC.
        let unsupported = SecurityInfos([
            .pace(
                PACEInfo(
                    protocol: PACEProtocol(mapping: .integrated, agreement: .ecdh, cipher: .aes128), parameterID: 10))
        ])
        image.masterFiles = [CardImage.File(.cardAccess, content: try unsupported.derEncoded())]
        #expect(throws: ReaderError.self) {
            try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.mrz(try SampleCards.bacKey))
        }
        let result = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(
            .mrz(try SampleCards.bacKey), options: ReadOptions(allowBACFallback: true))
        #expect(result.accessControl == "BAC")
        #expect(result.notes.contains { $0.contains("BAC") })
        #expect(result.checks.chipAuthentication.status == .passed)
    }

    @Test("A BAC-only card is read with BAC (no EF.CardAccess); the CAN cannot open it")
    func bacOnly() throws {
        let image = try SampleCards.image(security: .bacOnly)
        let result = try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.mrz(try SampleCards.bacKey))
        #expect(result.accessControl == "BAC")
        #expect(result.checks.chipAuthentication.status == .notChecked)
        #expect(throws: ReaderError.self) {
            try ReaderSession(transport: try EmulatedChip(image: image)).readCard(.can(SampleCards.can))
        }
    }

    @Test("Without extended length the PACE read completes with 223-byte AES reads")
    func shortAES() throws {
        let image = try SampleCards.image()
        let session = ReaderSession(
            transport: try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: false)))
        let result = try session.readCard(.can(SampleCards.can))
        #expect(session.workingLe == 223)
        #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        #expect(result.checks.activeAuthentication.status == .passed)
    }
}
