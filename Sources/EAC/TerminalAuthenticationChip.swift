import CardCore
import CardCrypto
import ChipAccess

/// What an EAC chip keeps across sessions: its trust points (the CVCA certificates it accepts chains from, the
/// newest first; a link certificate adds one and the oldest of three goes) and its current date (it has no clock:
/// the date only moves forward, from the certificates it verifies).
public struct TerminalAuthenticationState: Hashable, Sendable {
    public var trustPoints: [CVCertificate]
    public var currentDate: CVDate

    public init(trustPoints: [CVCertificate], currentDate: CVDate) {
        self.trustPoints = trustPoints
        self.currentDate = currentDate
    }

    /// The most trust points a chip keeps (TR-03110-3 §2.5: the current CVCA and the one before it).
    public static let trustPointLimit = 2
}

/// Terminal Authentication, chip role (EAC1: BSI TR-03110 v1.11 §B.3 and §C.4, TR-03110-3 §2.5–2.6), inside a
/// secure channel after Chip Authentication:
///
/// - MSE:Set DST names the key that verifies the next certificate: a trust point or a key imported this session;
/// - PSO:Verify Certificate checks the certificate (signature, role below its issuer, not expired against the
///   chip's date), moves the chip's date forward from a CVCA, DV or domestic inspection system certificate,
///   rolls the trust point on a CVCA link certificate, and imports a DV or IS key for this session;
/// - MSE:Set AT selects an imported inspection system key, GET CHALLENGE gives r_PICC, EXTERNAL AUTHENTICATE
///   verifies the terminal's signature over ID_PICC ‖ r_PICC ‖ Comp(the CA ephemeral key);
/// - afterwards the chip grants what every certificate of the chain granted (their rights' intersection).
///
/// Every refusal has its status word: `6A88` an unknown key, `6A80` a certificate that does not parse or an
/// unknown algorithm, `6300` a signature that does not verify, `6985` a certificate out of order (a role that
/// does not follow its issuer's, a loop of references, a key of another chain's domain) or a step out of
/// order, `6984` an expired certificate.
public final class TerminalAuthenticationChip {
    public private(set) var state: TerminalAuthenticationState
    /// Called when the chip's non-volatile state (date, trust points) changed.
    public var onChange: ((TerminalAuthenticationState) -> Void)?

    private struct Imported {
        let key: CVPublicKey
        let curve: NamedCurve?
        let role: CVAuthorization.Role
        let rights: CVAuthorization.Rights
        /// The chain's root is this trust point (its CHR).
        let domestic: Bool
    }

    private var imported: [CVReference: Imported] = [:]
    private var verifier: CVReference?
    private var terminal: Imported?
    private var terminalReference: CVReference?
    private var challenge: [UInt8]?
    private let random: any RandomSource
    /// The rights granted by the last successful Terminal Authentication of this session.
    public private(set) var granted: CVAuthorization.Rights?

    public init(state: TerminalAuthenticationState, random: any RandomSource = SystemRandom()) {
        self.state = state
        self.random = random
    }

    /// A new session (reset, a new secure channel): imported keys, challenge and rights are gone.
    public func reset() {
        imported = [:]
        verifier = nil
        terminal = nil
        terminalReference = nil
        challenge = nil
        granted = nil
    }

    private func trustPoint(_ reference: CVReference) -> Imported? {
        guard let cvca = state.trustPoints.first(where: { $0.holderReference == reference }) else { return nil }
        return Imported(
            key: cvca.publicKey, curve: cvca.publicKey.curve(inheriting: nil), role: .cvca,
            rights: cvca.authorization.rights, domestic: true)
    }

    /// MSE:Set DST, data `83 <reference>`.
    public func setVerificationKey(_ data: [UInt8]) -> StatusWord {
        guard let reference = Self.reference(in: data) else { return .incorrectData }
        guard trustPoint(reference) != nil || imported[reference] != nil else {
            verifier = nil
            return .referencedDataNotFound
        }
        verifier = reference
        return .success
    }

