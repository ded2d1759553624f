import CardCore
import CardCrypto
import ChipAccess
import EAC
import LDS
import Verification

// Chip Authentication and Active Authentication: the chip is not a clone.
extension ReaderSession {
    /// The CA verdict, or nil when the proof is the next protected exchange (ICAO style, no token).
    /// A secure-messaging failure during the exchange (a garbled answer) re-opens the card and runs it once more:
    /// a chip whose exchange breaks twice fails the check.
    func chipAuthentication(
        dg14: DataGroup14, options: ReadOptions, reauthenticate: (ReaderError) throws -> Void, retried: Bool = false
    ) throws -> Verdict? {
        report(.chipAuthentication)
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
            var ephemeral: [UInt8]? = nil
            let proof = try ChipAuthentication.authenticate(
                transport, protocol: proto, parameters: parameters, chipPublicKey: key, keyID: keyInfo.keyID,
                random: random, ephemeralKey: { ephemeral = $0 })
            chipAuthenticationTerminalKey = ephemeral.map {
                TerminalAuthentication.compressed($0, agreement: parameters.agreement)
            }
            if proof == .token { return .passed("\(proto): the chip's token verified") }
            // ICAO style: the chip proves the key by answering the next protected command (the next file read).
            return nil
        } catch let error as TransportError {
            throw ReaderError.wrap(error, doing: "Chip Authentication")
        } catch let error where error is SecureMessagingError || (error as? ReaderError)?.code == .secureMessaging {
            // A garbled answer during the exchange: open the card again and run it once more.
            try reauthenticate(ReaderError.wrap(error, doing: "Chip Authentication"))
            if !retried {
                return try chipAuthentication(
                    dg14: dg14, options: options, reauthenticate: reauthenticate, retried: true)
            }
            return .failed("\(proto): secure messaging broke during Chip Authentication, twice (possible clone)")
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

    /// As Chip Authentication: a secure-messaging failure re-opens the card and challenges the chip once more.
    func activeAuthentication(
        dg15 bytes: [UInt8], dg14: DataGroup14?, options: ReadOptions, recover: (ReaderError) throws -> Void,
        retried: Bool = false
    ) throws -> Verdict {
        guard options.activeAuthentication else { return .notChecked("Active Authentication not asked for") }
        report(.activeAuthentication)
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
            if !retried {
                return try activeAuthentication(
                    dg15: bytes, dg14: dg14, options: options, recover: recover, retried: true)
            }
            return .failed("Active Authentication broke the secure channel twice: \(error) (possible clone)")
        } catch {
            return .failed("Active Authentication failed: \(error)")
        }
    }

    /// Terminal Authentication after Chip Authentication (EAC1): the verdict and what the chip granted.
    func runTerminalAuthentication(
        _ terminal: TerminalCredentials, chipAuthentication: Verdict, channelBroken: String?,
        recover: (ReaderError) throws -> Void
    ) throws -> (verdict: Verdict, rights: CVAuthorization.Rights?) {
        guard chipAuthentication.status == .passed else {
            return (.notChecked("it runs after Chip Authentication, which did not pass: \(chipAuthentication.reason)"), nil)
        }
        if let channelBroken { return (.notChecked("the secure channel is gone: \(channelBroken)"), nil) }
        guard let transport = secureTransport, let terminalKey = chipAuthenticationTerminalKey else {
            return (
                .notChecked(
                    paceResult?.protocolUsed.mapping == .chipAuthentication
                        ? "after PACE-CAM this reader does not run Terminal Authentication (EAC1 needs Chip Authentication)"
                        : "the card was opened again after Chip Authentication"), nil
            )
        }
        let chipIdentifier: [UInt8]
        if let pace = paceResult, let parameters = paceParameters, !pace.chipEphemeralPublicKey.isEmpty {
            chipIdentifier = TerminalAuthentication.compressed(
                pace.chipEphemeralPublicKey, agreement: parameters.agreement)
        } else if let number = bacDocumentNumber {
            chipIdentifier = TerminalAuthentication.chipIdentifier(documentNumber: number)
        } else {
            return (.notChecked("no access control identifies the chip (ID_PICC)"), nil)
        }
        let chain = terminal.chain.map(\.holderReference.value).joined(separator: " → ")
        do {
            let rights = try TerminalAuthentication.authenticate(
                transport, chain: terminal.chain, key: terminal.key, chipIdentifier: chipIdentifier,
                terminalKey: terminalKey)
            return (.passed("the chip accepted \(chain) and the inspection system's signature; it grants: \(rights)"), rights)
        } catch let error as TerminalAuthenticationError {
            return (.failed(error.reason), nil)
        } catch let error as TransportError {
            throw ReaderError.wrap(error, doing: "Terminal Authentication")
        } catch {
            // The channel broke: open the card again (the files behind TA stay closed).
            try recover(ReaderError.wrap(error, doing: "Terminal Authentication"))
            return (.failed("the secure channel broke during Terminal Authentication: \(error)"), nil)
        }
    }
}
