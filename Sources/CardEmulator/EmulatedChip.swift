import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import EAC
import LDS

/// A software eMRTD chip that runs a `CardImage`. It is a `CardTransport`, so readers talk to it in-process
/// exactly as to a PC/SC reader; the VPCD bridge feeds it raw APDU bytes from pcscd.
///
/// Implements SELECT (by AID, by FID; FCP/FCI), READ BINARY (B0 with offset or SFI, B1 with DO'54'),
/// GET CHALLENGE, EXTERNAL AUTHENTICATE (BAC), MSE:Set AT + GENERAL AUTHENTICATE (PACE as its EF.CardAccess
/// offers it; Chip Authentication as DG14 offers it), MSE:Set KAT (3DES CA), INTERNAL AUTHENTICATE (AA),
/// secure messaging, access rules per file, and the quirks of the image's profile (SELECT MF → 6D00 on the CCCD).
public final class EmulatedChip: CardTransport {
    /// The card the chip runs (for a blank chip: the image its personalization has produced so far, empty).
    public private(set) var image: CardImage
    public let settings: EmulatorSettings
    private let random: any RandomSource
    private var fileSystem: FileSystem
    private var bac: BACChip?
    private var pace: PACEChip?
    private var chipAuthentication: ChipAuthenticationChip?
    private var activeAuthenticationKey: AsymmetricKey?
    private var activeAuthenticationHash: HashAlgorithm = .sha1
    /// Keys that replace the session's once the current answer is protected (Chip Authentication).
    private var pendingKeys: SecureMessagingKeys?
    /// The personalization applet while the chip is blank; nil once it is locked (an issued card).
    private var perso: PersoApplet?
    /// Terminal Authentication (EAC1), when the image has trust points.
    private var terminalAuthentication: TerminalAuthenticationChip?
    /// This session's ID_PICC (from PACE or BAC) and the terminal's Chip Authentication key, compressed: what
    /// the terminal signs in Terminal Authentication.
    private var sessionChipIdentifier: [UInt8]?
    private var chipAuthenticatedTerminalKey: [UInt8]?

    /// What a chip keeps when the power goes: a blank chip's perso memory, or an issued card.
    public enum State: Codable, Hashable, Sendable {
        case blank(BlankChip)
        /// An issued card, with the serial it kept from its blank days (nil for an image made otherwise).
        case issued(CardImage, serial: String?)
    }

    /// The chip's non-volatile state now (to save it, or to serve it again after a crash).
    public var state: State { perso.map { .blank($0.chip) } ?? .issued(image, serial: serial?.hexString) }

    /// Called after every command that changed the chip's non-volatile memory (perso writes, the lock).
    public var onNonVolatileChange: (@Sendable (State) -> Void)?

    /// True while the chip waits for (or is in the middle of) its personalization.
    public var isBlank: Bool { perso != nil }

    /// The chip's serial (key diversification data), for a chip that was made blank.
    public private(set) var serial: [UInt8]?

    // Session state (cleared on reset).
    private var currentApplication: Int?
    private var currentFile: CardImage.File?
    private var secureMessaging: SecureMessaging?
    private var linkDropped = false
    /// The current answer goes out as a plain status word even under secure messaging (a fault plan's refusal).
    private var answerPlainly = false
    /// The current answer's data goes out encrypted without a MAC, status 6282 (FIELD.md §1.1).
    private var answerUnauthenticated = false
    /// BAC has run since the last reset (FIELD.md §2.6: its state survives SELECT until then).
    private var bacSinceReset = false
    /// Commands received since the chip was created (the fault plan counts these).
    public private(set) var commandCount = 0

    public init(image: CardImage, settings: EmulatorSettings = .init(), random: any RandomSource = SystemRandom())
        throws
    {
        self.image = image
        self.settings = settings
        self.random = random
        fileSystem = FileSystem(image: image)
        try load(image)
    }

    /// A blank chip, waiting for its personalization.
    public convenience init(
        blank: BlankChip, settings: EmulatorSettings = .init(), random: any RandomSource = SystemRandom()
    ) throws {
        try self.init(state: .blank(blank), settings: settings, random: random)
    }

