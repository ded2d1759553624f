import CardCrypto
import Foundation
import LDS
import SwiftASN1

/// The CSCA certificates (and CRLs) a terminal trusts for Passive Authentication. Built from files and folders
/// of certificates (PEM or DER: .pem .crt .cer .der), CRLs (.crl) and ICAO CSCA master lists (.ml, a signed
/// CscaMasterList, ICAO 9303-12 §9).
public final class TrustStore: @unchecked Sendable {
    public private(set) var anchors: [Certificate]
    public private(set) var crls: [CertificateRevocationList]

    public init(anchors: [Certificate] = [], crls: [CertificateRevocationList] = []) {
        self.anchors = anchors
        self.crls = crls
    }

    /// id-icao-cscaMasterList.
    public static let masterListContentType = "2.23.136.1.1.2"

    /// Loads every trust file in `paths` (files or folders, not recursive). Throws when a path cannot be read or
    /// a file is not what its extension says; a folder with no trust files is an error too.
    public static func load(paths: [String]) throws(LDSError) -> TrustStore {
        let store = TrustStore()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw LDSError(code: .invalidImage, field: "trust store", reason: "\(path) does not exist")
            }
            let files: [String]
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files = names.sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                files = [path]
            }
            let before = store.anchors.count + store.crls.count
            for file in files { try store.add(file: file, explicit: !isDirectory.boolValue) }
            if store.anchors.count + store.crls.count == before {
                throw LDSError(
                    code: .invalidImage, field: "trust store",
                    reason: "\(path) holds no certificates, CRLs or master lists")
            }
        }
        return store
    }

    private func add(file: String, explicit: Bool) throws(LDSError) {
        let ext = (file as NSString).pathExtension.lowercased()
        guard ["pem", "crt", "cer", "der", "crl", "ml"].contains(ext) else {
            if explicit {
                throw LDSError(code: .invalidImage, field: "trust store", reason: "\(file): unknown kind of file")
            }
            return
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LDSError(code: .invalidImage, field: "trust store", reason: "cannot read \(file)")
        }
        try add(contents: [UInt8](data), kind: ext, name: file)
    }

    /// Adds one trust file's contents: `kind` is its extension (crl: a CRL in PEM or DER; ml: a CSCA master list;
    /// anything else: certificates in PEM, or one in DER). `name` names the file in errors.
    public func add(contents bytes: [UInt8], kind ext: String, name file: String) throws(LDSError) {
        switch ext {
        case "crl":
            if let pem = Self.pemBodies(bytes, label: "X509 CRL").first,
                let crl = try? CertificateRevocationList(der: pem)
            {
                crls.append(crl)
            } else if let crl = try? CertificateRevocationList(der: bytes) {
                crls.append(crl)
            } else {
                throw LDSError(code: .invalidImage, field: "trust store", reason: "\(file) is not a CRL")
            }
        case "ml":
            anchors += try Self.masterList(bytes, name: file)
        default:
            let pem = Certificate.fromPEM(bytes)
            if !pem.isEmpty {
                anchors += pem
            } else if let cert = try? Certificate(der: bytes) {
                anchors.append(cert)
            } else {
                throw LDSError(code: .invalidImage, field: "trust store", reason: "\(file) is not a certificate")
            }
        }
    }

    /// The CSCA certificates of a master list (CscaMasterList ::= SEQUENCE { version, certList SET OF Certificate }).
    /// The list's own signature is checked; its signer need not be trusted here (publish lists from sources you trust).
    public static func masterList(_ bytes: [UInt8], name: String = "master list") throws(LDSError) -> [Certificate] {
        guard let (content, type) = CMS.content(bytes), type == masterListContentType else {
            throw LDSError(code: .invalidImage, field: "trust store", reason: "\(name) is not a CSCA master list")
        }
        guard CMS.verifySignature(bytes).0 == .valid else {
            throw LDSError(
                code: .invalidImage, field: "trust store",
                reason: "\(name): the master list's signature does not verify")
        }
        do {
            let root = try DER.parse(content)
            return try DER.sequence(root, identifier: .sequence) { n in
                _ = try Int(derEncoded: &n)
                guard let set = n.next(), case .constructed(let children) = set.content else {
                    throw ASN1Error.invalidASN1Object(reason: "no certificate list")
                }
                return try children.map { try Certificate(der: Array($0.encodedBytes)) }
            }
        } catch {
            throw LDSError(code: .invalidImage, field: "trust store", reason: "\(name): \(error)")
        }
    }

    /// A master list of `certificates`, signed by `signer` (tests and demos).
    public static func makeMasterList(_ certificates: [Certificate], signer: Certificate, key: AsymmetricKey) throws
        -> [UInt8]
    {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(0)
            try c.appendConstructedNode(identifier: .set) { set in
                for der in certificates.map(\.der).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                    set.serializeRawBytes(der)
                }
            }
        }
        return try CMS.sign(
            s.serializedBytes, contentType: masterListContentType, signer: signer, key: key, hash: .sha256)
    }

    static func pemBodies(_ bytes: [UInt8], label: String) -> [[UInt8]] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [[UInt8]] = []
        var rest = Substring(text)
        while let begin = rest.firstRange(of: "-----BEGIN \(label)-----"),
            let end = rest[begin.upperBound...].firstRange(of: "-----END \(label)-----")
        {
            let body = rest[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            if let data = Data(base64Encoded: String(body)) { out.append([UInt8](data)) }
            rest = rest[end.upperBound...]
        }
        return out
    }
}

