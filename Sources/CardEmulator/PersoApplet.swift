import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS

/// A chip as the card maker ships it: the eMRTD applet installed but empty, its serial number (key
/// diversification data), and its static transport keys (diversified from the batch master key and the serial).
/// Everything here is the chip's non-volatile memory: personalization writes into it until the lock.
public struct BlankChip: Codable, Hashable, Sendable {
    public struct PersoFile: Codable, Hashable, Sendable {
        public var fileID: UInt16
        public var content: [UInt8]
    }

    /// The 10 bytes of key diversification data (the chip's serial); hex in JSON, as every byte string here.
    public var serial: [UInt8]
    public var commandSet: PersoCommandSet
    public var aid: [UInt8]
    /// The chip's own SCP03 keys (version, ENC, MAC, DEK).
    public var keyVersion: UInt8
    public var encryptionKey: [UInt8]
    public var macKey: [UInt8]
    public var dataEncryptionKey: [UInt8]
    public var quirks: CardImage.Quirks
    /// What personalization has written so far.
    public var files: [PersoFile] = []
    public var secrets = CardImage.Secrets()
    /// Set by the chip options: the chip will not answer BAC.
    public var bacDisabled: Bool? = nil
    /// false: the chip does not answer GET DATA of its serial (as JMRTD's applet, which has none); nil = true.
    public var answersSerial: Bool? = nil
    /// The RSA Active Authentication key as JMRTD's applet receives it (`60`, `61`); whole at the lock.
    public var activeAuthenticationModulus: [UInt8]? = nil
    public var activeAuthenticationPrivateExponent: [UInt8]? = nil
    /// true: the chip takes personalization exactly as JMRTD's running applet does (FIELD.md §2.1–2.3): the flat
    /// PUT DATA forms only (the nested ones → 6F00), an RSA-1024 key only, no command chaining (6F00), no tags but
    /// its own (70, 71, 72, 73 → 6A86), no SCP03, no serial. nil = false: this toolchain's chip, which takes both
    /// forms and its extensions.
    public var modelsJMRTDApplet: Bool? = nil
    /// The CVCA certificates and the date written for Terminal Authentication (PUT DATA `64`, `74`).
    public var terminalAuthentication: CardImage.TerminalAuthenticationTrust? = nil

    /// A blank chip whose keys are diversified from `master` with its serial.
    public init(
        serial: [UInt8], master: [UInt8], commandSet: PersoCommandSet = .secure,
        aid: [UInt8] = VietnameseCard.applicationID, quirks: CardImage.Quirks = .init(selectMasterFileUnsupported: true)
    ) throws {
        try self.init(
            serial: serial, keys: try SCP03.StaticKeys.diversified(master: master, diversificationData: serial),
            commandSet: commandSet, aid: aid, quirks: quirks)
    }

    /// A blank chip with these static SCP03 keys (the card maker diversified them from the batch master key, which
    /// may be in a token the chip's maker never sees the key of).
    public init(
        serial: [UInt8], keys: SCP03.StaticKeys, commandSet: PersoCommandSet = .secure,
        aid: [UInt8] = VietnameseCard.applicationID, quirks: CardImage.Quirks = .init(selectMasterFileUnsupported: true)
    ) throws {
        self.serial = serial
        self.commandSet = commandSet
        self.aid = aid
        keyVersion = keys.version
        encryptionKey = keys.encryption
        macKey = keys.mac
        dataEncryptionKey = keys.dataEncryption
        self.quirks = quirks
    }

