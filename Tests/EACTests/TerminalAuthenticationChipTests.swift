import CardCore
import CardCrypto
import ChipAccess
import EAC
import Foundation
import Testing

/// The chip's side of Terminal Authentication, command by command: what it grants, what it refuses and with
/// which status word, and what it keeps (its date, its trust points).
@Suite struct TerminalAuthenticationChipTests {
    static let today = try! CVDate(year: 2026, month: 12, day: 4)

    /// A chip that trusts `pki`'s CVCA, with its date `date`.
    func chip(_ pki: EACTestPKI, date: CVDate = today) -> TerminalAuthenticationChip {
        TerminalAuthenticationChip(
            state: TerminalAuthenticationState(trustPoints: [pki.cvca.certificate], currentDate: date))
    }

    func body(_ c: CVCertificate) -> [UInt8] { TerminalAuthentication.verifyCertificate(c).data }
    func reference(_ r: CVReference) -> [UInt8] { TLVWriter.encode(tag: 0x83, value: r.bytes) }

    /// Sends `chain` (each: MSE:Set DST, PSO:Verify Certificate); the status words.
    func present(_ chain: [CVCertificate], to chip: TerminalAuthenticationChip) -> [StatusWord] {
        var out: [StatusWord] = []
        for c in chain {
            let set = chip.setVerificationKey(reference(c.authorityReference))
            out.append(set)
            guard set == .success else { return out }
            out.append(chip.verifyCertificate(body(c)))
        }
        return out
    }

    /// The whole protocol after the chain: MSE:Set AT, GET CHALLENGE, EXTERNAL AUTHENTICATE with `key`.
    func authenticate(
        _ chip: TerminalAuthenticationChip, terminal: CVCertificate, key: AsymmetricKey, idPICC: [UInt8] = [1, 2, 3],
        terminalKey: [UInt8] = [9, 9, 9], signedOver: [UInt8]? = nil
    ) throws -> StatusWord {
        let set = chip.setAuthenticationTemplate(reference(terminal.holderReference))
        guard set == .success else { return set }
        let r = try #require(chip.getChallenge())
        let message =
            signedOver ?? TerminalAuthentication.signedData(chipIdentifier: idPICC, challenge: r, terminalKey: terminalKey)
        let signature = try terminal.publicKey.algorithm.sign(message, with: key)
        return chip.externalAuthenticate(signature: signature, chipIdentifier: idPICC, terminalKey: terminalKey)
    }

    @Test func aChainFromTheTrustPointGrantsItsRights() throws {
        let pki = try EACTestPKI.make(today: Self.today)
        let c = chip(pki)
        #expect(present([pki.documentVerifier.certificate, pki.inspectionSystem.certificate], to: c).allSatisfy { $0 == .success })
        #expect(c.granted == nil)
        #expect(try authenticate(c, terminal: pki.inspectionSystem.certificate, key: pki.inspectionSystem.key!) == .success)
        #expect(c.granted == .all)
        // A new session forgets it.
        c.reset()
        #expect(c.granted == nil)
        #expect(c.setAuthenticationTemplate(reference(pki.inspectionSystem.certificate.holderReference)) == .referencedDataNotFound)
    }

