import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS
import Personalization

/// Extended Access Control: CV certificates as chip and terminal parse them, and the chip's Terminal
/// Authentication commands after PACE and Chip Authentication.
enum EACTargets {
    static let all: [FuzzTarget] = [cvCertificate, terminalAuthentication]

    /// The BSI worked example's certificates and a TEST chain of this toolchain.
    static func certificateSeeds() -> [[UInt8]] {
        let published = SeedMaterial.vectorValues(named: {
            ["ECDH_CVCA", "ECDH_DV", "ECDH_AT", "DH_CVCA"].contains($0.uppercased())
        })
        return published + [world.pki.cvca, world.pki.documentVerifier, world.pki.inspectionSystem].map(\.certificate.encoded)
    }

    static let cvCertificate = FuzzTarget(
        name: "cv-certificate",
        summary: "CV certificates (EAC1 profile): every field, the public key as OpenSSL takes it, the signature; round trip",
        seeds: certificateSeeds
    ) { input in
        FuzzOutcome.of {
            let certificate = try CVCertificate(bytes: input)
            let again = try CVCertificate(bytes: certificate.encoded)
            guard again == certificate else { roundTripFailed("CV certificate re-encoding") }
            // What a chip or a terminal does with one: its key (inheriting a curve), a self-signature check.
            let curve = certificate.publicKey.curve(inheriting: .brainpoolP256r1)
            _ = try? certificate.publicKey.asymmetricKey(curve: curve)
            _ = certificate.isSigned(by: certificate.publicKey, curve: curve)
            _ = (certificate.authorization.rights, certificate.authorization.role, certificate.isCVCA)
        }
    }

    /// A card of vn-cccd-2021 (DG3 behind EAC) in the emulator, its TEST EAC PKI, made once per process.
    final class World: @unchecked Sendable {
        let pki: EACTestPKI
        let chip: EmulatedChip
        let random = EmulatorTargets.Replayable()
        let cvca: CVCertificate

        init() {
            do {
                let issuer = try TestPKI()
                guard let eac = issuer.eac else { fatalError("the TEST PKI has no EAC chain") }
                pki = eac
                cvca = eac.cvca.certificate
                let image = try DataPreparation.prepare(try SampleRecord.record, signer: issuer.signer)
                chip = try EmulatedChip(image: image, random: random)
            } catch {
                fatalError("the EAC fuzz card cannot be made: \(error)")
            }
        }
    }
    static let world = World()

