import CardCore
import CardCrypto

/// GlobalPlatform Secure Channel Protocol '03' (GP Card Specification v2.3 Amendment D): the channel print centres
/// personalize chips through. Mutual authentication with INITIALIZE UPDATE / EXTERNAL AUTHENTICATE, session keys
/// from the static keys by the NIST SP 800-108 counter-mode KDF with AES-CMAC, then C-MAC (chained), C-DECRYPTION
/// (AES-CBC, ICV from the encryption counter), R-MAC and R-ENCRYPTION as the security level says.
///
/// One `SCP03Session` holds a channel's state in either role: the terminal (`SCP03Host`) or the chip
/// (`SCP03Card`); both share the same functions, so each role is tested against the other and against the
/// published known answers.
public enum SCP03 {
    /// Derivation constants (Amendment D, table 4-1).
    public enum Constant: UInt8, Sendable {
        case cardCryptogram = 0x00
        case hostCryptogram = 0x01
        case cardChallenge = 0x02
        case sessionEncryption = 0x04
        case sessionMAC = 0x06
        case sessionRMAC = 0x07
    }

    /// Security level bits of EXTERNAL AUTHENTICATE's P1.
    public struct SecurityLevel: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let commandMAC = SecurityLevel(rawValue: 0x01)
        public static let commandEncryption = SecurityLevel(rawValue: 0x02)
        public static let responseMAC = SecurityLevel(rawValue: 0x10)
        public static let responseEncryption = SecurityLevel(rawValue: 0x20)
        /// What personalization uses: every command MACed and its data encrypted, every response MACed.
        public static let personalization: SecurityLevel = [.commandMAC, .commandEncryption, .responseMAC]

        /// A level the protocol allows: C-MAC is required by any other bit, C-DEC and R-ENC by their MACs.
        public var isValid: Bool {
            if rawValue & ~0x33 != 0 { return false }
            if !isEmpty && !contains(.commandMAC) { return false }
            if contains(.responseEncryption) && !contains(.responseMAC) { return false }
            if contains(.responseEncryption) && !contains(.commandEncryption) { return false }
            return true
        }
    }

    /// The data derivation function (Amendment D §4.1.5): label = 11 bytes 00 ‖ constant, separation indicator
    /// 00, L (bits, 2 bytes), counter i (1 byte), context; PRF = AES-CMAC under `key`; as many blocks as L needs.
    public static func derive(key: [UInt8], constant: Constant, bits: Int, context: [UInt8]) throws(CryptoError)
        -> [UInt8]
    {
        try deriveRaw(key: key, constant: constant.rawValue, bits: bits, context: context)
    }

    static func deriveRaw(key: [UInt8], constant: UInt8, bits: Int, context: [UInt8]) throws(CryptoError) -> [UInt8] {
        let cmac = try CMAC(key: key)
        return try deriveRaw(prf: { cmac.authenticate($0) }, constant: constant, bits: bits, context: context)
    }

    /// The same KDF over any AES-CMAC: one computed here, or one a PKCS#11 token computes with a key it keeps.
    public static func deriveRaw<E: Error>(
        prf: ([UInt8]) throws(E) -> [UInt8], constant: UInt8, bits: Int, context: [UInt8]
    ) throws(E) -> [UInt8] {
        var out: [UInt8] = []
        var counter: UInt8 = 1
        while out.count * 8 < bits {
            var input = [UInt8](repeating: 0, count: 11)
            input += [constant, 0x00, UInt8(bits >> 8), UInt8(bits & 0xFF), counter]
            input += context
            out += try prf(input)
            counter &+= 1
        }
        return Array(out.prefix(bits / 8))
    }

    /// The static keys of one chip (or of a batch, before diversification): ENC, MAC and DEK, AES-128/192/256.
    public struct StaticKeys: Hashable, Sendable, CustomStringConvertible {
        public var version: UInt8
        public var encryption: [UInt8]
        public var mac: [UInt8]
        public var dataEncryption: [UInt8]

        public init(version: UInt8, encryption: [UInt8], mac: [UInt8], dataEncryption: [UInt8]) throws(SCP03Error) {
            guard [16, 24, 32].contains(encryption.count), encryption.count == mac.count,
                mac.count == dataEncryption.count
            else {
                throw SCP03Error("static keys must be three AES keys of one length (16, 24 or 32 bytes)")
            }
            self.version = version
            self.encryption = encryption
            self.mac = mac
            self.dataEncryption = dataEncryption
        }

        /// A chip's own keys from a batch master key and the chip's key diversification data (its serial), as
        /// card makers ship chips: each key = KDF(master, constant, L = the master's length, context = the 10
        /// bytes), with this toolchain's constants 21 (ENC), 22 (MAC), 23 (DEK) in the Amendment D KDF.
        public static func diversified(master: [UInt8], version: UInt8 = 0x30, diversificationData: [UInt8]) throws
            -> StaticKeys
        {
            guard [16, 24, 32].contains(master.count) else {
                throw SCP03Error("the master key must be an AES key (16, 24 or 32 bytes)")
            }
            guard diversificationData.count == 10 else { throw SCP03Error("diversification data must be 10 bytes") }
            let bits = master.count * 8
            func key(_ c: UInt8) throws -> [UInt8] {
                try SCP03.deriveRaw(key: master, constant: c, bits: bits, context: diversificationData)
            }
            return try StaticKeys(version: version, encryption: key(0x21), mac: key(0x22), dataEncryption: key(0x23))
        }

        /// A chip's own keys diversified by a master key that `prf` holds (AES-CMAC under it, computed where the
        /// key lives: a PKCS#11 token), `masterBytes` long: the same keys as `diversified(master:…)`.
        public static func diversified(
            masterBytes: Int, version: UInt8 = 0x30, diversificationData: [UInt8], prf: ([UInt8]) throws -> [UInt8]
        ) throws -> StaticKeys {
            guard [16, 24, 32].contains(masterBytes) else {
                throw SCP03Error("the master key must be an AES key (16, 24 or 32 bytes)")
            }
            guard diversificationData.count == 10 else { throw SCP03Error("diversification data must be 10 bytes") }
            func key(_ c: UInt8) throws -> [UInt8] {
                try SCP03.deriveRaw(prf: prf, constant: c, bits: masterBytes * 8, context: diversificationData)
            }
            return try StaticKeys(version: version, encryption: key(0x21), mac: key(0x22), dataEncryption: key(0x23))
        }

        /// Never the key bytes.
        public var description: String { "SCP03 keys (version \(version), AES-\(encryption.count * 8), <redacted>)" }
    }

    /// The three session keys of one channel.
    public struct SessionKeys: Sendable {
        public let encryption: [UInt8]
        public let mac: [UInt8]
        public let responseMAC: [UInt8]

        public init(from keys: StaticKeys, hostChallenge: [UInt8], cardChallenge: [UInt8]) throws(CryptoError) {
            let context = hostChallenge + cardChallenge
            let bits = keys.encryption.count * 8
            encryption = try derive(key: keys.encryption, constant: .sessionEncryption, bits: bits, context: context)
            mac = try derive(key: keys.mac, constant: .sessionMAC, bits: bits, context: context)
            responseMAC = try derive(key: keys.mac, constant: .sessionRMAC, bits: bits, context: context)
        }
    }
}

