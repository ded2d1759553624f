import CardCore
import CardCrypto
import TestSupport
import Testing

@testable import ChipAccess

/// A transport that checks each command against the trace (nil: any command accepted) and answers from it.
final class TraceTransport: CardTransport {
    var steps: [(command: [UInt8]?, response: [UInt8])]
    var sent: [[UInt8]] = []
    init(_ steps: [(command: [UInt8]?, response: [UInt8])]) { self.steps = steps }
    var capabilities: TransportCapabilities { .init() }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        let bytes = command.encoded()
        sent.append(bytes)
        guard !steps.isEmpty else { throw TransportError(code: .unexpectedCommand, reason: "trace exhausted") }
        let step = steps.removeFirst()
        if let expected = step.command, expected != bytes {
            throw TransportError(
                code: .unexpectedCommand, reason: "sent \(bytes.hexString), trace has \(expected.hexString)")
        }
        return try ResponseAPDU(bytes: step.response)
    }
}

/// Connects a terminal to a `PACEChip` in memory.
final class PACEChipTransport: CardTransport {
    let chip: PACEChip
    var session: SecureMessaging?
    var responses: [[UInt8]] = []
    init(_ chip: PACEChip) { self.chip = chip }
    var capabilities: TransportCapabilities { .init() }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        do {
            switch command.ins {
            case 0x22:
                try chip.setAuthenticationTemplate(command.data)
                return ResponseAPDU(statusWord: .success)
            case 0x86:
                let (data, established) = try chip.generalAuthenticate(command.data)
                responses.append(data)
                if let established { session = established }
                return ResponseAPDU(data: data, statusWord: .success)
            default:
                return ResponseAPDU(statusWord: .instructionNotSupported)
            }
        } catch let error as AccessControlError {
            return ResponseAPDU(statusWord: error.statusWord ?? .noPreciseDiagnosis)
        }
    }
}

@Suite("PACE: ICAO 9303-11 Appendices G, H, I and the BSI worked examples, both roles")
struct PACETests {
    static let mrzG = BACKey(documentNumber: "T22000129", dateOfBirth: "640812", dateOfExpiry: "101031")

    @Test("G.1 ECDH-GM brainpoolP256r1: terminal role, the exact APDUs and every value")
    func g1Terminal() throws {
        let f = try VectorFile("icao9303-p11-appG1-pace-ecdh-gm-brainpoolP256r1.txt")
        #expect(Self.mrzG.mrzInformation == (try f.section(with: "MRZ_information").text("MRZ_information")))
        let password = AccessKey.mrz(Self.mrzG)
        #expect(password.paceKeyMaterial == (try f.hex("K_SHA1_MRZ")))
        #expect(PACE.passwordKey(password, cipher: .aes128) == (try f.hex("Kpi")))
        let proto = try #require(PACEProtocol(oid: try f.hex("OID_id-PACE-ECDH-GM-AES-CBC-CMAC-128")))
        #expect(proto.description == "id-PACE-ECDH-GM-AES-CBC-CMAC-128")
        #expect(
            try PACE.nonceCipher(password, cipher: .aes128).decrypt(f.hex("encrypted_nonce"))
                == f.hex("s_decrypted_nonce"))

        // Intermediate values of the mapping and the agreement.
        let ka = try KeyAgreement(.curve(.brainpoolP256r1))
        #expect(try ka.publicKey(f.hex("SK_map_IFD")) == f.hex("PK_map_IFD"))
        #expect(try ka.publicKey(f.hex("SK_map_IC")) == f.hex("PK_map_IC"))
        let h = try ka.sharedElement(f.hex("SK_map_IFD"), peer: f.hex("PK_map_IC"))
        #expect(h == (try f.hex("H_shared_point")))
        #expect(try ka.sharedElement(f.hex("SK_map_IC"), peer: f.hex("PK_map_IFD")) == h)
        let g = try ka.genericMap(nonce: f.hex("s_decrypted_nonce"), shared: h)
        #expect(g == (try f.hex("G_mapped_generator")))
        #expect(try ka.publicKey(f.hex("SK_eph_IFD"), generator: g) == f.hex("PK_eph_IFD"))
        #expect(try ka.sharedSecret(f.hex("SK_eph_IFD"), peer: f.hex("PK_eph_IC")) == f.hex("K_shared_secret_x"))
        #expect(ka.tokenInput(oid: proto.oid, publicKey: try f.hex("PK_eph_IC")) == (try f.hex("T_IFD_input")))