    /// The commands of a whole Terminal Authentication, as the terminal sends them (without the signature, which
    /// depends on the session), for the seeds.
    static func chainCommands() -> [CommandAPDU] {
        let p = world.pki
        var out: [CommandAPDU] = []
        for c in [p.documentVerifier.certificate, p.inspectionSystem.certificate] {
            out.append(TerminalAuthentication.setVerificationKey(c.authorityReference))
            out.append(TerminalAuthentication.verifyCertificate(c))
        }
        out.append(TerminalAuthentication.setAuthenticationTemplate(p.inspectionSystem.certificate.holderReference))
        out.append(TerminalAuthentication.getChallenge)
        out.append(CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: [UInt8](repeating: 0x5A, count: 64)))
        out.append(CommandAPDU(ins: 0xB0, p1: 0x83, p2: 0, ne: 256))  // DG3 by SFI
        return out
    }

    /// Input: a mode byte, then commands as `control, two-byte length, bytes`. After PACE with the
    /// CAN and Chip Authentication (mode bit 0; else plain commands), mode bits 1–2 send the first 0–3 certificates
    /// of the valid chain first, and bit 3 a valid signature after the input's commands (when the input left the
    /// chip waiting for one). Every command goes through the session; its answer is unwrapped by the terminal.
    static let terminalAuthentication = FuzzTarget(
        name: "ta-commands",
        summary: "the emulated vn-cccd-2021 chip's Terminal Authentication after PACE and CA: random and valid chains, challenges, signatures, reads of DG3",
        seeds: {
            let chain = chainCommands()
            func input(mode: UInt8, _ commands: [CommandAPDU]) -> [UInt8] {
                var bytes = [mode]
                for c in commands {
                    let encoded = c.encoded()
                    bytes += [1, UInt8(encoded.count >> 8), UInt8(encoded.count & 0xFF)] + encoded
                }
                return bytes
            }
            return [
                input(mode: 0x01, chain), input(mode: 0x07, Array(chain.suffix(2))), input(mode: 0x0F, []),
                input(mode: 0x03, Array(chain.dropFirst(2))), input(mode: 0x00, chain),
            ]
        }
    ) { input in
        var stream = FuzzInput(input)
        let mode = stream.byte()
        let w = world
        w.random.restart(UInt64(mode) &+ 0x7A)
        w.chip.reset()
        var session: SecureMessaging? = nil
        var terminalKey: [UInt8]? = nil
        var chipIdentifier: [UInt8] = []
        if mode & 1 != 0 {
            do {
                let cardAccess = try SecurityInfos(derEncoded: w.chip.image.content(of: .cardAccess) ?? [])
                guard let info = cardAccess.paceInfos.first, let proto = info.paceProtocol,
                    let parameters = info.domainParameters
                else { fatalError("the fuzz card offers no PACE") }
                _ = try w.chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: VietnameseCard.applicationID))
                let pace = try PACE.authenticate(
                    w.chip, protocol: proto, parameters: parameters, parameterID: info.parameterID,
                    password: .can(w.chip.image.secrets.can ?? ""), random: w.random)
                chipIdentifier = TerminalAuthentication.compressed(
                    pace.chipEphemeralPublicKey, agreement: parameters.agreement)
                let transport = SecureMessagingTransport(w.chip, session: pace.session)
                let dg14 = try DataGroup14(bytes: w.chip.image.content(of: .dataGroup(14)) ?? [])
                guard let caInfo = dg14.securityInfos.chipAuthenticationInfos.first,
                    let caProto = caInfo.chipAuthenticationProtocol,
                    let keyInfo = dg14.securityInfos.chipAuthenticationPublicKeys.first
                else { fatalError("the fuzz card offers no Chip Authentication") }
                let (caParameters, caKey) = try keyInfo.publicKey()
                _ = try ChipAuthentication.authenticate(
                    transport, protocol: caProto, parameters: caParameters, chipPublicKey: caKey, random: w.random,
                    ephemeralKey: { terminalKey = TerminalAuthentication.compressed($0, agreement: caParameters.agreement) })
                session = pace.session
            } catch {
                fatalError("PACE and CA with the fuzz card's own keys failed: \(error)")
            }
        }
        func send(_ command: CommandAPDU) throws -> ResponseAPDU {
            guard let sm = session, !sm.isEnded else { return try w.chip.transmit(command) }
            return try sm.unprotect(try w.chip.transmit(try sm.protect(command)))
        }
        var successes = 0
        // The valid chain's first certificates, when the mode asks.
        let prefix = Int(mode >> 1 & 0x03)
        let chain = chainCommands()
        for command in chain.prefix(min(prefix, 2) * 2) {
            if (try? send(command))?.statusWord == .success { successes += 1 }
        }
        var count = 0
        var lastChallenge: [UInt8]? = nil
        while !stream.isEmpty, count < EmulatorTargets.maximumCommands {
            count += 1
            let control = stream.byte()
            let bytes = stream.longChunk()  // a certificate does not fit 255 bytes
            if control & 2 != 0 { w.chip.reset() }
            guard let command = try? CommandAPDU(bytes: bytes) else {
                _ = try? w.chip.process(bytes)
                continue
            }
            guard let response = try? (control & 1 != 0 ? send(command) : w.chip.transmit(command)) else { continue }
            if response.statusWord == .success { successes += 1 }
            if command.ins == 0x84, response.data.count == 8 { lastChallenge = response.data }
        }
        // A valid signature over this session's challenge, when one is pending.
        if mode & 8 != 0, let r = lastChallenge, let terminalKey, let key = w.pki.inspectionSystem.key {
            let message = TerminalAuthentication.signedData(chipIdentifier: chipIdentifier, challenge: r, terminalKey: terminalKey)
            if let signature = try? w.pki.inspectionSystem.certificate.publicKey.algorithm.sign(message, with: key),
                (try? send(CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: signature)))?.statusWord == .success
            {
                successes += 1
            }
        }
        return successes > 0 ? .accepted : .rejected("no command answered 9000")
    }
}
