import LDS
import Verification

/// The two answers a desk needs (DESIGN.md, CardReport), decided here and nowhere else:
///
/// **Genuine** — the data is as issued and the chip is not a clone — holds only when all of these passed:
/// 1. Passive Authentication, with a document signer that chains to a trusted CSCA (hashes, signature, chain,
///    the signer's validity and, with CRLs, revocation);
/// 2. every data group EF.SOD lists was read and matched its hash, or was skipped for a stated reason (DG3/DG4
///    need Terminal Authentication; data groups the caller did not ask for);
/// 3. Chip Authentication (or PACE-CAM) when EF.SOD lists DG14 or PACE-CAM was used; Active Authentication when
///    EF.SOD lists DG15;
/// 4. record consistency (DG1 well formed with good check digits; DG13, when present, agreeing with it).
///
/// "Not checked" never counts as passed. When everything else holds but no trusted CSCA was configured, the
/// answer is `signerUnverified`: the signature is intact, but anyone could have made the signer.
///
/// **Valid** — the document is within its validity — is a separate answer: an expired card can be genuine.
public struct Assessment: Sendable, Hashable {
    public enum Authenticity: String, Sendable, Hashable, Codable {
        case genuine
        /// Every check passed except that the document signer could not be chained (no trust anchor given).
        case signerUnverified
        case notGenuine
    }

    public var authenticity: Authenticity
    /// The document validity check passed (not expired, or no expiry).
    public var valid: Bool
    /// Each requirement of "genuine" that did not hold, in the user's terms; empty when genuine.
    public var reasons: [String]
    /// When the document expired (set only when it has).
    public var expiredOn: CalendarDate?

    public var genuine: Bool { authenticity == .genuine }

    /// Before `assess` ran: nothing is promised.
    public static let unassessed = Assessment(
        authenticity: .notGenuine, valid: false, reasons: ["the card was not verified"], expiredOn: nil)

    public static func assess(_ result: ReadResult) -> Assessment {
        var reasons: [String] = []
        var signerUnverified = false
        let checks = result.checks

        // 1. Passive Authentication, chained to a trusted CSCA.
        switch checks.passiveAuthentication.status {
        case .passed: break
        case .failed: reasons.append("Passive Authentication failed: \(checks.passiveAuthentication.reason)")
        case .notChecked:
            if let pa = result.passiveAuthentication, pa.dataGroupHashes.status == .passed,
                pa.signature.status == .passed, pa.validity.status == .passed, pa.certificateChain.status == .notChecked
            {
                signerUnverified = true
                reasons.append(
                    "the signature over EF.SOD is intact but its signer is unverified: no trusted CSCA was given (--trust)"
                )
            } else {
                reasons.append("Passive Authentication was not completed: \(checks.passiveAuthentication.reason)")
            }
        }

        // 2. Every data group EF.SOD signs: read and matched (the hashes are part of 1), or skipped for a reason.
        let listed = result.securityObjectGroups ?? []
        for n in listed.sorted() {
            let file = LDSFile.dataGroup(n)
            if result.files[file] != nil || result.skipped[file] != nil { continue }
            reasons.append("DG\(n) is signed in EF.SOD but was not read: \(result.unreadable[file] ?? "absent")")
        }

        // 3. The chip: CA or CAM when DG14 is signed or CAM was used; AA when DG15 is signed.
        if listed.contains(14) || result.usedChipAuthenticationMapping,
            checks.chipAuthentication.status != .passed
        {
            reasons.append(Self.requirement("Chip Authentication", checks.chipAuthentication))
        }
        if listed.contains(15), checks.activeAuthentication.status != .passed {
            reasons.append(Self.requirement("Active Authentication", checks.activeAuthentication))
        }

        // 4. The record agrees with itself.
        if checks.recordConsistency.status != .passed {
            reasons.append(Self.requirement("Record consistency", checks.recordConsistency))
        }

        let authenticity: Authenticity =
            reasons.isEmpty ? .genuine : (signerUnverified && reasons.count == 1 ? .signerUnverified : .notGenuine)
        let valid = checks.documentValidity.status == .passed
        let expired =
            checks.documentValidity.status == .failed ? result.dateOfExpiry : nil
        return Assessment(authenticity: authenticity, valid: valid, reasons: reasons, expiredOn: expired)
    }

    private static func requirement(_ name: String, _ verdict: Verdict) -> String {
        switch verdict.status {
        case .passed: return "\(name) passed"
        case .failed: return "\(name) failed: \(verdict.reason)"
        case .notChecked: return "\(name) is required but was not checked: \(verdict.reason)"
        }
    }

    /// One line for a person: "GENUINE", "GENUINE, EXPIRED on 2030-01-01", "SIGNER UNVERIFIED …", "NOT GENUINE".
    public var headline: String {
        switch authenticity {
        case .genuine:
            if valid { return "GENUINE" }
            if let expiredOn { return "GENUINE, EXPIRED on \(expiredOn)" }
            return "GENUINE, validity not established"
        case .signerUnverified:
            return "SIGNATURE INTACT, SIGNER UNVERIFIED (no trusted CSCA: give --trust with the issuer's CSCA"
                + " certificate, a folder of them or a master list)" + (expiredOn.map { ", EXPIRED on \($0)" } ?? "")
        case .notGenuine:
            return "NOT GENUINE"
        }
    }
}