    /// A chip in a saved state (blank with what was written so far, or issued).
    public init(state: State, settings: EmulatorSettings = .init(), random: any RandomSource = SystemRandom()) throws {
        self.settings = settings
        self.random = random
        switch state {
        case .issued(let image, let serial):
            self.image = image
            fileSystem = FileSystem(image: image)
            self.serial = serial.flatMap { try? Hex.decode($0) }
            try load(image)
        case .blank(let chip):
            image = CardImage(
                lifeCycle: .blank, masterFiles: [], applications: [], secrets: .init(), quirks: chip.quirks)
            fileSystem = FileSystem(image: image)
            perso = try PersoApplet(chip: chip, random: random)
            serial = chip.serial
        }
    }

    /// Builds the chip's protocols from an issued image: from its typed `chip` settings when it has them (and an
    /// image whose files or secrets do not fit them is refused), else from what its files announce.
    private func load(_ image: CardImage) throws {
        if let chip = image.chip {
            if let problem = chip.inconsistency(with: image) {
                throw EmulatorError(reason: "the card image is inconsistent: \(problem)")
            }
            try loadFromFiles(image)
            if !chip.bac { bac = nil }
            if chip.pace.isEmpty { pace = nil }
            if chip.chipAuthentication == nil { chipAuthentication = nil }
            if chip.activeAuthentication == nil { activeAuthenticationKey = nil }
            if let hash = chip.activeAuthentication?.hash {
                activeAuthenticationHash = hash
            }
            return
        }
        try loadFromFiles(image)
    }

    private func loadFromFiles(_ image: CardImage) throws {
        self.image = image
        fileSystem = FileSystem(image: image)
        terminalAuthentication = try image.terminalAuthentication.map { trust in
            let points = try trust.trustPoints.map { bytes in
                do { return try CVCertificate(bytes: bytes) } catch {
                    throw EmulatorError(reason: "the card image's trust point is not a CV certificate: \(error)")
                }
            }
            let date: CVDate
            do { date = try CVDate(digits: trust.currentDate) } catch {
                throw EmulatorError(reason: "the card image's current date: \(error)")
            }
            let chip = TerminalAuthenticationChip(
                state: TerminalAuthenticationState(trustPoints: points, currentDate: date), random: random)
            chip.onChange = { [weak self] state in self?.terminalAuthenticationChanged(state) }
            return chip
        }
        bac = image.bacEnabled == false ? nil : try image.secrets.bacKey.map { try BACChip(key: $0, random: random) }

        // PACE as EF.CardAccess announces it, with the MRZ and the CAN as passwords.
        let caKey = try image.secrets.chipAuthenticationKey.map {
            try AsymmetricKey(privateKeyDER: $0)
        }
        let caScalar = try caKey.map { try $0.ecPrivateScalar() }
        var passwords: [AccessKey] = []
        if let key = image.secrets.bacKey { passwords.append(.mrz(key)) }
        if let can = image.secrets.can { passwords.append(.can(can)) }
        if let cardAccess = image.content(of: .cardAccess), let infos = try? SecurityInfos(derEncoded: cardAccess) {
            let offers = infos.paceInfos.compactMap { info -> PACEChip.Offer? in
                guard let proto = info.paceProtocol, let parameters = info.domainParameters else { return nil }
                return PACEChip.Offer(protocol: proto, parameters: parameters, parameterID: info.parameterID)
            }
            pace =
                offers.isEmpty
                ? nil
                : PACEChip(
                    offers: offers, passwords: passwords, camStaticPrivateKey: caScalar.map { $0.bytes() },
                    random: random)
        } else {
            pace = nil
        }

        // Chip Authentication as DG14 announces it (protocol, version, domain from the public key), with the
        // image's private key: an EC key (PKCS#8) or a DH exponent.
        let dg14 = image.content(of: .dataGroup(14)).flatMap { try? DataGroup14(bytes: $0) }
        let caInfo = dg14?.securityInfos.chipAuthenticationInfos.first
        let caDomain = dg14?.securityInfos.chipAuthenticationPublicKeys
            .first { caInfo?.keyID == nil || $0.keyID == caInfo?.keyID }
            .flatMap { try? $0.publicKey().parameters }
        let caPrivate: [UInt8]?
        switch caDomain {
        case .dh: caPrivate = image.secrets.chipAuthenticationDHKey
        case .curve: caPrivate = caScalar?.bytes()
        case nil: caPrivate = nil
        }
        if let caInfo, let proto = caInfo.chipAuthenticationProtocol, let caDomain, let caPrivate,
            proto.agreement == caDomain.agreement
        {
            chipAuthentication = ChipAuthenticationChip(
                protocol: proto, parameters: caDomain, privateKey: caPrivate, version: caInfo.version, random: random)
        } else {
            chipAuthentication = nil
        }
        activeAuthenticationKey = try image.secrets.activeAuthenticationKey.map {
            try AsymmetricKey(privateKeyDER: $0)
        }
        activeAuthenticationHash =
            dg14?.securityInfos.activeAuthenticationInfo?.hash
            ?? (activeAuthenticationKey?.kind == .rsa ? .sha1 : .sha256)
    }