/// What went wrong in a secure channel, in the operator's terms. Never carries key material.
public struct SCP03Error: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public let statusWord: StatusWord?
    public init(_ reason: String, statusWord: StatusWord? = nil) {
        self.reason = reason
        self.statusWord = statusWord
    }
    public var description: String { "SCP03: " + reason + (statusWord.map { " (\($0.hex))" } ?? "") }
}

/// The state of one open SCP03 channel, shared by both roles: session keys, the MAC chaining value, the
/// encryption counter and the security level. Any failure ends the channel.
public final class SCP03Session {
    public let level: SCP03.SecurityLevel
    private let keys: SCP03.SessionKeys
    private let cmac: CMAC
    private let rcmac: CMAC
    private let ecb: BlockCipher
    private let cbc: BlockCipher
    /// The chaining value: the last full C-MAC (16 zero bytes before EXTERNAL AUTHENTICATE).
    private var chaining = [UInt8](repeating: 0, count: 16)
    /// Incremented for every command after EXTERNAL AUTHENTICATE (its value is the ICV's input).
    private var counter: UInt64 = 0
    public private(set) var isEnded = false

    init(keys: SCP03.SessionKeys, level: SCP03.SecurityLevel) throws(CryptoError) {
        self.keys = keys
        self.level = level
        cmac = try CMAC(key: keys.mac)
        rcmac = try CMAC(key: keys.responseMAC)
        let algorithm = try CipherAlgorithm.aes(keyLength: keys.encryption.count)
        ecb = try BlockCipher(algorithm, mode: .ecb, key: keys.encryption)
        cbc = try BlockCipher(algorithm, mode: .cbc, key: keys.encryption)
    }

    public func end() { isEnded = true }

