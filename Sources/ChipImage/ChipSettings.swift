import CardCore
import CardCrypto
import ChipAccess
import LDS

/// What a chip runs, typed (the card image's `chip` section): which access controls it answers, PACE as it
/// offers it, Chip Authentication (protocol, version, key ID, domain) and Active Authentication (key type, hash).
/// The emulator builds itself from this and refuses an image whose files or secrets do not fit it.
public struct ChipSettings: Codable, Hashable, Sendable {
    public struct PACEOffer: Codable, Hashable, Sendable {
        /// e.g. id-PACE-ECDH-GM-AES-CBC-CMAC-128.
        public var `protocol`: String
        /// The standardized domain parameter ID (0–2, 8–18).
        public var parameterID: Int
        public init(protocol: String, parameterID: Int) {
            self.protocol = `protocol`
            self.parameterID = parameterID
        }
    }

    public struct ChipAuthentication: Codable, Hashable, Sendable {
        /// e.g. id-CA-ECDH-AES-CBC-CMAC-128.
        public var `protocol`: String
        public var version: Int
        public var keyID: Int?
        /// A curve name (brainpoolP256r1, …) or dh-group-0/1/2 (RFC 5114).
        public var domain: String
        public init(protocol: String, version: Int, keyID: Int?, domain: String) {
            self.protocol = `protocol`
            self.version = version
            self.keyID = keyID
            self.domain = domain
        }
    }

    public struct ActiveAuthentication: Codable, Hashable, Sendable {
        /// rsa or ec.
        public var key: String
        /// The hash of ECDSA signatures (DG14's ActiveAuthenticationInfo), SHA-1 for RSA ISO 9796-2.
        public var hash: String
        public init(key: String, hash: String) {
            self.key = key
            self.hash = hash
        }
    }

    public var bac: Bool
    public var pace: [PACEOffer]
    public var chipAuthentication: ChipAuthentication?
    public var activeAuthentication: ActiveAuthentication?

    public init(
        bac: Bool, pace: [PACEOffer], chipAuthentication: ChipAuthentication?,
        activeAuthentication: ActiveAuthentication?
    ) {
        self.bac = bac
        self.pace = pace
        self.chipAuthentication = chipAuthentication
        self.activeAuthentication = activeAuthentication
    }

    /// Every PACE protocol by its name.
    public static func paceProtocol(named name: String) -> PACEProtocol? {
        for mapping in [PACEProtocol.Mapping.generic, .integrated, .chipAuthentication] {
            for agreement in [KeyAgreementKind.ecdh, .dh] {
                for cipher in [SecureMessagingCipher.tripleDES, .aes128, .aes192, .aes256] {
                    let p = PACEProtocol(mapping: mapping, agreement: agreement, cipher: cipher)
                    if p.description == name { return p }
                }
            }
        }
        return nil
    }

    public static func chipAuthenticationProtocol(named name: String) -> ChipAuthenticationProtocol? {
        for agreement in [KeyAgreementKind.ecdh, .dh] {
            for cipher in [SecureMessagingCipher.tripleDES, .aes128, .aes192, .aes256] {
                let p = ChipAuthenticationProtocol(agreement: agreement, cipher: cipher)
                if p.description == name { return p }
            }
        }
        return nil
    }

    /// The domain's name.
    public static func domainName(_ domain: DomainParameters) -> String {
        switch domain {
        case .curve(let curve): return curve.rawValue
        case .dh(let group):
            let id = (0...2).first { DHGroup.standardized($0) == group }
            return id.map { "dh-group-\($0)" } ?? "dh-explicit"
        }
    }

    public static func domain(named name: String) -> DomainParameters? {
        if name.hasPrefix("dh-group-"), let id = Int(name.dropFirst(9)), let group = DHGroup.standardized(id) {
            return .dh(group)
        }
        return NamedCurve(rawValue: name).map { .curve($0) }
    }

