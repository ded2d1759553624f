import CardCore
import CardCrypto
import ChipAccess

/// The signature algorithms of Terminal Authentication (BSI TR-03110-3 §A.6.4): id-TA-RSA-* and id-TA-ECDSA-*.
/// A certificate's public key names the algorithm its key signs with.
public enum TerminalAuthenticationAlgorithm: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case rsaV15SHA1 = "RSA-v1-5-SHA-1"
    case rsaV15SHA256 = "RSA-v1-5-SHA-256"
    case rsaPSSSHA1 = "RSA-PSS-SHA-1"
    case rsaPSSSHA256 = "RSA-PSS-SHA-256"
    case rsaV15SHA512 = "RSA-v1-5-SHA-512"
    case rsaPSSSHA512 = "RSA-PSS-SHA-512"
    case ecdsaSHA1 = "ECDSA-SHA-1"
    case ecdsaSHA224 = "ECDSA-SHA-224"
    case ecdsaSHA256 = "ECDSA-SHA-256"
    case ecdsaSHA384 = "ECDSA-SHA-384"
    case ecdsaSHA512 = "ECDSA-SHA-512"

    public var description: String { rawValue }

    /// id-TA-RSA 0.4.0.127.0.7.2.2.2.1.x, id-TA-ECDSA 0.4.0.127.0.7.2.2.2.2.x.
    public var oid: [UInt8] {
        let arc: (UInt8, UInt8)
        switch self {
        case .rsaV15SHA1: arc = (1, 1)
        case .rsaV15SHA256: arc = (1, 2)
        case .rsaPSSSHA1: arc = (1, 3)
        case .rsaPSSSHA256: arc = (1, 4)
        case .rsaV15SHA512: arc = (1, 5)
        case .rsaPSSSHA512: arc = (1, 6)
        case .ecdsaSHA1: arc = (2, 1)
        case .ecdsaSHA224: arc = (2, 2)
        case .ecdsaSHA256: arc = (2, 3)
        case .ecdsaSHA384: arc = (2, 4)
        case .ecdsaSHA512: arc = (2, 5)
        }
        return ObjectIdentifiers.terminalAuthentication + [arc.0, arc.1]
    }

    public init?(oid: [UInt8]) {
        guard let found = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = found
    }

    public var isRSA: Bool { oid[oid.count - 2] == 1 }
    public var isPSS: Bool { [.rsaPSSSHA1, .rsaPSSSHA256, .rsaPSSSHA512].contains(self) }

    public var hash: HashAlgorithm {
        switch self {
        case .rsaV15SHA1, .rsaPSSSHA1, .ecdsaSHA1: return .sha1
        case .ecdsaSHA224: return .sha224
        case .rsaV15SHA256, .rsaPSSSHA256, .ecdsaSHA256: return .sha256
        case .ecdsaSHA384: return .sha384
        case .rsaV15SHA512, .rsaPSSSHA512, .ecdsaSHA512: return .sha512
        }
    }

    /// The algorithm this toolchain uses for a key: ECDSA with the hash that fits the curve (SHA-256 up to 256
    /// bits, SHA-384 to 384, SHA-512 above), RSA-v1.5 with SHA-256 (or PSS when asked).
    public static func `default`(for key: AsymmetricKey, pss: Bool = false) -> TerminalAuthenticationAlgorithm {
        if key.kind == .rsa { return pss ? .rsaPSSSHA256 : .rsaV15SHA256 }
        let bits = key.bits
        return bits <= 256 ? .ecdsaSHA256 : bits <= 384 ? .ecdsaSHA384 : .ecdsaSHA512
    }

    /// A signature as TA carries it: ECDSA plain (r ‖ s, TR-03111), RSA PKCS#1 v1.5 or PSS.
    public func sign(_ message: [UInt8], with key: AsymmetricKey) throws -> [UInt8] {
        if isRSA {
            guard key.kind == .rsa else { throw CVCertificateError(.unsupported, "\(self) needs an RSA key") }
            return try key.digestSign(message, hash: hash, pss: isPSS)
        }
        guard key.kind == .ec else { throw CVCertificateError(.unsupported, "\(self) needs an EC key") }
        return try key.signECDSAPlain(message, hash: hash)
    }

    public func verify(_ signature: [UInt8], message: [UInt8], with key: AsymmetricKey) -> Bool {
        if isRSA { return key.kind == .rsa && key.digestVerify(signature, message: message, hash: hash, pss: isPSS) }
        return key.kind == .ec && key.verifyECDSAPlain(signature, message: message, hash: hash)
    }
}

