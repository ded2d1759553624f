import CardCore
import CardCrypto

/// PACE in the chip role: answers MSE:Set AT and the four GENERAL AUTHENTICATE steps, then opens the chip's
/// side of secure messaging. Errors carry the status word to answer (wrong password → 6300).
public final class PACEChip {
    public struct Offer {
        public let protocolUsed: PACEProtocol
        public let parameters: DomainParameters
        public let parameterID: Int?
        public init(protocol proto: PACEProtocol, parameters: DomainParameters, parameterID: Int?) {
            self.protocolUsed = proto
            self.parameters = parameters
            self.parameterID = parameterID
        }
    }

    private let offers: [Offer]
    private let passwords: [UInt8: AccessKey]
    /// For CAM: the static Chip Authentication private key (the scalar).
    private let camStaticPrivateKey: [UInt8]?
    private let random: any RandomSource

    private enum State {
        case idle
        case selected(Offer, AccessKey)
        case nonceSent(Offer, AccessKey, s: [UInt8])
        case mapped(Offer, generator: [UInt8], skMap: [UInt8]?)
        case agreed(Offer, keys: SecureMessagingKeys, pkEph: [UInt8], pkEphTerminal: [UInt8], skMap: [UInt8]?)
    }

    private var state = State.idle
    /// The chip's ephemeral public key of the last PACE run that opened a session (Terminal Authentication's
    /// ID_PICC is its compressed form), and the agreement it was made under.
    public private(set) var lastEphemeralPublicKey: (key: [UInt8], agreement: KeyAgreementKind)?

    /// `offers`: what EF.CardAccess announces; `passwords`: by reference (MRZ 1, CAN 2, …).
    public init(
        offers: [Offer], passwords: [AccessKey], camStaticPrivateKey: [UInt8]? = nil,
        random: any RandomSource = SystemRandom()
    ) {
        self.offers = offers
        var byReference: [UInt8: AccessKey] = [:]
        for p in passwords { byReference[p.paceReference] = p }
        self.passwords = byReference
        self.camStaticPrivateKey = camStaticPrivateKey
        self.random = random
    }

    /// Forgets any run in progress.
    public func reset() { state = .idle }

    /// MSE:Set AT (P1P2 = C1A4) data.
    public func setAuthenticationTemplate(_ data: [UInt8]) throws {
        state = .idle
        let objects: [TLV]
        do { objects = try TLVReader.readAll(data) } catch {
            throw AccessControlError(
                code: .malformedResponse, reason: "malformed MSE:Set AT", statusWord: .incorrectData)
        }
        guard let oid = objects.first(where: { $0.tag == 0x80 })?.value, let proto = PACEProtocol(oid: oid) else {
            throw AccessControlError(
                code: .unsupported, reason: "unknown PACE protocol", statusWord: .referencedDataNotFound)
        }
        guard let ref = objects.first(where: { $0.tag == 0x83 })?.value.first, let password = passwords[ref] else {
            throw AccessControlError(
                code: .unsupported, reason: "password not supported", statusWord: .referencedDataNotFound)
        }
        let requestedID = objects.first(where: { $0.tag == 0x84 })?.value.first.map(Int.init)
        guard
            let offer = offers.first(where: {
                $0.protocolUsed == proto && (requestedID == nil || $0.parameterID == requestedID)
            })
        else {
            throw AccessControlError(
                code: .unsupported, reason: "protocol or parameters not offered", statusWord: .referencedDataNotFound)
        }
        state = .selected(offer, password)
    }

    /// One GENERAL AUTHENTICATE; returns the response data (a 7C template). On success of the last step
    /// `established` holds the chip's secure-messaging session.
    public func generalAuthenticate(_ data: [UInt8]) throws -> (response: [UInt8], established: SecureMessaging?) {
        let objects: [TLVTag: ArraySlice<UInt8>]
        do { objects = try PACE.dynamicObjects(data, label: "PACE") } catch {
            state = .idle
            throw AccessControlError(
                code: .malformedResponse, reason: "malformed GENERAL AUTHENTICATE", statusWord: .incorrectData)
        }
        do {
            return try step(objects)
        } catch let error as AccessControlError {
            state = .idle
            throw error
        } catch {
            state = .idle
            throw AccessControlError(code: .malformedResponse, reason: "PACE step failed", statusWord: .incorrectData)
        }
    }

