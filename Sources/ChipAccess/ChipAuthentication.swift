import CardCore
import CardCrypto

/// Chip Authentication (ICAO 9303-11 §6.2, BSI TR-03110-2 §3.4): an ephemeral-static key agreement with the
/// chip's key from DG14 / EF.CardSecurity that restarts secure messaging with new keys and SSC 0.
///
/// 3DES: MSE:Set KAT. AES: MSE:Set AT + GENERAL AUTHENTICATE; the chip either answers nothing (ICAO style:
/// keys from K, proof by the next protected exchange) or a nonce r and a token (TR-03110 v2: keys from K ‖ r,
/// token checked here).
public enum ChipAuthentication {
    public enum Proof: Hashable, Sendable {
        /// The chip's token verified (TR-03110 v2).
        case token
        /// No token: the chip proves the key by answering the next protected command correctly.
        case implicit
    }

    /// Terminal role, inside an open secure-messaging channel: `session` is switched to the new keys.
    public static func authenticate(
        _ transport: SecureMessagingTransport, protocol proto: ChipAuthenticationProtocol, parameters: DomainParameters,
        chipPublicKey: [UInt8], keyID: Int? = nil, random: any RandomSource = SystemRandom(),
        ephemeralKey: ((_ publicKey: [UInt8]) -> Void)? = nil
    ) throws -> Proof {
        let agreement = try KeyAgreement(parameters)
        try agreement.validate(chipPublicKey)
        let sk = try agreement.privateKey(random)
        let pk = try agreement.publicKey(sk)
        // Terminal Authentication (EAC1) signs over this key: the caller keeps it.
        ephemeralKey?(pk)
        let k = try agreement.sharedSecret(sk, peer: chipPublicKey)
        let keyReference = keyID.map { TLVWriter.encode(tag: 0x84, value: TLVWriter.integerContent($0)) } ?? []
        if proto.cipher == .tripleDES {
            let answer = try transport.transmit(
                CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA6, data: TLVWriter.encode(tag: 0x91, value: pk) + keyReference))
            guard answer.statusWord == .success else { throw refused(answer.statusWord) }
            transport.session.rekey(
                try SecureMessagingKeys(cipher: .tripleDES, sharedSecret: k), ssc: [UInt8](repeating: 0, count: 8))
            return .implicit
        }
        let set = try transport.transmit(
            CommandAPDU(
                ins: 0x22, p1: 0x41, p2: 0xA4, data: TLVWriter.encode(tag: 0x80, value: proto.oid) + keyReference))
        guard set.statusWord == .success else { throw refused(set.statusWord) }
        let answer = try transport.transmit(
            CommandAPDU(
                ins: 0x86, p1: 0, p2: 0,
                data: TLVWriter.encode(tag: 0x7C, value: TLVWriter.encode(tag: 0x80, value: pk)), ne: 256))
        guard answer.statusWord == .success else { throw refused(answer.statusWord) }
        let objects = try PACE.dynamicObjects(answer.data, label: "Chip Authentication")
        let sscZero = [UInt8](repeating: 0, count: proto.cipher.blockSize)
        if let r = objects[0x81] {
            let keys = try SecureMessagingKeys(cipher: proto.cipher, sharedSecret: k + r)
            guard let token = objects[0x82],
                constantTimeEquals(
                    try keys.authenticationToken(agreement.tokenInput(oid: proto.oid, publicKey: pk)), token)
            else {
                transport.session.end()
                throw AccessControlError(
                    code: .chipNotAuthenticated,
                    reason: "Chip Authentication failed: the chip's token is wrong (key does not match DG14)")
            }
            transport.session.rekey(keys, ssc: sscZero)
            return .token
        }
        transport.session.rekey(try SecureMessagingKeys(cipher: proto.cipher, sharedSecret: k), ssc: sscZero)
        return .implicit
    }

    static func refused(_ sw: StatusWord) -> AccessControlError {
        AccessControlError(code: .unexpectedStatus, reason: "Chip Authentication refused by the chip", statusWord: sw)
    }

}