    enum CodingKeys: String, CodingKey {
        case serial, commandSet, aid, keyVersion, encryptionKey, macKey, dataEncryptionKey, quirks, files, secrets,
            bacDisabled, answersSerial, activeAuthenticationModulus, activeAuthenticationPrivateExponent,
            modelsJMRTDApplet, terminalAuthentication
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func hex(_ key: CodingKeys) throws -> [UInt8] { try c.decodeBytes(hex: key) }
        func optionalHex(_ key: CodingKeys) throws -> [UInt8]? { try c.decodeBytesIfPresent(hex: key) }
        serial = try hex(.serial)
        commandSet = try c.decode(PersoCommandSet.self, forKey: .commandSet)
        aid = try hex(.aid)
        keyVersion = try c.decode(UInt8.self, forKey: .keyVersion)
        encryptionKey = try hex(.encryptionKey)
        macKey = try hex(.macKey)
        dataEncryptionKey = try hex(.dataEncryptionKey)
        quirks = try c.decode(CardImage.Quirks.self, forKey: .quirks)
        files = try c.decodeIfPresent([PersoFile].self, forKey: .files) ?? []
        secrets = try c.decodeIfPresent(CardImage.Secrets.self, forKey: .secrets) ?? .init()
        bacDisabled = try c.decodeIfPresent(Bool.self, forKey: .bacDisabled)
        answersSerial = try c.decodeIfPresent(Bool.self, forKey: .answersSerial)
        activeAuthenticationModulus = try optionalHex(.activeAuthenticationModulus)
        activeAuthenticationPrivateExponent = try optionalHex(.activeAuthenticationPrivateExponent)
        modelsJMRTDApplet = try c.decodeIfPresent(Bool.self, forKey: .modelsJMRTDApplet)
        terminalAuthentication = try c.decodeIfPresent(
            CardImage.TerminalAuthenticationTrust.self, forKey: .terminalAuthentication)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(serial.hexString, forKey: .serial)
        try c.encode(commandSet, forKey: .commandSet)
        try c.encode(aid.hexString, forKey: .aid)
        try c.encode(keyVersion, forKey: .keyVersion)
        try c.encode(encryptionKey.hexString, forKey: .encryptionKey)
        try c.encode(macKey.hexString, forKey: .macKey)
        try c.encode(dataEncryptionKey.hexString, forKey: .dataEncryptionKey)
        try c.encode(quirks, forKey: .quirks)
        try c.encode(files, forKey: .files)
        try c.encode(secrets, forKey: .secrets)
        try c.encodeIfPresent(bacDisabled, forKey: .bacDisabled)
        try c.encodeIfPresent(answersSerial, forKey: .answersSerial)
        try c.encodeIfPresent(activeAuthenticationModulus?.hexString, forKey: .activeAuthenticationModulus)
        try c.encodeIfPresent(
            activeAuthenticationPrivateExponent?.hexString, forKey: .activeAuthenticationPrivateExponent)
        try c.encodeIfPresent(modelsJMRTDApplet, forKey: .modelsJMRTDApplet)
        try c.encodeIfPresent(terminalAuthentication, forKey: .terminalAuthentication)
    }

    var staticKeys: SCP03.StaticKeys {
        get throws {
            try SCP03.StaticKeys(
                version: keyVersion, encryption: encryptionKey, mac: macKey, dataEncryption: dataEncryptionKey)
        }
    }

    /// The serial of chip number `index` of an emulated batch: "CCCD" ‖ 6 bytes of the index (deterministic,
    /// so a crashed run finds its chips again).
    public static func serial(batch: UInt16, index: Int) -> [UInt8] {
        [0x43, 0x43, UInt8(batch >> 8), UInt8(batch & 0xFF)]
            + (0..<6).reversed().map { UInt8(truncatingIfNeeded: UInt64(index) >> (8 * UInt64($0))) }
    }

    /// The card image the personalization produced (at the lock).
    func issuedImage() -> CardImage {
        var master: [CardImage.File] = []
        var application: [CardImage.File] = []
        for f in files.sorted(by: { $0.fileID < $1.fileID }) {
            let file = LDSFile.all.first { $0.fileID == f.fileID && $0 != .cardSecurity }
            let entry: CardImage.File
            if let file {
                entry = CardImage.File(file, content: f.content)
            } else {
                entry = CardImage.File(
                    name: String(format: "EF %04X", f.fileID), fileID: f.fileID, shortFileID: nil,
                    access: .accessControl, content: f.content)
            }
            if file?.isInMasterFile == true { master.append(entry) } else { application.append(entry) }
        }
        var secrets = secrets
        if let n = activeAuthenticationModulus, let d = activeAuthenticationPrivateExponent {
            secrets.activeAuthenticationKey = Self.rsaKey(modulus: n, privateExponent: d, dg15: files)
        }
        var image = CardImage(
            masterFiles: master,
            applications: [CardImage.Application(aid: aid, files: application)],
            secrets: secrets, quirks: quirks)
        image.bacEnabled = bacDisabled == true ? false : nil
        image.terminalAuthentication = terminalAuthentication
        image.chip = ChipSettings.derived(from: image)
        return image
    }
}