    private func step(_ objects: [TLVTag: ArraySlice<UInt8>]) throws -> (
        response: [UInt8], established: SecureMessaging?
    ) {
        switch state {
        case .idle:
            throw AccessControlError(
                code: .unexpectedStatus, reason: "no MSE:Set AT", statusWord: .conditionsOfUseNotSatisfied)

        case .selected(let offer, let password):
            let proto = offer.protocolUsed
            let s = try random.bytes(PACEMapping.nonceLength(proto.cipher))
            let z = try PACE.nonceCipher(password, cipher: proto.cipher).encrypt(s)
            state = .nonceSent(offer, password, s: s)
            return (wrap([(0x80, z)]), nil)

        case .nonceSent(let offer, _, let s):
            let agreement = try KeyAgreement(offer.parameters)
            guard let value = objects[0x81] else { throw badData() }
            switch offer.protocolUsed.mapping {
            case .generic, .chipAuthentication:
                let pkMapTerminal = Array(value)
                try agreement.validate(pkMapTerminal)
                let skMap = try agreement.privateKey(random)
                let pkMap = try agreement.publicKey(skMap)
                let h = try agreement.sharedElement(skMap, peer: pkMapTerminal)
                state = .mapped(offer, generator: try agreement.genericMap(nonce: s, shared: h), skMap: skMap)
                return (wrap([(0x82, pkMap)]), nil)
            case .integrated:
                let generator = try agreement.integratedMap(
                    nonce: s, terminalNonce: Array(value), cipher: offer.protocolUsed.cipher)
                state = .mapped(offer, generator: generator, skMap: nil)
                return (wrap([]), nil)
            }

        case .mapped(let offer, let generator, let skMap):
            let agreement = try KeyAgreement(offer.parameters)
            guard let value = objects[0x83] else { throw badData() }
            let pkEphTerminal = Array(value)
            try agreement.validate(pkEphTerminal)
            let skEph = try agreement.privateKey(random)
            let pkEph = try agreement.publicKey(skEph, generator: generator)
            guard pkEph != pkEphTerminal else { throw badData() }
            let k = try agreement.sharedSecret(skEph, peer: pkEphTerminal)
            let keys = try SecureMessagingKeys(cipher: offer.protocolUsed.cipher, sharedSecret: k)
            state = .agreed(offer, keys: keys, pkEph: pkEph, pkEphTerminal: pkEphTerminal, skMap: skMap)
            return (wrap([(0x84, pkEph)]), nil)

        case .agreed(let offer, let keys, let pkEph, let pkEphTerminal, let skMap):
            let agreement = try KeyAgreement(offer.parameters)
            let proto = offer.protocolUsed
            guard let token = objects[0x85] else { throw badData() }
            let expected = try keys.authenticationToken(agreement.tokenInput(oid: proto.oid, publicKey: pkEph))
            guard constantTimeEquals(expected, token) else {
                throw AccessControlError(
                    code: .wrongPassword, reason: "terminal token does not verify", statusWord: .verificationFailed)
            }
            var out: [(TLVTag, [UInt8])] = [
                (0x86, try keys.authenticationToken(agreement.tokenInput(oid: proto.oid, publicKey: pkEphTerminal)))
            ]
            if proto.mapping == .chipAuthentication {
                guard let staticKey = camStaticPrivateKey, let skMap else {
                    throw AccessControlError(
                        code: .unsupported, reason: "CAM without a static key", statusWord: .conditionsOfUseNotSatisfied
                    )
                }
                let value = try agreement.camValue(staticPrivate: staticKey, mappingPrivate: skMap)
                let encrypted = try keys.encryptRaw(
                    ISO9797Padding.pad(value, blockSize: keys.blockSize), iv: PACE.camCipherIV(keys: keys))
                out.append((0x8A, encrypted))
            }
            state = .idle
            lastEphemeralPublicKey = (pkEph, offer.parameters.agreement)
            return (wrap(out), SecureMessaging(keys: keys, ssc: [UInt8](repeating: 0, count: keys.sscLength)))
        }
    }

    private func badData() -> AccessControlError {
        AccessControlError(
            code: .malformedResponse, reason: "wrong data for this PACE step", statusWord: .incorrectData)
    }

    private func wrap(_ objects: [(TLVTag, [UInt8])]) -> [UInt8] {
        var inner = TLVWriter()
        for (tag, value) in objects { inner.write(tag: tag, value: value) }
        return TLVWriter.encode(tag: 0x7C, value: inner.bytes)
    }
}
