import CardCore
import CardCrypto
import ChipAccess
import LDS

/// One conversation with one chip: select the application, access control, then file reads with the fewest
/// round trips the chip allows (DESIGN.md, performance principles):
///
/// - one READ BINARY by short file identifier per file when extended length works (Le = 0000 reads the whole
///   file); otherwise the largest Le whose protected answer fits a short response (231 bytes under 3DES, 223
///   under AES), then plain-offset READ BINARY (odd INS B1 past offset 32767);
/// - the file's length comes from its TLV header in the first answer, so nothing is read twice;
/// - a Le that works is remembered for the session; 6700 to an extended Le falls back to short reads and 6Cxx
///   takes the chip's exact length, both without desynchronising the SSC (the chip answers them protected).
public final class ReaderSession {
    /// Counts every APDU on the wire (protected bytes).
    public let meter: MeteredTransport
    private var channel: any CardTransport
    private var secureMessaging: SecureMessaging?
    private var secureTransport: SecureMessagingTransport?
    private let random: any RandomSource

    /// The access control used ("BAC", later "PACE-CAN", "PACE-MRZ"), once performed.
    public private(set) var accessControl: String?
    /// Extended-length reads in use (false after a fallback).
    public private(set) var usesExtendedLength: Bool
    /// The largest plaintext a READ BINARY has delivered or may ask for in this session.
    public private(set) var workingLe: Int

    public init(transport: any CardTransport, random: any RandomSource = SystemRandom()) {
        meter = MeteredTransport(transport)
        channel = meter
        self.random = random
        usesExtendedLength = transport.capabilities.supportsExtendedLength
        workingLe = usesExtendedLength ? 65536 : 256
    }

