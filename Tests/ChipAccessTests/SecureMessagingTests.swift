import CardCore
import CardCrypto
import TestSupport
import Testing

@testable import ChipAccess

@Suite("Secure messaging: ICAO 9303-11 D.4, BSI TR-03110, JMRTD/NFCPassportReader answers")
struct SecureMessagingTests {
    @Test("D.4: every step (M, N, CC, DOs, SSC, K) for SELECT EF.COM and two READ BINARY")
    func appendixD4() throws {
        let file = try VectorFile("icao9303-p11-appD4-bac-3des-secure-messaging.txt")
        let keys = try SecureMessagingKeys(
            cipher: .tripleDES, encryptionKey: file.hex("KSEnc"), macKey: file.hex("KSMAC"))
        let terminal = SecureMessaging(keys: keys, ssc: try file.hex("SSC_initial"))
        let chipKeys = try SecureMessagingKeys(
            cipher: .tripleDES, encryptionKey: file.hex("KSEnc"), macKey: file.hex("KSMAC"))
        let chip = SecureMessaging(keys: chipKeys, ssc: try file.hex("SSC_initial"))
        var plainContent: [UInt8] = []
        let steps = file.sections.filter { $0.has("plain_cmd") }
        #expect(steps.count == 3)
        for step in steps {
            let plain = try CommandAPDU(bytes: step.hex("plain_cmd"))
            let protected = try terminal.protect(plain)
            #expect(terminal.sendSequenceCounter == (try step.hex("SSC")))
            #expect(protected.encoded() == (try step.hex("protected_cmd")))
            // Intermediate values.
            let objects = try SecureMessagingCodec.commandDataObjects(plain, ssc: step.hex("SSC"), keys: keys)
            if step.has("DO87") { #expect(objects.starts(with: try step.hex("DO87"))) }
            if step.has("DO97") { #expect(objects.suffix(3) == ArraySlice(try step.hex("DO97"))) }
            let header = [plain.cla | 0x0C, plain.ins, plain.p1, plain.p2]
            if step.has("masked_padded_header") {
                #expect(ISO9797Padding.pad(header, blockSize: 8) == (try step.hex("masked_padded_header")))
            }
            if step.has("encrypted_data") {
                #expect(try keys.encrypt(step.hex("padded_data"), ssc: step.hex("SSC")) == step.hex("encrypted_data"))
                #expect(ISO9797Padding.pad(plain.data, blockSize: 8) == (try step.hex("padded_data")))
            }
            #expect(ISO9797Padding.pad(header, blockSize: 8) + objects == (try step.hex("M")))
            let n = SecureMessagingCodec.commandMACInput(
                header: header, objects: objects, ssc: try step.hex("SSC"), blockSize: 8)
            #expect(n == (try step.hex("N")))
            #expect(try keys.mac(padded: n) == step.hex("CC"))

            // Chip side: unwraps to the plain command, wraps the published response.
            let received = try CommandAPDU(bytes: step.hex("protected_cmd"))
            #expect(try chip.unprotectCommand(received) == plain)
            let unprotected = try ResponseAPDU(bytes: step.hex("unprotected_resp"))
            let chipAnswer = try chip.protectResponse(unprotected, ins: plain.ins)
            #expect(chipAnswer.encoded == (try step.hex("protected_resp")))

            // Terminal side: checks and unwraps the response.
            let response = try terminal.unprotect(try ResponseAPDU(bytes: step.hex("protected_resp")))
            #expect(terminal.sendSequenceCounter == (try step.hex("resp_SSC")))
            #expect(response.encoded == (try step.hex("unprotected_resp")))
            let kName = step.has("K_padded") ? "K_padded" : "K"
            let respObjects = try ResponseAPDU(bytes: step.hex("protected_resp")).data.dropLast(10)
            let k = SecureMessagingCodec.responseMACInput(
                objects: respObjects, ssc: try step.hex("resp_SSC"), blockSize: 8)
            #expect(k == (try step.hex(kName)))
            #expect(try keys.mac(padded: k) == step.hex("CC_resp"))
            plainContent += response.data
        }
        #expect(plainContent == (try file.hex("EF_COM_content")))
        #expect(chip.sendSequenceCounter == terminal.sendSequenceCounter)
    }

    @Test("JMRTD 3DES answers: two commands back to back")
    func jmrtd() throws {
        let s = try VectorFile("misc-3des-sm-known-answers.txt").section(with: "SSC_initial")
        let keys = try SecureMessagingKeys(cipher: .tripleDES, encryptionKey: s.hex("KSenc"), macKey: s.hex("KSmac"))
        let sm = SecureMessaging(keys: keys, ssc: try s.hex("SSC_initial"))
        #expect(try sm.protect(CommandAPDU(bytes: s.hex("plain_1"))).encoded() == s.hex("protected_1"))
        #expect(try sm.protect(CommandAPDU(bytes: s.hex("plain_2"))).encoded() == s.hex("protected_2"))
    }

    @Test("NFCPassportReader 3DES answers: protect, unprotect without and with data")
    func nfcPassportReader() throws {
        let file = try VectorFile("misc-3des-sm-known-answers.txt")
        let s = try file.section(with: "resp_1")
        let keys = try SecureMessagingKeys(cipher: .tripleDES, encryptionKey: s.hex("KSenc"), macKey: s.hex("KSmac"))
        let ssc = try s.hex("SSC_initial")
        func bumped(_ n: UInt8) -> [UInt8] { Array(ssc.dropLast()) + [(ssc.last ?? 0) &+ n] }
        #expect(
            try SecureMessagingCodec.protect(CommandAPDU(bytes: s.hex("plain_1")), ssc: bumped(1), keys: keys).encoded()
                == s.hex("protected_1"))
        // The file labels responses with the SSC the test hands in (..A8, ..AA); the implementation increments
        // before checking, so the MACs verify at ..A9 and ..AB (recomputed independently).
        #expect(
            try SecureMessagingCodec.unprotect(ResponseAPDU(bytes: s.hex("resp_1")), ssc: bumped(2), keys: keys).encoded
                == s.hex("unprotected_1"))
        #expect(
            try SecureMessagingCodec.unprotect(ResponseAPDU(bytes: file.hex("resp_2")), ssc: bumped(4), keys: keys)
                .encoded == file.hex("unprotected_2"))
        #expect(throws: SecureMessagingError.self) {
            try SecureMessagingCodec.unprotect(ResponseAPDU(bytes: s.hex("resp_1")), ssc: bumped(1), keys: keys)
        }
    }

    @Test("BSI ECDH worked example: AES IV, encryption, response MAC, animamea wrap/unwrap")
    func bsiAES() throws {
        let file = try VectorFile("bsi-tr03110-worked-example-ecdh-pace-sm-ca.txt")
        let keys = try SecureMessagingKeys(cipher: .aes128, encryptionKey: file.hex("KSenc"), macKey: file.hex("KSmac"))
        let enc = try file.section(with: "cipher")
        #expect(try keys.iv(for: enc.hex("SSC")) == enc.hex("IV_E(KSenc,SSC)"))
        #expect(
            try keys.encrypt(ISO9797Padding.pad(enc.hex("plain"), blockSize: 16), ssc: enc.hex("SSC"))
                == enc.hex("cipher"))
        let mac = try file.section(with: "MAC")
        #expect(
            try keys.mac(
                padded: SecureMessagingCodec.responseMACInput(
                    objects: mac.hex("data"), ssc: mac.hex("SSC"), blockSize: 16)) == mac.hex("MAC"))

        let w = try file.section(with: "SSC_used")
        let ssc = try w.hex("SSC_used")
        let plain = try CommandAPDU(bytes: w.hex("plain_cmd"))
        #expect(try keys.iv(for: ssc) == w.hex("IV"))
        let objects = try SecureMessagingCodec.commandDataObjects(plain, ssc: ssc, keys: keys)
        let header = [plain.cla | 0x0C, plain.ins, plain.p1, plain.p2]
        #expect(ISO9797Padding.pad(header, blockSize: 16) + objects == (try w.hex("M")))
        let n = SecureMessagingCodec.commandMACInput(header: header, objects: objects, ssc: ssc, blockSize: 16)
        #expect(n == (try w.hex("N")))
        #expect(try keys.mac(padded: n) == w.hex("CC"))
        #expect(try SecureMessagingCodec.protect(plain, ssc: ssc, keys: keys).encoded() == w.hex("protected_cmd"))
        let response = try SecureMessagingCodec.unprotect(
            ResponseAPDU(bytes: w.hex("protected_resp")), ssc: w.hex("resp_SSC_used"), keys: keys)
        #expect(response.encoded == (try w.hex("unprotected_resp")))
    }

    @Test("BSI DH worked example 8: AES SM including an extended-length protected APDU, both roles")
    func bsiExtended() throws {
        let file = try VectorFile("bsi-tr03110-worked-example-dh-pace-sm-ca-extended-length.txt")
        let keys = try SecureMessagingKeys(cipher: .aes128, encryptionKey: file.hex("KSenc"), macKey: file.hex("KSmac"))
        let s = try file.section(with: "WE8.1_plain")
        let sm = try file.section(with: "cipher")
        #expect(
            try keys.encrypt(
                ISO9797Padding.pad(sm.hex("plain"), blockSize: 16), ssc: [UInt8](repeating: 0, count: 15) + [1])
                == sm.hex("cipher"))
        #expect(
            try keys.mac(
                padded: SecureMessagingCodec.responseMACInput(
                    objects: sm.hex("mac_data"), ssc: [UInt8](repeating: 0, count: 15) + [2], blockSize: 16))
                == sm.hex("MAC"))
        #expect(try keys.iv(for: s.hex("WE8.1_SSC")) == s.hex("WE8.1_IV"))
        for example in ["WE8.1", "WE8.3", "WE8.4"] {
            let plain = try CommandAPDU(bytes: s.hex("\(example)_plain"))
            let ssc = try s.hex("\(example)_SSC")
            let protected = try SecureMessagingCodec.protect(plain, ssc: ssc, keys: keys)
            let wire = protected.encoded()
            #expect(wire == (try s.hex("\(example)_protected")), "\(example)")
            // Chip role: the received bytes unwrap to the plain command.
            #expect(
                try SecureMessagingCodec.unprotect(command: CommandAPDU(bytes: wire), ssc: ssc, keys: keys) == plain)
            // Response at SSC + 1, both roles.
            var respSSC = ssc
            respSSC[15] &+= 1
            let resp = try ResponseAPDU(bytes: s.hex("\(example)_resp"))
            #expect(
                try SecureMessagingCodec.unprotect(resp, ssc: respSSC, keys: keys) == ResponseAPDU(statusWord: .success)
            )
            #expect(
                try SecureMessagingCodec.protect(
                    response: ResponseAPDU(statusWord: .success), ins: plain.ins, ssc: respSSC, keys: keys) == resp)
        }
        #expect(try s.hex("WE8.4_protected")[4] == 0x00)  // extended form
    }

    @Test("A tampered response MAC ends the session; nothing is decrypted")
    func tamperedResponse() throws {
        let file = try VectorFile("icao9303-p11-appD4-bac-3des-secure-messaging.txt")
        let keys = try SecureMessagingKeys(
            cipher: .tripleDES, encryptionKey: file.hex("KSEnc"), macKey: file.hex("KSMAC"))
        let sm = SecureMessaging(keys: keys, ssc: try file.hex("SSC_initial"))
        _ = try sm.protect(CommandAPDU(bytes: Hex.decode("00A4020C02011E")))
        var bad = try Hex.decode("990290008E08FA855A5D4C50A8ED9000")
        bad[8] ^= 0x01
        do {
            _ = try sm.unprotect(ResponseAPDU(bytes: bad))
            Issue.record("tampered MAC accepted")
        } catch let error as SecureMessagingError {
            #expect(error.code == .badMAC)
            #expect(error.chipStatus == .incorrectSMDataObjects)
        }
        #expect(sm.isEnded)
        #expect(throws: SecureMessagingError.self) { try sm.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4)) }
    }

    @Test("Chip side: missing checksum → 6987, bad checksum → 6988, hostile DOs are typed errors")
    func chipSideErrors() throws {
        let keys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: [UInt8](repeating: 7, count: 32))
        let ssc = [UInt8](repeating: 0, count: 16)
        let good = try SecureMessagingCodec.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 16), ssc: ssc, keys: keys)
        var noMAC = good
        noMAC.data = Array(good.data.prefix(3))
        do {
            _ = try SecureMessagingCodec.unprotect(command: noMAC, ssc: ssc, keys: keys)
            Issue.record("accepted")
        } catch let e as SecureMessagingError { #expect(e.chipStatus == .expectedSMDataObjectsMissing) }
        var badMAC = good
        badMAC.data[badMAC.data.count - 1] ^= 0x80
        do {
            _ = try SecureMessagingCodec.unprotect(command: badMAC, ssc: ssc, keys: keys)
            Issue.record("accepted")
        } catch let e as SecureMessagingError { #expect(e.chipStatus == .incorrectSMDataObjects) }
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<5000 {
            var cmd = good
            cmd.data = rng.bytes(Int.random(in: 0...40, using: &rng))
            #expect(throws: SecureMessagingError.self) {
                try SecureMessagingCodec.unprotect(command: cmd, ssc: ssc, keys: keys)
            }
            let resp = ResponseAPDU(data: cmd.data, statusWord: .success)
            #expect(throws: (any Error).self) { try SecureMessagingCodec.unprotect(resp, ssc: ssc, keys: keys) }
        }
    }

    @Test("Largest plaintext per short response: 231 (3DES), 223 (AES); extended fits 20 KB")
    func capacity() {
        #expect(SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: 8) == 231)
        #expect(SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: 16) == 223)
        #expect(SecureMessagingCodec.maxPlaintextLength(responseLength: 65536, blockSize: 16) > 60000)
    }

    @Test("Plain 6982 after SM passes through; plain 6988 ends the session")
    func plainStatuses() throws {
        let keys = try SecureMessagingKeys(cipher: .tripleDES, sharedSecret: [UInt8](repeating: 1, count: 16))
        let sm = SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: 8))
        _ = try sm.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4))
        #expect(
            try sm.unprotect(ResponseAPDU(statusWord: .securityStatusNotSatisfied)).statusWord
                == .securityStatusNotSatisfied)
        _ = try sm.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4))
        #expect(throws: SecureMessagingError.self) {
            try sm.unprotect(ResponseAPDU(statusWord: .incorrectSMDataObjects))
        }
        #expect(sm.isEnded)
    }
}
