import CardCore
import CardCrypto
import ChipAccess
import TestSupport
import Testing

/// One published SCP03 exchange: static keys, INITIALIZE UPDATE and its answer, EXTERNAL AUTHENTICATE, a wrapped
/// command and answer, and the four command cases wrapped in sequence. Values from the SCP03 unit tests of
/// osmocom pySim (tests/unittests/test_globalplatform.py), which follow GP Amendment D; reproduced here as data.
struct SCP03Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let keyVersion: UInt8
    let keys: (enc: String, mac: String, dek: String)
    let initializeUpdate: String
    let initializeUpdateResponse: String
    let externalAuthenticate: String
    let command: String
    let response: String
    let cases: [String]
    var testDescription: String { name }

    static let plainCommand = "80E2910006BF3E035C015A00"
    static let plainResponse = "bf3e125a1089882119900000000000000000000005"
    static let plainCases = ["80F22002", "80ca006600", "80F220020a4f0212345c054f9f70c5", "80f28002024f0000"]

    static let aes128 = (
        "000102030405060708090a0b0c0d0e0f", "101112131415161718191a1b1c1d1e1f", "202122232425262728292a2b2c2d2e2f"
    )
    static let aes256 = (
        "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
        "101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f",
        "202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f"
    )

    static let all: [SCP03Vector] = [
        SCP03Vector(
            name: "AES-128, C-MAC + R-MAC (11)", keyVersion: 0x30, keys: aes128,
            initializeUpdate: "8050300008b13e5f938fc108c400",
            initializeUpdateResponse: "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
            externalAuthenticate: "84821100107d5f5826a993ebc89eea24957fa0b3ce",
            command: "84e291000ebf3e035c015a558d036518a2829700",
            response: "bf3e125a1089882119900000000000000000000005971be68992dbbdfa",
            cases: [
                "84f220020863a63f8959827fb2", "84ca006608a0c6a4a74166f7ce00",
                "84f22002124f0212345c054f9f70c52249b50272656536",
                "84f280020a4f00e91443f6dce6b8ed00",
            ]),
        SCP03Vector(
            name: "AES-128, C-MAC + C-DEC (03)", keyVersion: 0x30, keys: aes128,
            initializeUpdate: "80503000088e1552d0513c60f300",
            initializeUpdateResponse: "0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001",
            externalAuthenticate: "8482030010fd4721a14d9b07003c451d2f8ae6bb21",
            command: "84e2910018ca9c00f6713d79bc8baa642bdff51c3f6a4082d3bd9ad26c00",
            response: "bf3e125a1089882119900000000000000000000005",
            cases: [
                "84f2200208c9811b11f1264cf1", "84ca006608e10ab60b3054798800",
                "84f22002184e2908bdb48b2315a55482e9e936ca122d6ecfae7d17416e",
                "84f28002180dd10a6b6193e5340b9e77d32d5a179cd710ac2773aefb2800",
            ]),
        SCP03Vector(
            name: "AES-128, C-MAC + C-DEC + R-MAC + R-ENC (33)", keyVersion: 0x30, keys: aes128,
            initializeUpdate: "8050300008fdf38259a1e0de4400",
            initializeUpdateResponse: "000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003",
            externalAuthenticate: "84823300108c36f96bcc00724a4e13ad591d7da3f0",
            command: "84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00",
            response: "f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b9",
            cases: [
                "84f2200208ac6a59024bed84cc", "84ca006608409912ad8fb7aed000",
                "84f22002185f3dafc3ac14c381536a488bf44e06d056df9d74dbd21e5a",
                "84f280021865165105be3373347d0424d4400af2ac393f569ec779389e00",
            ]),
        SCP03Vector(
            name: "AES-256, C-MAC + C-DEC + R-MAC + R-ENC (33)", keyVersion: 0x32, keys: aes256,
            initializeUpdate: "805032000897b2055fe58599fd00",
            initializeUpdateResponse: "00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002",
            externalAuthenticate: "8482330010508a0fd959d2e547c6b33154a6be2057",
            command: "84e29100187a5ef717eaf1e135ae92fe54429d0e465decda65f5fe5aea00",
            response: "ea90dbfa648a67c5eb6abc57f8530b97d0cd5647c5e8732016b55203b078dd2ace7f8bc5d1c1cd99",
            cases: [
                "84f2200208bcc5c17275545d93", "84ca00660804806aba9d543bb600",
                "84f2200218717222491556ec81a45f49ce48be33320024801a1c4cb0e0",
                "84f2800218561f105bccd3a1642904b251ccc1228beb80a82370a8637000",
            ]),
        SCP03Vector(
            name: "AES-256, C-MAC + R-MAC (11)", keyVersion: 0x32, keys: aes256,
            initializeUpdate: "805032000811666d57866c6f5400",
            initializeUpdateResponse: "0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003",
            externalAuthenticate: "84821100102f2ad190eff2fafc4908996d1cebd310",
            command: "84e291000ebf3e035c015af4b680372542b59d00",
            response: "bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1",
            cases: [
                "84f2200208d618b7da68d5fe52", "84ca0066088f3e055db23ad5e500",
                "84f22002124f0212345c054f9f70c5b6e15cc42404915e",
                "84f280020a4f00aa124aa74afe7f7500",
            ]),
    ]

    func staticKeys() throws -> SCP03.StaticKeys {
        try SCP03.StaticKeys(
            version: keyVersion, encryption: try Hex.decode(keys.enc), mac: try Hex.decode(keys.mac),
            dataEncryption: try Hex.decode(keys.dek))
    }
}