    /// C-MAC over chaining value ‖ header (with the SM bit and the Lc that includes the MAC) ‖ data; updates the
    /// chaining value and returns the 8 bytes sent.
    func commandMAC(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8]) -> [UInt8] {
        var input = chaining
        input += [cla, ins, p1, p2] + Self.lengthField(data.count + 8)
        input += data
        chaining = cmac.authenticate(input)
        return Array(chaining.prefix(8))
    }

    /// Lc as it appears on the wire: one byte, or 00 ‖ two bytes for extended length.
    static func lengthField(_ n: Int) -> [UInt8] {
        n <= 255 ? [UInt8(n)] : [0x00, UInt8(n >> 8), UInt8(n & 0xFF)]
    }

    /// The ICV of the next command's encryption (the counter, incremented per command, as one AES block).
    func commandICV() throws(CryptoError) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { block[15 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        return try ecb.encrypt(block)
    }

    /// The ICV of a response's decryption: 80 ‖ the counter of its command.
    func responseICV() throws(CryptoError) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 16)
        block[0] = 0x80
        for i in 0..<8 { block[15 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        return try ecb.encrypt(block)
    }

    func encryptCommandData(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
        try cbc.encrypt(ISO9797Padding.pad(data, blockSize: 16), iv: try commandICV())
    }

    func decryptCommandData(_ data: some Collection<UInt8>) throws -> [UInt8] {
        guard !data.isEmpty, data.count % 16 == 0 else { throw SCP03Error("command cryptogram of \(data.count) bytes") }
        return try ISO9797Padding.unpad(try cbc.decrypt(data, iv: try commandICV()))
    }

    /// R-MAC over chaining value ‖ response data ‖ SW.
    func responseMAC(data: some Collection<UInt8>, status: StatusWord) -> [UInt8] {
        Array(rcmac.authenticate(chaining + Array(data) + [status.sw1, status.sw2]).prefix(8))
    }

    func encryptResponseData(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
        try cbc.encrypt(ISO9797Padding.pad(data, blockSize: 16), iv: try responseICV())
    }

    func decryptResponseData(_ data: some Collection<UInt8>) throws -> [UInt8] {
        guard data.count % 16 == 0 else { throw SCP03Error("response cryptogram of \(data.count) bytes") }
        if data.isEmpty { return [] }
        return try ISO9797Padding.unpad(try cbc.decrypt(data, iv: try responseICV()))
    }

    func nextCommand() { counter &+= 1 }

    // MARK: Terminal role

    /// Wraps a plain command: data encrypted (C-DECRYPTION), then C-MAC over the result; CLA gets bit 04.
    public func wrap(_ command: CommandAPDU) throws -> CommandAPDU {
        guard !isEnded else { throw SCP03Error("the secure channel has ended") }
        nextCommand()
        var data = command.data
        if level.contains(.commandEncryption), !data.isEmpty { data = try encryptCommandData(data) }
        let cla = command.cla | 0x04
        if level.contains(.commandMAC) {
            data += commandMAC(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: data)
        }
        return CommandAPDU(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: data, ne: command.ne)
    }

    /// Whether an answer with this status word carries an R-MAC (Amendment D §6.2.5): `9000` and the warnings
    /// `62xx` and `63xx`; every other status word is an error, sent as the status word alone.
    public static func isProtected(_ status: StatusWord) -> Bool {
        status == .success || status.sw1 == 0x62 || status.sw1 == 0x63
    }

    /// Checks and unwraps an answer: R-MAC (over the data as sent), then R-ENCRYPTION. An error answer (a status
    /// word other than 9000, 62xx, 63xx) has no R-MAC and no data (Amendment D §6.2.5): its status word alone is
    /// passed on, and data a chip sent with it, unauthenticated, is dropped.
    public func unwrap(_ response: ResponseAPDU) throws -> ResponseAPDU {
        guard !isEnded else { throw SCP03Error("the secure channel has ended") }
        guard level.contains(.responseMAC) else { return response }
        guard SCP03Session.isProtected(response.statusWord) else { return ResponseAPDU(statusWord: response.statusWord) }
        guard response.data.count >= 8 else {
            isEnded = true
            throw SCP03Error("the answer has no R-MAC", statusWord: response.statusWord)
        }
        let body = response.data.dropLast(8)
        guard constantTimeEquals(responseMAC(data: body, status: response.statusWord), Array(response.data.suffix(8)))
        else {
            isEnded = true
            throw SCP03Error("the answer's R-MAC does not verify", statusWord: response.statusWord)
        }
        var data = Array(body)
        if level.contains(.responseEncryption) && !data.isEmpty { data = try decryptResponseData(data) }
        return ResponseAPDU(data: data, statusWord: response.statusWord)
    }

    // MARK: Chip role

    /// Checks and unwraps a protected command. Throws (answer 6982) when the C-MAC does not verify.
    public func unwrapCommand(_ command: CommandAPDU) throws -> CommandAPDU {
        guard !isEnded else { throw SCP03Error("the secure channel has ended") }
        nextCommand()
        var data = command.data
        if level.contains(.commandMAC) {
            guard command.cla & 0x04 != 0, data.count >= 8 else {
                isEnded = true
                throw SCP03Error("a command without C-MAC", statusWord: .securityStatusNotSatisfied)
            }
            let body = Array(data.dropLast(8))
            let mac = commandMAC(cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2, data: body)
            guard constantTimeEquals(mac, Array(data.suffix(8))) else {
                isEnded = true
                throw SCP03Error("the C-MAC does not verify", statusWord: .securityStatusNotSatisfied)
            }
            data = body
        }
        if level.contains(.commandEncryption), !data.isEmpty {
            do {
                data = try decryptCommandData(data)
            } catch {
                isEnded = true
                throw SCP03Error("command data does not decrypt", statusWord: .incorrectData)
            }
        }
        return CommandAPDU(
            cla: command.cla & ~0x04, ins: command.ins, p1: command.p1, p2: command.p2, data: data, ne: command.ne)
    }

    /// Wraps an answer: R-ENCRYPTION of its data, then R-MAC, for 9000 and the 62xx/63xx warnings; an error goes
    /// out as its status word alone (Amendment D §6.2.5).
    public func wrapResponse(_ response: ResponseAPDU) throws -> ResponseAPDU {
        guard level.contains(.responseMAC) else { return response }
        guard SCP03Session.isProtected(response.statusWord) else { return ResponseAPDU(statusWord: response.statusWord) }
        var data = response.data
        if level.contains(.responseEncryption) && !data.isEmpty { data = try encryptResponseData(data) }
        return ResponseAPDU(
            data: data + responseMAC(data: data, status: response.statusWord), statusWord: response.statusWord)
    }
}

