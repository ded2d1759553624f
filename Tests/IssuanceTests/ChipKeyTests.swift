import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import Foundation
import Issuance
import LDS
import Personalization
import TestSupport
import Testing

/// A chip of the `secure` set makes its Chip and Active Authentication keys itself (GENERATE ASYMMETRIC KEY PAIR
/// inside SCP03); the host learns the public keys only and builds DG14, DG15 and EF.SOD from them.
@Suite("Keys born in the chip: GENERATE ASYMMETRIC KEY PAIR inside SCP03")
struct ChipKeyTests {
    static func writeOnChip(
        _ chip: any CardTransport, profile: CardProfile = .vietnamese2021, extendedLength: Bool = true
    ) throws -> (CardImage?, PersoWriter.Report) {
        let content = try DataPreparation.content(
            try SampleRecord.record, profile: profile, validator: RecordValidator(today: Line.today))
        var image: CardImage? = nil
        let report = try PersoWriter(transportKeys: SoftwareTransportKeys(master: Line.master)).write(
            generating: profile.chipKeyRequests, aid: profile.applicationID, to: chip, extendedLength: extendedLength,
            complete: { keys in
                let made = try content.finish(
                    chipAuthentication: keys[.chipAuthenticationKey],
                    activeAuthenticationKeyInfo: try keys[.activeAuthenticationKey]?.subjectPublicKeyInfo(),
                    signer: Line.pki.signer)
                image = made
                return try PersoScript.compile(made, commandSet: .secure, extendedLength: extendedLength)
            })
        return (image, report)
    }