        let trace = TraceTransport([
            (try f.hex("MSE_SET_AT_cmd (gmrtd form, with 84 01 0D param id)"), try f.hex("MSE_SET_AT_resp")),
            (try f.hex("GA1_cmd"), try f.hex("GA1_resp")), (try f.hex("GA2_cmd"), try f.hex("GA2_resp")),
            (try f.hex("GA3_cmd"), try f.hex("GA3_resp")), (try f.hex("GA4_cmd"), try f.hex("GA4_resp")),
        ])
        let result = try PACE.authenticate(
            trace, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13, password: password,
            random: FixedRandom([try f.hex("SK_map_IFD"), try f.hex("SK_eph_IFD")]))
        #expect(trace.steps.isEmpty)
        #expect(result.session.keys.encryptionKey == (try f.hex("KSenc")))
        #expect(result.session.keys.macKey == (try f.hex("KSmac")))
        #expect(result.session.sendSequenceCounter == (try f.hex("SSC_after_PACE")))
        #expect(try result.session.keys.authenticationToken(f.hex("T_IFD_input")) == f.hex("T_IFD"))
        #expect(try result.session.keys.authenticationToken(f.hex("T_IC_input")) == f.hex("T_IC"))
    }

    @Test("G.1 chip role: the chip's answers are the published ones")
    func g1Chip() throws {
        let f = try VectorFile("icao9303-p11-appG1-pace-ecdh-gm-brainpoolP256r1.txt")
        let proto = PACEProtocol(mapping: .generic, agreement: .ecdh, cipher: .aes128)
        let chip = PACEChip(
            offers: [.init(protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13)],
            passwords: [.mrz(Self.mrzG)],
            random: FixedRandom([try f.hex("s_decrypted_nonce"), try f.hex("SK_map_IC"), try f.hex("SK_eph_IC")]))
        try chip.setAuthenticationTemplate(Array(try f.hex("MSE_SET_AT_cmd (ICAO/dmrtd form)").dropFirst(5)))
        for step in 1...4 {
            let command = try CommandAPDU(bytes: f.hex("GA\(step)_cmd"))
            let (data, session) = try chip.generalAuthenticate(command.data)
            #expect(data + [0x90, 0x00] == (try f.hex("GA\(step)_resp")), "GA\(step)")
            #expect((session != nil) == (step == 4))
        }
    }

    @Test("G.2 DH-GM 1024/160: terminal role with the exact APDUs; chip role answers")
    func g2() throws {
        let f = try VectorFile("icao9303-p11-appG2-pace-dh-gm-1024-160.txt")
        let group = DHGroup.rfc5114_1024_160
        #expect(try group.p == f.hex("p") && group.g == f.hex("g") && group.q == f.hex("q"))
        let ka = try KeyAgreement(.dh(group))
        #expect(try ka.publicKey(f.hex("x_map_IFD")) == f.hex("PK_map_IFD"))
        #expect(try ka.sharedElement(f.hex("x_map_IFD"), peer: f.hex("PK_map_IC")) == f.hex("h_shared"))
        #expect(
            try ka.genericMap(nonce: f.hex("s_decrypted_nonce"), shared: f.hex("h_shared"))
                == f.hex("g_mapped_generator"))
        #expect(try ka.publicKey(f.hex("y_eph_IFD"), generator: f.hex("g_mapped_generator")) == f.hex("PK_eph_IFD"))
        #expect(
            try ka.publicKey(f.hex("y_eph_IFD_alt_fulllength"), generator: f.hex("g_mapped_generator"))
                == f.hex("PK_eph_IFD"))
        #expect(try ka.sharedSecret(f.hex("y_eph_IFD"), peer: f.hex("PK_eph_IC")) == f.hex("K_shared_secret"))
        let proto = try #require(PACEProtocol(oid: [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x01, 0x02]))
        #expect(ka.tokenInput(oid: proto.oid, publicKey: try f.hex("PK_eph_IC")) == (try f.hex("T_IFD_input")))

        let ga4 = try f.hex("GA4_resp_data") + [0x90, 0x00]
        let trace = TraceTransport([
            (try f.hex("MSE_SET_AT_cmd"), [0x90, 0x00]), (try f.hex("GA1_cmd"), try f.hex("GA1_resp")),
            (try f.hex("GA2_cmd"), try f.hex("GA2_resp")), (try f.hex("GA3_cmd"), try f.hex("GA3_resp")),
            (try f.hex("GA4_cmd"), ga4),
        ])
        let result = try PACE.authenticate(
            trace, protocol: proto, parameters: .dh(group), parameterID: nil, password: .mrz(Self.mrzG),
            random: FixedRandom([try f.hex("x_map_IFD"), try f.hex("y_eph_IFD")]))
        #expect(try result.session.keys.encryptionKey == f.hex("KSenc") && result.session.keys.macKey == f.hex("KSmac"))

        let chip = PACEChip(
            offers: [.init(protocol: proto, parameters: .dh(group), parameterID: 0)], passwords: [.mrz(Self.mrzG)],
            random: FixedRandom([try f.hex("s_decrypted_nonce"), try f.hex("x_map_IC"), try f.hex("y_eph_IC")]))
        try chip.setAuthenticationTemplate(Array(try f.hex("MSE_SET_AT_cmd").dropFirst(5)))
        for step in 1...3 {
            let (data, _) = try chip.generalAuthenticate(try CommandAPDU(bytes: f.hex("GA\(step)_cmd")).data)
            #expect(data + [0x90, 0x00] == (try f.hex("GA\(step)_resp")), "GA\(step)")
        }
        let (data, session) = try chip.generalAuthenticate(try CommandAPDU(bytes: f.hex("GA4_cmd")).data)
        #expect(data == TLVWriter.encode(tag: 0x7C, value: TLVWriter.encode(tag: 0x86, value: try f.hex("T_IC"))))
        #expect(session != nil)
    }

    @Test("H.1 ECDH-IM: PRF R(s,t), Rp, point encoding, keys, tokens; GA commands; chip role")
    func h1() throws {
        let f = try VectorFile("icao9303-p11-appH1-pace-ecdh-im-brainpoolP256r1.txt")
        let password = AccessKey.pin("123456")
        #expect(PACE.passwordKey(password, cipher: .aes128) == (try f.hex("Kpi")))
        #expect(try PACEMapping.c0_128 == f.hex("c0_128") && PACEMapping.c1_128 == f.hex("c1_128"))
        let s = try f.hex("s_decrypted_nonce")
        let t = try f.hex("t_terminal_nonce")
        #expect(try PACEMapping.pseudoRandomBlocks(s: s, t: t, bits: 256) == f.hex("R_s_t"))
        let group = try ECGroup(.brainpoolP256r1)
        let rp = try PACEMapping.pseudoRandom(s: s, t: t, p: group.prime, cipher: .aes128)
        #expect(rp == (try f.hex("Rp_s_t")))
        #expect(try PACEMapping.encodePoint(rp, group: group).encoded == f.hex("G_mapped_generator"))
        let proto = PACEProtocol(mapping: .integrated, agreement: .ecdh, cipher: .aes128)
        let trace = TraceTransport([
            (nil, [0x90, 0x00]), (try f.hex("GA1_cmd"), try f.hex("GA1_resp")),
            (try f.hex("GA2_cmd (81 is t)"), [0x7C, 0x00, 0x90, 0x00]),
            (try f.hex("GA3_cmd"), try f.hex("GA3_resp")), (try f.hex("GA4_cmd"), try f.hex("GA4_resp")),
        ])
        let result = try PACE.authenticate(
            trace, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: nil, password: password,
            random: FixedRandom([t, try f.hex("SK_IFD")]))
        #expect(try result.session.keys.encryptionKey == f.hex("KSenc") && result.session.keys.macKey == f.hex("KSmac"))
        #expect(
            try KeyAgreement(.curve(.brainpoolP256r1)).sharedSecret(f.hex("SK_IFD"), peer: f.hex("PK_IC"))
                == f.hex("K_shared_secret_x"))

        let chip = PACEChip(
            offers: [.init(protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13)],
            passwords: [password],
            random: FixedRandom([s, try f.hex("SK_IC")]))
        try chip.setAuthenticationTemplate(TLVWriter.encode(tag: 0x80, value: proto.oid) + [0x83, 0x01, 0x03])
        #expect(
            try chip.generalAuthenticate(CommandAPDU(bytes: f.hex("GA1_cmd")).data).response + [0x90, 0x00]
                == f.hex("GA1_resp"))
        #expect(
            try chip.generalAuthenticate(CommandAPDU(bytes: f.hex("GA2_cmd (81 is t)")).data).response == [0x7C, 0x00])
        #expect(
            try chip.generalAuthenticate(CommandAPDU(bytes: f.hex("GA3_cmd")).data).response + [0x90, 0x00]
                == f.hex("GA3_resp"))
        #expect(
            try chip.generalAuthenticate(CommandAPDU(bytes: f.hex("GA4_cmd")).data).response + [0x90, 0x00]
                == f.hex("GA4_resp"))
    }

    @Test("H.2 DH-IM: PRF, Rp, g^ = Rp^((p−1)/q); terminal role against the published chip key")
    func h2() throws {
        let f = try VectorFile("icao9303-p11-appH2-pace-dh-im-1024-160.txt")
        let group = DHGroup.rfc5114_1024_160
        let s = try f.hex("s")
        let t = try f.hex("t")
        #expect(try PACEMapping.pseudoRandomBlocks(s: s, t: t, bits: 1024) == f.hex("R_s_t"))
        #expect(try PACEMapping.pseudoRandom(s: s, t: t, p: group.p, cipher: .aes128) == f.hex("Rp_s_t"))
        let ka = try KeyAgreement(.dh(group))
        let g = try ka.integratedMap(nonce: s, terminalNonce: t, cipher: .aes128)
        #expect(g == (try f.hex("g_mapped_generator")))
        #expect(try ka.publicKey(f.hex("x_IFD (1024-bit form)"), generator: g) == f.hex("PK_IFD"))
        #expect(
            try ka.sharedSecret(f.hex("x_IFD (1024-bit form)"), peer: f.hex("PK_IC (published)"))
                == f.hex("K_shared_secret"))
        let keys = try SecureMessagingKeys(cipher: .aes128, sharedSecret: try f.hex("K_shared_secret"))
        #expect(try keys.encryptionKey == f.hex("KSenc") && keys.macKey == f.hex("KSmac"))
        let proto = PACEProtocol(mapping: .integrated, agreement: .dh, cipher: .aes128)
        #expect(
            try keys.authenticationToken(ka.tokenInput(oid: proto.oid, publicKey: f.hex("PK_IC (published)")))
                == f.hex("T_IFD"))
        #expect(
            try keys.authenticationToken(ka.tokenInput(oid: proto.oid, publicKey: f.hex("PK_IFD"))) == f.hex("T_IC"))
        #expect(try PACE.nonceCipher(.pin("123456"), cipher: .aes128).decrypt(f.hex("encrypted_nonce")) == s)
        #expect(
            try CommandAPDU(bytes: f.hex("GA2_cmd (81 is t)")).data
                == TLVWriter.encode(tag: 0x7C, value: TLVWriter.encode(tag: 0x81, value: t)))
    }

    @Test(
        "I / gmrtd ECDH-CAM: terminal role, CA_IC decrypted and checked against the chip's static key; then 11 AES-SM reads"
    )
    func cam() throws {
        let i = try VectorFile("icao9303-p11-appI-pace-ecdh-cam-brainpoolP256r1.txt")
        let mrz = BACKey(documentNumber: "C11T002JM", dateOfBirth: "960812", dateOfExpiry: "231031")
        #expect(mrz.mrzInformation == (try i.section(with: "MRZ_information").text("MRZ_information")))
        #expect(PACE.passwordKey(.mrz(mrz), cipher: .aes128) == (try i.hex("Kpi")))
        let proto = PACEProtocol(mapping: .chipAuthentication, agreement: .ecdh, cipher: .aes128)
        #expect(Array(try i.hex("MSE_SET_AT_cmd")[7..<17]) == proto.oid)
        let trace = TraceTransport([
            (try i.hex("MSE_SET_AT_cmd"), [0x90, 0x00]), (try Hex.decode("10860000027C0000"), try i.hex("GA1_resp")),
            (try i.hex("GA2_cmd"), try i.hex("GA2_resp")), (try i.hex("GA3_cmd"), try i.hex("GA3_resp")),
            (try i.hex("GA4_cmd"), try i.hex("GA4_resp")),
        ])
        let result = try PACE.authenticate(
            trace, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: nil, password: .mrz(mrz),
            chipStaticKey: try i.hex("PK_IC_static_implied"),
            random: FixedRandom([try i.hex("SK_map_IFD"), try i.hex("SK_eph_IFD")]))
        #expect(try result.session.keys.encryptionKey == i.hex("KSenc") && result.session.keys.macKey == i.hex("KSmac"))
        #expect(result.camValue == (try i.hex("CA_IC")))
        #expect(result.chipAuthenticationMapping == true)
        // A different static key does not verify.
        let other = try ECGroup(.brainpoolP256r1).generator.encoded
        #expect(PACE.verifyCAM(result, parameters: .curve(.brainpoolP256r1), chipStaticKey: other) == false)

        // gmrtd's real trace: PACE-CAM with 84 01 0D, then SELECT EF.CardSecurity and 10 READ BINARY under AES SM.
        let g = try VectorFile("gmrtd-pace-cam-real-trace-223-byte-reads.txt")
        let mrz2 = BACKey(documentNumber: "C4KHNY1PF", dateOfBirth: "780214", dateOfExpiry: "330315")
        #expect(mrz2.mrzInformation == (try g.section(with: "MRZ_information").text("MRZ_information")))
        var steps: [(command: [UInt8]?, response: [UInt8])] = []
        for n in 0...15 {
            steps.append(
                (try g.hex(String(format2: n, "apdu", "_cmd")), try g.hex(String(format2: n, "apdu", "_resp"))))
        }
        let gtrace = TraceTransport(Array(steps.prefix(5)))
        let pace = try PACE.authenticate(
            gtrace, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13, password: .mrz(mrz2),
            random: FixedRandom([try g.hex("SK_map_IFD"), try g.hex("SK_eph_IFD")]))
        #expect(try pace.session.keys.encryptionKey == g.hex("KSenc") && pace.camValue == g.hex("CA_IC"))
        let sm = SecureMessagingTransport(TraceTransport(Array(steps.dropFirst(5))), session: pace.session)
        #expect(try sm.transmit(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x01, 0x1D])).statusWord == .success)
        var content = try sm.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4)).data
        #expect(content.count == 4)
        let total = try Int(g.section(with: "EF_CardSecurity_length").text("EF_CardSecurity_length"))!
        while content.count < total {
            let want = min(256, total - content.count)
            let r = try sm.transmit(
                CommandAPDU(ins: 0xB0, p1: UInt8(content.count >> 8), p2: UInt8(content.count & 0xFF), ne: want))
            #expect(r.data.count == min(223, want))
            content += r.data
        }
        #expect(content.count == 1862)
        #expect(pace.session.sendSequenceCounter == (try g.hex("final_SSC")))
    }

    @Test(
        "BSI ECDH and DH worked examples: terminal and chip drive each other to every published value",
        arguments: ["ecdh", "dh"])
    func bsi(_ kind: String) throws {
        let f = try VectorFile(
            kind == "ecdh"
                ? "bsi-tr03110-worked-example-ecdh-pace-sm-ca.txt"
                : "bsi-tr03110-worked-example-dh-pace-sm-ca-extended-length.txt")
        let pin = AccessKey.pin("123456")
        #expect(PACE.passwordKey(pin, cipher: .aes128) == (try f.hex(kind == "ecdh" ? "Kpi" : "Kpi(\"123456\")")))
        let parameters: DomainParameters = kind == "ecdh" ? .curve(.brainpoolP256r1) : .dh(.rfc5114_1024_160)
        let proto = PACEProtocol(mapping: .generic, agreement: kind == "ecdh" ? .ecdh : .dh, cipher: .aes128)
        let (mapPCD, mapPICC, ephPCD, ephPICC) =
            kind == "ecdh"
            ? ("SK_map_PCD", "SK_map_PICC", "SK_eph_PCD", "SK_eph_PICC")
            : ("x_map_PCD (1024-bit)", "x_map_PICC (1024-bit)", "", "")
        let chipRandom: [[UInt8]]
        let terminalRandom: [[UInt8]]
        if kind == "ecdh" {
            chipRandom = [try f.hex("s"), try f.hex(mapPICC), try f.hex(ephPICC)]
            terminalRandom = [try f.hex(mapPCD), try f.hex(ephPCD)]
        } else {
            // The DH example publishes the mapping keys; its ephemeral keys are those of ICAO G.2.
            let g2 = try VectorFile("icao9303-p11-appG2-pace-dh-gm-1024-160.txt")
            chipRandom = [try f.hex("s"), try f.hex(mapPICC), try g2.hex("y_eph_IC")]
            terminalRandom = [try f.hex(mapPCD), try g2.hex("y_eph_IFD")]
        }
        let chip = PACEChip(
            offers: [.init(protocol: proto, parameters: parameters, parameterID: parameters.standardizedID)],
            passwords: [pin], random: FixedRandom(chipRandom))
        let link = PACEChipTransport(chip)
        let result = try PACE.authenticate(
            link, protocol: proto, parameters: parameters, parameterID: parameters.standardizedID, password: pin,
            random: FixedRandom(terminalRandom))
        #expect(try PACE.dynamicObjects(link.responses[0], label: "")[0x80].map(Array.init) == f.hex("encrypted_nonce"))
        #expect(try PACE.dynamicObjects(link.responses[1], label: "")[0x82].map(Array.init) == f.hex("PK_map_PICC"))
        #expect(result.session.keys.encryptionKey == (try f.hex("KSenc")))
        #expect(result.session.keys.macKey == (try f.hex("KSmac")))
        #expect(try PACE.dynamicObjects(link.responses[3], label: "")[0x86].map(Array.init) == f.hex("T_PICC"))
        let ka = try KeyAgreement(parameters)
        if kind == "ecdh" {
            #expect(try ka.publicKey(f.hex(mapPCD)) == f.hex("PK_map_PCD"))
            #expect(try ka.sharedElement(f.hex(mapPCD), peer: f.hex("PK_map_PICC")) == f.hex("H"))
            #expect(try ka.genericMap(nonce: f.hex("s"), shared: f.hex("H")) == f.hex("G_mapped"))
            #expect(try ka.publicKey(f.hex(ephPCD), generator: f.hex("G_mapped")) == f.hex("PK_eph_PCD"))
            #expect(try ka.sharedSecret(f.hex(ephPCD), peer: f.hex("PK_eph_PICC")) == f.hex("K"))
        } else {
            #expect(try ka.sharedElement(f.hex(mapPCD), peer: f.hex("PK_map_PICC")) == f.hex("h"))
            #expect(try ka.genericMap(nonce: f.hex("s"), shared: f.hex("h")) == f.hex("g_mapped"))
        }
        #expect(link.session != nil)
    }

    @Test("Wrong password: the chip answers 6300 at mutual authentication and the terminal says wrong CAN")
    func wrongCAN() throws {
        let proto = PACEProtocol(mapping: .generic, agreement: .ecdh, cipher: .aes128)
        let chip = PACEChip(
            offers: [.init(protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13)],
            passwords: [.can("123456")])
        let link = PACEChipTransport(chip)
        do {
            _ = try PACE.authenticate(
                link, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13, password: .can("654321"))
            Issue.record("wrong CAN accepted")
        } catch let error as AccessControlError {
            #expect(error.code == .wrongPassword && error.statusWord == .verificationFailed)
            #expect("\(error)" == "PACE-CAN failed: wrong CAN (6300)")
        }
        #expect(link.session == nil)
        let ok = try PACE.authenticate(
            link, protocol: proto, parameters: .curve(.brainpoolP256r1), parameterID: 13, password: .can("123456"))
        #expect(ok.session.keys.encryptionKey == link.session?.keys.encryptionKey)
    }

    @Test(
        "Every standardized domain parameter set runs GM (and CAM on curves) between the two roles",
        arguments: [0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
    func allParameters(_ id: Int) throws {
        let parameters = try #require(DomainParameters(standardizedID: id))
        for cipher in SecureMessagingCipher.allCases {
            if case .dh = parameters, cipher != .aes128 {
                // DH integrated mapping with the other ciphers, between the two roles.
                let im = PACEProtocol(mapping: .integrated, agreement: .dh, cipher: cipher)
                let link = PACEChipTransport(
                    PACEChip(
                        offers: [.init(protocol: im, parameters: parameters, parameterID: id)],
                        passwords: [.can("000000")]))
                _ = try PACE.authenticate(
                    link, protocol: im, parameters: parameters, parameterID: id, password: .can("000000"))
                #expect(link.session != nil)
            }
            let proto = PACEProtocol(mapping: .generic, agreement: parameters.agreement, cipher: cipher)
            let link = PACEChipTransport(
                PACEChip(
                    offers: [.init(protocol: proto, parameters: parameters, parameterID: id)],
                    passwords: [.can("000000")]))
            let result = try PACE.authenticate(
                link, protocol: proto, parameters: parameters, parameterID: id, password: .can("000000"))
            #expect(result.session.keys.encryptionKey == link.session?.keys.encryptionKey)
            #expect(result.session.keys.cipher == cipher)
        }
        if case .curve(let curve) = parameters {
            let staticKey = try AsymmetricKey.generateEC(curve)
            let proto = PACEProtocol(mapping: .chipAuthentication, agreement: .ecdh, cipher: .aes128)
            let chip = PACEChip(
                offers: [.init(protocol: proto, parameters: parameters, parameterID: id)], passwords: [.can("000000")],
                camStaticPrivateKey: try staticKey.ecPrivateScalar().bytes())
            let result = try PACE.authenticate(
                PACEChipTransport(chip), protocol: proto, parameters: parameters, parameterID: id,
                password: .can("000000"), chipStaticKey: try staticKey.ecPublicPoint())
            #expect(result.chipAuthenticationMapping == true)
            // IM on every curve with p ≡ 3 (mod 4), with every cipher; secp224r1 (p ≡ 1) is refused with a typed error.
            for cipher in [SecureMessagingCipher.tripleDES, .aes192, .aes256] where curve != .secp224r1 {
                let im = PACEProtocol(mapping: .integrated, agreement: .ecdh, cipher: cipher)
                let link = PACEChipTransport(
                    PACEChip(
                        offers: [.init(protocol: im, parameters: parameters, parameterID: id)],
                        passwords: [.can("000000")]))
                let result = try PACE.authenticate(
                    link, protocol: im, parameters: parameters, parameterID: id, password: .can("000000"))
                #expect(result.session.keys.encryptionKey == link.session?.keys.encryptionKey)
            }
            let im = PACEProtocol(mapping: .integrated, agreement: .ecdh, cipher: .aes128)
            let imLink = PACEChipTransport(
                PACEChip(
                    offers: [.init(protocol: im, parameters: parameters, parameterID: id)], passwords: [.can("000000")])
            )
            if curve == .secp224r1 {
                #expect(throws: AccessControlError.self) {
                    try PACE.authenticate(
                        imLink, protocol: im, parameters: parameters, parameterID: id, password: .can("000000"))
                }
            } else {
                _ = try PACE.authenticate(
                    imLink, protocol: im, parameters: parameters, parameterID: id, password: .can("000000"))
                #expect(imLink.session != nil)
            }
        }
    }

    @Test("OIDs: every PACE and CA protocol round-trips; CAM with 3DES does not exist")
    func oids() {
        for mapping in [PACEProtocol.Mapping.generic, .integrated, .chipAuthentication] {
            for agreement in [KeyAgreementKind.dh, .ecdh] where !(mapping == .chipAuthentication && agreement == .dh) {
                for cipher in SecureMessagingCipher.allCases
                where !(mapping == .chipAuthentication && cipher == .tripleDES) {
                    let p = PACEProtocol(mapping: mapping, agreement: agreement, cipher: cipher)
                    #expect(PACEProtocol(oid: p.oid) == p)
                }
            }
        }
        #expect(PACEProtocol(oid: ObjectIdentifiers.pace + [6, 1]) == nil)
        #expect(PACEProtocol(oid: [1, 2, 3]) == nil)
        let ca = ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128)
        #expect(ca.oid == [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02])
        #expect(ChipAuthenticationProtocol(oid: ca.oid) == ca)
    }
}

extension String {
    init(format2 n: Int, _ prefix: String, _ suffix: String) {
        self = prefix + (n < 10 ? "0\(n)" : "\(n)") + suffix
    }
}