    /// The chip moved its date or its trust point: that is non-volatile memory.
    private func terminalAuthenticationChanged(_ state: TerminalAuthenticationState) {
        image.terminalAuthentication = .init(
            trustPoints: state.trustPoints.map(\.encoded), currentDate: state.currentDate.digits)
        onNonVolatileChange?(self.state)
    }

    /// A secure channel ended or a new one began: what Chip and Terminal Authentication granted is gone.
    private func endSession() {
        terminalAuthentication?.reset()
        sessionChipIdentifier = nil
        chipAuthenticatedTerminalKey = nil
    }

    /// The Answer To Reset: the image's own, or a T=1 ATR whose card capabilities announce extended length
    /// exactly when the settings support it (ISO/IEC 7816-4 §8.1.1.2.7).
    public var atr: [UInt8] {
        if image.atr != CardImage.defaultATR, !image.atr.isEmpty { return image.atr }
        let historical: [UInt8] = [0x80, 0x73, 0x80, 0x00, settings.supportsExtendedLength ? 0xC0 : 0x80]
        var bytes: [UInt8] = [0x3B, 0x80 | UInt8(historical.count), 0x80, 0x01] + historical
        bytes.append(bytes.dropFirst().reduce(0, ^))
        return bytes
    }

    public var capabilities: TransportCapabilities {
        TransportCapabilities(
            atr: atr, supportsExtendedLength: settings.supportsExtendedLength,
            maxResponseLength: min(settings.maxResponseLength, settings.supportsExtendedLength ? 65536 : 256))
    }

    /// Power cycle: selection, challenge and secure messaging are gone.
    public func reset() {
        perso?.reset()
        currentApplication = nil
        currentFile = nil
        secureMessaging = nil
        pendingKeys = nil
        pace?.reset()
        bac?.reset()
        chipAuthentication?.reset()
        endSession()
        answerPlainly = false
        answerUnauthenticated = false
        bacSinceReset = false
    }