extension BlankChip {
    /// Makes a key pair inside the chip under `key`, replacing one made before, and answers its public half.
    mutating func generateKey(_ key: PersoProtocol.Tag, _ parameters: ChipKeyParameters) throws -> ChipPublicKey {
        switch (key, parameters) {
        case (.chipAuthenticationKey, .dh(let id)):
            guard let group = DHGroup.standardized(id) else { throw KeyGenerationError("no DH group \(id)") }
            let x = try group.randomExponent()
            secrets.chipAuthenticationDHKey = x
            secrets.chipAuthenticationKey = nil
            return .dh(groupID: id, y: try group.power(group.g, x))
        case (.chipAuthenticationKey, .ec(let curve)):
            let pair = try AsymmetricKey.generateEC(curve)
            secrets.chipAuthenticationKey = try pair.privateKeyDER()
            secrets.chipAuthenticationDHKey = nil
            return .ec(curve, point: try pair.ecPublicPoint())
        case (.activeAuthenticationKey, .ec(let curve)):
            let pair = try AsymmetricKey.generateEC(curve)
            secrets.activeAuthenticationKey = try pair.privateKeyDER()
            (activeAuthenticationModulus, activeAuthenticationPrivateExponent) = (nil, nil)
            return .ec(curve, point: try pair.ecPublicPoint())
        case (.activeAuthenticationKey, .rsa(let bits)):
            let pair = try AsymmetricKey.generateRSA(bits: bits)
            secrets.activeAuthenticationKey = try pair.privateKeyDER()
            (activeAuthenticationModulus, activeAuthenticationPrivateExponent) = (nil, nil)
            return .rsa(modulus: try pair.component("n"), exponent: try pair.component("e"))
        default: throw KeyGenerationError("no \(parameters) key under \(key)")
        }
    }

    /// The public half of the pair made under `key`, when it is one of `parameters`.
    func publicKey(_ key: PersoProtocol.Tag, _ parameters: ChipKeyParameters) -> ChipPublicKey? {
        switch (key, parameters) {
        case (.chipAuthenticationKey, .dh(let id)):
            guard let x = secrets.chipAuthenticationDHKey, let group = DHGroup.standardized(id),
                let y = try? group.power(group.g, x)
            else { return nil }
            return .dh(groupID: id, y: y)
        case (.chipAuthenticationKey, .ec(let curve)), (.activeAuthenticationKey, .ec(let curve)):
            let der = key == .chipAuthenticationKey ? secrets.chipAuthenticationKey : secrets.activeAuthenticationKey
            guard let der, let pair = try? AsymmetricKey(privateKeyDER: der), pair.curve == curve,
                let point = try? pair.ecPublicPoint()
            else { return nil }
            return .ec(curve, point: point)
        case (.activeAuthenticationKey, .rsa(let bits)):
            guard let der = secrets.activeAuthenticationKey, let pair = try? AsymmetricKey(privateKeyDER: der),
                pair.kind == .rsa, pair.bits == bits, let n = try? pair.component("n"), let e = try? pair.component("e")
            else { return nil }
            return .rsa(modulus: n, exponent: e)
        default: return nil
        }
    }

    /// The whole RSA key (PKCS#8, base64) from the modulus and private exponent the chip was given, with the
    /// public exponent of DG15's key; nil when DG15 holds no RSA key with that modulus (the chip then has no AA
    /// key, and the read-back's Active Authentication says so).
    static func rsaKey(modulus n: [UInt8], privateExponent d: [UInt8], dg15 files: [PersoFile]) -> [UInt8]? {
        guard let content = files.first(where: { $0.fileID == LDSFile.dataGroup(15).fileID })?.content,
            let dg15 = try? DataGroup15(bytes: content),
            let publicKey = try? AsymmetricKey(publicKeyDER: dg15.subjectPublicKeyInfo), publicKey.kind == .rsa,
            let e = try? publicKey.component("e"), (try? publicKey.component("n")) == Array(n.drop { $0 == 0 }),
            let key = try? AsymmetricKey.rsa(modulus: n, publicExponent: e, privateExponent: d),
            let der = try? key.privateKeyDER()
        else { return nil }
        return der
    }
}

