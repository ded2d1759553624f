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

    /// The largest file this session reads (a card announcing more is refused before any byte of it is asked
    /// for): `ReadOptions.defaultMaxFileSize` unless the read's options say otherwise.
    public var maxFileSize = ReadOptions.defaultMaxFileSize

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

    // Tolerances learnt from this chip; they outlive a channel, so a re-opened card is read the way that works.
    /// The chip refuses READ BINARY by short file identifier: each file is selected by its identifier first.
    public private(set) var selectsFilesByIdentifier = false
    /// The chip will not read past the end of a file: each file's header is read first, then exactly the rest.
    public private(set) var readsHeaderFirst = false
    /// Whether this chip counts its plain status answers in the SSC (found out when a channel breaks right after
    /// one: the card is opened again with the other rule).
    public private(set) var plainAnswersCountInSSC = true
    /// Plain status answers and answers without DO'99' in channels already closed.
    private var retiredPlainAnswers = 0
    private var retiredAnswersWithoutStatus = 0

    /// A note for the report, once.
    private func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Adds the counts of a channel that ends to the session's.
    private func retire(_ session: SecureMessaging?) {
        guard let session else { return }
        retiredPlainAnswers += session.plainAnswers
        retiredAnswersWithoutStatus += session.answersWithoutStatusObject
    }

    /// Notes for what the chip's secure messaging needed tolerated (no data is ever accepted without a MAC).
    private func secureMessagingNotes() {
        let plain = retiredPlainAnswers + (secureMessaging?.plainAnswers ?? 0)
        let withoutStatus = retiredAnswersWithoutStatus + (secureMessaging?.answersWithoutStatusObject ?? 0)
        if plain > 0 {
            note(
                "the chip answered \(plain) error or warning status\(plain == 1 ? "" : "es") without secure messaging "
                    + "(taken as status only; \(plainAnswersCountInSSC ? "counted" : "not counted") in the SSC, as this chip does)"
            )
        }
        if withoutStatus > 0 {
            note(
                "the chip sent \(withoutStatus) protected answer\(withoutStatus == 1 ? "" : "s") without DO'99' "
                    + "(the MAC covers the data; the status came from the trailer)")
        }
    }

    private func open(_ session: SecureMessaging) {
        retire(secureMessaging)
        session.countsPlainAnswers = plainAnswersCountInSSC
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
        retire(secureMessaging)
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
            // A short Le: EF.CardAccess is small, and a chip's limits are learnt under secure messaging.
            bytes = try readFile(.cardAccess, firstReadLimit: 256)
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
    ///
    /// The first READ BINARY asks for the most the channel allows (one round trip for most files on a good chip).
    /// Chips that refuse that, or refuse short file identifiers, are read the way they allow, learnt once per
    /// session: SELECT by identifier, then the header, then exactly the remaining length. Nothing is ever asked
    /// beyond a length already known.
    public func readFile(_ file: LDSFile) throws -> [UInt8] {
        try readFile(file, firstReadLimit: nil)
    }

    private func readFile(_ file: LDSFile, firstReadLimit: Int?) throws -> [UInt8] {
        let what = "reading \(file.name)"
        var data = try firstChunk(of: file, limit: firstReadLimit, doing: what)
        guard !data.isEmpty else { return data }
        let total = try totalLength(of: data, file: file)
        while data.count < total {
            let want = min(workingLe, total - data.count)
            let chunk: [UInt8]
            do {
                chunk = try readChunk(file: file, offset: data.count, length: want, bySFI: false, doing: what)
            } catch let refusal as ChunkRefusal {
                throw refusal.readerError(file: file, offset: data.count, doing: what)
            }
            guard !chunk.isEmpty else {
                throw ReaderError(
                    code: .malformedData, reason: "\(file.name) ends after \(data.count) of \(total) bytes")
            }
            if chunk.count < want { workingLe = chunk.count }  // the chip's own limit: remember it
            data += chunk
        }
        return data.count > total ? Array(data.prefix(total)) : data
    }

    /// Enough for any LDS file's header: a tag of up to 2 bytes and a length of up to 5.
    static let headerLength = 8

    /// The first chunk of a file, by short file identifier unless the chip refuses those (then SELECT), at the
    /// largest Le unless the chip refuses to read past the end (then the header alone).
    private func firstChunk(of file: LDSFile, limit: Int?, doing what: String) throws -> [UInt8] {
        var bySFI = !selectsFilesByIdentifier
        if !bySFI { try selectFile(file, doing: what) }
        // On a chip that refuses to read past the end, a file shorter than the usual header read is asked for in
        // less: 8 bytes hold any LDS header, 4 a long-form length up to 64 KiB, 2 a short-form one.
        var headerLength = Self.headerLength
        while true {
            do {
                return try readChunk(
                    file: file, offset: 0,
                    length: readsHeaderFirst ? min(headerLength, workingLe) : min(workingLe, limit ?? workingLe),
                    bySFI: bySFI, doing: what)
            } catch let refusal as ChunkRefusal {
                switch refusal {
                case .shortFileIDRefused(let sw) where bySFI:
                    // Either the chip has no short identifiers or the file is missing: SELECT tells which.
                    try selectFile(file, doing: what)
                    bySFI = false
                    if !selectsFilesByIdentifier {
                        selectsFilesByIdentifier = true
                        note(
                            "the chip refuses READ BINARY by short file identifier (\(sw.hex)); files were selected by identifier"
                        )
                    }
                case .pastEnd(let sw) where !readsHeaderFirst:
                    readsHeaderFirst = true
                    note(
                        "the chip will not read past the end of a file (\(sw.hex)); each file's header was read first, then exactly the rest"
                    )
                case .pastEnd where readsHeaderFirst && headerLength > 2:
                    headerLength /= 2
                default:
                    throw refusal.readerError(file: file, offset: 0, doing: what)
                }
            }
        }
    }

    /// SELECT an elementary file by its identifier (P2 = 0C: no FCI).
    private func selectFile(_ file: LDSFile, doing what: String) throws {
        let response = try send(
            CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [UInt8(file.fileID >> 8), UInt8(file.fileID & 0xFF)]),
            doing: what)
        switch response.statusWord {
        case .success: return
        case .fileNotFound:
            throw ReaderError(
                code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
        case .securityStatusNotSatisfied:
            throw ReaderError(
                code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
        default:
            throw ReaderError(
                code: .protocolError, reason: "\(what): SELECT was answered \(response.statusWord)",
                statusWord: response.statusWord)
        }
    }

    /// How chips without short file identifiers refuse READ BINARY by SFI.
    static let shortFileIDRefusals: Set<StatusWord> = [
        .fileNotFound, .incorrectP1P2, .wrongP1P2, .instructionNotSupported, StatusWord(rawValue: 0x6981),
    ]

    /// A READ BINARY refused in a way the caller may work around.
    enum ChunkRefusal: Error {
        /// Refused by short file identifier (6A82, 6A86, 6B00, 6D00, 6981): the chip has none, or no such file.
        case shortFileIDRefused(StatusWord)
        /// A read asking past the end of the file refused with no data (6282, 6B00, 6700 at a short Le).
        case pastEnd(StatusWord)
        /// Anything else the chip would not do.
        case refused(StatusWord)

        func readerError(file: LDSFile, offset: Int, doing what: String) -> ReaderError {
            switch self {
            case .shortFileIDRefused(let sw) where sw == .fileNotFound:
                return ReaderError(code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: sw)
            case .pastEnd(let sw) where offset > 0:
                return ReaderError(
                    code: .malformedData, reason: "\(file.name): offset \(offset) is past the end", statusWord: sw)
            case .shortFileIDRefused(let sw), .pastEnd(let sw), .refused(let sw):
                return ReaderError(code: .protocolError, reason: "\(what): the chip answered \(sw)", statusWord: sw)
            }
        }
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
                guard offset <= 0xFF_FFFF else {
                    throw ReaderError(code: .malformedData, reason: "\(what): offset \(offset) is past any file")
                }
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
            case .endOfFileWarning where response.data.isEmpty:
                // "End of file" and nothing with it: the chip will not read past the end.
                throw ChunkRefusal.pastEnd(response.statusWord)
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
            case .wrongLength:
                throw ChunkRefusal.pastEnd(response.statusWord)
            case .wrongLe where attempts < 3:
                ne = response.statusWord.exactLe ?? ne
                workingLe = min(workingLe, ne)
            case .securityStatusNotSatisfied:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): access denied", statusWord: response.statusWord)
            case let sw where bySFI && Self.shortFileIDRefusals.contains(sw):
                throw ChunkRefusal.shortFileIDRefused(sw)
            case .fileNotFound:
                throw ReaderError(
                    code: .fileUnreadable, reason: "\(file.name): not on this card", statusWord: response.statusWord)
            case .wrongP1P2:
                throw ChunkRefusal.pastEnd(response.statusWord)
            default:
                throw ChunkRefusal.refused(response.statusWord)
            }
        }
    }

    /// Opens the card with `key`: PACE when EF.CardAccess offers it, BAC otherwise. With `allowBACFallback`, BAC
    /// is tried (and reported) only when PACE itself cannot run for a reason BAC can fix and the key is the MRZ:
    /// never after a wrong password, a pulled card, or a PACE that worked (a missing application then is "no
    /// eMRTD application", not a reason for BAC).
    public func authenticate(_ key: AccessKey, options: ReadOptions = .init()) throws {
        closeSecureMessaging()
        paceResult = nil
        let cardAccess = try readCardAccess()
        if let cardAccess, let choice = Self.choosePACE(cardAccess) {
            do {
                paceResult = try performPACE(key, cardAccess: cardAccess)
                paceParameters = choice.2
            } catch let error as ReaderError {
                guard options.allowBACFallback, !error.endsTheRead, case .mrz = key else { throw error }
                notes.append("PACE failed (\(error)); fell back to BAC as allowed")
            }
            if paceResult != nil {
                // In PACE's channel; a refusal here is the card's answer, not a reason to try BAC.
                try selectApplication()
                return
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
        guard headerLength + length <= maxFileSize else {
            throw ReaderError(
                code: .malformedData,
                reason:
                    "\(file.name) announces \(headerLength + length) bytes, more than the limit of \(maxFileSize) (--max-file-size)"
            )
        }
        return headerLength + length
    }

    private func truncatedHeader(_ file: LDSFile) -> ReaderError {
        ReaderError(code: .malformedData, reason: "\(file.name) starts with a truncated TLV header")
    }

    private var paceResult: PACE.Result?
    private var paceParameters: DomainParameters?
    /// What the read had to do differently (fallbacks), for the report.
    public private(set) var notes: [String] = []

    /// The whole read: access control, EF.COM, DG14 then Chip Authentication, DG15 then Active Authentication,
    /// then every other data group EF.COM lists (DG3/DG4 need Terminal Authentication and are skipped without
    /// an APDU) and EF.SOD.
    public func readCard(_ key: AccessKey, options: ReadOptions = .init()) throws -> ReadResult {
        maxFileSize = options.maxFileSize
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

    /// Reads the files after access control (see `readCard`). `reauthenticate` re-opens the card when the secure
    /// channel broke (a clone failing Chip Authentication, a garbled answer).
    ///
    /// What is read is what EF.SOD signs: EF.COM is not signed, so its list is only a hint (a mismatch is a
    /// note), and every data group EF.SOD lists is read, or recorded as skipped with a reason (Terminal
    /// Authentication needed, not asked for) or as unreadable. From here on the read ends in verdicts: a file that
    /// cannot be read or parsed fails its own check; only a card that leaves, a reader that goes or a refused key
    /// end it with an error.
    public func readAll(reauthenticate: (() throws -> Void)? = nil, options: ReadOptions = .init()) throws -> ReadResult
    {
        var result = ReadResult(accessControl: accessControl)
        result.usedChipAuthenticationMapping = paceResult?.protocolUsed.mapping == .chipAuthentication
        var recoveries = 0
        /// Set once the channel is gone for good: every later file is unreadable for this reason.
        var channelBroken: String? = nil
        /// Set while Chip Authentication waits for the chip to answer under the new keys.
        var chipAuthenticationPending: String? = nil

        /// Re-opens the card after the secure channel broke (at most twice a read).
        func recover(after error: ReaderError) throws {
            guard let reauthenticate, recoveries < 2 else {
                channelBroken = "not read: the secure channel broke (\(error))"
                return
            }
            recoveries += 1
            do {
                try reauthenticate()
                notes.append("the secure channel broke (\(error)); the card was opened again")
            } catch let again as ReaderError where !again.endsTheRead {
                channelBroken = "not read: the secure channel broke and the card could not be opened again (\(again))"
            }
        }
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
        /// Reads one file into `result.files`; a failure that leaves the card usable becomes an `unreadable`
        /// entry (absent files are not entries when `probing`).
        @discardableResult
        func attempt(_ file: LDSFile, probing: Bool = false) throws -> [UInt8]? {
            if let channelBroken {
                result.unreadable[file] = channelBroken
                return nil
            }
            do {
                let bytes = try readChecked(file)
                result.files[file] = bytes
                return bytes
            } catch let error as ReaderError {
                if error.endsTheRead { throw error }
                if error.code == .secureMessaging, secureMessaging?.failedAfterPlainAnswer == true,
                    plainAnswersCountInSSC, let reauthenticate, recoveries < 2
                {
                    // The channel broke right after a plain status answer: this chip does not count those in
                    // its SSC. Open the card again with that rule and read the file again.
                    plainAnswersCountInSSC = false
                    recoveries += 1
                    note("the chip does not count its plain status answers in the SSC; the card was opened again")
                    do {
                        try reauthenticate()
                    } catch let again as ReaderError where !again.endsTheRead {
                        channelBroken =
                            "not read: the secure channel broke and the card could not be opened again (\(again))"
                        result.unreadable[file] = channelBroken
                        return nil
                    }
                    return try attempt(file, probing: probing)
                }
                if probing && error.code == .fileUnreadable { return nil }
                result.unreadable[file] = error.description
                if error.statusWord == .fileNotFound { result.absent.insert(file) }
                if error.code == .secureMessaging { try recover(after: error) }
                return nil
            }
        }

        // EF.COM: a hint only (it is not signed).
        var comGroups: Set<Int>? = nil
        if let bytes = try attempt(.com) {
            do {
                comGroups = Set(try EFCOM(bytes: bytes).dataGroups.compactMap(\.dataGroupNumber))
            } catch {
                notes.append("EF.COM cannot be parsed (\(error)); the data groups were taken from EF.SOD")
            }
        }
        // EF.SOD: the signed list of data groups.
        var sodGroups: Set<Int>? = nil
        if let bytes = try attempt(.sod) {
            sodGroups = (try? SecurityObjectDocument(bytes: bytes).securityObject()).map {
                Set($0.dataGroupHashes.keys)
            }
        }
        result.securityObjectGroups = sodGroups
        let listed: Set<Int>
        var probing = false
        if let sodGroups {
            listed = sodGroups
            if let comGroups, comGroups != sodGroups {
                func names(_ set: Set<Int>) -> String {
                    set.isEmpty ? "none" : set.sorted().map { "DG\($0)" }.joined(separator: ", ")
                }
                let unsigned = comGroups.subtracting(sodGroups)
                let hidden = sodGroups.subtracting(comGroups)
                var parts: [String] = []
                if !hidden.isEmpty { parts.append("EF.SOD signs \(names(hidden)), which EF.COM does not list (read)") }
                if !unsigned.isEmpty {
                    parts.append("EF.COM lists \(names(unsigned)), which EF.SOD does not sign (not read)")
                }
                notes.append("EF.COM and EF.SOD disagree: " + parts.joined(separator: "; "))
            }
        } else if let comGroups {
            listed = comGroups
            notes.append("EF.SOD lists no data groups; those EF.COM lists were read")
        } else {
            listed = Set(1...16)
            probing = true
            notes.append("neither EF.SOD nor EF.COM lists the data groups; the standard ones were probed")
        }
        var pending = listed.sorted().filter { n in (options.dataGroups?.contains(n) ?? true) || n == 14 || n == 15 }
        for n in listed where !pending.contains(n) && !probing {
            result.skipped[.dataGroup(n)] = "not asked for (this read was limited to other data groups)"
        }
        func read(_ n: Int) throws {
            pending.removeAll { $0 == n }
            let file = LDSFile.dataGroup(n)
            if file.needsTerminalAuthentication {
                if !probing { result.skipped[file] = "needs Terminal Authentication (EAC)" }
                return
            }
            try attempt(file, probing: probing)
        }
        /// Why a listed file is not there (for a verdict), or nil when the card simply has none.
        func missing(_ n: Int) -> String? {
            result.unreadable[.dataGroup(n)] ?? (listed.contains(n) && !probing ? "listed but not read" : nil)
        }

        // Chip Authentication with the key in DG14 (also the check of PACE-CAM).
        if pending.contains(14) { try read(14) }
        // DG14 is parsed once: Chip Authentication and the AA hash both come from it.
        var dg14: DataGroup14? = nil
        if let bytes = result.files[.dataGroup(14)] {
            do {
                let parsed = try DataGroup14(bytes: bytes)
                dg14 = parsed
                if let verdict = try chipAuthentication(dg14: parsed, options: options, reauthenticate: recover) {
                    result.checks.chipAuthentication = verdict
                } else {
                    chipAuthenticationPending = parsed.caProtocolName
                }
            } catch let error as LDSError {
                result.checks.chipAuthentication = .failed("DG14 cannot be parsed: \(error)")
            }
        } else if let why = missing(14) {
            result.checks.chipAuthentication = .failed(
                (result.usedChipAuthenticationMapping ? "PACE-CAM cannot be checked: " : "")
                    + "DG14 is listed in EF.SOD but cannot be read: \(why)")
        } else if result.usedChipAuthenticationMapping {
            result.checks.chipAuthentication = .failed("PACE-CAM: the card has no DG14 to check the chip's key against")
        } else {
            result.checks.chipAuthentication = .notChecked("the card has no DG14")
        }
        // Active Authentication with the key in DG15.
        if pending.contains(15) { try read(15) }
        if let dg15 = result.files[.dataGroup(15)] {
            result.checks.activeAuthentication = try activeAuthentication(
                dg15: dg15, dg14: dg14, options: options, recover: recover)
        } else if let why = missing(15) {
            result.checks.activeAuthentication = .failed("DG15 is listed in EF.SOD but cannot be read: \(why)")
        } else {
            result.checks.activeAuthentication = .notChecked("the card has no DG15")
        }
        for n in pending { try read(n) }
        if chipAuthenticationPending != nil, channelBroken == nil {
            // Nothing was left to read: one more protected read proves (or disproves) the chip's key.
            do { _ = try readChecked(.com) } catch let error as ReaderError where !error.endsTheRead {}
        }
        secureMessagingNotes()
        result.accessControl = accessControl
        result.apduCount = meter.apduCount
        result.bytesSent = meter.bytesSent
        result.bytesReceived = meter.bytesReceived
        return result
    }

    /// The CA verdict, or nil when the proof is the next protected exchange (ICAO style, no token).
    private func chipAuthentication(
        dg14: DataGroup14, options: ReadOptions, reauthenticate: (ReaderError) throws -> Void
    ) throws -> Verdict? {
        let infos = dg14.securityInfos
        if let pace = paceResult, pace.protocolUsed.mapping == .chipAuthentication, let parameters = paceParameters {
            guard let keyInfo = infos.chipAuthenticationPublicKeys.first else {
                return .failed("PACE-CAM: DG14 holds no Chip Authentication key to check against")
            }
            let key: (parameters: DomainParameters, key: [UInt8])
            do { key = try keyInfo.publicKey() } catch {
                return .failed("PACE-CAM: the key in DG14 is unusable: \(error)")
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
            })
        else {
            return .failed("DG14 holds no Chip Authentication public key")
        }
        let parameters: DomainParameters
        let key: [UInt8]
        do { (parameters, key) = try keyInfo.publicKey() } catch {
            return .failed("the Chip Authentication key in DG14 is unusable: \(error)")
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
            try reauthenticate(error)
            return .failed("\(proto): secure messaging broke during Chip Authentication (possible clone)")
        } catch let error as AccessControlError where error.code == .chipNotAuthenticated {
            try reauthenticate(ReaderError(code: .secureMessaging, reason: error.reason))
            return .failed(error.reason)
        } catch let error as AccessControlError {
            try reauthenticate(ReaderError(code: .secureMessaging, reason: "Chip Authentication refused"))
            return .failed("Chip Authentication refused: \(error)")
        } catch {
            try reauthenticate(ReaderError(code: .secureMessaging, reason: "Chip Authentication could not run"))
            return .failed("Chip Authentication could not run: \(error)")
        }
    }

    private func activeAuthentication(
        dg15 bytes: [UInt8], dg14: DataGroup14?, options: ReadOptions, recover: (ReaderError) throws -> Void
    ) throws -> Verdict {
        guard options.activeAuthentication else { return .notChecked("Active Authentication not asked for") }
        let key: AsymmetricKey
        do { key = try DataGroup15(bytes: bytes).publicKey() } catch {
            return .failed("DG15 holds no usable public key: \(error)")
        }
        let hash = dg14?.securityInfos.activeAuthenticationInfo?.hash
        do {
            let ok = try ActiveAuthentication.authenticate(channel, publicKey: key, ecdsaHash: hash, random: random)
            return ok
                ? .passed("the chip signed the challenge with the key of DG15")
                : .failed("the chip's signature does not verify with DG15 (possible clone)")
        } catch let error as TransportError {
            throw ReaderError.wrap(error, doing: "Active Authentication")
        } catch let error as SecureMessagingError {
            let wrapped = ReaderError.wrap(error, doing: "Active Authentication")
            try recover(wrapped)
            return .failed("Active Authentication broke the secure channel: \(error) (possible clone)")
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
    /// Files listed but deliberately not read, with the reason (Terminal Authentication needed, not asked for).
    public var skipped: [LDSFile: String] = [:]
    /// Files that should have been read but could not be (absent, refused, malformed, broken channel), with the
    /// reason.
    public var unreadable: [LDSFile: String] = [:]
    /// Files the chip says it does not have (6A82); each is in `unreadable` too.
    public var absent: Set<LDSFile> = []
    /// The data groups EF.SOD lists (signs), or nil when EF.SOD could not be read.
    public var securityObjectGroups: Set<Int>?
    /// PACE ran with the Chip Authentication mapping (so the chip's key must be proven against DG14).
    public var usedChipAuthenticationMapping = false
    /// The document's expiry from DG1 (nil: no expiry, or DG1 not read).
    public var dateOfExpiry: CalendarDate?
    /// The two answers a desk needs, decided in one place (`Assessment`).
    public var assessment = Assessment.unassessed
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