    /// The settings an image's files announce (EF.CardAccess, DG14) and its secrets allow, for images made
    /// without the section (older images, images built by hand). Files that do not parse announce nothing.
    public static func derived(from image: CardImage) -> ChipSettings {
        var pace: [PACEOffer] = []
        if let bytes = image.content(of: .cardAccess), let infos = try? SecurityInfos(derEncoded: bytes) {
            for info in infos.paceInfos {
                guard let p = info.paceProtocol, let id = info.parameterID else { continue }
                pace.append(PACEOffer(protocol: p.description, parameterID: id))
            }
        }
        var ca: ChipAuthentication? = nil
        var aaHash: HashAlgorithm? = nil
        if let bytes = image.content(of: .dataGroup(14)), let dg14 = try? DataGroup14(bytes: bytes) {
            let infos = dg14.securityInfos
            if let info = infos.chipAuthenticationInfos.first, let p = info.chipAuthenticationProtocol,
                let key = infos.chipAuthenticationPublicKeys.first(where: {
                    info.keyID == nil || $0.keyID == info.keyID
                }),
                let domain = try? key.publicKey().parameters
            {
                ca = ChipAuthentication(
                    protocol: p.description, version: info.version, keyID: info.keyID, domain: domainName(domain))
            }
            aaHash = infos.activeAuthenticationInfo?.hash
        }
        var aa: ActiveAuthentication? = nil
        if let der = CardImage.Secrets.der(image.secrets.activeAuthenticationKey),
            let key = try? AsymmetricKey(privateKeyDER: der)
        {
            aa = ActiveAuthentication(
                key: key.kind == .rsa ? "rsa" : "ec", hash: (aaHash ?? (key.kind == .rsa ? .sha1 : .sha256)).rawValue)
        }
        return ChipSettings(
            bac: image.bacEnabled != false && image.secrets.mrz != nil, pace: pace, chipAuthentication: ca,
            activeAuthentication: aa)
    }

    /// Why the image cannot run as these settings say (nil when it can): each offer must be one this toolchain
    /// runs, announced by the image's files, with the secret it needs. (Whether a key matches its public half is
    /// not checked: a clone, whose keys do not match, is a chip the emulator must be able to run.)
    public func inconsistency(with image: CardImage) -> String? {
        if bac && image.secrets.mrz == nil { return "BAC is offered but the image has no MRZ key" }
        if !pace.isEmpty {
            guard let bytes = image.content(of: .cardAccess), let infos = try? SecurityInfos(derEncoded: bytes) else {
                return "PACE is offered but EF.CardAccess is missing or does not parse"
            }
            let announced = Set(
                infos.paceInfos.compactMap { i in i.paceProtocol.map { "\($0.description)/\(i.parameterID ?? -1)" } })
            for offer in pace {
                guard Self.paceProtocol(named: offer.protocol) != nil,
                    DomainParameters(standardizedID: offer.parameterID) != nil
                else { return "PACE offer \(offer.protocol) with parameters \(offer.parameterID) is not supported" }
                guard announced.contains("\(offer.protocol)/\(offer.parameterID)") else {
                    return "EF.CardAccess does not announce \(offer.protocol) with parameters \(offer.parameterID)"
                }
            }
            if image.secrets.mrz == nil && image.secrets.can == nil {
                return "PACE is offered but there is no password (MRZ or CAN)"
            }
        }
        if let ca = chipAuthentication {
            guard let p = Self.chipAuthenticationProtocol(named: ca.protocol),
                let domain = Self.domain(named: ca.domain),
                p.agreement == domain.agreement
            else { return "Chip Authentication \(ca.protocol) on \(ca.domain) is not supported" }
            guard let bytes = image.content(of: .dataGroup(14)), let dg14 = try? DataGroup14(bytes: bytes),
                dg14.securityInfos.chipAuthenticationInfos.contains(where: {
                    $0.chipAuthenticationProtocol == p && $0.version == ca.version
                })
            else { return "DG14 does not announce \(ca.protocol) version \(ca.version)" }
            switch domain {
            case .curve:
                guard
                    CardImage.Secrets.der(image.secrets.chipAuthenticationKey).flatMap({
                        try? AsymmetricKey(privateKeyDER: $0)
                    }) != nil
                else { return "Chip Authentication is offered but the image has no EC private key for it" }
            case .dh:
                guard image.secrets.chipAuthenticationDHKey.flatMap({ try? Hex.decode($0) }) != nil else {
                    return "Chip Authentication is offered but the image has no DH private exponent for it"
                }
            }
        }
        if let aa = activeAuthentication {
            guard let der = CardImage.Secrets.der(image.secrets.activeAuthenticationKey),
                let key = try? AsymmetricKey(privateKeyDER: der)
            else { return "Active Authentication is offered but the image has no private key for it" }
            guard (aa.key == "rsa") == (key.kind == .rsa), HashAlgorithm(rawValue: aa.hash) != nil else {
                return "Active Authentication \(aa.key)/\(aa.hash) does not fit the image's key"
            }
            if image.content(of: .dataGroup(15)) == nil {
                return "Active Authentication is offered but there is no DG15"
            }
        }
        return nil
    }
}