/// The blank chip's applet: answers the perso commands (`PersoProtocol`) in the command set's way, and at the lock
/// hands back the issued card image.
final class PersoApplet {
    private(set) var chip: BlankChip
    private let random: any RandomSource
    private var scp: SCP03Card?
    private var channel: SCP03Session?
    private var selected = false
    private var currentFile: UInt16?
    /// The data of a PUT DATA command chain so far (ISO 7816-4 §5.1.1, CLA bit 10).
    private var chain: (p1: UInt8, p2: UInt8, data: [UInt8])?

    init(chip: BlankChip, random: any RandomSource) throws {
        self.chip = chip
        self.random = random
        scp = try SCP03Card(keys: try chip.staticKeys, diversificationData: chip.serial)
    }

    /// The outcome of one command: the answer, whether non-volatile memory changed, and the issued image at the
    /// lock.
    struct Outcome {
        var response: ResponseAPDU
        var changed = false
        var issued: CardImage? = nil
    }

    func reset() {
        chain = nil
        channel = nil
        selected = false
        currentFile = nil
    }

    func respond(to received: CommandAPDU) -> Outcome {
        var command = received
        let wrapped = received.cla & 0x04 != 0 && received.ins != 0x82
        if wrapped {
            guard let channel, !channel.isEnded else {
                return Outcome(response: ResponseAPDU(statusWord: .securityStatusNotSatisfied))
            }
            do {
                command = try channel.unwrapCommand(received)
            } catch let error as SCP03Error {
                self.channel = nil
                return Outcome(response: ResponseAPDU(statusWord: error.statusWord ?? .securityStatusNotSatisfied))
            } catch {
                self.channel = nil
                return Outcome(response: ResponseAPDU(statusWord: .securityStatusNotSatisfied))
            }
        } else if channel != nil && received.ins != 0x50 && received.ins != 0x82 {
            // A plain command inside an open channel closes it (GP Amendment D).
            channel = nil
            return Outcome(response: ResponseAPDU(statusWord: .securityStatusNotSatisfied))
        }
        var outcome = dispatch(command, protected: wrapped)
        if wrapped, let channel {
            outcome.response =
                (try? channel.wrapResponse(outcome.response)) ?? ResponseAPDU(statusWord: .noPreciseDiagnosis)
        }
        return outcome
    }

    private func dispatch(_ command: CommandAPDU, protected: Bool) -> Outcome {
        func status(_ sw: StatusWord) -> Outcome { Outcome(response: ResponseAPDU(statusWord: sw)) }
        switch (command.cla & 0xF0, command.ins) {
        case (_, 0xA4) where command.p1 == 0x04:
            guard !command.data.isEmpty, chip.aid.starts(with: command.data) else {
                return status(.fileNotFound)
            }
            selected = true
            currentFile = nil
            return status(.success)
        case (0x80, 0xCA) where command.p1 == 0 && command.p2 == PersoProtocol.diversificationDataTag:
            guard chip.answersSerial != false, chip.modelsJMRTDApplet != true else {
                return status(.instructionNotSupported)
            }
            return Outcome(
                response: ResponseAPDU(data: TLVWriter.encode(tag: 0xCF, value: chip.serial), statusWord: .success)
            )
        case (0x80, 0x50) where chip.modelsJMRTDApplet == true, (0x80, 0x82) where chip.modelsJMRTDApplet == true:
            return status(.instructionNotSupported)  // the applet has no GlobalPlatform secure channel
        case (0x80, 0x50):
            guard let scp else { return status(.conditionsOfUseNotSatisfied) }
            channel = nil
            do {
                return Outcome(response: try scp.initializeUpdate(command, random: random))
            } catch {
                return status(.noPreciseDiagnosis)
            }
        case (0x80, 0x82):
            guard let scp else { return status(.conditionsOfUseNotSatisfied) }
            // EXTERNAL AUTHENTICATE ends an open channel: a second one inside it (no INITIALIZE UPDATE before) is
            // refused 6985 and leaves no channel, so chip and host never go on from different chaining values.
            channel = nil
            do {
                channel = try scp.externalAuthenticate(command)
                return status(.success)
            } catch {
                return status(error.statusWord ?? .securityStatusNotSatisfied)
            }
        default: break
        }
        guard [0xE0, 0xA4, 0xD6, 0xDA, KeyGeneration.instruction].contains(command.ins) else {
            return status(.instructionNotSupported)
        }
        guard selected else { return status(.conditionsOfUseNotSatisfied) }
        // A secure chip takes personalization only through its SCP03 channel: no secret in clear on the wire.
        if chip.commandSet == .secure && !protected { return status(.securityStatusNotSatisfied) }
        switch command.ins {
        case 0xE0: return createFile(command)
        case 0xA4:
            guard command.p1 == 0x02, command.data.count == 2 else { return status(.incorrectP1P2) }
            let fid = UInt16(command.data[0]) << 8 | UInt16(command.data[1])
            guard chip.files.contains(where: { $0.fileID == fid }) else { return status(.fileNotFound) }
            currentFile = fid
            return status(.success)
        case 0xD6: return updateBinary(command)
        case KeyGeneration.instruction: return generateKeyPair(command)
        default: return putData(command)
        }
    }