/// Passive Authentication (ICAO 9303-11 §5.1): is the data what the issuer signed?
public enum PassiveAuthentication {
    public struct Result: Hashable, Sendable {
        /// Every data group read hashes to the value in EF.SOD.
        public var dataGroupHashes: Verdict
        /// The document signer's signature over the security object.
        public var signature: Verdict
        /// The document signer certificate chains to a trusted CSCA.
        public var certificateChain: Verdict
        /// The document signer certificate is within its validity period.
        public var validity: Verdict
        /// The document signer certificate is not revoked (CRL).
        public var revocation: Verdict
        /// The document signer certificate's subject.
        public var documentSigner: String?
        /// The document signer certificate is a document signer's (ICAO 9303-12): an end entity whose key signs,
        /// not a CSCA's.
        public var signerProfile: Verdict = .notChecked("no document signer certificate")
        /// Departures from the document signer profile that do not fail Passive Authentication.
        public var notes: [String] = []

        /// The one verdict for a report: failed if anything failed; passed when hashes, signature and chain passed.
        public var overall: Verdict {
            let all = [
                ("data group hashes", dataGroupHashes), ("signature", signature),
                ("signer profile", signerProfile), ("certificate chain", certificateChain),
                ("validity", validity), ("revocation", revocation),
            ]
            if let failed = all.first(where: { $0.1.status == .failed }) { return .failed(failed.1.reason) }
            if certificateChain.status == .notChecked {
                return .notChecked("hashes and signature are good, but \(certificateChain.reason)")
            }
            return .passed(
                "data groups match EF.SOD, signed by \(documentSigner ?? "the document signer"), chained to a trusted CSCA"
            )
        }
    }

    /// Verifies EF.SOD against the data groups read (number → bytes) and the trust store (nil: chain not checked).
    public static func verify(sod bytes: [UInt8], dataGroups: [Int: [UInt8]], trust: TrustStore?) -> Result {
        guard let document = try? SecurityObjectDocument(bytes: bytes), let object = try? document.securityObject()
        else {
            let malformed = Verdict.failed("EF.SOD cannot be read")
            return Result(
                dataGroupHashes: malformed, signature: malformed, certificateChain: malformed, validity: malformed,
                revocation: malformed)
        }
        return verify(document: document, object: object, dataGroups: dataGroups, trust: trust)
    }

    /// The same for an EF.SOD parsed already (a read parses it once, to learn the data groups it lists).
    public static func verify(
        document: SecurityObjectDocument, object: LDSSecurityObject, dataGroups: [Int: [UInt8]], trust: TrustStore?
    ) -> Result {
        // 1. Hashes.
        var mismatched: [Int] = []
        var unlisted: [Int] = []
        for (number, content) in dataGroups.sorted(by: { $0.key < $1.key }) {
            guard let expected = object.dataGroupHashes[number] else {
                unlisted.append(number)
                continue
            }
            if !constantTimeEquals(object.hashAlgorithm.hash(content), expected) { mismatched.append(number) }
        }
        let hashes: Verdict
        if !mismatched.isEmpty {
            hashes = .failed(
                "the hash of " + mismatched.map { "DG\($0)" }.joined(separator: ", ")
                    + " does not match EF.SOD (data changed)")
        } else if !unlisted.isEmpty {
            hashes = .failed(unlisted.map { "DG\($0)" }.joined(separator: ", ") + " is not listed in EF.SOD")
        } else {
            hashes = .passed(
                "\(dataGroups.count) data groups match their \(object.hashAlgorithm.rawValue) hashes in EF.SOD")
        }
        // 2. Signature.
        let (check, signer) = CMS.verifySignature(document.cms)
        let signature: Verdict
        switch check {
        case .valid: signature = .passed("the document signer's signature over EF.SOD verifies")
        case .contentDigestMismatch:
            signature = .failed("the security object was changed after signing (message digest mismatch)")
        case .badSignature: signature = .failed("the document signer's signature over EF.SOD does not verify")
        case .noSignerCertificate: signature = .failed("EF.SOD carries no document signer certificate")
        case .malformed: signature = .failed("EF.SOD is not a well-formed signed object")
        }
        guard let signer else {
            let none = Verdict.notChecked("no document signer certificate")
            return Result(
                dataGroupHashes: hashes, signature: signature, certificateChain: none, validity: none, revocation: none)
        }
        let (profile, profileNotes) = documentSignerProfile(signer, trust: trust)
        // 3. Validity period of the document signer certificate.
        let validity: Verdict
        switch signer.validityNow {
        case .valid: validity = .passed("the document signer certificate is within its validity period")
        case .expired: validity = .failed("the document signer certificate has expired")
        case .notYetValid: validity = .failed("the document signer certificate is not yet valid")
        }
        // 4. Chain and 5. revocation.
        guard let trust, !trust.anchors.isEmpty else {
            let none = Verdict.notChecked("no trusted CSCA configured (give --trust)")
            return Result(
                dataGroupHashes: hashes, signature: signature, certificateChain: none, validity: validity,
                revocation: none, documentSigner: signer.subject, signerProfile: profile, notes: profileNotes)
        }
        let chain: Verdict
        if let error = signer.verifyChain(trusted: trust.anchors, crls: [], checkRevocation: false, checkTime: false) {
            chain = .failed("the document signer is not issued by a trusted CSCA (\(error.message))")
        } else {
            chain = .passed("the document signer certificate chains to a trusted CSCA")
        }
        let revocation: Verdict
        if trust.crls.isEmpty {
            revocation = .notChecked("no CRL configured")
        } else if chain.status != .passed {
            revocation = .notChecked("no trusted chain to check revocation on")
        } else if let error = signer.verifyChain(
            trusted: trust.anchors, crls: trust.crls, checkRevocation: true, checkTime: false)
        {
            if error.isRevoked {
                revocation = .failed("the document signer certificate is revoked")
            } else if error.isMissingCRL {
                revocation = .notChecked("no CRL from the issuing CSCA")
            } else {
                revocation = .failed("revocation check failed (\(error.message))")
            }
        } else {
            revocation = .passed("the document signer certificate is not on the CSCA's CRL")
        }
        return Result(
            dataGroupHashes: hashes, signature: signature, certificateChain: chain, validity: validity,
            revocation: revocation, documentSigner: signer.subject, signerProfile: profile, notes: profileNotes)
    }

