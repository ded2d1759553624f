import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import LDS
import Personalization
import Verification

/// Security structures: SecurityInfos, EF.SOD and its CMS, Passive Authentication, trust material, and secure
/// messaging unwrapping under fixed session keys.
enum SecurityTargets {
    static let all: [FuzzTarget] = [securityInfos, sod, passiveAuthentication, trustFile, secureMessaging]

    /// Everything a reader derives from SecurityInfos (PACE offers, CA keys, AA hash), and the round trip.
    static func exercise(_ infos: SecurityInfos) {
        for info in infos.paceInfos { _ = (info.paceProtocol, info.domainParameters, info.parameterID) }
        for key in infos.chipAuthenticationPublicKeys { _ = try? key.publicKey() }
        for info in infos.chipAuthenticationInfos { _ = (info.chipAuthenticationProtocol, info.keyID) }
        _ = infos.activeAuthenticationInfo?.hash
        _ = infos.terminalAuthenticationInfos.count + infos.paceDomainParameterInfos.count
        guard let encoded = try? infos.derEncoded() else { return }
        guard let again = try? SecurityInfos(derEncoded: encoded), Set(again.infos) == Set(infos.infos) else {
            roundTripFailed("SecurityInfos DER re-encoding")
        }
    }

    static let securityInfos = FuzzTarget(
        name: "security-infos", summary: "SecurityInfos as in EF.CardAccess (PACE, CA, TA, AA, domain parameters)",
        seeds: {
            SeedMaterial.vectorValues(named: { $0.contains("cardaccess") })
                + [SampleCard.vietnameseCardAccess, SeedMaterial.sampleFile(.cardAccess)].compactMap { $0 }
        }
    ) { input in
        FuzzOutcome.of { exercise(try SecurityInfos(derEncoded: input)) }
    }

    static let sod = FuzzTarget(
        name: "sod", summary: "EF.SOD: the CMS SignedData and the LDSSecurityObject in it; round trip",
        seeds: { [SeedMaterial.sampleFile(.sod)].compactMap { $0 } }
    ) { input in
        FuzzOutcome.of {
            // The signature is checked in passive-auth; here the parsing (and the CMS content OpenSSL gives back).
            let document = try SecurityObjectDocument(bytes: input)
            let object = try document.securityObject()
            let again = try LDSSecurityObject(derEncoded: try object.derEncoded())
            guard again.dataGroupHashes == object.dataGroupHashes, again.hashAlgorithm == object.hashAlgorithm else {
                roundTripFailed("LDSSecurityObject DER re-encoding")
            }
        }
    }

    /// The sample card's data groups and its CSCA: Passive Authentication of a hostile EF.SOD against them.
    private static let sampleGroups: [Int: [UInt8]] = {
        var groups: [Int: [UInt8]] = [:]
        for (file, content) in SeedMaterial.sampleCard?.lDSFiles ?? [:] {
            if let n = file.dataGroupNumber { groups[n] = content }
        }
        return groups
    }()
    private static let sampleTrust = TrustStore(anchors: SeedMaterial.csca.map { [$0] } ?? [])

    static let passiveAuthentication = FuzzTarget(
        name: "passive-auth",
        summary: "Passive Authentication of a hostile EF.SOD against the sample card's data groups and CSCA",
        seeds: { [SeedMaterial.sampleFile(.sod)].compactMap { $0 } }
    ) { input in
        let result = PassiveAuthentication.verify(sod: input, dataGroups: sampleGroups, trust: sampleTrust)
        if result.overall.status == .passed, input != SeedMaterial.sampleFile(.sod) {
            // Only the issuer's signature makes a pass: a changed EF.SOD that still passes would be a forgery.
            guard let document = try? SecurityObjectDocument(bytes: input),
                CMS.verifySignature(document.cms).0 == .valid
            else { fatalError("Passive Authentication passed an EF.SOD whose signature does not verify") }
        }
        return result.overall.status == .passed ? .accepted : .rejected(result.overall.reason)
    }