/// Terminal Authentication version 1 (EAC1: BSI TR-03110 v1.11 §B.3, ICAO 9303-11 §7.1), after Chip
/// Authentication: the terminal proves to the chip that a certificate chain from the chip's CVCA grants it the
/// right to read DG3 (fingerprints) or DG4 (iris).
public enum TerminalAuthentication {
    /// Comp(PK) (TR-03110-3 §A.2.2.3): the x-coordinate of an EC point, SHA-1 of a DH value.
    public static func compressed(_ publicKey: [UInt8], agreement: KeyAgreementKind) -> [UInt8] {
        switch agreement {
        case .dh:
            return HashAlgorithm.sha1.hash(publicKey)
        case .ecdh:
            guard publicKey.first == 0x04, publicKey.count % 2 == 1 else { return publicKey }
            return Array(publicKey[1...(publicKey.count / 2)])
        }
    }

    /// ID_PICC after BAC: the document number as in the MRZ, with its check digit.
    public static func chipIdentifier(documentNumber: String) -> [UInt8] {
        Array((documentNumber + String(CheckDigit.character(documentNumber))).utf8)
    }

    /// What the terminal signs: ID_PICC ‖ r_PICC ‖ Comp(ephemeral PK_PCD of Chip Authentication).
    public static func signedData(chipIdentifier: [UInt8], challenge: [UInt8], terminalKey: [UInt8]) -> [UInt8] {
        chipIdentifier + challenge + terminalKey
    }

    /// MSE:Set DST (`00 22 81 B6`, `83` the reference of the key that verifies the next certificate).
    public static func setVerificationKey(_ reference: CVReference) -> CommandAPDU {
        CommandAPDU(ins: 0x22, p1: 0x81, p2: 0xB6, data: TLVWriter.encode(tag: 0x83, value: reference.bytes))
    }

    /// PSO:Verify Certificate (`00 2A 00 BE`, the body and the signature).
    public static func verifyCertificate(_ certificate: CVCertificate) -> CommandAPDU {
        CommandAPDU(
            ins: 0x2A, p1: 0x00, p2: 0xBE,
            data: certificate.body + TLVWriter.encode(tag: 0x5F37, value: certificate.signature))
    }

    /// MSE:Set AT for TA (`00 22 81 A4`, `83` the inspection system's reference).
    public static func setAuthenticationTemplate(_ reference: CVReference) -> CommandAPDU {
        CommandAPDU(ins: 0x22, p1: 0x81, p2: 0xA4, data: TLVWriter.encode(tag: 0x83, value: reference.bytes))
    }

    public static let getChallenge = CommandAPDU(ins: 0x84, p1: 0, p2: 0, ne: 8)