    /// GENERATE ASYMMETRIC KEY PAIR (`KeyGeneration`): the key is made here and kept in the chip's memory; the
    /// answer is its public half. Only the `secure` set's chip makes keys (JMRTD's applet has no such command).
    private func generateKeyPair(_ command: CommandAPDU) -> Outcome {
        func status(_ sw: StatusWord) -> Outcome { Outcome(response: ResponseAPDU(statusWord: sw)) }
        guard chip.commandSet == .secure, chip.modelsJMRTDApplet != true else { return status(.instructionNotSupported) }
        guard let key = PersoProtocol.Tag(rawValue: command.p2), KeyGeneration.keyReferences.contains(key),
            let mode = KeyGeneration.Mode(rawValue: command.p1)
        else { return status(.incorrectP1P2) }
        guard let parameters = KeyGeneration.parameters(from: command.data) else { return status(.incorrectData) }
        switch (key, parameters) {
        case (.chipAuthenticationKey, .ec), (.chipAuthenticationKey, .dh), (.activeAuthenticationKey, .rsa),
            (.activeAuthenticationKey, .ec):
            break
        default: return status(.incorrectData)
        }
        do {
            switch mode {
            case .generate:
                let made = try chip.generateKey(key, parameters)
                return Outcome(response: ResponseAPDU(data: KeyGeneration.encode(made), statusWord: .success), changed: true)
            case .readPublicKey:
                guard let known = chip.publicKey(key, parameters) else {
                    return status(StatusWord(rawValue: 0x6A88))  // referenced data not found
                }
                return Outcome(response: ResponseAPDU(data: KeyGeneration.encode(known), statusWord: .success))
            }
        } catch {
            return status(.noPreciseDiagnosis)
        }
    }

    private func createFile(_ command: CommandAPDU) -> Outcome {
        let d = command.data
        guard d.count == 6, d[0] == 0x63, d[1] == 0x04 else {
            return Outcome(response: ResponseAPDU(statusWord: .incorrectData))
        }
        let size = Int(d[2]) << 8 | Int(d[3])
        let fid = UInt16(d[4]) << 8 | UInt16(d[5])
        guard size > 0, size <= 0x7FFF else { return Outcome(response: ResponseAPDU(statusWord: .incorrectData)) }
        guard !chip.files.contains(where: { $0.fileID == fid }) else {
            return Outcome(response: ResponseAPDU(statusWord: StatusWord(rawValue: 0x6A89)))  // file already exists
        }
        chip.files.append(.init(fileID: fid, content: [UInt8](repeating: 0, count: size)))
        currentFile = fid
        return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
    }