/// Chip Authentication in the chip role: holds the static private key and answers MSE:Set KAT, MSE:Set AT and
/// GENERAL AUTHENTICATE. The returned keys replace the session's after the answer has been sent.
public final class ChipAuthenticationChip {
    public let protocolUsed: ChipAuthenticationProtocol
    public let parameters: DomainParameters
    /// 1: ICAO style (no nonce, keys from K); 2: TR-03110 v2 (nonce r and token).
    public let version: Int
    private let privateKey: [UInt8]
    private let random: any RandomSource
    private var selected = false
    /// The terminal's ephemeral public key of the last Chip Authentication (Terminal Authentication checks the
    /// terminal's signature over its compressed form).
    public private(set) var lastTerminalKey: [UInt8]?

    public init(
        protocol proto: ChipAuthenticationProtocol, parameters: DomainParameters, privateKey: [UInt8], version: Int,
        random: any RandomSource = SystemRandom()
    ) {
        protocolUsed = proto
        self.parameters = parameters
        self.privateKey = privateKey
        self.version = version
        self.random = random
    }

    /// A power cycle: MSE:Set AT is forgotten.
    public func reset() {
        selected = false
        lastTerminalKey = nil
    }

    /// MSE:Set KAT (3DES): data 91 PK_PCD [84 keyId]. Returns the new keys.
    public func setKeyAgreementTemplate(_ data: [UInt8]) throws -> SecureMessagingKeys {
        guard protocolUsed.cipher == .tripleDES else {
            throw AccessControlError(
                code: .unsupported, reason: "MSE:Set KAT is for 3DES", statusWord: .conditionsOfUseNotSatisfied)
        }
        let pk = try value(0x91, in: data)
        let k = try KeyAgreement(parameters).sharedSecret(privateKey, peer: pk)
        lastTerminalKey = pk
        return try SecureMessagingKeys(cipher: .tripleDES, sharedSecret: k)
    }

    /// MSE:Set AT (P1P2 41A4): data 80 OID [84 keyId].
    public func setAuthenticationTemplate(_ data: [UInt8]) throws {
        guard let oid = try? value(0x80, in: data), ChipAuthenticationProtocol(oid: oid) == protocolUsed else {
            throw AccessControlError(
                code: .unsupported, reason: "Chip Authentication protocol not supported",
                statusWord: .referencedDataNotFound)
        }
        selected = true
    }

    /// GENERAL AUTHENTICATE with 7C { 80 PK_PCD }: the answer and the new keys.
    public func generalAuthenticate(_ data: [UInt8]) throws -> (response: [UInt8], keys: SecureMessagingKeys) {
        guard selected else {
            throw AccessControlError(
                code: .unexpectedStatus, reason: "no MSE:Set AT", statusWord: .conditionsOfUseNotSatisfied)
        }
        selected = false
        let objects = try PACE.dynamicObjects(data, label: "CA")
        guard let pkValue = objects[0x80] else {
            throw AccessControlError(code: .malformedResponse, reason: "no key", statusWord: .incorrectData)
        }
        let pk = Array(pkValue)
        let agreement = try KeyAgreement(parameters)
        let k: [UInt8]
        do { k = try agreement.sharedSecret(privateKey, peer: pk) } catch {
            throw AccessControlError(
                code: .malformedResponse, reason: "invalid terminal key", statusWord: .incorrectData)
        }
        lastTerminalKey = pk
        guard version >= 2 else {
            return (
                TLVWriter.encode(tag: 0x7C, value: []),
                try SecureMessagingKeys(cipher: protocolUsed.cipher, sharedSecret: k)
            )
        }
        let r = try random.bytes(8)
        let keys = try SecureMessagingKeys(cipher: protocolUsed.cipher, sharedSecret: k + r)
        let token = try keys.authenticationToken(agreement.tokenInput(oid: protocolUsed.oid, publicKey: pk))
        var inner = TLVWriter()
        inner.write(tag: 0x81, value: r)
        inner.write(tag: 0x82, value: token)
        return (TLVWriter.encode(tag: 0x7C, value: inner.bytes), keys)
    }

    private func value(_ tag: TLVTag, in data: [UInt8]) throws -> [UInt8] {
        guard let found = try? TLVReader.readAll(data).first(where: { $0.tag == tag }) else {
            throw AccessControlError(code: .malformedResponse, reason: "missing \(tag)", statusWord: .incorrectData)
        }
        return Array(found.value)
    }
}