    @Test(
        "vn-cccd-2021: two GENERATE commands, no private key on the wire or in the host's image; DG14 and DG15 hold the chip's public keys; read back genuine with CA and AA passed"
    )
    func onChipKeys() throws {
        #expect(CardProfile.vietnamese2021.keysMadeOnChip)
        let chip = try Line.blank(30)
        let recorder = Recorder(chip)
        let (made, _) = try Self.writeOnChip(recorder)
        let written = try #require(made)
        #expect(
            written.secrets.chipAuthenticationKey == nil && written.secrets.activeAuthenticationKey == nil
                && written.secrets.chipAuthenticationDHKey == nil)
        #expect(recorder.sent.filter { $0.count > 1 && $0[1] == KeyGeneration.instruction }.count == 2)
        #expect(
            !recorder.sent.contains { $0.count > 3 && $0[1] == 0xDA && [0x60, 0x61, 0x63, 0x71, 0x72].contains($0[3]) },
            "a key went to the chip by PUT DATA")
        // The issued chip holds the private keys, and the card's files their public halves.
        let issued = chip.image
        #expect(issued.lifeCycle == .personalized)
        // Locked: no key is made again, in or out of a channel.
        let generate = KeyGeneration.command(.activeAuthenticationKey, .rsa(bits: 2048), extendedLength: true)
        #expect(try chip.transmit(generate).statusWord == .conditionsOfUseNotSatisfied)
        #expect(try chip.transmit(CommandAPDU(cla: 0x84, ins: 0x46, p1: 0, p2: 0x71, data: [UInt8](repeating: 0, count: 16), ne: 256)).statusWord == .conditionsOfUseNotSatisfied)
        let aa = try AsymmetricKey(privateKeyDER: try #require(issued.secrets.activeAuthenticationKey))
        let dg15 = try DataGroup15(bytes: try #require(written.content(of: .dataGroup(15)))).publicKey()
        #expect(try aa.component("n") == dg15.component("n") && aa.bits == 2048)
        let ca = try AsymmetricKey(privateKeyDER: try #require(issued.secrets.chipAuthenticationKey))
        let dg14 = try DataGroup14(bytes: try #require(written.content(of: .dataGroup(14))))
        let caInfo = try #require(dg14.securityInfos.chipAuthenticationPublicKeys.first)
        #expect(try AsymmetricKey(publicKeyDER: caInfo.subjectPublicKeyInfo).ecPublicPoint() == ca.ecPublicPoint())
        // Nothing of the chip's private keys crossed the link, whole or in part.
        for secret in Secrets.of(issued) where secret.count >= 24 {
            #expect(!recorder.sent.contains { $0.contains(secret) }, "a private key's bytes were sent")
        }
        chip.reset()
        let outcome = ReadBack.verify(written, on: chip, trust: Line.trust, today: Line.today)
        #expect(outcome.passed, "\(outcome.reason)")
        #expect(outcome.result?.checks.chipAuthentication.status == .passed)
        #expect(outcome.result?.checks.activeAuthentication.status == .passed)
    }

    @Test("EC Active Authentication and DH Chip Authentication keys made on the chip read back genuine too")
    func otherKeyKinds() throws {
        var ecdsa = CardProfile.vietnamese2021
        ecdsa.activeAuthenticationKey = .ec(.brainpoolP256r1)
        var dh = CardProfile.vietnamese2021
        dh.chipAuthentication = ChipAuthenticationProtocol(agreement: .dh, cipher: .aes128)
        dh.chipAuthenticationDHGroup = 2
        for (index, profile) in [(31, ecdsa), (32, dh)] {
            let chip = try Line.blank(index)
            let (made, _) = try Self.writeOnChip(chip, profile: profile)
            let written = try #require(made)
            chip.reset()
            let outcome = ReadBack.verify(written, on: chip, trust: Line.trust, today: Line.today)
            #expect(outcome.passed, "\(profile.chipKeyRequests.map(\.parameters)): \(outcome.reason)")
            #expect(outcome.result?.checks.chipAuthentication.status == .passed)
            #expect(outcome.result?.checks.activeAuthentication.status == .passed)
        }
    }

    @Test("An RSA key's answer needs extended length: over a short-only link the writer stops before any file")
    func rsaNeedsExtendedLength() throws {
        let chip = try Line.blank(33, extended: false)
        do {
            _ = try Self.writeOnChip(chip, extendedLength: false)
            Issue.record("an RSA-2048 key was asked for over a short link")
        } catch let error as PersoError {
            #expect(error.kind == .refused && error.reason.contains("extended length"), "\(error)")
        }
        if case .blank(let state) = chip.state { #expect(state.files.isEmpty) } else { Issue.record("not blank") }
    }

    /// A blank secure chip with its applet selected and an SCP03 channel open.
    static func openChannel(_ chip: EmulatedChip, index: Int) throws -> SCP03Session {
        #expect(
            try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: VietnameseCard.applicationID)).statusWord
                == .success)
        let keys = try SCP03.StaticKeys.diversified(
            master: Line.master, diversificationData: BlankChip.serial(batch: 1, index: index))
        let host = try SCP03Host(keys: keys, random: SystemRandom())
        let (channel, ea) = try host.authenticate(try SCP03Host.parse(try chip.transmit(host.initializeUpdate)), level: .personalization)
        #expect(try chip.transmit(ea).statusWord == .success)
        return channel
    }

    @Test("The chip's refusals: outside SCP03 6982, unknown key or P1 6A86, parameters it does not make 6A80, no pair yet 6A88, a JMRTD applet 6D00")
    func refusals() throws {
        let chip = try Line.blank(34)
        let generate = KeyGeneration.command(.activeAuthenticationKey, .ec(.secp256r1), extendedLength: true)
        #expect(
            try chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: VietnameseCard.applicationID)).statusWord
                == .success)
        #expect(try chip.transmit(generate).statusWord == .securityStatusNotSatisfied)
        let channel = try Self.openChannel(chip, index: 34)
        func send(_ command: CommandAPDU) throws -> ResponseAPDU { try channel.unwrap(try chip.transmit(try channel.wrap(command))) }
        let read = KeyGeneration.command(.activeAuthenticationKey, .ec(.secp256r1), mode: .readPublicKey, extendedLength: true)
        #expect(try send(read).statusWord == StatusWord(rawValue: 0x6A88))
        #expect(try send(CommandAPDU(ins: 0x46, p1: 0, p2: 0x62, data: KeyGeneration.encode(ChipKeyParameters.ec(.secp256r1)), ne: 256)).statusWord == .incorrectP1P2)
        #expect(try send(CommandAPDU(ins: 0x46, p1: 7, p2: 0x71, data: KeyGeneration.encode(ChipKeyParameters.ec(.secp256r1)), ne: 256)).statusWord == .incorrectP1P2)
        for data in [[], [0x80, 0x01, 0x01, 0x81, 0x02, 0x02, 0x01], [0x80, 0x01, 0x02, 0x83, 0x01, 0x05], [0x80, 0x01, 0x09]] as [[UInt8]] {
            #expect(try send(CommandAPDU(ins: 0x46, p1: 0, p2: 0x71, data: data, ne: 256)).statusWord == .incorrectData, "\(data.hexString)")
        }
        // A DH Active Authentication key or an RSA CA key is no key a chip makes.
        #expect(try send(KeyGeneration.command(.activeAuthenticationKey, .dh(groupID: 2), extendedLength: true)).statusWord == .incorrectData)
        #expect(try send(KeyGeneration.command(.chipAuthenticationKey, .rsa(bits: 2048), extendedLength: true)).statusWord == .incorrectData)
        // Made, then read again: the same public key; made again: another.
        let first = try send(generate)
        #expect(first.statusWord == .success)
        let again = try send(read)
        #expect(again.data == first.data)
        let replaced = try send(generate)
        #expect(replaced.statusWord == .success && replaced.data != first.data)
        // JMRTD's applet has no such command.
        var applet = try BlankChip(serial: BlankChip.serial(batch: 1, index: 35), master: Line.master, commandSet: .jmrtdApplet)
        applet.modelsJMRTDApplet = true
        let plain = try EmulatedChip(blank: applet)
        #expect(
            try plain.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: VietnameseCard.applicationID)).statusWord
                == .success)
        #expect(try plain.transmit(generate).statusWord == .instructionNotSupported)
    }

    @Test("The host holds the chip's answer to what it asked: a short modulus, an even exponent, a point off the curve, a DH value out of the group, a duplicate or missing object, another tag, oversize: each refused")
    func hostileAnswers() throws {
        let rsa = try AsymmetricKey.generateRSA(bits: 1024)
        let n = try rsa.component("n")
        let e = try rsa.component("e")
        func answer(_ objects: [(UInt32, [UInt8])], outer: UInt32 = 0x7F49) -> [UInt8] {
            var w = TLVWriter()
            for (tag, value) in objects { w.write(tag: TLVTag(rawValue: tag), value: value) }
            return TLVWriter.encode(tag: TLVTag(rawValue: outer), value: w.bytes)
        }
        #expect(try KeyGeneration.publicKey(from: answer([(0x81, n), (0x82, e)]), asked: .rsa(bits: 1024)) == .rsa(modulus: n, exponent: e))
        let ec = try AsymmetricKey.generateEC(.brainpoolP256r1)
        let point = try ec.ecPublicPoint()
        #expect(try KeyGeneration.publicKey(from: answer([(0x86, point)]), asked: .ec(.brainpoolP256r1)) == .ec(.brainpoolP256r1, point: point))
        var offCurve = point
        offCurve[offCurve.count - 1] ^= 1
        let group = try #require(DHGroup.standardized(2))
        let cases: [([UInt8], ChipKeyParameters)] = [
            (answer([(0x81, Array(n.dropFirst())), (0x82, e)]), .rsa(bits: 1024)),
            (answer([(0x81, n), (0x82, e)]), .rsa(bits: 2048)),
            (answer([(0x81, n), (0x82, [0x01, 0x00, 0x00])]), .rsa(bits: 1024)),
            (answer([(0x81, n)]), .rsa(bits: 1024)),
            (answer([(0x81, n), (0x81, n), (0x82, e)]), .rsa(bits: 1024)),
            (answer([(0x81, n), (0x82, e)], outer: 0x7F4A), .rsa(bits: 1024)),
            (answer([(0x86, offCurve)]), .ec(.brainpoolP256r1)),
            (answer([(0x86, point)]), .ec(.secp256r1)),
            (answer([(0x86, Array(point.prefix(33)))]), .ec(.brainpoolP256r1)),
            (answer([(0x84, [0x01])]), .dh(groupID: 2)),
            (answer([(0x84, group.p)]), .dh(groupID: 2)),
            (answer([(0x86, [UInt8](repeating: 4, count: 3000))]), .ec(.brainpoolP256r1)),
            ([0x7F, 0x49, 0x85], .ec(.brainpoolP256r1)),
            ([], .rsa(bits: 1024)),
        ]
        for (index, (bytes, asked)) in cases.enumerated() {
            #expect(throws: KeyGenerationError.self, "case \(index)") {
                _ = try KeyGeneration.publicKey(from: bytes, asked: asked)
            }
        }
    }

    @Test("Profiles: the secure set makes keys on the chip unless chipKeys says host; jmrtd-applet with onChip is refused by name")
    func profileSetting() throws {
        #expect(CardProfile.vietnamese2021.chipKeyRequests.map(\.parameters) == [.ec(.brainpoolP256r1), .rsa(bits: 2048)])
        let yaml = try #require(CardProfile.builtInYAML["vn-cccd-2021"])
        #expect(yaml.contains("chipKeys: onChip"))
        let host = try CardProfile(
            yaml: yaml.replacingOccurrences(of: "chipKeys: onChip", with: "chipKeys: host"))
        #expect(!host.keysMadeOnChip && host.chipKeyRequests.isEmpty)
        let jmrtd = try #require(CardProfile.builtInYAML["jmrtd-applet-td1"])
        #expect(try !CardProfile(yaml: jmrtd).keysMadeOnChip)
        do {
            _ = try CardProfile(
                yaml: jmrtd.replacingOccurrences(of: "commandSet: jmrtd-applet", with: "commandSet: jmrtd-applet\n  chipKeys: onChip"))
            Issue.record("jmrtd-applet with chipKeys onChip was taken")
        } catch {
            #expect("\(error)".contains("perso.chipKeys"), "\(error)")
        }
    }
}