/// The terminal's side of SCP03: INITIALIZE UPDATE, check the card's cryptogram, EXTERNAL AUTHENTICATE.
public struct SCP03Host {
    public let keys: SCP03.StaticKeys
    public let hostChallenge: [UInt8]

    public init(keys: SCP03.StaticKeys, random: any RandomSource) throws {
        self.keys = keys
        hostChallenge = try random.bytes(8)
    }

    public init(keys: SCP03.StaticKeys, hostChallenge: [UInt8]) {
        self.keys = keys
        self.hostChallenge = hostChallenge
    }

    /// 80 50 KVN 00 08 host-challenge 00.
    public var initializeUpdate: CommandAPDU {
        CommandAPDU(cla: 0x80, ins: 0x50, p1: keys.version, p2: 0x00, data: hostChallenge, ne: 256)
    }

    /// What INITIALIZE UPDATE returned: the chip's key diversification data (its serial, for the keys) and more.
    public struct CardResponse: Sendable {
        public let diversificationData: [UInt8]
        public let keyVersion: UInt8
        public let parameter: UInt8
        public let cardChallenge: [UInt8]
        public let cardCryptogram: [UInt8]
        public let sequenceCounter: [UInt8]?
    }

    /// Parses INITIALIZE UPDATE's answer (29 bytes, or 32 with the sequence counter of a pseudo-random challenge).
    public static func parse(_ response: ResponseAPDU) throws(SCP03Error) -> CardResponse {
        guard response.statusWord == .success else {
            throw SCP03Error("INITIALIZE UPDATE refused", statusWord: response.statusWord)
        }
        let d = response.data
        guard d.count == 29 || d.count == 32, d[11] == 0x03 else {
            throw SCP03Error("INITIALIZE UPDATE answered \(d.count) bytes, not an SCP03 answer")
        }
        return CardResponse(
            diversificationData: Array(d[0..<10]), keyVersion: d[10], parameter: d[12],
            cardChallenge: Array(d[13..<21]),
            cardCryptogram: Array(d[21..<29]), sequenceCounter: d.count == 32 ? Array(d[29..<32]) : nil)
    }