    /// Trust files: the first byte picks the kind (0 certificate, 1 CRL, 2 master list), the rest is the file.
    static let trustFile = FuzzTarget(
        name: "trust-file", summary: "trust material: certificates (PEM or DER), CRLs, CSCA master lists",
        seeds: {
            var seeds: [[UInt8]] = []
            if let csca = SeedMaterial.file("sample-card/csca.crt") { seeds.append([0] + csca) }
            if let der = SeedMaterial.csca?.der { seeds.append([0] + der) }
            if let ds = SeedMaterial.documentSigner { seeds.append([0] + ds) }
            if let pki = try? TestPKI(algorithm: "p256") {
                if let crl = try? CertificateRevocationList.create(
                    issuer: pki.csca, issuerKey: pki.cscaKey, revoking: [7, 9])
                {
                    seeds.append([1] + crl.der)
                }
                if let list = try? TrustStore.makeMasterList(
                    [pki.csca, pki.signer.certificate], signer: pki.csca, key: pki.cscaKey)
                {
                    seeds.append([2] + list)
                }
            }
            return seeds
        }
    ) { input in
        var stream = FuzzInput(input)
        let kind = ["crt", "crl", "ml"][Int(stream.byte() % 3)]
        let store = TrustStore()
        let outcome = FuzzOutcome.of { try store.add(contents: stream.rest(), kind: kind, name: "fuzz.\(kind)") }
        for certificate in store.anchors {
            _ = (certificate.subject, certificate.issuerName, certificate.serialNumber, certificate.validityNow)
            _ = certificate.publicKey?.kind
            _ = certificate.verifyChain(
                trusted: sampleTrust.anchors, crls: store.crls, checkRevocation: true, checkTime: true)
        }
        if let csca = SeedMaterial.csca, !store.crls.isEmpty {
            _ = csca.verifyChain(trusted: [csca], crls: store.crls, checkRevocation: true, checkTime: false)
        }
        return outcome
    }

    // MARK: Secure messaging with fixed session keys

    /// ICAO 9303-11 appendix D.4's 3DES session keys, and AES-128 keys of the BSI worked example.
    nonisolated(unsafe) private static let tripleDES = try! SecureMessagingKeys(
        cipher: .tripleDES, encryptionKey: hex("979EC13B1CBFE9DCD01AB0FED307EAE5"),
        macKey: hex("F1CB1F1FB5ADF208806B89DC579DC1F8"))
    nonisolated(unsafe) private static let aes = try! SecureMessagingKeys(
        cipher: .aes128, encryptionKey: hex("68406B4162100563D9C901A6154D2901"),
        macKey: hex("73FF268784F72AF833FDC9464049AFC9"))

    private static func hex(_ text: String) -> [UInt8] { (try? Hex.decode(text)) ?? [] }

    /// The SSC for an input: D.4's base for 3DES (its last byte from the input), zeros for AES.
    private static func ssc(_ keys: SecureMessagingKeys, last: UInt8) -> [UInt8] {
        keys.cipher == .tripleDES
            ? hex("887022120C06C2") + [last] : [UInt8](repeating: 0, count: 15) + [last]
    }

    /// A correct DO'8E' over `objects` (and the command header), so that a fuzzed input reaches decryption and
    /// the status object instead of stopping at the checksum.
    private static func checksum(objects: [UInt8], header: [UInt8]?, ssc: [UInt8], keys: SecureMessagingKeys) -> [UInt8]
    {
        let bs = keys.blockSize
        var input = ssc
        if let header { input += ISO9797Padding.pad(header, blockSize: bs) }
        input += objects
        // authenticationToken pads for 3DES itself; AES-CMAC is taken over the padded input.
        let token =
            keys.cipher == .tripleDES
            ? try? keys.authenticationToken(input)
            : try? keys.authenticationToken(ISO9797Padding.pad(input, blockSize: bs))
        return [0x8E, 0x08] + (token ?? [])
    }