    /// PSO:Verify Certificate, data: the body (`7F4E`) then the signature (`5F37`).
    public func verifyCertificate(_ data: [UInt8]) -> StatusWord {
        guard let reference = verifier else { return .conditionsOfUseNotSatisfied }
        verifier = nil
        guard let issuer = trustPoint(reference) ?? imported[reference] else { return .referencedDataNotFound }
        let certificate: CVCertificate
        do {
            let objects = try TLVReader.readAll(data)
            guard objects.count == 2, objects[0].tag == 0x7F4E, objects[1].tag == 0x5F37 else {
                return .incorrectData
            }
            certificate = try CVCertificate(body: objects[0].encoded, signature: Array(objects[1].value))
        } catch {
            return .incorrectData
        }
        guard certificate.authorityReference == reference else { return .conditionsOfUseNotSatisfied }
        // An eMRTD takes inspection systems' chains only (id-IS).
        guard certificate.authorization.isInspectionSystemType else { return .conditionsOfUseNotSatisfied }
        // The role must follow the issuer's: CVCA → CVCA (a link) or DV, DV → IS; nothing below an IS.
        let role = certificate.authorization.role
        switch (issuer.role, role) {
        case (.cvca, .cvca), (.cvca, .domesticDocumentVerifier), (.cvca, .foreignDocumentVerifier): break
        case (.domesticDocumentVerifier, .inspectionSystem), (.foreignDocumentVerifier, .inspectionSystem): break
        default: return .conditionsOfUseNotSatisfied
        }
        // A reference loop: a key may not certify itself below the root, nor a name already in this chain.
        if role != .cvca,
            certificate.holderReference == certificate.authorityReference
                || imported[certificate.holderReference] != nil || trustPoint(certificate.holderReference) != nil
        {
            return .conditionsOfUseNotSatisfied
        }
        if role == .cvca, state.trustPoints.contains(where: { $0.holderReference == certificate.holderReference }) {
            return .conditionsOfUseNotSatisfied
        }
        // Domain parameters come from the chain's CVCA; a key below it may not bring its own other ones.
        let curve = certificate.publicKey.curve(inheriting: issuer.curve)
        if role != .cvca, case .ec(_, let own?) = certificate.publicKey.value, own != issuer.curve {
            return .conditionsOfUseNotSatisfied
        }
        guard certificate.publicKey.algorithm.isRSA == issuer.key.algorithm.isRSA || role == .cvca else {
            return .conditionsOfUseNotSatisfied
        }
        guard certificate.isSigned(by: issuer.key, curve: issuer.curve) else { return .verificationFailed }
        guard state.currentDate <= certificate.expirationDate else { return .referenceDataNotUsable }
        // The chip's date moves forward from a CVCA, a DV, or an inspection system of its own country's DV.
        let accurate = role == .cvca || role == .domesticDocumentVerifier || role == .foreignDocumentVerifier
            || (role == .inspectionSystem && issuer.role == .domesticDocumentVerifier)
        var changed = false
        if accurate, certificate.effectiveDate > state.currentDate {
            state.currentDate = certificate.effectiveDate
            changed = true
        }
        let rights = issuer.rights.intersection(certificate.authorization.rights)
        if role == .cvca {
            // A link certificate: the new CVCA becomes the first trust point; the oldest beyond the limit goes.
            state.trustPoints.insert(certificate, at: 0)
            state.trustPoints = Array(state.trustPoints.prefix(TerminalAuthenticationState.trustPointLimit))
            changed = true
        } else {
            imported[certificate.holderReference] = Imported(
                key: certificate.publicKey, curve: curve, role: role, rights: rights, domestic: issuer.domestic)
        }
        if changed { onChange?(state) }
        return .success
    }

    /// MSE:Set AT for TA, data `83 <inspection system reference>`.
    public func setAuthenticationTemplate(_ data: [UInt8]) -> StatusWord {
        guard let objects = try? TLVReader.readAll(data), let found = objects.first(where: { $0.tag == 0x83 }),
            let reference = try? CVReference(bytes: Array(found.value), field: "reference")
        else { return .incorrectData }
        guard let key = imported[reference], key.role == .inspectionSystem else {
            terminal = nil
            return .referencedDataNotFound
        }
        terminal = key
        terminalReference = reference
        challenge = nil
        return .success
    }

    /// True while MSE:Set AT has selected an inspection system (GET CHALLENGE then belongs to TA).
    public var expectsChallenge: Bool { terminal != nil && challenge == nil }
    public var expectsSignature: Bool { terminal != nil && challenge != nil }

    /// GET CHALLENGE: r_PICC.
    public func getChallenge() -> [UInt8]? {
        guard terminal != nil, let r = try? random.bytes(8) else { return nil }
        challenge = r
        return r
    }

    /// EXTERNAL AUTHENTICATE: the terminal's signature over ID_PICC ‖ r_PICC ‖ Comp(PK_PCD).
    public func externalAuthenticate(signature: [UInt8], chipIdentifier: [UInt8], terminalKey: [UInt8]?)
        -> StatusWord
    {
        guard let terminal, let challenge, let terminalKey else { return .conditionsOfUseNotSatisfied }
        // One try per challenge.
        self.challenge = nil
        self.terminal = nil
        let message = TerminalAuthentication.signedData(
            chipIdentifier: chipIdentifier, challenge: challenge, terminalKey: terminalKey)
        guard let key = try? terminal.key.asymmetricKey(curve: terminal.curve),
            terminal.key.algorithm.verify(signature, message: message, with: key)
        else {
            granted = nil
            return .verificationFailed
        }
        granted = terminal.rights
        return .success
    }

    static func reference(in data: [UInt8]) -> CVReference? {
        guard let objects = try? TLVReader.readAll(data), objects.count == 1, objects[0].tag == 0x83 else {
            return nil
        }
        return try? CVReference(bytes: Array(objects[0].value), field: "reference")
    }
}
