import CardCore
import CardCrypto
import ChipAccess
import LDS

/// What a chip runs, typed (the card image's `chip` section): which access controls it answers, PACE as it
/// offers it, Chip Authentication (protocol, version, key ID, domain) and Active Authentication (key type, hash).
/// In memory every setting is the protocol's own type; names appear only in the JSON, and a name this toolchain
/// does not run is refused when the image is read. The emulator builds itself from this and refuses an image whose
/// files or secrets do not fit it.
public struct ChipSettings: Codable, Hashable, Sendable {
    public struct PACEOffer: Codable, Hashable, Sendable {
        /// e.g. id-PACE-ECDH-GM-AES-CBC-CMAC-128 in JSON.
        public var `protocol`: PACEProtocol
        /// The standardized domain parameter ID (0–2, 8–18).
        public var parameterID: Int
        public init(protocol: PACEProtocol, parameterID: Int) {
            self.protocol = `protocol`
            self.parameterID = parameterID
        }

        enum CodingKeys: String, CodingKey { case `protocol`, parameterID }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let name = try c.decode(String.self, forKey: .protocol)
            guard let known = ChipSettings.paceProtocol(named: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .protocol, in: c, debugDescription: "PACE protocol \(name) is not one this toolchain runs")
            }
            self.protocol = known
            parameterID = try c.decode(Int.self, forKey: .parameterID)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.protocol.description, forKey: .protocol)
            try c.encode(parameterID, forKey: .parameterID)
        }
    }

    public struct ChipAuthentication: Codable, Hashable, Sendable {
        /// e.g. id-CA-ECDH-AES-CBC-CMAC-128 in JSON.
        public var `protocol`: ChipAuthenticationProtocol
        public var version: Int
        public var keyID: Int?
        /// A curve (brainpoolP256r1, … in JSON) or an RFC 5114 group (dh-group-0/1/2).
        public var domain: DomainParameters
        public init(protocol: ChipAuthenticationProtocol, version: Int, keyID: Int?, domain: DomainParameters) {
            self.protocol = `protocol`
            self.version = version
            self.keyID = keyID
            self.domain = domain
        }

        enum CodingKeys: String, CodingKey { case `protocol`, version, keyID, domain }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let name = try c.decode(String.self, forKey: .protocol)
            guard let known = ChipSettings.chipAuthenticationProtocol(named: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .protocol, in: c,
                    debugDescription: "Chip Authentication protocol \(name) is not one this toolchain runs")
            }
            self.protocol = known
            version = try c.decode(Int.self, forKey: .version)
            keyID = try c.decodeIfPresent(Int.self, forKey: .keyID)
            let domainName = try c.decode(String.self, forKey: .domain)
            guard let domain = ChipSettings.domain(named: domainName) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .domain, in: c, debugDescription: "domain \(domainName) is not one this toolchain knows")
            }
            self.domain = domain
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.protocol.description, forKey: .protocol)
            try c.encode(version, forKey: .version)
            try c.encodeIfPresent(keyID, forKey: .keyID)
            try c.encode(ChipSettings.domainName(domain), forKey: .domain)
        }
    }

    public struct ActiveAuthentication: Codable, Hashable, Sendable {
        public enum Key: String, Codable, Hashable, Sendable { case rsa, ec }
        public var key: Key
        /// The hash of ECDSA signatures (DG14's ActiveAuthenticationInfo), SHA-1 for RSA ISO 9796-2.
        public var hash: HashAlgorithm
        public init(key: Key, hash: HashAlgorithm) {
            self.key = key
            self.hash = hash
        }

        enum CodingKeys: String, CodingKey { case key, hash }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            key = try c.decode(Key.self, forKey: .key)
            let name = try c.decode(String.self, forKey: .hash)
            guard let hash = HashAlgorithm(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .hash, in: c, debugDescription: "unknown hash \(name)")
            }
            self.hash = hash
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(key, forKey: .key)
            try c.encode(hash.rawValue, forKey: .hash)
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
                pace.append(PACEOffer(protocol: p, parameterID: id))
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
                    protocol: p, version: info.version, keyID: info.keyID, domain: domain)
            }
            aaHash = infos.activeAuthenticationInfo?.hash
        }
        // The AA key's type from its private half, or, in an image whose chip made its keys, from DG15.
        var aa: ActiveAuthentication? = nil
        let aaKind =
            image.secrets.activeAuthenticationKey.flatMap { try? AsymmetricKey(privateKeyDER: $0).kind }
            ?? image.content(of: .dataGroup(15)).flatMap { try? DataGroup15(bytes: $0).publicKey().kind }
        if let aaKind, aaKind != .other {
            aa = ActiveAuthentication(key: aaKind == .rsa ? .rsa : .ec, hash: aaHash ?? (aaKind == .rsa ? .sha1 : .sha256))
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
            let announced = Set(infos.paceInfos.compactMap { i in i.paceProtocol.map { PACEOffer(protocol: $0, parameterID: i.parameterID ?? -1) } })
            for offer in pace {
                guard DomainParameters(standardizedID: offer.parameterID) != nil else {
                    return "PACE offer \(offer.protocol) with parameters \(offer.parameterID) is not supported"
                }
                guard announced.contains(offer) else {
                    return "EF.CardAccess does not announce \(offer.protocol) with parameters \(offer.parameterID)"
                }
            }
            if image.secrets.mrz == nil && image.secrets.can == nil {
                return "PACE is offered but there is no password (MRZ or CAN)"
            }
        }
        if let ca = chipAuthentication {
            let p = ca.protocol
            let domain = ca.domain
            guard p.agreement == domain.agreement else {
                return "Chip Authentication \(p) on \(Self.domainName(domain)) is not supported"
            }
            guard let bytes = image.content(of: .dataGroup(14)), let dg14 = try? DataGroup14(bytes: bytes),
                dg14.securityInfos.chipAuthenticationInfos.contains(where: {
                    $0.chipAuthenticationProtocol == p && $0.version == ca.version
                })
            else { return "DG14 does not announce \(ca.protocol) version \(ca.version)" }
            switch domain {
            case .curve:
                guard
                    image.secrets.chipAuthenticationKey.flatMap({
                        try? AsymmetricKey(privateKeyDER: $0)
                    }) != nil
                else { return "Chip Authentication is offered but the image has no EC private key for it" }
            case .dh:
                guard image.secrets.chipAuthenticationDHKey != nil else {
                    return "Chip Authentication is offered but the image has no DH private exponent for it"
                }
            }
        }
        if let aa = activeAuthentication {
            guard let der = image.secrets.activeAuthenticationKey,
                let key = try? AsymmetricKey(privateKeyDER: der)
            else { return "Active Authentication is offered but the image has no private key for it" }
            guard (aa.key == .rsa) == (key.kind == .rsa) else {
                return "Active Authentication \(aa.key.rawValue)/\(aa.hash.rawValue) does not fit the image's key"
            }
            if image.content(of: .dataGroup(15)) == nil {
                return "Active Authentication is offered but there is no DG15"
            }
        }
        return nil
    }
}
