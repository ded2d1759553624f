import CardCore
import CardEmulator
import CardFixtures
import ChipAccess
import ChipImage
import LDS
import TestSupport
import Testing

@Suite("The software chip: commands, access rules, quirks, faults")
struct EmulatedChipTests {
    func chip(_ settings: EmulatorSettings = .init(), cardAccess: Bool = true) throws -> EmulatedChip {
        var files = try SampleCards.files(dg2Size: 40_000, listDG3: true)
        if cardAccess { files[.cardAccess] = try Hex.decode("31143012060A04007F0007020204020202010202010D") }
        return try EmulatedChip(image: CardImage.eMRTD(files: files, bac: try SampleCards.bacKey), settings: settings)
    }

    func send(_ chip: EmulatedChip, _ hex: String) throws -> ResponseAPDU {
        try ResponseAPDU(bytes: chip.process(Hex.decode(hex)))
    }

    @Test("SELECT MF answers 6D00 (CCCD quirk); EF.CardAccess by FID and by SFI works without access control")
    func quirkAndCardAccess() throws {
        let c = try chip()
        #expect(try send(c, "00A4000C023F00").statusWord == .instructionNotSupported)
        #expect(try send(c, "00A4020C02011C").statusWord == .success)
        let read = try send(c, "00B0000000")
        #expect(read.statusWord == .endOfFileWarning)
        #expect(read.data == (try Hex.decode("31143012060A04007F0007020204020202010202010D")))
        c.reset()
        #expect(try send(c, "00B09C0000").data.count == 22)
    }

    @Test("SELECT answers FCP (P2=04) and FCI (P2=00); unknown AID and FID give 6A82")
    func selectAnswers() throws {
        let c = try chip()
        let fci = try send(c, "00A4040007A0000002471001")
        #expect(fci.statusWord == .success)
        #expect(try TLV(parsing: fci.data).requiredChild(0x84).value == ArraySlice(VietnameseCard.applicationID))
        let fcp = try send(c, "00A4020402011E")
        let size = try TLV(parsing: fcp.data).requiredChild(0x80).value
        #expect(Array(size) == [0x00, UInt8(try SampleCards.files(dg2Size: 40_000, listDG3: true)[.com]!.count)])
        #expect(try send(c, "00A4040C07A0000002471099").statusWord == .fileNotFound)
        #expect(try send(c, "00A4020C020177").statusWord == .fileNotFound)
    }

    @Test("Nothing protected is readable in plain: 6982, before and after selecting the application")
    func plainReadDenied() throws {
        let c = try chip()
        #expect(try send(c, "00B09E0000").statusWord == .fileNotFound)  // EF.COM lives in the application
        #expect(try send(c, "00A4040C07A0000002471001").statusWord == .success)
        #expect(try send(c, "00B09E0000").statusWord == .securityStatusNotSatisfied)
        #expect(try send(c, "00A4020C02011E").statusWord == .success)
        #expect(try send(c, "00B0000004").statusWord == .securityStatusNotSatisfied)
        #expect(try send(c, "00B0000004").data.isEmpty)
    }