@Suite("GlobalPlatform SCP03: known answers in both roles")
struct SCP03Tests {
    func hex(_ s: String) throws -> [UInt8] { try Hex.decode(s) }

    @Test(
        "Terminal role: INITIALIZE UPDATE, card cryptogram, EXTERNAL AUTHENTICATE, wrapped commands and answers",
        arguments: SCP03Vector.all)
    func terminal(_ v: SCP03Vector) throws {
        let iu = try hex(v.initializeUpdate)
        let host = SCP03Host(keys: try v.staticKeys(), hostChallenge: Array(iu[5..<13]))
        #expect(host.initializeUpdate.encoded() == iu)
        let card = try SCP03Host.parse(ResponseAPDU(data: try hex(v.initializeUpdateResponse), statusWord: .success))
        #expect(card.sequenceCounter != nil && card.diversificationData == [UInt8](repeating: 0, count: 10))
        let ea = try hex(v.externalAuthenticate)
        let (channel, externalAuthenticate) = try host.authenticate(card, level: .init(rawValue: ea[2]))
        #expect(externalAuthenticate.encoded() == ea)
        #expect(
            try channel.wrap(try CommandAPDU(bytes: try hex(SCP03Vector.plainCommand))).encoded()
                == (try hex(v.command)))
        let answer = try channel.unwrap(ResponseAPDU(data: try hex(v.response), statusWord: .success))
        #expect(answer.data == (try hex(SCP03Vector.plainResponse)))
        for (plain, wrapped) in zip(SCP03Vector.plainCases, v.cases) {
            #expect(
                try channel.wrap(try CommandAPDU(bytes: try hex(plain))).encoded() == (try hex(wrapped)), "\(plain)")
        }
    }

    @Test("Chip role: the same exchange checked and answered by the card side", arguments: SCP03Vector.all)
    func chip(_ v: SCP03Vector) throws {
        let iuResponse = try hex(v.initializeUpdateResponse)
        let card = try SCP03Card(keys: try v.staticKeys(), diversificationData: Array(iuResponse[0..<10]))
        let answer = try card.initializeUpdate(
            try CommandAPDU(bytes: try hex(v.initializeUpdate)), random: FixedRandom([Array(iuResponse[13..<21])]))
        // The same challenge gives the same cryptogram (this chip announces a random challenge: parameter 60).
        #expect(Array(answer.data[13..<29]) == Array(iuResponse[13..<29]))
        let channel = try card.externalAuthenticate(try CommandAPDU(bytes: try hex(v.externalAuthenticate)))
        let command = try channel.unwrapCommand(try CommandAPDU(bytes: try hex(v.command)))
        #expect(command.encoded() == (try hex(SCP03Vector.plainCommand)))
        let response = try channel.wrapResponse(
            ResponseAPDU(data: try hex(SCP03Vector.plainResponse), statusWord: .success))
        #expect(response.data == (try hex(v.response)))
        for (plain, wrapped) in zip(SCP03Vector.plainCases, v.cases) {
            #expect(try channel.unwrapCommand(try CommandAPDU(bytes: try hex(wrapped))).encoded() == (try hex(plain)))
        }
    }

    @Test(
        "Wrong transport keys are caught by the card cryptogram; a changed command by the C-MAC; both end the channel")
    func failures() throws {
        let v = SCP03Vector.all[2]
        var wrong = try v.staticKeys()
        wrong.mac[0] ^= 1
        let iu = try hex(v.initializeUpdate)
        let parsed = try SCP03Host.parse(ResponseAPDU(data: try hex(v.initializeUpdateResponse), statusWord: .success))
        #expect(throws: SCP03Error.self) {
            _ = try SCP03Host(keys: wrong, hostChallenge: Array(iu[5..<13])).authenticate(
                parsed, level: .personalization)
        }
        let iuResponse = try hex(v.initializeUpdateResponse)
        let card = try SCP03Card(keys: try v.staticKeys(), diversificationData: Array(iuResponse[0..<10]))
        _ = try card.initializeUpdate(
            try CommandAPDU(bytes: iu), random: FixedRandom([Array(iuResponse[13..<21])]))
        let channel = try card.externalAuthenticate(try CommandAPDU(bytes: try hex(v.externalAuthenticate)))
        var tampered = try hex(v.command)
        tampered[8] ^= 0x01
        #expect(throws: SCP03Error.self) { _ = try channel.unwrapCommand(try CommandAPDU(bytes: tampered)) }
        #expect(channel.isEnded)
        // No EXTERNAL AUTHENTICATE without INITIALIZE UPDATE; a replayed one is refused.
        #expect(throws: SCP03Error.self) {
            _ = try card.externalAuthenticate(try CommandAPDU(bytes: try hex(v.externalAuthenticate)))
        }
    }

    @Test(
        "Both roles together over random challenges, every allowed security level, AES-128/192/256",
        arguments: [16, 24, 32])
    func roundTrip(keyLength: Int) throws {
        for level: SCP03.SecurityLevel in [
            [.commandMAC], [.commandMAC, .commandEncryption], .personalization,
            [.commandMAC, .commandEncryption, .responseMAC, .responseEncryption],
        ] {
            let keys = try SCP03.StaticKeys(
                version: 1, encryption: try SecureRandom.bytes(keyLength), mac: try SecureRandom.bytes(keyLength),
                dataEncryption: try SecureRandom.bytes(keyLength))
            let card = try SCP03Card(keys: keys, diversificationData: Array(0..<10))
            let host = try SCP03Host(keys: keys, random: SystemRandom())
            let parsed = try SCP03Host.parse(try card.initializeUpdate(host.initializeUpdate, random: SystemRandom()))
            #expect(parsed.diversificationData == Array(0..<10))
            let (terminal, ea) = try host.authenticate(parsed, level: level)
            let chip = try card.externalAuthenticate(ea)
            for size in [0, 1, 15, 16, 17, 255, 1000] {
                let data = try SecureRandom.bytes(size)
                let plain = CommandAPDU(
                    cla: 0x00, ins: 0xDA, p1: 0x00, p2: 0x63, data: data, ne: size % 2 == 0 ? 256 : nil)
                let wrapped = try terminal.wrap(plain)
                if level.contains(.commandEncryption) && size > 16 { #expect(!wrapped.data.starts(with: data)) }
                let received = try chip.unwrapCommand(wrapped)
                #expect(received.data == data && received.ins == 0xDA)
                let reply = try chip.wrapResponse(ResponseAPDU(data: Array(data.prefix(40)), statusWord: .success))
                #expect(try terminal.unwrap(reply).data == Array(data.prefix(40)))
            }
            #expect(!SCP03.SecurityLevel(rawValue: 0x02).isValid && !SCP03.SecurityLevel(rawValue: 0x21).isValid)
        }
    }

    @Test(
        "R-MAC as Amendment D §6.2.5 has it: on 9000 and the 62xx/63xx warnings, none on errors (61xx included); a warning without its R-MAC ends the channel, an error's data is dropped"
    )
    func responseMACRule() throws {
        let keys = try SCP03.StaticKeys(
            version: 1, encryption: try SecureRandom.bytes(16), mac: try SecureRandom.bytes(16),
            dataEncryption: try SecureRandom.bytes(16))
        let card = try SCP03Card(keys: keys, diversificationData: Array(0..<10))
        let host = try SCP03Host(keys: keys, random: SystemRandom())
        let parsed = try SCP03Host.parse(try card.initializeUpdate(host.initializeUpdate, random: SystemRandom()))
        let (terminal, ea) = try host.authenticate(parsed, level: .personalization)
        let chip = try card.externalAuthenticate(ea)
        for (status, protected) in [
            (0x9000, true), (0x6282, true), (0x6310, true), (0x63C2, true), (0x6100, false), (0x6110, false),
            (0x6A82, false), (0x6982, false), (0x6985, false), (0x6F00, false), (0x6700, false),
        ] {
            let sw = StatusWord(rawValue: UInt16(status))
            #expect(SCP03Session.isProtected(sw) == protected, "\(sw)")
            _ = try chip.unwrapCommand(try terminal.wrap(CommandAPDU(cla: 0, ins: 0xDA, p1: 0, p2: 0x63, data: [1])))
            let sent = try chip.wrapResponse(ResponseAPDU(statusWord: sw))
            #expect(sent.data.count == (protected ? 8 : 0), "\(sw): \(sent.data.count) bytes")
            let received = try terminal.unwrap(sent)
            #expect(received.statusWord == sw && received.data.isEmpty)
        }
        // An error answer that comes with data: the data is not authenticated, so the host keeps the status word only.
        let errorWithData = try terminal.unwrap(ResponseAPDU(data: [1, 2, 3, 4, 5, 6, 7, 8, 9], statusWord: .fileNotFound))
        #expect(errorWithData.data.isEmpty && errorWithData.statusWord == .fileNotFound)
        // A warning without its R-MAC is refused, and the channel ends.
        #expect(throws: SCP03Error.self) { _ = try terminal.unwrap(ResponseAPDU(statusWord: StatusWord(rawValue: 0x6282))) }
        #expect(terminal.isEnded)
    }

    @Test("INITIALIZE UPDATE: P2 other than 00 → 6A86; a 16-byte challenge (S16, not supported) → 6700")
    func initializeUpdateParameters() throws {
        let keys = try SCP03.StaticKeys(
            version: 0x30, encryption: try SecureRandom.bytes(16), mac: try SecureRandom.bytes(16),
            dataEncryption: try SecureRandom.bytes(16))
        let card = try SCP03Card(keys: keys, diversificationData: Array(0..<10))
        let challenge = try SecureRandom.bytes(8)
        let p2 = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x30, p2: 0x01, data: challenge, ne: 256)
        #expect(try card.initializeUpdate(p2, random: SystemRandom()).statusWord == .incorrectP1P2)
        let s16 = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x30, p2: 0x00, data: challenge + challenge, ne: 256)
        #expect(try card.initializeUpdate(s16, random: SystemRandom()).statusWord == .wrongLength)
        let good = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x30, p2: 0x00, data: challenge, ne: 256)
        #expect(try card.initializeUpdate(good, random: SystemRandom()).statusWord == .success)
    }

    /// The known answers derived by hand from Amendment D's text (Vectors/gp-amd-d-scp03-derived.txt, made by
    /// scripts/scp03-reference.py over Python's AES and CMAC, not from this code or another implementation's vectors).
    static func derived() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for entry in try VectorFile("gp-amd-d-scp03-derived.txt").allEntries { out[entry.name] = try Hex.decode(entry.value) }
        return out
    }

    @Test("Chip-key diversification against the hand derivation from the KDF's text: AES-128, AES-192, AES-256", arguments: [128, 192, 256])
    func derivedDiversification(bits: Int) throws {
        let v = try Self.derived()
        let keys = try SCP03.StaticKeys.diversified(
            master: try #require(v["DIV_\(bits)_MASTER"]), diversificationData: try #require(v["DIV_\(bits)_SERIAL"]))
        #expect(keys.encryption == v["DIV_\(bits)_ENC"] && keys.mac == v["DIV_\(bits)_MAC"] && keys.dataEncryption == v["DIV_\(bits)_DEK"])
        // The same through the PRF seam a PKCS#11 token uses.
        let master = try #require(v["DIV_\(bits)_MASTER"])
        let cmac = try CMAC(key: master)
        let viaPRF = try SCP03.StaticKeys.diversified(
            masterBytes: master.count, diversificationData: try #require(v["DIV_\(bits)_SERIAL"])) { cmac.authenticate($0) }
        #expect(viaPRF == keys)
    }

    @Test(
        "Security level 13 (C-MAC + C-DECRYPTION + R-MAC, what perso uses) against the hand derivation, both roles: AES-128, AES-192, AES-256",
        arguments: [128, 192, 256])
    func derivedLevel13(bits: Int) throws {
        let v = try Self.derived()
        func x(_ name: String) throws -> [UInt8] { try #require(v["X_\(bits)_" + name], "X_\(bits)_\(name)") }
        let keys = try SCP03.StaticKeys.diversified(
            master: try #require(v["DIV_\(bits)_MASTER"]), diversificationData: try #require(v["DIV_\(bits)_SERIAL"]))
        let iu = try x("INITIALIZE_UPDATE")
        // Terminal role.
        let host = SCP03Host(keys: keys, hostChallenge: Array(iu[5..<13]))
        #expect(host.initializeUpdate.encoded() == iu)
        let parsed = try SCP03Host.parse(ResponseAPDU(data: try x("INITIALIZE_UPDATE_RESPONSE"), statusWord: .success))
        let (terminal, ea) = try host.authenticate(parsed, level: SCP03.SecurityLevel(rawValue: 0x13))
        #expect(ea.encoded() == (try x("EXTERNAL_AUTHENTICATE")))
        for n in 1...4 {
            let wrapped = try terminal.wrap(try CommandAPDU(bytes: try x("PLAIN_\(n)")))
            #expect(wrapped.encoded() == (try x("WRAPPED_\(n)")), "command \(n)")
            let answer = try ResponseAPDU(bytes: try x("RESPONSE_\(n)"))
            let unwrapped = try terminal.unwrap(answer)
            let expected = n == 3 ? try ResponseAPDU(bytes: try x("RESPONSE_PLAIN_3")) : ResponseAPDU(statusWord: answer.statusWord)
            #expect(unwrapped == expected, "answer \(n)")
        }
        // Chip role, with the card challenge of the derivation.
        let iuAnswer = try x("INITIALIZE_UPDATE_RESPONSE")
        let card = try SCP03Card(keys: keys, diversificationData: Array(iuAnswer[0..<10]))
        let answered = try card.initializeUpdate(try CommandAPDU(bytes: iu), random: FixedRandom([Array(iuAnswer[13..<21])]))
        #expect(answered.data == iuAnswer && answered.statusWord == .success)
        let chip = try card.externalAuthenticate(try CommandAPDU(bytes: try x("EXTERNAL_AUTHENTICATE")))
        for n in 1...4 {
            let received = try chip.unwrapCommand(try CommandAPDU(bytes: try x("WRAPPED_\(n)")))
            let plain = try CommandAPDU(bytes: try x("PLAIN_\(n)"))
            #expect(received.data == plain.data && received.ins == plain.ins && received.p2 == plain.p2, "command \(n)")
            let reply = n == 3 ? try ResponseAPDU(bytes: try x("RESPONSE_PLAIN_3")) : ResponseAPDU(statusWord: (try ResponseAPDU(bytes: try x("RESPONSE_\(n)"))).statusWord)
            #expect(try chip.wrapResponse(reply).encoded == (try x("RESPONSE_\(n)")), "answer \(n)")
        }
    }
}