    private func updateBinary(_ command: CommandAPDU) -> Outcome {
        guard let fid = currentFile, let index = chip.files.firstIndex(where: { $0.fileID == fid }) else {
            return Outcome(response: ResponseAPDU(statusWord: .commandNotAllowedNoEF))
        }
        guard command.p1 & 0x80 == 0 else { return Outcome(response: ResponseAPDU(statusWord: .incorrectP1P2)) }
        let offset = Int(command.p1) << 8 | Int(command.p2)
        guard offset + command.data.count <= chip.files[index].content.count else {
            return Outcome(response: ResponseAPDU(statusWord: .wrongP1P2))
        }
        chip.files[index].content.replaceSubrange(offset..<offset + command.data.count, with: command.data)
        return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
    }

    /// PUT DATA as JMRTD's running applet answers it (FIELD.md §2.1–2.3).
    private func appletPutData(_ command: CommandAPDU) -> Outcome {
        func status(_ sw: StatusWord) -> Outcome { Outcome(response: ResponseAPDU(statusWord: sw)) }
        // The applet knows no command chaining: each part is a PUT DATA it cannot parse.
        if command.cla & 0x10 != 0 { return status(.noPreciseDiagnosis) }
        if command.p1 == 0xDE && command.p2 == 0xAD {
            return Outcome(response: ResponseAPDU(statusWord: .success), changed: true, issued: chip.issuedImage())
        }
        guard command.p1 == 0 else { return status(.incorrectP1P2) }
        switch command.p2 {
        case PersoProtocol.Tag.activeAuthenticationModulus.rawValue,
            PersoProtocol.Tag.activeAuthenticationPrivateExponent.rawValue:
            // Its own flat form only, of a 1024-bit key (a leading 00 of a number is taken).
            guard let raw = PersoProtocol.flatValue(in: command.data, tag: command.p2) else {
                return status(.noPreciseDiagnosis)
            }
            let value = raw.count == 129 && raw[0] == 0 ? Array(raw.dropFirst()) : raw
            guard value.count <= 128, !value.isEmpty else { return status(.noPreciseDiagnosis) }
            if command.p2 == PersoProtocol.Tag.activeAuthenticationModulus.rawValue {
                guard value.count == 128 else { return status(.noPreciseDiagnosis) }
                chip.activeAuthenticationModulus = value
            } else {
                chip.activeAuthenticationPrivateExponent = value
            }
            return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
        case PersoProtocol.Tag.bacKeySeed.rawValue:
            guard let values = PersoProtocol.octetStrings(in: command.data, tag: command.p2), values.count == 3,
                let n = String(bytes: values[0], encoding: .ascii), let b = String(bytes: values[1], encoding: .ascii),
                let e = String(bytes: values[2], encoding: .ascii)
            else { return status(.noPreciseDiagnosis) }
            chip.secrets.mrz = .init(documentNumber: n, dateOfBirth: b, dateOfExpiry: e)
            return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
        case PersoProtocol.Tag.chipAuthenticationKey.rawValue:
            // Its Chip Authentication key is on a binary curve, with EAC: a prime-curve key does not build.
            return status(.noPreciseDiagnosis)
        default:
            return status(.incorrectP1P2)  // 70, 71, 72, 73 and any other tag: 6A86
        }
    }