    /// SELECT the eMRTD application by AID (P2 = 0C: no FCI, nothing to transfer).
    public func selectApplication(_ aid: [UInt8] = VietnameseCard.applicationID) throws {
        let response = try send(
            CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid), doing: "selecting the eMRTD application")
        guard response.statusWord == .success else {
            throw ReaderError(
                code: .notAnEMRTD, reason: "the card has no eMRTD application", statusWord: response.statusWord)
        }
    }

    /// Basic Access Control; afterwards every command goes through secure messaging.
    public func performBAC(_ key: BACKey) throws {
        do {
            let session = try BAC.authenticate(meter, key: key, random: random)
            open(session)
            accessControl = "BAC"
        } catch {
            throw ReaderError.wrap(error, doing: "BAC")
        }
    }

    private func open(_ session: SecureMessaging) {
        secureMessaging = session
        let transport = SecureMessagingTransport(meter, session: session)
        secureTransport = transport
        channel = transport
        let short = SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: session.keys.blockSize)
        let extended = SecureMessagingCodec.maxPlaintextLength(
            responseLength: min(65536, meter.capabilities.maxResponseLength), blockSize: session.keys.blockSize)
        workingLe = usesExtendedLength ? extended : short
    }

    /// Back to plain APDUs (before a new access control).
    private func closeSecureMessaging() {
        secureMessaging = nil
        secureTransport = nil
        channel = meter
    }

    /// PACE with the protocol and parameters EF.CardAccess offers (tag 84 always sent when known).
    public func performPACE(_ key: AccessKey, cardAccess: SecurityInfos) throws -> PACE.Result {
        guard let (info, proto, parameters) = Self.choosePACE(cardAccess) else {
            throw ReaderError(
                code: .protocolError, reason: "EF.CardAccess offers no PACE protocol this reader supports")
        }
        closeSecureMessaging()
        do {
            let result = try PACE.authenticate(
                meter, protocol: proto, parameters: parameters, parameterID: info.parameterID, password: key,
                random: random)
            open(result.session)
            accessControl = "PACE-\(key.kind)"
            return result
        } catch {
            throw ReaderError.wrap(error, doing: "PACE")
        }
    }

    /// The preferred PACE offer: CAM (it also authenticates the chip), then GM, then IM.
    static func choosePACE(_ infos: SecurityInfos) -> (PACEInfo, PACEProtocol, DomainParameters)? {
        let usable = infos.paceInfos.compactMap { info -> (PACEInfo, PACEProtocol, DomainParameters)? in
            guard let p = info.paceProtocol, let d = info.domainParameters, d.agreement == p.agreement else {
                return nil
            }
            if p.mapping == .integrated, case .curve(.secp224r1) = d { return nil }  // no point encoding for p ≡ 1 mod 4
            return (info, p, d)
        }
        let rank: [PACEProtocol.Mapping: Int] = [.chipAuthentication: 0, .generic: 1, .integrated: 2]
        return usable.min { rank[$0.1.mapping, default: 9] < rank[$1.1.mapping, default: 9] }
    }

    /// EF.CardAccess read in plain by its short identifier, before any application is selected (never after
    /// SELECT MF, which the CCCD refuses). Nil when the card has none.
    public func readCardAccess() throws -> SecurityInfos? {
        let bytes: [UInt8]
        do {
            bytes = try readFile(.cardAccess)
        } catch let error as ReaderError where error.code == .fileUnreadable {
            return nil
        }
        do {
            return try SecurityInfos(derEncoded: bytes)
        } catch {
            throw ReaderError(code: .malformedData, reason: "EF.CardAccess: \(error)")
        }
    }

    private func send(_ command: CommandAPDU, doing what: String) throws -> ResponseAPDU {
        do {
            return try channel.transmit(command)
        } catch {
            throw ReaderError.wrap(error, doing: what)
        }
    }

    /// The largest plaintext Le without extended length in the current channel.
    private var shortLe: Int {
        secureMessaging.map {
            SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: $0.keys.blockSize)
        } ?? 256
    }

    // MARK: Reading files

    /// Reads one whole file. Throws `fileUnreadable` when the chip refuses it (6982, 6A82).
    public func readFile(_ file: LDSFile) throws -> [UInt8] {
        let what = "reading \(file.name)"
        var data = try readChunk(file: file, offset: 0, length: workingLe, bySFI: true, doing: what)
        guard !data.isEmpty else { return data }
        let total = try totalLength(of: data, file: file)
        while data.count < total {
            let want = min(workingLe, total - data.count)
            let chunk = try readChunk(file: file, offset: data.count, length: want, bySFI: false, doing: what)
            guard !chunk.isEmpty else {
                throw ReaderError(
                    code: .malformedData, reason: "\(file.name) ends after \(data.count) of \(total) bytes")
            }
            if chunk.count < want { workingLe = chunk.count }  // the chip's own limit: remember it
            data += chunk
        }
        return data.count > total ? Array(data.prefix(total)) : data
    }

    /// The full length of a file from the TLV header at its start (the first chunk holds it).
    private func totalLength(of first: [UInt8], file: LDSFile) throws -> Int {
        var reader = ByteReader(first)
        guard let t0 = reader.readByte() else { return 0 }
        if t0 & 0x1F == 0x1F {
            var more = true
            while more {
                guard let b = reader.readByte() else { throw truncatedHeader(file) }
                more = b & 0x80 != 0
            }
        }
        guard let l0 = reader.readByte() else { throw truncatedHeader(file) }
        var length = Int(l0)
        if l0 > 0x80 {
            let n = Int(l0 & 0x7F)
            guard n <= 4, let bytes = reader.readUInt(width: n) else { throw truncatedHeader(file) }
            length = Int(bytes)
        } else if l0 == 0x80 {
            throw ReaderError(code: .malformedData, reason: "\(file.name) uses an indefinite length")
        }
        let headerLength = first.count - reader.count
        return headerLength + length
    }

    private func truncatedHeader(_ file: LDSFile) -> ReaderError {
        ReaderError(code: .malformedData, reason: "\(file.name) starts with a truncated TLV header")
    }

    /// One READ BINARY, with the Le fallbacks. `bySFI` selects the file with its short identifier (offset ≤ 255).
    private func readChunk(file: LDSFile, offset: Int, length: Int, bySFI: Bool, doing what: String) throws -> [UInt8] {
        var ne = length
        var attempts = 0
        while true {
            attempts += 1
            let command: CommandAPDU
            if bySFI {
                command = CommandAPDU(ins: 0xB0, p1: 0x80 | file.shortFileID, p2: UInt8(offset), ne: ne)
            } else if offset <= 0x7FFF {
                command = CommandAPDU(ins: 0xB0, p1: UInt8(offset >> 8), p2: UInt8(offset & 0xFF), ne: ne)
            } else {
                let o =
                    offset > 0xFFFF
                    ? [UInt8(offset >> 16), UInt8(offset >> 8 & 0xFF), UInt8(offset & 0xFF)]
                    : [UInt8(offset >> 8), UInt8(offset & 0xFF)]
                command = CommandAPDU(
                    ins: 0xB1, p1: 0, p2: 0, data: TLVWriter.encode(tag: 0x54, value: o),
                    ne: min(ne + 4, usesExtendedLength ? 65536 : 256))
            }
            let response = try send(command, doing: what)
            switch response.statusWord {
            case .success, .endOfFileWarning:
                if command.ins == 0xB1 {
                    guard let tlv = try? TLV(parsing: response.data), tlv.tag == 0x53 else {
                        throw ReaderError(
                            code: .malformedData, reason: "\(what): odd READ BINARY answer without DO'53'")
                    }
                    return Array(tlv.value)
                }
                return response.data
            case .wrongLength where ne > shortLe && attempts < 3:
                // The chip refuses extended Le: short reads for the rest of the session.
                usesExtendedLength = false
                workingLe = shortLe
                ne = min(ne, shortLe)
            case .wrongLe where attempts < 3:
                ne = response.statusWord.exactLe ?? ne
                workingLe = min(workingLe, ne)
            case .securityStatusNotSatisfied:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
            case .fileNotFound:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
            case .wrongP1P2:
                throw ReaderError(
                    code: .malformedData, reason: "\(file.name): offset \(offset) is past the end",
                    statusWord: response.statusWord)
            default:
                throw ReaderError(
                    code: .protocolError, reason: "\(what): the chip answered \(response.statusWord)",
                    statusWord: response.statusWord)
            }
        }
    }

    /// Opens the card with `key`: PACE when EF.CardAccess offers it, BAC otherwise (or as a reported fallback when
    /// `allowBACFallback` and PACE cannot run; never after a wrong password), then selects the application.
    public func authenticate(_ key: AccessKey, options: ReadOptions = .init()) throws {
        closeSecureMessaging()
        paceResult = nil
        let cardAccess = try readCardAccess()
        if let cardAccess, Self.choosePACE(cardAccess) != nil {
            do {
                paceResult = try performPACE(key, cardAccess: cardAccess)
                paceParameters = Self.choosePACE(cardAccess)?.2
                try selectApplication()
                return
            } catch let error as ReaderError
                where error.code != .accessDenied && error.code != .cardRemoved && options.allowBACFallback
            {
                notes.append("PACE failed (\(error)); fell back to BAC as allowed")
            }
        } else if cardAccess != nil {
            guard options.allowBACFallback else {
                throw ReaderError(
                    code: .protocolError,
                    reason: "EF.CardAccess offers no PACE this reader supports, and BAC fallback is not allowed")
            }
            notes.append("EF.CardAccess offers no usable PACE; BAC used as allowed")
        }
        guard case .mrz(let bacKey) = key else {
            throw ReaderError(
                code: .accessDenied, reason: "the card does not offer PACE, and BAC needs the MRZ (not the \(key.kind))"
            )
        }
        closeSecureMessaging()
        try selectApplication()
        try performBAC(bacKey)
    }

    private var paceResult: PACE.Result?
    private var paceParameters: DomainParameters?
    /// What the read had to do differently (fallbacks), for the report.
    public private(set) var notes: [String] = []

    /// The whole read: access control, EF.COM, DG14 then Chip Authentication, DG15 then Active Authentication,
    /// then every other data group EF.COM lists (DG3/DG4 need Terminal Authentication and are skipped without
    /// an APDU) and EF.SOD.
    public func readCard(_ key: AccessKey, options: ReadOptions = .init()) throws -> ReadResult {
        do {
            try authenticate(key, options: options)
            var result = try readAll(reauthenticate: { try self.authenticate(key, options: options) }, options: options)
            result.notes = notes
            Verification.verify(&result, options: options)
            return result
        } catch {
            throw ReaderError.wrap(error, doing: "reading the card")
        }
    }

    /// Reads the files after access control (see `readCard`). `reauthenticate` re-opens the card when Chip
    /// Authentication broke the channel (a clone).
    public func readAll(reauthenticate: (() throws -> Void)? = nil, options: ReadOptions = .init()) throws -> ReadResult
    {
        var result = ReadResult(accessControl: accessControl)
        let comBytes = try readFile(.com)
        result.files[.com] = comBytes
        let com: EFCOM
        do {
            com = try EFCOM(bytes: comBytes)
        } catch {
            throw ReaderError(code: .malformedData, reason: "EF.COM: \(error)")
        }
        var pending = com.dataGroups.filter { group in
            guard case .dataGroup(let n) = group else { return false }
            return options.dataGroups?.contains(n) ?? true || n == 14 || n == 15
        }
        /// Set while Chip Authentication waits for the chip to answer under the new keys.
        var chipAuthenticationPending: String? = nil
        func readChecked(_ file: LDSFile) throws -> [UInt8] {
            guard let protocolName = chipAuthenticationPending else { return try readFile(file) }
            chipAuthenticationPending = nil
            do {
                let bytes = try readFile(file)
                result.checks.chipAuthentication = .passed(
                    "\(protocolName): the chip answered under the new session keys")
                return bytes
            } catch let error as ReaderError where error.code == .secureMessaging {
                result.checks.chipAuthentication = .failed(
                    "\(protocolName): the chip could not answer under the new keys; it does not hold the key of DG14 (possible clone)"
                )
                guard let reauthenticate else { throw error }
                try reauthenticate()
                return try readFile(file)
            }
        }
        func read(_ group: LDSFile) throws {
            pending.removeAll { $0 == group }
            if group.needsTerminalAuthentication {
                result.skipped[group] = "needs Terminal Authentication (EAC)"
                return
            }
            do {
                result.files[group] = try readChecked(group)
            } catch let error as ReaderError where error.code == .fileUnreadable {
                result.skipped[group] = error.description
            }
        }

        // Chip Authentication with the key in DG14.
        if pending.contains(.dataGroup(14)) {
            try read(.dataGroup(14))
            if let verdict = try chipAuthentication(
                dg14: result.files[.dataGroup(14)], options: options, reauthenticate: reauthenticate)
            {
                result.checks.chipAuthentication = verdict
            } else {
                chipAuthenticationPending = DataGroup14.caProtocolName(result.files[.dataGroup(14)])
            }
        } else if paceResult?.protocolUsed.mapping != .chipAuthentication {
            result.checks.chipAuthentication = .notChecked("the card has no DG14")
        }
        // Active Authentication with the key in DG15.
        if pending.contains(.dataGroup(15)) {
            try read(.dataGroup(15))
            result.checks.activeAuthentication = try activeAuthentication(
                dg15: result.files[.dataGroup(15)], dg14: result.files[.dataGroup(14)], options: options)
        } else {
            result.checks.activeAuthentication = .notChecked("the card has no DG15")
        }
        for group in pending { try read(group) }
        result.files[.sod] = try readChecked(.sod)
        result.accessControl = accessControl
        result.apduCount = meter.apduCount
        result.bytesSent = meter.bytesSent
        result.bytesReceived = meter.bytesReceived
        return result
    }

    /// The CA verdict, or nil when the proof is the next protected exchange (ICAO style, no token).
    private func chipAuthentication(dg14 bytes: [UInt8]?, options: ReadOptions, reauthenticate: (() throws -> Void)?)
        throws -> Verdict?
    {
        guard let bytes, let dg14 = try? DataGroup14(bytes: bytes) else {
            return .failed("DG14 cannot be read")
        }
        let infos = dg14.securityInfos
        if let pace = paceResult, pace.protocolUsed.mapping == .chipAuthentication, let parameters = paceParameters {
            guard let key = infos.chipAuthenticationPublicKeys.first.flatMap({ try? $0.publicKey() }) else {
                return .failed("PACE-CAM: DG14 holds no Chip Authentication key to check against")
            }
            return PACE.verifyCAM(pace, parameters: parameters, chipStaticKey: key.key)
                ? .passed("PACE-CAM: the chip proved its key from DG14")
                : .failed("PACE-CAM: the chip's proof does not match DG14 (possible clone)")
        }
        guard options.chipAuthentication else { return .notChecked("Chip Authentication not asked for") }
        guard let info = infos.chipAuthenticationInfos.first, let proto = info.chipAuthenticationProtocol else {
            return .notChecked("DG14 offers no Chip Authentication protocol this reader supports")
        }
        guard
            let keyInfo = infos.chipAuthenticationPublicKeys.first(where: {
                info.keyID == nil || $0.keyID == info.keyID
            }),
            let (parameters, key) = try? keyInfo.publicKey()
        else {
            return .failed("DG14 holds no readable Chip Authentication public key")
        }
        guard let transport = secureTransport else { return .notChecked("no secure messaging channel") }
        do {
            let proof = try ChipAuthentication.authenticate(
                transport, protocol: proto, parameters: parameters, chipPublicKey: key, keyID: keyInfo.keyID,
                random: random)
            if proof == .token { return .passed("\(proto): the chip's token verified") }
            // ICAO style: the chip proves the key by answering the next protected command (the next file read).
            return nil
        } catch let error as TransportError {
            throw ReaderError.wrap(error, doing: "Chip Authentication")
        } catch let error as ReaderError where error.code == .secureMessaging {
            try reauthenticate?()
            return .failed("\(proto): secure messaging broke during Chip Authentication (possible clone)")
        } catch let error as AccessControlError where error.code == .chipNotAuthenticated {
            try reauthenticate?()
            return .failed(error.reason)
        } catch let error as AccessControlError {
            try reauthenticate?()
            return .failed("Chip Authentication refused: \(error)")
        }
    }

    private func activeAuthentication(dg15 bytes: [UInt8]?, dg14: [UInt8]?, options: ReadOptions) throws -> Verdict {
        guard options.activeAuthentication else { return .notChecked("Active Authentication not asked for") }
        guard let bytes, let key = try? DataGroup15(bytes: bytes).publicKey() else {
            return .failed("DG15 holds no readable public key")
        }
        let hash = dg14.flatMap { try? DataGroup14(bytes: $0) }?.securityInfos.activeAuthenticationInfo?.hash
        do {
            let ok = try ActiveAuthentication.authenticate(channel, publicKey: key, ecdsaHash: hash, random: random)
            return ok
                ? .passed("the chip signed the challenge with the key of DG15")
                : .failed("the chip's signature does not verify with DG15 (possible clone)")
        } catch let error as TransportError {
            throw ReaderError.wrap(error, doing: "Active Authentication")
        } catch let error as SecureMessagingError {
            throw ReaderError.wrap(error, doing: "Active Authentication")
        } catch {
            return .failed("Active Authentication failed: \(error)")
        }
    }
}

/// One verdict per check of a read.
public struct ReadChecks: Sendable, Hashable {
    public var passiveAuthentication = Verdict.notChecked("not verified")
    public var chipAuthentication = Verdict.notChecked("not performed")
    public var activeAuthentication = Verdict.notChecked("not performed")
    public var documentValidity = Verdict.notChecked("not verified")
    public var recordConsistency = Verdict.notChecked("not verified")
    public init() {}
}

/// The raw files a read brought back and what it cost on the wire.
public struct ReadResult: Sendable {
    public var files: [LDSFile: [UInt8]] = [:]
    /// Files listed but not read, with the reason.
    public var skipped: [LDSFile: String] = [:]
    public var accessControl: String?
    public var checks = ReadChecks()
    /// Passive Authentication in detail (hashes, signature, chain, validity, revocation).
    public var passiveAuthentication: PassiveAuthentication.Result?
    /// Fallbacks and other departures from the plan.
    public var notes: [String] = []
    public var apduCount = 0
    public var bytesSent = 0
    public var bytesReceived = 0
}