    @Test func rightsAreTheChainsIntersection() throws {
        // A DV for DG4 only: its inspection system's DG3 right is worth nothing.
        let pki = try EACTestPKI.make(today: Self.today)
        let dvKey = try EACTestPKI.key("brainpoolP256r1")
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00002"), role: .domesticDocumentVerifier, rights: .dataGroup4,
            issuer: pki.cvca, issuerKey: pki.cvca.key!, effective: Self.today, expires: Self.today.adding(days: 30))
        let isKey = try EACTestPKI.key("brainpoolP256r1")
        let terminal = try EACTestPKI.issue(
            subject: isKey, holder: try CVReference("VNIS00002"), role: .inspectionSystem, rights: .all,
            issuer: .init(certificate: dv, key: dvKey), issuerKey: dvKey, effective: Self.today,
            expires: Self.today.adding(days: 30))
        let c = chip(pki)
        #expect(present([dv, terminal], to: c).allSatisfy { $0 == .success })
        #expect(try authenticate(c, terminal: terminal, key: isKey) == .success)
        #expect(c.granted == .dataGroup4)
        #expect(c.granted?.reads(dataGroup: 3) == false)
        #expect(try TerminalCredentials(chain: [dv, terminal], key: isKey).rights == .dataGroup4)
    }

    @Test func theChipsDateMovesForwardOnlyFromAccurateCertificates() throws {
        let pki = try EACTestPKI.make(today: Self.today)
        let later = Self.today.adding(days: 10)
        // A DV made effective ten days later moves the date; an older one does not move it back.
        let dvKey = try EACTestPKI.key("brainpoolP256r1")
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00003"), role: .domesticDocumentVerifier, rights: .all,
            issuer: pki.cvca, issuerKey: pki.cvca.key!, effective: later, expires: later.adding(days: 30))
        let c = chip(pki)
        var changes: [CVDate] = []
        c.onChange = { changes.append($0.currentDate) }
        #expect(present([dv], to: c) == [.success, .success])
        #expect(c.state.currentDate == later)
        #expect(changes == [later])
        // Now the inspection system of the first DV, which expires before the chip's new date, is refused (6984).
        let shortIS = try EACTestPKI.issue(
            subject: try EACTestPKI.key("brainpoolP256r1"), holder: try CVReference("VNIS00003"), role: .inspectionSystem,
            rights: .all, issuer: pki.documentVerifier, issuerKey: pki.documentVerifier.key!, effective: Self.today,
            expires: Self.today.adding(days: 5))
        c.reset()
        #expect(present([pki.documentVerifier.certificate, shortIS], to: c) == [.success, .success, .success, .referenceDataNotUsable])
        #expect(c.state.currentDate == later)
        // A foreign DV's inspection system does not move the date (not an accurate certificate).
        let foreignKey = try EACTestPKI.key("brainpoolP256r1")
        let foreign = try EACTestPKI.issue(
            subject: foreignKey, holder: try CVReference("XXDV00001"), role: .foreignDocumentVerifier, rights: .all,
            issuer: pki.cvca, issuerKey: pki.cvca.key!, effective: later, expires: later.adding(days: 90))
        let farIS = try EACTestPKI.issue(
            subject: try EACTestPKI.key("brainpoolP256r1"), holder: try CVReference("XXIS00001"), role: .inspectionSystem,
            rights: .all, issuer: .init(certificate: foreign, key: foreignKey), issuerKey: foreignKey,
            effective: later.adding(days: 20), expires: later.adding(days: 40))
        c.reset()
        #expect(present([foreign, farIS], to: c).allSatisfy { $0 == .success })
        #expect(c.state.currentDate == later)
    }

    @Test func aLinkCertificateRollsTheTrustPoint() throws {
        let pki = try EACTestPKI.make(today: Self.today)
        let newKey = try EACTestPKI.key("brainpoolP256r1")
        let next = Self.today.adding(days: 100)
        // The new CVCA, signed by the old one's key (a link certificate).
        let link = try EACTestPKI.issue(
            subject: newKey, holder: try CVReference("VNCVCA00002"), role: .cvca, rights: .all, issuer: pki.cvca,
            issuerKey: pki.cvca.key!, effective: next, expires: next.adding(days: 1000))
        #expect(link.authorityReference == pki.cvca.certificate.holderReference)
        let newCVCA = EACTestPKI.Entity(certificate: link, key: newKey)
        let dvKey = try EACTestPKI.key("brainpoolP256r1")
        let dv = try EACTestPKI.issue(
            subject: dvKey, holder: try CVReference("VNDV00009"), role: .domesticDocumentVerifier, rights: .all,
            issuer: newCVCA, issuerKey: newKey, effective: next, expires: next.adding(days: 90))
        let isKey = try EACTestPKI.key("brainpoolP256r1")
        let terminal = try EACTestPKI.issue(
            subject: isKey, holder: try CVReference("VNIS00009"), role: .inspectionSystem, rights: .dataGroup3,
            issuer: .init(certificate: dv, key: dvKey), issuerKey: dvKey, effective: next, expires: next.adding(days: 30))
        let c = chip(pki)
        // Without the link, the new chain is unknown (6A88 at MSE:Set DST).
        #expect(present([dv], to: c) == [.referencedDataNotFound])
        c.reset()
        #expect(present([link, dv, terminal], to: c).allSatisfy { $0 == .success })
        #expect(c.state.trustPoints.map(\.holderReference.value) == ["VNCVCA00002", "VNCVCA00001"])
        #expect(c.state.currentDate == next)
        #expect(try authenticate(c, terminal: terminal, key: isKey) == .success)
        #expect(c.granted == .dataGroup3)
        // The same link again is refused (already a trust point), and a third CVCA pushes the oldest out.
        c.reset()
        #expect(present([link], to: c) == [.success, .conditionsOfUseNotSatisfied])
        let third = try EACTestPKI.issue(
            subject: try EACTestPKI.key("brainpoolP256r1"), holder: try CVReference("VNCVCA00003"), role: .cvca,
            rights: .all, issuer: newCVCA, issuerKey: newKey, effective: next, expires: next.adding(days: 2000))
        #expect(present([third], to: c) == [.success, .success])
        #expect(c.state.trustPoints.map(\.holderReference.value) == ["VNCVCA00003", "VNCVCA00002"])
    }

    @Test func hostileChainsAreRefusedWithTheirStatusWords() throws {
        let pki = try EACTestPKI.make(today: Self.today)
        let other = try EACTestPKI.make(today: Self.today, sequence: "00007")
        // A chain from another CVCA: the chip does not know its key.
        #expect(present([other.documentVerifier.certificate], to: chip(pki)) == [.referencedDataNotFound])
        // A chain whose names are this CVCA's but whose keys are not: the signature does not verify.
        let forgedKey = try EACTestPKI.key("brainpoolP256r1")
        let forged = try EACTestPKI.issue(
            subject: forgedKey, holder: try CVReference("VNDV00001"), role: .domesticDocumentVerifier, rights: .all,
            issuer: pki.cvca, issuerKey: other.cvca.key!, effective: Self.today, expires: Self.today.adding(days: 30))
        #expect(present([forged], to: chip(pki)) == [.success, .verificationFailed])
        // An expired inspection system (expires before the chip's date).
        let expired = try EACTestPKI.issue(
            subject: try EACTestPKI.key("brainpoolP256r1"), holder: try CVReference("VNIS00004"), role: .inspectionSystem,
            rights: .all, issuer: pki.documentVerifier, issuerKey: pki.documentVerifier.key!,
            effective: Self.today.adding(days: -30), expires: Self.today.adding(days: -1))
        #expect(present([pki.documentVerifier.certificate, expired], to: chip(pki)).last == .referenceDataNotUsable)
        // An inspection system straight under the CVCA, and a DV under a DV: out of order.
        let direct = try EACTestPKI.issue(
            subject: try EACTestPKI.key("brainpoolP256r1"), holder: try CVReference("VNIS00005"), role: .inspectionSystem,
            rights: .all, issuer: pki.cvca, issuerKey: pki.cvca.key!, effective: Self.today,
            expires: Self.today.adding(days: 9))
        #expect(present([direct], to: chip(pki)) == [.success, .conditionsOfUseNotSatisfied])
        // A holder reference loop: a DV that names itself, and one that takes a name already in the chain.
        let loopKey = try EACTestPKI.key("brainpoolP256r1")
        let selfNamed = try EACTestPKI.issue(
            subject: loopKey, holder: try CVReference("VNCVCA00001"), role: .domesticDocumentVerifier, rights: .all,
            issuer: pki.cvca, issuerKey: pki.cvca.key!, effective: Self.today, expires: Self.today.adding(days: 9))
        #expect(present([selfNamed], to: chip(pki)) == [.success, .conditionsOfUseNotSatisfied])
        let c = chip(pki)
        #expect(present([pki.documentVerifier.certificate], to: c) == [.success, .success])
        #expect(present([pki.documentVerifier.certificate], to: c) == [.success, .conditionsOfUseNotSatisfied])
        // Garbage and oversize bodies: 6A80, never a trap.
        c.reset()
        #expect(c.setVerificationKey(reference(pki.cvca.certificate.holderReference)) == .success)
        #expect(c.verifyCertificate([0x7F, 0x4E, 0x83, 0xFF, 0xFF, 0xFF]) == .incorrectData)
        #expect(c.setVerificationKey(reference(pki.cvca.certificate.holderReference)) == .success)
        #expect(c.verifyCertificate([UInt8](repeating: 0x7F, count: 5000)) == .incorrectData)
        // PSO without MSE:Set DST, and MSE:Set DST with nonsense.
        #expect(c.verifyCertificate(body(pki.documentVerifier.certificate)) == .conditionsOfUseNotSatisfied)
        #expect(c.setVerificationKey([0x83, 0x02, 0x41]) == .incorrectData)
        #expect(c.setVerificationKey([]) == .incorrectData)
    }

    @Test func theTerminalsSignatureMustCoverThisSession() throws {
        let pki = try EACTestPKI.make(today: Self.today)
        let terminal = pki.inspectionSystem.certificate
        let key = pki.inspectionSystem.key!
        func ready() -> TerminalAuthenticationChip {
            let c = chip(pki)
            _ = present([pki.documentVerifier.certificate, terminal], to: c)
            return c
        }
        // Another key (a DV's) signing: refused.
        var c = ready()
        #expect(try authenticate(c, terminal: terminal, key: pki.documentVerifier.key!) == .verificationFailed)
        #expect(c.granted == nil)
        // A signature over another session's data (another ID_PICC, another CA key, an old challenge): refused.
        c = ready()
        #expect(try authenticate(c, terminal: terminal, key: key, signedOver: [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9]) == .verificationFailed)
        c = ready()
        #expect(c.setAuthenticationTemplate(reference(terminal.holderReference)) == .success)
        let r = try #require(c.getChallenge())
        let signature = try terminal.publicKey.algorithm.sign(
            TerminalAuthentication.signedData(chipIdentifier: [1], challenge: r, terminalKey: [2]), with: key)
        #expect(c.externalAuthenticate(signature: signature, chipIdentifier: [1], terminalKey: [3]) == .verificationFailed)
        // One try per challenge: the same signature again is refused even with the right data.
        #expect(c.externalAuthenticate(signature: signature, chipIdentifier: [1], terminalKey: [2]) == .conditionsOfUseNotSatisfied)
        // No Chip Authentication key: refused.
        c = ready()
        #expect(c.setAuthenticationTemplate(reference(terminal.holderReference)) == .success)
        _ = c.getChallenge()
        #expect(c.externalAuthenticate(signature: signature, chipIdentifier: [1], terminalKey: nil) == .conditionsOfUseNotSatisfied)
        // MSE:Set AT naming a DV, not an inspection system: 6A88.
        c = ready()
        #expect(c.setAuthenticationTemplate(reference(pki.documentVerifier.certificate.holderReference)) == .referencedDataNotFound)
    }
}
