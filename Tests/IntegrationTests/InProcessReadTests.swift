import CardCore
import CardEmulator
import CardFixtures
import ChipAccess
import ChipImage
import LDS
import Reader
import TestSupport
import Testing

@Suite("End to end in one process: card image → emulator → reader over BAC")
struct InProcessReadTests {
    /// SELECT application + GET CHALLENGE + EXTERNAL AUTHENTICATE.
    static let setupAPDUs = 3

    func read(_ settings: EmulatorSettings) throws -> (ReadResult, [LDSFile: [UInt8]], ReaderSession) {
        let files = try SampleCards.files()
        let chip = try EmulatedChip(image: try SampleCards.image(security: .bacOnly), settings: settings)
        let session = ReaderSession(transport: chip)
        try session.selectApplication()
        try session.performBAC(try SampleCards.bacKey)
        return (try session.readAll(), files, session)
    }

    func expectIdentical(_ result: ReadResult, _ files: [LDSFile: [UInt8]]) {
        #expect(Set(result.files.keys) == Set(files.keys))
        for (file, content) in files { #expect(result.files[file] == content, "\(file)") }
    }

    @Test("Extended length on: byte-identical files, one READ BINARY per file")
    func extended() throws {
        let (result, files, session) = try read(EmulatorSettings(supportsExtendedLength: true))
        expectIdentical(result, files)
        #expect(files[.dataGroup(2)]!.count > 20_000)
        #expect(result.apduCount == Self.setupAPDUs + files.count)
        #expect(result.accessControl == "BAC")
        #expect(session.usesExtendedLength)
    }

    @Test("Extended length off: byte-identical files, ⌈size / 231⌉ READ BINARY per file")
    func short() throws {
        let (result, files, session) = try read(EmulatorSettings(supportsExtendedLength: false))
        expectIdentical(result, files)
        let reads = files.values.reduce(0) { $0 + ($1.count + 230) / 231 }
        #expect(result.apduCount == Self.setupAPDUs + reads)
        #expect(session.workingLe == 231)
    }

    @Test("A chip that sends at most 1000 bytes: the reader learns the Le and wastes no APDU")
    func learnedLe() throws {
        let (result, files, session) = try read(EmulatorSettings(supportsExtendedLength: true, maxResponseLength: 1000))
        expectIdentical(result, files)
        let capacity = SecureMessagingCodec.maxPlaintextLength(responseLength: 1000, blockSize: 8)
        #expect(session.workingLe == capacity)
        let reads = files.values.reduce(0) { $0 + ($1.count + capacity - 1) / capacity }
        #expect(result.apduCount == Self.setupAPDUs + reads)
    }

    @Test("Fault plan 6700 to extended Le: one refused READ, then short reads complete the job")
    func fallback() throws {
        let (result, files, session) = try read(
            EmulatorSettings(supportsExtendedLength: true, faultPlan: FaultPlan(wrongLengthForExtendedLe: true)))
        expectIdentical(result, files)
        #expect(!session.usesExtendedLength)
        let reads = files.values.reduce(0) { $0 + ($1.count + 230) / 231 }
        #expect(result.apduCount == Self.setupAPDUs + 1 + reads)
    }

    @Test("Fault plan 6C xx on a read: the reader retries with the chip's exact Le and stays in sync")
    func exactLe() throws {
        // Command 4 is the first READ BINARY (EF.COM).
        let (result, files, _) = try read(
            EmulatorSettings(
                supportsExtendedLength: false, faultPlan: FaultPlan(statusForCommand: [4: StatusWord(rawValue: 0x6C10)])
            ))
        expectIdentical(result, files)
    }

    @Test("The link drops in the middle of DG2: a typed card-removed error, at once")
    func linkDrop() throws {
        let chip = try EmulatedChip(
            image: try SampleCards.image(security: .bacOnly),
            settings: EmulatorSettings(
                supportsExtendedLength: false, faultPlan: FaultPlan(dropLinkAfterCommands: Self.setupAPDUs + 2 + 10)))
        let session = ReaderSession(transport: chip)
        try session.selectApplication()
        try session.performBAC(try SampleCards.bacKey)
        let start = ContinuousClock.now
        do {
            _ = try session.readAll()
            Issue.record("read completed over a dropped link")
        } catch let error as ReaderError {
            #expect(error.code == .cardRemoved)
            #expect("\(error)".contains("DG2"))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test("Wrong MRZ key: access denied with the chip's 6300")
    func wrongKey() throws {
        let chip = try EmulatedChip(image: try SampleCards.image(security: .bacOnly))
        let session = ReaderSession(transport: chip)
        try session.selectApplication()
        do {
            try session.performBAC(BACKey(documentNumber: "090000000", dateOfBirth: "900102", dateOfExpiry: "300101"))
            Issue.record("wrong key accepted")
        } catch let error as ReaderError {
            #expect(error.code == .accessDenied)
            #expect(error.statusWord == .verificationFailed)
            #expect(!"\(error)".contains("900102"))
        }
    }

    @Test("DG3 listed in EF.COM is skipped without an APDU (it needs Terminal Authentication)")
    func dg3() throws {
        let chip = try EmulatedChip(image: try SampleCards.image(listDG3: true, security: .bacOnly))
        let session = ReaderSession(transport: chip)
        try session.selectApplication()
        try session.performBAC(try SampleCards.bacKey)
        let result = try session.readAll()
        #expect(result.skipped[.dataGroup(3)] != nil)
        #expect(result.files[.dataGroup(3)] == nil)
        #expect(result.apduCount == Self.setupAPDUs + 5)
    }

    @Test("The card image survives JSON and still reads identically")
    func imageFile() throws {
        let image = try CardImage(json: try SampleCards.image(security: .bacOnly).json())
        let chip = try EmulatedChip(image: image)
        let session = ReaderSession(transport: chip)
        try session.selectApplication()
        try session.performBAC(try SampleCards.bacKey)
        expectIdentical(try session.readAll(), try SampleCards.files())
    }
}

@Suite("Large files: past offset 32767 with odd-INS READ BINARY")
struct LargeFileTests {
    @Test(
        "A 40 KB DG2 without extended length: B0 up to 32767, then B1 with DO'54', byte-identical",
        arguments: [SampleCards.Security.bacOnly, .vietnamese])
    func beyond32K(_ security: SampleCards.Security) throws {
        let image = try SampleCards.image(dg2Size: 40_000, security: security)
        final class Recorder: CardTransport {
            let base: any CardTransport
            var instructions: [UInt8] = []
            init(_ base: any CardTransport) { self.base = base }
            var capabilities: TransportCapabilities { base.capabilities }
            func transmit(_ c: CommandAPDU) throws -> ResponseAPDU {
                instructions.append(c.ins)
                return try base.transmit(c)
            }
        }
        let recorder = Recorder(
            try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: false)))
        let session = ReaderSession(transport: recorder)
        let result = try session.readCard(security == .bacOnly ? .mrz(try SampleCards.bacKey) : .can(SampleCards.can))
        #expect(result.files[.dataGroup(2)] == image.content(of: .dataGroup(2)))
        #expect(recorder.instructions.contains(0xB1))
    }
}