    @Test("After BAC: reads by SFI, by offset, odd INS past 32767; 6282 at the end, 6B00 beyond; DG3 needs TA")
    func protectedReads() throws {
        let c = try chip()
        #expect(try send(c, "00A4040C07A0000002471001").statusWord == .success)
        let session = try BAC.authenticate(c, key: try SampleCards.bacKey)
        let t = SecureMessagingTransport(c, session: session)
        let dg2 = try SampleCards.files(dg2Size: 40_000)[.dataGroup(2)]!
        let first = try t.transmit(CommandAPDU(ins: 0xB0, p1: 0x82, p2: 0, ne: 100))
        #expect(first.statusWord == .success && first.data == Array(dg2.prefix(100)))
        let middle = try t.transmit(CommandAPDU(ins: 0xB0, p1: 0x10, p2: 0x00, ne: 16))
        #expect(middle.data == Array(dg2[0x1000..<0x1010]))
        let odd = try t.transmit(CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: [0x54, 0x02, 0x88, 0x00], ne: 20))
        #expect(try TLV(parsing: odd.data).value == dg2[0x8800..<0x8800 + 18])  // Ne 20 = 53 12 + 18 bytes
        let dg13 = try SampleCards.files(dg2Size: 40_000, listDG3: true)[.dataGroup(13)]!
        #expect(try t.transmit(CommandAPDU(ins: 0xB0, p1: 0x8D, p2: 0, ne: 1)).data == [0x6D])
        let last = dg13.count - 5
        let end = try t.transmit(CommandAPDU(ins: 0xB0, p1: UInt8(last >> 8), p2: UInt8(last & 0xFF), ne: 50))
        #expect(end.statusWord == .endOfFileWarning && end.data == Array(dg13.suffix(5)))
        let tail = try t.transmit(
            CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: [0x54, 0x02, UInt8(last >> 8), UInt8(last & 0xFF)], ne: 50))
        #expect(tail.statusWord == .endOfFileWarning && tail.data == [0x53, 0x05] + dg13.suffix(5))
        let beyond = try t.transmit(CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: [0x54, 0x02, 0xFF, 0x00], ne: 20))
        #expect(beyond.statusWord == .wrongP1P2)
        #expect(
            try t.transmit(CommandAPDU(ins: 0xB0, p1: 0x83, p2: 0, ne: 16)).statusWord == .securityStatusNotSatisfied)
        #expect(c.hasSecureMessaging)
    }

    @Test("A short protected READ BINARY carries at most 231 plaintext bytes (3DES)")
    func shortCapacity() throws {
        let c = try chip()
        _ = try send(c, "00A4040C07A0000002471001")
        let t = SecureMessagingTransport(c, session: try BAC.authenticate(c, key: try SampleCards.bacKey))
        let r = try t.transmit(CommandAPDU(ins: 0xB0, p1: 0x82, p2: 0, ne: 256))
        #expect(r.data.count == 231)
    }

    @Test("A tampered MAC gets 6988 and ends the session; the next good command gets 6988 too")
    func tamperedMAC() throws {
        let c = try chip()
        _ = try send(c, "00A4040C07A0000002471001")
        let session = try BAC.authenticate(c, key: try SampleCards.bacKey)
        var protected = try session.protect(CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0, ne: 4))
        protected.data[protected.data.count - 1] ^= 0x01
        let answer = try c.transmit(protected)
        #expect(answer.statusWord == .incorrectSMDataObjects && answer.data.isEmpty)
        #expect(!c.hasSecureMessaging)
        let next = try session.protect(CommandAPDU(ins: 0xB0, p1: 0x9E, p2: 0, ne: 4))
        #expect(try c.transmit(next).statusWord == .incorrectSMDataObjects)
        #expect(try send(c, "00B09E0000").statusWord == .securityStatusNotSatisfied)
    }

    @Test("Wrong BAC key: 6300, no session")
    func wrongBAC() throws {
        let c = try chip()
        let wrong = BACKey(documentNumber: "090000001", dateOfBirth: "900101", dateOfExpiry: "300101")
        #expect(throws: AccessControlError.self) { try BAC.authenticate(c, key: wrong) }
        #expect(!c.hasSecureMessaging)
    }

    @Test("Extended length off: an extended APDU gets 6700")
    func extendedOff() throws {
        let c = try chip(EmulatorSettings(supportsExtendedLength: false))
        #expect(try send(c, "00B09C00000100").statusWord == .wrongLength)
        #expect(c.capabilities.supportsExtendedLength == false)
    }

    @Test("Fault plan: a status word for the k-th command, then the link drops")
    func faults() throws {
        let c = try chip(
            EmulatorSettings(faultPlan: FaultPlan(dropLinkAfterCommands: 3, statusForCommand: [2: .noPreciseDiagnosis]))
        )
        #expect(try send(c, "00A4020C02011C").statusWord == .success)
        #expect(try send(c, "00A4020C02011C").statusWord == .noPreciseDiagnosis)
        #expect(try send(c, "00A4020C02011C").statusWord == .success)
        let command = try Hex.decode("00A4020C02011C")
        do {
            _ = try c.process(command)
            Issue.record("link still up")
        } catch {
            #expect(error.code == .cardRemoved)
        }
    }

    @Test("Hostile commands never trap: 20,000 random APDUs, plain and after BAC")
    func hostile() throws {
        let c = try chip()
        var rng = SeededGenerator(seed: 4711)
        for i in 0..<20_000 {
            if i % 5000 == 0 {
                _ = try send(c, "00A4040C07A0000002471001")
                _ = try BAC.authenticate(c, key: try SampleCards.bacKey)
            }
            var bytes = rng.bytes(Int.random(in: 0...40, using: &rng))
            if bytes.count > 1, Bool.random(using: &rng) {
                bytes[1] = [0xA4, 0xB0, 0xB1, 0x84, 0x82][Int.random(in: 0..<5, using: &rng)]
            }
            if bytes.count > 0, Bool.random(using: &rng) {
                bytes[0] = [0x00, 0x0C][Int.random(in: 0..<2, using: &rng)]
            }
            let answer = try c.process(bytes)
            #expect(answer.count >= 2)
        }
    }
}