    /// Checks the card's cryptogram (the chip holds these keys), then returns the open channel and the EXTERNAL
    /// AUTHENTICATE command (84 82 level 00 10 host-cryptogram C-MAC) that completes it.
    public func authenticate(_ card: CardResponse, level: SCP03.SecurityLevel) throws -> (SCP03Session, CommandAPDU) {
        guard level.isValid else { throw SCP03Error("security level \(level.rawValue) is not allowed") }
        guard card.keyVersion == keys.version else {
            throw SCP03Error("the chip has key version \(card.keyVersion), not \(keys.version)")
        }
        let session = try SCP03.SessionKeys(from: keys, hostChallenge: hostChallenge, cardChallenge: card.cardChallenge)
        let context = hostChallenge + card.cardChallenge
        let expected = try SCP03.derive(key: session.mac, constant: .cardCryptogram, bits: 64, context: context)
        guard constantTimeEquals(expected, card.cardCryptogram) else {
            throw SCP03Error("the card cryptogram does not verify: wrong transport keys for this chip")
        }
        let hostCryptogram = try SCP03.derive(key: session.mac, constant: .hostCryptogram, bits: 64, context: context)
        let channel = try SCP03Session(keys: session, level: level)
        let mac = channel.commandMAC(cla: 0x84, ins: 0x82, p1: level.rawValue, p2: 0x00, data: hostCryptogram)
        return (channel, CommandAPDU(cla: 0x84, ins: 0x82, p1: level.rawValue, p2: 0x00, data: hostCryptogram + mac))
    }
}

/// The chip's side of SCP03: answer INITIALIZE UPDATE with its diversification data, challenge and cryptogram;
/// check EXTERNAL AUTHENTICATE; then the channel.
public final class SCP03Card {
    public let keys: SCP03.StaticKeys
    public let diversificationData: [UInt8]
    private var pending: (host: [UInt8], card: [UInt8], keys: SCP03.SessionKeys)?

    public init(keys: SCP03.StaticKeys, diversificationData: [UInt8]) throws(SCP03Error) {
        guard diversificationData.count == 10 else { throw SCP03Error("diversification data must be 10 bytes") }
        self.keys = keys
        self.diversificationData = diversificationData
    }

    /// The answer to INITIALIZE UPDATE (random card challenge: parameter 60, R-MAC and R-ENC supported).
    public func initializeUpdate(_ command: CommandAPDU, random: any RandomSource) throws -> ResponseAPDU {
        // P2 is 00 (Amendment D §7.1.1); only the 8-byte challenge mode (S8) is supported, so a 16-byte challenge is
        // 6700.
        guard command.p2 == 0 else { return ResponseAPDU(statusWord: .incorrectP1P2) }
        guard command.data.count == 8 else { return ResponseAPDU(statusWord: .wrongLength) }
        guard command.p1 == 0 || command.p1 == keys.version else {
            return ResponseAPDU(statusWord: .referencedDataNotFound)
        }
        let cardChallenge = try random.bytes(8)
        let session = try SCP03.SessionKeys(from: keys, hostChallenge: command.data, cardChallenge: cardChallenge)
        let cryptogram = try SCP03.derive(
            key: session.mac, constant: .cardCryptogram, bits: 64, context: command.data + cardChallenge)
        pending = (command.data, cardChallenge, session)
        return ResponseAPDU(
            data: diversificationData + [keys.version, 0x03, 0x60] + cardChallenge + cryptogram, statusWord: .success)
    }

    /// Checks EXTERNAL AUTHENTICATE (host cryptogram and C-MAC) and opens the channel at its security level.
    public func externalAuthenticate(_ command: CommandAPDU) throws(SCP03Error) -> SCP03Session {
        guard let pending else {
            throw SCP03Error("no INITIALIZE UPDATE before", statusWord: .conditionsOfUseNotSatisfied)
        }
        self.pending = nil
        let level = SCP03.SecurityLevel(rawValue: command.p1)
        guard command.cla == 0x84, command.data.count == 16, level.isValid, level.contains(.commandMAC) else {
            throw SCP03Error("a malformed EXTERNAL AUTHENTICATE", statusWord: .incorrectP1P2)
        }
        do {
            let context = pending.host + pending.card
            let expected = try SCP03.derive(
                key: pending.keys.mac, constant: .hostCryptogram, bits: 64, context: context)
            let channel = try SCP03Session(keys: pending.keys, level: level)
            let mac = channel.commandMAC(
                cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2, data: Array(command.data.prefix(8)))
            guard constantTimeEquals(expected, Array(command.data.prefix(8))),
                constantTimeEquals(mac, Array(command.data.suffix(8)))
            else {
                throw SCP03Error("the host cryptogram does not verify", statusWord: .securityStatusNotSatisfied)
            }
            return channel
        } catch let error as SCP03Error {
            throw error
        } catch {
            throw SCP03Error("\(error)", statusWord: .noPreciseDiagnosis)
        }
    }
}
