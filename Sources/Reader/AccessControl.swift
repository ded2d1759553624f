import CardCore
import CardCrypto
import ChipAccess
import LDS

// Access control: the application, BAC, PACE, and the choice between them.
extension ReaderSession {
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
        report(.accessControl("BAC"))
        do {
            let session = try BAC.authenticate(meter, key: key, random: random)
            open(session)
            accessControl = "BAC"
            bacDocumentNumber = key.documentNumber
        } catch {
            throw ReaderError.wrap(error, doing: "BAC")
        }
    }

    /// PACE with the protocol and parameters EF.CardAccess offers (tag 84 always sent when known).
    public func performPACE(_ key: AccessKey, cardAccess: SecurityInfos) throws -> PACE.Result {
        report(.accessControl("PACE-\(key.kind)"))
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
    /// SELECT MF, which the CCCD refuses). Nil when the card has none: any refusal of it (6A82, 6986 from a chip
    /// with no current EF, 6985, …) means "no PACE offered", and BAC follows. `bySelect`: SELECT it by its file
    /// identifier instead (the last resort for a key only PACE can use, on a chip without short identifiers).
    public func readCardAccess(bySelect: Bool = false) throws -> SecurityInfos? {
        let bytes: [UInt8]
        let wasSelecting = selectsFilesByIdentifier
        if bySelect { selectsFilesByIdentifier = true }
        do {
            // A short Le: EF.CardAccess is small, and a chip's limits are learnt under secure messaging.
            bytes = try readFile(.cardAccess, firstReadLimit: 256, selectFallback: false)
            if bySelect {
                note("the chip refuses READ BINARY by short file identifier; files were selected by identifier")
            }
        } catch let error as ReaderError where error.code == .fileUnreadable {
            selectsFilesByIdentifier = wasSelecting
            return nil
        } catch let error as ReaderError where error.statusWord != nil && !error.endsTheRead {
            selectsFilesByIdentifier = wasSelecting
            if error.statusWord != .fileNotFound {
                note("EF.CardAccess was refused (\(error.statusWord?.hex ?? "")): the chip offers no PACE")
            }
            return nil
        }
        guard !bytes.isEmpty else { return nil }
        do {
            return try SecurityInfos(derEncoded: bytes)
        } catch {
            throw ReaderError(code: .malformedData, reason: "EF.CardAccess: \(error)")
        }
    }

    /// Opens the card with `key`: PACE when EF.CardAccess offers it, BAC otherwise. With `allowBACFallback`, BAC
    /// is tried (and reported) only when PACE itself cannot run for a reason BAC can fix and the key is the MRZ:
    /// never after a wrong password, a pulled card, or a PACE that worked (a missing application then is "no
    /// eMRTD application", not a reason for BAC).
    public func authenticate(_ key: AccessKey, options: ReadOptions = .init()) throws {
        closeSecureMessaging()
        paceResult = nil
        bacDocumentNumber = nil
        chipAuthenticationTerminalKey = nil
        var cardAccess = try readCardAccess()
        if cardAccess == nil, key.kind != "MRZ" {
            // Only PACE can use this key: before giving up, SELECT EF.CardAccess (a chip without short file
            // identifiers refuses the read by SFI; ICAO 9303-10 asks for one, so this costs nothing on others).
            cardAccess = try readCardAccess(bySelect: true)
            if cardAccess != nil {
                note("EF.CardAccess was refused by short file identifier and read by SELECT")
            }
        }
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
}