    /// Input: a mode byte (bit 0: AES instead of 3DES; bit 1: append a correct checksum; bit 2: a command as the
    /// chip unwraps it instead of a response as the terminal does), the SSC's last byte, for a command its four
    /// header bytes, then the data objects (and for a response its status word last).
    static let secureMessaging = FuzzTarget(
        name: "sm-unwrap",
        summary: "secure messaging: responses (terminal) and commands (chip) unwrapped with fixed keys",
        seeds: {
            var seeds: [[UInt8]] = []
            for resp in SeedMaterial.vectorValues(named: { $0 == "protected_resp" }) {
                seeds.append([0x00, 0x28] + resp)
                seeds.append([0x01, 0x06] + resp)
            }
            for cmd in SeedMaterial.vectorValues(named: { $0 == "protected_cmd" }) where cmd.count > 5 {
                seeds.append([0x04, 0x27] + Array(cmd.prefix(4)) + Array(cmd.dropFirst(5).dropLast()))
                seeds.append([0x05, 0x05] + Array(cmd.prefix(4)) + Array(cmd.dropFirst(5).dropLast()))
            }
            // Protected answers made here, with and without data, for both ciphers.
            for (bit, keys) in [(UInt8(0), tripleDES), (1, aes)] {
                let s = ssc(keys, last: 0x10)
                for data in [[], Array(0..<40), Array(repeating: 0x41, count: 223)] as [[UInt8]] {
                    for ins: UInt8 in [0xB0, 0xB1] {
                        if let r = try? SecureMessagingCodec.protect(
                            response: ResponseAPDU(data: data, statusWord: .success), ins: ins, ssc: s, keys: keys)
                        {
                            seeds.append([bit, 0x10] + r.encoded)
                            seeds.append([bit | 2, 0x10] + Array(r.data.dropLast(10)) + [0x90, 0x00])
                        }
                    }
                }
            }
            return seeds
        }
    ) { input in
        var stream = FuzzInput(input)
        let mode = stream.byte()
        let keys = mode & 1 == 0 ? tripleDES : aes
        let counter = ssc(keys, last: stream.byte())
        if mode & 4 != 0 {
            let header = [stream.byte() | 0x0C, stream.byte(), stream.byte(), stream.byte()]
            var objects = stream.rest()
            if mode & 2 != 0 { objects += checksum(objects: objects, header: header, ssc: counter, keys: keys) }
            guard objects.count <= CommandAPDU.maxExtendedData else { return .rejected("too long") }
            let command = CommandAPDU(
                cla: header[0], ins: header[1], p1: header[2], p2: header[3], data: objects, ne: 256)
            return FuzzOutcome.of {
                let plain = try SecureMessagingCodec.unprotect(command: command, ssc: counter, keys: keys)
                // Wrapping what came out and unwrapping it again gives it back.
                let rewrapped = try SecureMessagingCodec.protect(plain, ssc: counter, keys: keys)
                let again = try SecureMessagingCodec.unprotect(command: rewrapped, ssc: counter, keys: keys)
                guard again == plain else { roundTripFailed("secure messaging command protect → unprotect") }
            }
        }
        var body = stream.rest()
        guard body.count >= 2 else { return .rejected("no status word") }
        let status = Array(body.suffix(2))
        body.removeLast(2)
        if mode & 2 != 0 { body += checksum(objects: body, header: nil, ssc: counter, keys: keys) }
        return FuzzOutcome.of {
            let response = try ResponseAPDU(bytes: body + status)
            let (plain, _) = try SecureMessagingCodec.unprotectNoting(response, ssc: counter, keys: keys)
            _ = SecureMessagingCodec.plainStatus(of: response)
            guard !plain.data.isEmpty else { return }
            let rewrapped = try SecureMessagingCodec.protect(response: plain, ins: 0xB0, ssc: counter, keys: keys)
            let again = try SecureMessagingCodec.unprotect(rewrapped, ssc: counter, keys: keys)
            guard again == plain else { roundTripFailed("secure messaging response protect → unprotect") }
        }
    }
}