    /// Terminal role, inside the secure channel Chip Authentication opened. `chain`: the certificates from the
    /// one the chip's CVCA signed (a link certificate or the DV) to the inspection system's; `key`: the inspection
    /// system's private key (a file's, or a token's that signs inside the token). On success the chip grants what
    /// the chain's authorizations have in common; the answer says what that is.
    public static func authenticate(
        _ transport: any CardTransport, chain: [CVCertificate], key: AsymmetricKey, chipIdentifier: [UInt8],
        terminalKey: [UInt8]
    ) throws -> CVAuthorization.Rights {
        guard let terminal = chain.last, terminal.authorization.role == .inspectionSystem else {
            throw TerminalAuthenticationError(.badChain, "the chain does not end with an inspection system's certificate")
        }
        // A card that leaves or a channel that breaks ends with its own error; the chip's refusals are
        // `TerminalAuthenticationError`s.
        func send(_ command: CommandAPDU, _ step: String) throws -> ResponseAPDU { try transport.transmit(command) }
        for certificate in chain {
            let set = try send(setVerificationKey(certificate.authorityReference), "MSE:Set DST")
            guard set.statusWord == .success else {
                throw TerminalAuthenticationError(
                    .unknownAuthority,
                    "the chip does not know the key \(certificate.authorityReference) that signed \(certificate.holderReference) (\(set.statusWord)); the chain is not from this card's CVCA",
                    statusWord: set.statusWord)
            }
            let verify = try send(verifyCertificate(certificate), "PSO:Verify Certificate")
            guard verify.statusWord == .success else {
                throw TerminalAuthenticationError(
                    .certificateRefused,
                    "the chip refused the \(certificate.authorization.role) certificate \(certificate.holderReference) (\(verify.statusWord)): \(Self.likelyReason(certificate, verify.statusWord))",
                    statusWord: verify.statusWord)
            }
        }
        let set = try send(setAuthenticationTemplate(terminal.holderReference), "MSE:Set AT")
        guard set.statusWord == .success else {
            throw TerminalAuthenticationError(
                .certificateRefused, "the chip did not take the inspection system's key (\(set.statusWord))",
                statusWord: set.statusWord)
        }
        let challenge = try send(getChallenge, "GET CHALLENGE")
        guard challenge.statusWord == .success, challenge.data.count == 8 else {
            throw TerminalAuthenticationError(
                .protocolError, "GET CHALLENGE gave \(challenge.data.count) bytes (\(challenge.statusWord))",
                statusWord: challenge.statusWord)
        }
        let message = signedData(chipIdentifier: chipIdentifier, challenge: challenge.data, terminalKey: terminalKey)
        let signature: [UInt8]
        do { signature = try terminal.publicKey.algorithm.sign(message, with: key) } catch {
            throw TerminalAuthenticationError(.signing, "the inspection system's key could not sign: \(error)")
        }
        let answer = try send(CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: signature), "EXTERNAL AUTHENTICATE")
        guard answer.statusWord == .success else {
            throw TerminalAuthenticationError(
                .rejected,
                "the chip rejected the inspection system's signature (\(answer.statusWord)): the key does not match the certificate \(terminal.holderReference)",
                statusWord: answer.statusWord)
        }
        return chain.reduce(CVAuthorization.Rights.all) { $0.intersection($1.authorization.rights) }
    }

    /// Why the chip refused a certificate, from its status word (the chip says no more than that).
    static func likelyReason(_ certificate: CVCertificate, _ status: StatusWord) -> String {
        switch status.rawValue {
        case 0x6984:
            return "it expired on \(certificate.expirationDate), before the chip's date"
        case 0x6300:
            return "its signature does not verify with the key of \(certificate.authorityReference) (a chain from another authority of that name?)"
        case 0x6985:
            return "it is out of order in the chain (its role, its domain parameters or a reference already used)"
        case 0x6A80:
            return "the chip cannot parse it"
        default:
            return certificate.expirationDate < CVDate.today()
                ? "it expired on \(certificate.expirationDate)" : "expires \(certificate.expirationDate)"
        }
    }
}

/// Why Terminal Authentication did not grant access.
public struct TerminalAuthenticationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The chain does not start at a key the chip trusts.
        case unknownAuthority
        /// The chip refused a certificate of the chain.
        case certificateRefused
        /// The chip refused the inspection system's signature.
        case rejected
        /// The chain given is not usable (no inspection system at its end, …).
        case badChain
        case signing, transport, protocolError
    }
    public let code: Code
    public let reason: String
    public let statusWord: StatusWord?
    public init(_ code: Code, _ reason: String, statusWord: StatusWord? = nil) {
        self.code = code
        self.reason = reason
        self.statusWord = statusWord
    }
    public var description: String { "Terminal Authentication failed: \(reason)" }
}