    /// True while a secure-messaging session is open (for tests).
    public var hasSecureMessaging: Bool { secureMessaging.map { !$0.isEnded } ?? false }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        let bytes = try process(command.encoded())
        return try ResponseAPDU(bytes: bytes)
    }

    /// One command APDU in, one response APDU out (bytes as on the wire).
    public func process(_ bytes: [UInt8]) throws(TransportError) -> [UInt8] {
        commandCount += 1
        if let limit = settings.faultPlan.dropLinkAfterCommands, commandCount > limit { linkDropped = true }
        if linkDropped { throw .cardRemoved("the card left the field (fault plan)") }
        let command: CommandAPDU
        do {
            command = try CommandAPDU(bytes: bytes)
        } catch {
            return ResponseAPDU(statusWord: .wrongLength).encoded
        }
        let extendedOnWire = bytes.count > 5 && bytes[4] == 0x00
        if let perso {
            if extendedOnWire && !settings.supportsExtendedLength {
                return ResponseAPDU(statusWord: .wrongLength).encoded
            }
            if let forced = settings.faultPlan.statusForCommand[commandCount] {
                return ResponseAPDU(statusWord: forced).encoded
            }
            let outcome = perso.respond(to: command)
            if let issued = outcome.issued {
                do {
                    var image = issued
                    image.lifeCycle = .personalized
                    try load(image)
                    // A chip that never gave its serial (JMRTD's applet) does not start after the lock.
                    if perso.chip.answersSerial == false { serial = nil }
                    self.perso = nil
                    currentApplication = nil
                    currentFile = nil
                } catch {
                    return ResponseAPDU(statusWord: .noPreciseDiagnosis).encoded
                }
            }
            if outcome.changed { onNonVolatileChange?(state) }
            // A wrong response MAC under SCP03 (the answer's last byte is its R-MAC's).
            return wrongMACIfPlanned(outcome.response).encoded
        }
        return respond(to: command, extendedOnWire: extendedOnWire).encoded
    }

    private func respond(to received: CommandAPDU, extendedOnWire: Bool) -> ResponseAPDU {
        // Secure messaging: unwrap protected commands; a plain command ends an open session (ICAO 9303-11 §9.8).
        var command = received
        var protected = false
        if received.isSecureMessaging {
            guard let sm = secureMessaging, !sm.isEnded else {
                return ResponseAPDU(statusWord: .incorrectSMDataObjects)
            }
            do {
                command = try sm.unprotectCommand(received)
                protected = true
            } catch let error as SecureMessagingError {
                secureMessaging = nil
                return ResponseAPDU(statusWord: error.chipStatus)
            } catch {
                secureMessaging = nil
                return ResponseAPDU(statusWord: .incorrectSMDataObjects)
            }
        } else if secureMessaging != nil {
            secureMessaging = nil
            endSession()
        }

        // How much the answer may carry on the wire.
        let wireLimit = min(received.ne ?? 0, settings.maxResponseLength)
        var answer: ResponseAPDU
        if let forced = settings.faultPlan.statusForCommand[commandCount] {
            answer = ResponseAPDU(statusWord: forced)
        } else if extendedOnWire && !settings.supportsExtendedLength {
            answer = ResponseAPDU(statusWord: .wrongLength)
        } else if settings.faultPlan.wrongLengthForExtendedLe, (command.ne ?? 0) > 256 {
            answer = ResponseAPDU(statusWord: .wrongLength)
        } else {
            let capacity =
                protected
                ? SecureMessagingCodec.maxPlaintextLength(
                    responseLength: wireLimit, blockSize: secureMessaging?.keys.blockSize ?? 8)
                : wireLimit
            answer = dispatch(command, protected: protected, capacity: capacity)
        }

        let faults = settings.faultPlan
        var plain = answerPlainly
        answerPlainly = false
        let unauthenticated = answerUnauthenticated
        answerUnauthenticated = false
        guard protected, let sm = secureMessaging else { return answer }
        if let status = faults.plainStatusForCommand[commandCount] {
            answer = ResponseAPDU(statusWord: status)
            plain = true
        }
        if faults.wrongSSCForCommand.contains(commandCount) { sm.slipSequenceCounter() }
        let odd = settings.oddities
        if unauthenticated && !plain {
            // FIELD.md §1.1: the data to the end of the file in DO'87', no DO'8E', no DO'99', 6282, not counted.
            guard let cryptogram = try? sm.unauthenticatedCryptogram(answer.data, ins: command.ins) else {
                secureMessaging = nil
                return ResponseAPDU(statusWord: .noPreciseDiagnosis)
            }
            return ResponseAPDU(data: cryptogram, statusWord: .endOfFileWarning)
        }
        if answer.statusWord != .success && odd.plainErrors {
            // FIELD.md §1.2: a plain two-byte status, not counted in the SSC.
            sm.sendPlainAnswer(counted: false)
            return ResponseAPDU(statusWord: answer.statusWord)
        }
        if plain || (faults.plainErrors && answer.data.isEmpty && answer.statusWord != .success) {
            // Hypothetical chips (faults): unprotected errors, counted in the SSC or not, bare or as DO'99'.
            sm.sendPlainAnswer(counted: faults.plainErrorsCounted)
            let status = answer.statusWord
            return faults.plainErrorsAsDO99
                ? ResponseAPDU(data: [0x99, 0x02, status.sw1, status.sw2], statusWord: status)
                : ResponseAPDU(statusWord: status)
        }
        do {
            let wrapped = try sm.protectResponse(answer, ins: command.ins, withoutStatusObject: odd.noStatusObject)
            if let keys = pendingKeys {
                sm.rekey(keys, ssc: [UInt8](repeating: 0, count: keys.sscLength))
                pendingKeys = nil
                // Chip Authentication done: Terminal Authentication signs over the terminal's key.
                if let ca = chipAuthentication, let key = ca.lastTerminalKey {
                    chipAuthenticatedTerminalKey = TerminalAuthentication.compressed(
                        key, agreement: ca.parameters.agreement)
                }
            }
            return wrongMACIfPlanned(wrapped)
        } catch {
            secureMessaging = nil
            return ResponseAPDU(statusWord: .noPreciseDiagnosis)
        }
    }

    /// The answer with its checksum's last byte flipped when the fault plan asks for a wrong MAC on this command
    /// (a protected answer ends with its MAC: DO'8E' under secure messaging, the R-MAC under SCP03).
    private func wrongMACIfPlanned(_ answer: ResponseAPDU) -> ResponseAPDU {
        guard settings.faultPlan.wrongMACForCommand.contains(commandCount), let last = answer.data.last else {
            return answer
        }
        return ResponseAPDU(data: answer.data.dropLast() + [last ^ 0x01], statusWord: answer.statusWord)
    }

    private func dispatch(_ command: CommandAPDU, protected: Bool, capacity: Int) -> ResponseAPDU {
        // The chip's serial stays readable after the lock (as GP cards keep their CPLC): a line that restarts
        // after a crash recognises the card in its reader.
        if command.cla & 0xF0 == 0x80, command.ins == 0xCA, command.p1 == 0, command.p2 == 0xCF {
            guard let serial, !settings.oddities.noSerial else {
                return ResponseAPDU(statusWord: .instructionNotSupported)
            }
            return ResponseAPDU(data: TLVWriter.encode(tag: 0xCF, value: serial), statusWord: .success)
        }
        // An issued (locked) card refuses every personalization command, in any class.
        if [0xE0, 0xD6, 0xDA, 0x50, KeyGeneration.instruction].contains(command.ins)
            || (command.ins == 0x82 && command.cla & 0x80 != 0)
        {
            return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
        }
        guard command.cla & 0xE0 == 0 else { return ResponseAPDU(statusWord: .classNotSupported) }
        switch command.ins {
        case 0xA4: return select(command)
        case 0xB0, 0xB1: return readBinary(command, protected: protected, capacity: capacity)
        case 0x84
        where protected
            && (terminalAuthentication?.expectsChallenge == true || terminalAuthentication?.expectsSignature == true):
            // Terminal Authentication's challenge (a new one replaces the last: one signature per challenge).
            guard command.ne == 8, let r = terminalAuthentication?.getChallenge() else {
                return ResponseAPDU(statusWord: .wrongLength)
            }
            return ResponseAPDU(data: r, statusWord: .success)
        case 0x84: return getChallenge(command)
        case 0x82 where protected && terminalAuthentication != nil:
            return ResponseAPDU(
                statusWord: terminalAuthentication?.externalAuthenticate(
                    signature: command.data, chipIdentifier: sessionChipIdentifier ?? [],
                    terminalKey: chipAuthenticatedTerminalKey) ?? .conditionsOfUseNotSatisfied)
        case 0x82: return externalAuthenticate(command)
        case 0x2A where command.p1 == 0x00 && command.p2 == 0xBE:
            guard protected, chipAuthenticatedTerminalKey != nil, let ta = terminalAuthentication else {
                return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
            }
            return ResponseAPDU(statusWord: ta.verifyCertificate(command.data))
        case 0x22: return manageSecurityEnvironment(command, protected: protected)
        case 0x86: return generalAuthenticate(command, protected: protected)
        case 0x88: return internalAuthenticate(command, protected: protected)
        default: return ResponseAPDU(statusWord: .instructionNotSupported)
        }
    }

    // MARK: PACE and Chip Authentication (ICAO 9303-11 §4.4, §6.2)

    private func status(of error: any Error) -> StatusWord {
        guard let error = error as? AccessControlError else { return .noPreciseDiagnosis }
        if error.code == .wrongPassword, settings.oddities.wrongKey6988 { return .incorrectSMDataObjects }
        return error.statusWord ?? .noPreciseDiagnosis
    }

    private func manageSecurityEnvironment(_ command: CommandAPDU, protected: Bool) -> ResponseAPDU {
        do {
            switch (command.p1, command.p2) {
            case (0xC1, 0xA4):  // PACE
                guard let pace else { return ResponseAPDU(statusWord: .functionNotSupported) }
                try pace.setAuthenticationTemplate(command.data)
            case (0x41, 0xA4):  // Chip Authentication, AES
                guard protected, let chipAuthentication else {
                    return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
                }
                try chipAuthentication.setAuthenticationTemplate(command.data)
            case (0x81, 0xB6), (0x81, 0xA4):  // Terminal Authentication: the key to verify with, the terminal's
                guard protected, chipAuthenticatedTerminalKey != nil, let ta = terminalAuthentication else {
                    return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
                }
                return ResponseAPDU(
                    statusWord: command.p2 == 0xB6
                        ? ta.setVerificationKey(command.data) : ta.setAuthenticationTemplate(command.data))
            case (0x41, 0xA6):  // Chip Authentication, 3DES
                guard protected, let chipAuthentication else {
                    return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
                }
                pendingKeys = try chipAuthentication.setKeyAgreementTemplate(command.data)
            default:
                return ResponseAPDU(statusWord: .incorrectP1P2)
            }
            return ResponseAPDU(statusWord: .success)
        } catch {
            return ResponseAPDU(statusWord: status(of: error))
        }
    }

    private func generalAuthenticate(_ command: CommandAPDU, protected: Bool) -> ResponseAPDU {
        do {
            if protected {
                guard let chipAuthentication else { return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied) }
                let (data, keys) = try chipAuthentication.generalAuthenticate(command.data)
                pendingKeys = keys
                return ResponseAPDU(data: data, statusWord: .success)
            }
            guard let pace else { return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied) }
            let (data, session) = try pace.generalAuthenticate(command.data)
            if let session {
                secureMessaging = session
                endSession()
                if let (key, agreement) = pace.lastEphemeralPublicKey {
                    sessionChipIdentifier = TerminalAuthentication.compressed(key, agreement: agreement)
                }
            }
            return ResponseAPDU(data: data, statusWord: .success)
        } catch {
            return ResponseAPDU(statusWord: status(of: error))
        }
    }

    // MARK: Active Authentication (ICAO 9303-11 §6.1)

    private func internalAuthenticate(_ command: CommandAPDU, protected: Bool) -> ResponseAPDU {
        guard protected else { return ResponseAPDU(statusWord: .securityStatusNotSatisfied) }
        guard let key = activeAuthenticationKey else { return ResponseAPDU(statusWord: .instructionNotSupported) }
        guard command.data.count == 8 else { return ResponseAPDU(statusWord: .wrongLength) }
        do {
            let signature = try ActiveAuthentication.sign(
                challenge: command.data, privateKey: key, hash: activeAuthenticationHash, random: random)
            return ResponseAPDU(data: signature, statusWord: .success)
        } catch {
            return ResponseAPDU(statusWord: .noPreciseDiagnosis)
        }
    }

    // MARK: SELECT (ISO 7816-4 §11.2.2)

    private func select(_ command: CommandAPDU) -> ResponseAPDU {
        let p2 = command.p2 & 0xFC
        guard [0x00, 0x04, 0x08, 0x0C].contains(command.p2) || p2 == 0x0C || p2 == 0x00 || p2 == 0x04 else {
            return ResponseAPDU(statusWord: .incorrectP1P2)
        }
        switch command.p1 {
        case 0x04:
            guard let index = fileSystem.application(aid: command.data) else {
                return ResponseAPDU(statusWord: .fileNotFound)
            }
            currentApplication = index
            currentFile = nil
            return selectAnswer(p2: command.p2, dfName: fileSystem.applications[index].aid ?? [])
        case 0x00 where command.data.isEmpty || command.data == [0x3F, 0x00]:
            if image.quirks.selectMasterFileUnsupported { return ResponseAPDU(statusWord: .instructionNotSupported) }
            currentApplication = nil
            currentFile = nil
            return selectAnswer(p2: command.p2, dfName: nil)
        case 0x00, 0x02:
            guard command.data.count == 2 else { return ResponseAPDU(statusWord: .wrongLength) }
            if settings.oddities.noCurrentEFBeforeSelect && currentApplication == nil {
                return ResponseAPDU(statusWord: .fileNotFound)
            }
            let fid = UInt16(command.data[0]) << 8 | UInt16(command.data[1])
            guard let file = fileSystem.file(fid: fid, in: currentApplication) else {
                return ResponseAPDU(statusWord: .fileNotFound)
            }
            currentFile = file
            return selectAnswer(p2: command.p2, file: file)
        default:
            return ResponseAPDU(statusWord: .incorrectP1P2)
        }
    }

    private func selectAnswer(p2: UInt8, dfName: [UInt8]?) -> ResponseAPDU {
        if p2 & 0x0C == 0x0C { return ResponseAPDU(statusWord: .success) }
        var w = TLVWriter()
        w.write(tag: p2 & 0x0C == 0x04 ? 0x62 : 0x6F) { inner in
            if let dfName { inner.write(tag: 0x84, value: dfName) }
            inner.write(tag: 0x82, value: [0x38])  // DF
        }
        return ResponseAPDU(data: w.bytes, statusWord: .success)
    }

    private func selectAnswer(p2: UInt8, file: CardImage.File) -> ResponseAPDU {
        if p2 & 0x0C == 0x0C { return ResponseAPDU(statusWord: .success) }
        var w = TLVWriter()
        w.write(tag: p2 & 0x0C == 0x04 ? 0x62 : 0x6F) { inner in
            let size = file.content.count
            inner.write(tag: 0x80, value: [UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)])
            inner.write(tag: 0x82, value: [0x01])  // transparent working EF
            inner.write(tag: 0x83, value: [UInt8(file.fileID >> 8), UInt8(file.fileID & 0xFF)])
            if let sfi = file.shortFileID { inner.write(tag: 0x88, value: [sfi << 3]) }
        }
        return ResponseAPDU(data: w.bytes, statusWord: .success)
    }

    // MARK: READ BINARY (ISO 7816-4 §11.3.3)

    private func readBinary(_ command: CommandAPDU, protected: Bool, capacity: Int) -> ResponseAPDU {
        guard let ne = command.ne else { return ResponseAPDU(statusWord: .wrongLength) }
        var file: CardImage.File?
        var offset: Int
        var oddWrapping = 0
        let odd = settings.oddities
        let faults = settings.faultPlan
        if odd.noCurrentEFBeforeSelect && currentApplication == nil {
            return ResponseAPDU(statusWord: .commandNotAllowedNoEF)  // FIELD.md §2.5: 6986
        }
        if command.ins == 0xB0 {
            if command.p1 & 0x80 != 0 {
                if odd.noShortFileIDs { return ResponseAPDU(statusWord: .fileNotFound) }  // FIELD.md §1.5
                if odd.shortFileIDAsOffset {
                    // FIELD.md §2.4: P1P2 is an offset; negative as a Java short.
                    return ResponseAPDU(statusWord: currentFile == nil ? .conditionsOfUseNotSatisfied : .wrongP1P2)
                }
                if let refusal = faults.shortFileIDStatus { return ResponseAPDU(statusWord: refusal) }
                guard command.p1 & 0x60 == 0 else { return ResponseAPDU(statusWord: .incorrectP1P2) }
                file = fileSystem.file(sfi: command.p1 & 0x1F, in: currentApplication)
                guard file != nil else { return ResponseAPDU(statusWord: .fileNotFound) }
                offset = Int(command.p2)
            } else {
                file = currentFile
                offset = Int(command.p1 & 0x7F) << 8 | Int(command.p2)
            }
        } else {
            let id = UInt16(command.p1) << 8 | UInt16(command.p2)
            if id == 0 {
                file = currentFile
            } else if id & 0xFFE0 == 0 {
                if odd.noShortFileIDs { return ResponseAPDU(statusWord: .fileNotFound) }
                if let refusal = faults.shortFileIDStatus { return ResponseAPDU(statusWord: refusal) }
                file = fileSystem.file(sfi: UInt8(id & 0x1F), in: currentApplication)
            } else {
                file = fileSystem.file(fid: id, in: currentApplication)
            }
            guard file != nil else { return ResponseAPDU(statusWord: .fileNotFound) }
            guard let tlv = try? TLV(parsing: command.data), tlv.tag == 0x54, (1...3).contains(tlv.value.count) else {
                return ResponseAPDU(statusWord: .incorrectData)
            }
            offset = tlv.value.reduce(0) { $0 << 8 | Int($1) }
            oddWrapping = 1 + TLVWriter.lengthFieldWidth(min(ne, capacity))
        }
        guard let selected = file else { return ResponseAPDU(statusWord: .commandNotAllowedNoEF) }
        switch selected.access {
        case .always: break
        case .accessControl: guard protected else { return ResponseAPDU(statusWord: .securityStatusNotSatisfied) }
        case .terminalAuthentication:
            // Only after Terminal Authentication, and only what its chain granted (DG3 fingerprints, DG4 iris).
            let group = LDSFile(name: selected.name)?.dataGroupNumber ?? 0
            guard protected, terminalAuthentication?.granted?.reads(dataGroup: group) == true else {
                return ResponseAPDU(statusWord: .securityStatusNotSatisfied)
            }
        }
        currentFile = selected
        let size = selected.content.count
        guard offset <= size else { return ResponseAPDU(statusWord: .wrongP1P2) }
        if let refusal = faults.readPastEndStatus, ne - oddWrapping > size - offset {
            // A chip that will not read past the end of a file: no data, and no secure messaging either.
            answerPlainly = true
            return ResponseAPDU(statusWord: refusal)
        }
        if odd.overReadUnauthenticated, protected, ne - oddWrapping > size - offset {
            // FIELD.md §1.1: what there is, encrypted but without a MAC (the wrapping is done by `respond`).
            answerUnauthenticated = true
        }
        // For B1, Ne counts the DO'53' wrapper too.
        let count = max(0, min(ne - oddWrapping, size - offset, capacity - oddWrapping))
        let chunk = Array(selected.content[offset..<offset + count])
        let status: StatusWord = count < ne - oddWrapping && offset + count == size ? .endOfFileWarning : .success
        if command.ins == 0xB1 {
            return ResponseAPDU(data: TLVWriter.encode(tag: 0x53, value: chunk), statusWord: status)
        }
        return ResponseAPDU(data: chunk, statusWord: status)
    }

    // MARK: BAC (ICAO 9303-11 §4.3)

    private func getChallenge(_ command: CommandAPDU) -> ResponseAPDU {
        guard command.ne == 8 else { return ResponseAPDU(statusWord: .wrongLength) }
        if settings.oddities.bacStateUntilReset && bacSinceReset {
            return ResponseAPDU(statusWord: .securityStatusNotSatisfied)  // FIELD.md §2.6
        }
        guard let bac, let challenge = try? bac.getChallenge() else {
            return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied)
        }
        return ResponseAPDU(data: challenge, statusWord: .success)
    }

    private func externalAuthenticate(_ command: CommandAPDU) -> ResponseAPDU {
        guard let bac else { return ResponseAPDU(statusWord: .conditionsOfUseNotSatisfied) }
        do {
            let (response, session) = try bac.externalAuthenticate(command.data)
            secureMessaging = session
            endSession()
            sessionChipIdentifier = image.secrets.mrz.map {
                TerminalAuthentication.chipIdentifier(documentNumber: $0.documentNumber)
            }
            bacSinceReset = true
            return ResponseAPDU(data: response, statusWord: .success)
        } catch let error as AccessControlError {
            return ResponseAPDU(statusWord: status(of: error))
        } catch {
            return ResponseAPDU(statusWord: .noPreciseDiagnosis)
        }
    }
}

/// A card image the emulator cannot run as it says.
public struct EmulatorError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