    /// ICAO's other signer roles (9303-12): a key certified for these signs lists, not documents.
    static let otherSignerRoles: [String: String] = [
        "2.23.136.1.1.3": "master list signer", "2.23.136.1.1.8": "deviation list signer",
        "2.23.136.1.1.9": "deviation list signer", "2.23.136.1.1.14.2": "visible digital seal signer",
    ]

    /// The document signer certificate against ICAO 9303-12's document signer profile. It fails Passive
    /// Authentication when the certificate is not a document signer's: a CA certificate (basicConstraints cA TRUE),
    /// a CSCA's key or a self-issued certificate (EF.SOD signed by the CSCA itself), a keyUsage without
    /// digitalSignature or with certificate or CRL signing, an extKeyUsage naming only another signer role, or an
    /// extension that cannot be decoded. Other departures (keyUsage absent, not critical, or with further bits; an
    /// extKeyUsage; no authority key identifier; not version 3) are notes.
    public static func documentSignerProfile(_ signer: Certificate, trust: TrustStore?) -> (Verdict, [String]) {
        let p = signer.profile
        var failures: [String] = []
        var notes: [String] = []
        if p.malformedExtension { failures.append("an extension of the certificate cannot be decoded") }
        if p.certificateAuthority == true {
            failures.append("it is a CA certificate (basicConstraints cA TRUE), not an end entity")
        }
        if let anchors = trust?.anchors, anchors.contains(where: { signer.hasSameKey(as: $0) }) {
            failures.append("EF.SOD is signed with a trusted CSCA's own key")
        } else if p.selfIssued {
            failures.append("it is self-issued (a CSCA signing documents itself)")
        }
        if let usage = p.keyUsage {
            if !usage.contains(.digitalSignature) { failures.append("its keyUsage does not allow digitalSignature") }
            if !usage.isDisjoint(with: [.keyCertSign, .cRLSign]) {
                failures.append("its keyUsage allows signing certificates or CRLs")
            }
            let extra = usage.subtracting([.digitalSignature, .keyCertSign, .cRLSign])
            if !extra.isEmpty { notes.append("its keyUsage has more than digitalSignature") }
            if !p.keyUsageCritical { notes.append("its keyUsage is not marked critical") }
        } else {
            notes.append("it has no keyUsage (the profile asks for digitalSignature, critical)")
        }
        if let eku = p.extendedKeyUsage {
            let roles = eku.compactMap { otherSignerRoles[$0] }
            if !eku.isEmpty, roles.count == eku.count {
                failures.append("its extKeyUsage makes it a \(Set(roles).sorted().joined(separator: " and "))")
            } else {
                notes.append("it carries an extKeyUsage (\(eku.joined(separator: ", "))), which the profile does not use")
            }
        }
        if !p.hasAuthorityKeyIdentifier { notes.append("it has no authorityKeyIdentifier") }
        if p.version != 3 { notes.append("it is an X.509 version \(p.version) certificate, not version 3") }
        let noted = notes.map { "the document signer certificate departs from ICAO 9303-12's profile: \($0)" }
        if !failures.isEmpty {
            return (
                .failed(
                    "the document signer certificate is not a document signer's (ICAO 9303-12): "
                        + failures.joined(separator: "; ")), noted
            )
        }
        return (.passed("the document signer certificate has the document signer profile"), noted)
    }
}