    private func putData(_ received: CommandAPDU) -> Outcome {
        func status(_ sw: StatusWord) -> Outcome { Outcome(response: ResponseAPDU(statusWord: sw)) }
        if chip.modelsJMRTDApplet == true { return appletPutData(received) }
        // Command chaining: collect the parts, act on the last.
        if let pending = chain, pending.p1 != received.p1 || pending.p2 != received.p2 {
            chain = nil
            return status(StatusWord(rawValue: 0x6883))  // last command of the chain expected
        }
        if received.cla & 0x10 != 0 {
            guard (chain?.data.count ?? 0) + received.data.count <= 8192 else {
                chain = nil
                return status(.wrongLength)
            }
            chain = (received.p1, received.p2, (chain?.data ?? []) + received.data)
            return status(.success)
        }
        var command = received
        if let pending = chain {
            command = CommandAPDU(
                cla: received.cla, ins: received.ins, p1: received.p1, p2: received.p2,
                data: pending.data + received.data)
            chain = nil
        }
        if command.p1 == 0xDE && command.p2 == 0xAD {
            // The lock: from now on the chip is an issued card.
            return Outcome(response: ResponseAPDU(statusWord: .success), changed: true, issued: chip.issuedImage())
        }
        guard command.p1 == 0, let tag = PersoProtocol.Tag(rawValue: command.p2) else { return status(.incorrectP1P2) }
        if tag == .chipAuthenticationKey {
            // JMRTD's format: the curve's parameters and the scalar, on a curve this chip knows.
            guard let parts = PersoProtocol.ECKeyParts(parsing: command.data),
                let curve = try? NamedCurve.matching(
                    p: parts.p, a: parts.a, b: parts.b, generator: parts.generator, order: parts.order,
                    cofactor: [UInt8(parts.cofactor >> 8), UInt8(parts.cofactor & 0xFF)]),
                let key = try? AsymmetricKey.ec(curve, scalar: parts.scalar), let der = try? key.privateKeyDER()
            else { return status(.incorrectData) }
            chip.secrets.chipAuthenticationKey = der
            return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
        }
        // JMRTD's applet's flat form (`tag 00 04 L value`) or the nested one (`tag L 04 L value`): this chip takes both.
        guard
            let values = PersoProtocol.octetStrings(in: command.data, tag: tag.rawValue)
                ?? PersoProtocol.flatValue(in: command.data, tag: tag.rawValue).map({ [$0] }), !values.isEmpty
        else {
            return status(.incorrectData)
        }
        switch tag {
        case .bacKeySeed:
            guard values.count == 3, let n = String(bytes: values[0], encoding: .ascii),
                let b = String(bytes: values[1], encoding: .ascii), let e = String(bytes: values[2], encoding: .ascii)
            else { return status(.incorrectData) }
            chip.secrets.mrz = .init(documentNumber: n, dateOfBirth: b, dateOfExpiry: e)
        case .can:
            guard let can = String(bytes: values[0], encoding: .ascii) else { return status(.incorrectData) }
            chip.secrets.can = can
        case .chipAuthenticationKey: return status(.incorrectData)  // handled above
        case .activeAuthenticationModulus:
            guard values.count == 1, values[0].count >= 64 else { return status(.incorrectData) }
            chip.activeAuthenticationModulus = values[0]
        case .activeAuthenticationPrivateExponent:
            guard values.count == 1, !values[0].isEmpty else { return status(.incorrectData) }
            chip.activeAuthenticationPrivateExponent = values[0]
        case .activeAuthenticationKey:
            guard (try? AsymmetricKey(privateKeyDER: values[0])) != nil else { return status(.incorrectData) }
            chip.secrets.activeAuthenticationKey = values[0]
        case .chipAuthenticationDHKey: chip.secrets.chipAuthenticationDHKey = values[0]
        case .chipOptions:
            guard values[0].count == 1 else { return status(.incorrectData) }
            chip.bacDisabled = values[0][0] & 0x01 != 0
        case .cvcaCertificate:
            // A CVCA's certificate (self-signed or a link), whole: the chip's trust point.
            guard values.count == 1, let cvca = try? CVCertificate(bytes: values[0]), cvca.isCVCA,
                cvca.publicKey.curve(inheriting: nil) != nil || cvca.publicKey.algorithm.isRSA
            else { return status(.incorrectData) }
            var trust = chip.terminalAuthentication ?? .init(trustPoints: [], currentDate: cvca.effectiveDate.digits)
            trust.trustPoints.removeAll { (try? CVCertificate(bytes: $0))?.holderReference == cvca.holderReference }
            trust.trustPoints.insert(values[0], at: 0)
            trust.trustPoints = Array(trust.trustPoints.prefix(TerminalAuthenticationState.trustPointLimit))
            chip.terminalAuthentication = trust
        case .currentDate:
            guard values.count == 1, (try? CVDate(digits: values[0])) != nil else { return status(.incorrectData) }
            guard var trust = chip.terminalAuthentication else { return status(.conditionsOfUseNotSatisfied) }
            trust.currentDate = values[0]
            chip.terminalAuthentication = trust
        }
        return Outcome(response: ResponseAPDU(statusWord: .success), changed: true)
    }
}
