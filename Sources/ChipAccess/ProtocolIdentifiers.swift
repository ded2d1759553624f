/// Object identifiers of BSI TR-03110-3 / ICAO 9303-11 §9.2, as DER content bytes (the value of tag 06; also
/// the value of tag 80 in MSE:Set AT).
public enum ObjectIdentifiers {
    /// bsi-de 0.4.0.127.0.7
    public static let bsiDE: [UInt8] = [0x04, 0x00, 0x7F, 0x00, 0x07]
    /// id-PACE 0.4.0.127.0.7.2.2.4
    public static let pace: [UInt8] = bsiDE + [0x02, 0x02, 0x04]
    /// id-CA 0.4.0.127.0.7.2.2.3
    public static let chipAuthentication: [UInt8] = bsiDE + [0x02, 0x02, 0x03]
    /// id-TA 0.4.0.127.0.7.2.2.2
    public static let terminalAuthentication: [UInt8] = bsiDE + [0x02, 0x02, 0x02]
    /// id-PK 0.4.0.127.0.7.2.2.1 (.1 DH, .2 ECDH)
    public static let publicKey: [UInt8] = bsiDE + [0x02, 0x02, 0x01]
    /// ecdsa-plain-signatures 0.4.0.127.0.7.1.1.4.1 (.1 SHA-1 … .5 SHA-512)
    public static let ecdsaPlain: [UInt8] = bsiDE + [0x01, 0x01, 0x04, 0x01]
    /// id-AA 2.23.136.1.1.5 (ICAO)
    public static let activeAuthentication: [UInt8] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x05]
}

/// Key agreement of PACE and Chip Authentication.
public enum KeyAgreementKind: String, Hashable, Sendable {
    case dh = "DH"
    case ecdh = "ECDH"
}

/// A PACE protocol (ICAO 9303-11 §9.2.3): mapping, key agreement and cipher, from or to its OID.
public struct PACEProtocol: Hashable, Sendable, CustomStringConvertible {
    public enum Mapping: String, Hashable, Sendable {
        case generic = "GM"
        case integrated = "IM"
        case chipAuthentication = "CAM"
    }

    public let mapping: Mapping
    public let agreement: KeyAgreementKind
    public let cipher: SecureMessagingCipher

    public init(mapping: Mapping, agreement: KeyAgreementKind, cipher: SecureMessagingCipher) {
        self.mapping = mapping
        self.agreement = agreement
        self.cipher = cipher
    }

    /// The protocol of an id-PACE-… OID; nil for anything else (CAM exists for ECDH with AES only).
    public init?(oid: some Collection<UInt8>) {
        let b = Array(oid)
        guard b.count == ObjectIdentifiers.pace.count + 2, b.starts(with: ObjectIdentifiers.pace) else { return nil }
        switch b[b.count - 2] {
        case 1: (mapping, agreement) = (.generic, .dh)
        case 2: (mapping, agreement) = (.generic, .ecdh)
        case 3: (mapping, agreement) = (.integrated, .dh)
        case 4: (mapping, agreement) = (.integrated, .ecdh)
        case 6: (mapping, agreement) = (.chipAuthentication, .ecdh)
        default: return nil
        }
        guard let c = SecureMessagingCipher(suffix: b[b.count - 1]) else { return nil }
        if mapping == .chipAuthentication && c == .tripleDES { return nil }
        cipher = c
    }

    public var oid: [UInt8] {
        let m: UInt8
        switch (mapping, agreement) {
        case (.generic, .dh): m = 1
        case (.generic, .ecdh): m = 2
        case (.integrated, .dh): m = 3
        case (.integrated, .ecdh): m = 4
        case (.chipAuthentication, _): m = 6
        }
        return ObjectIdentifiers.pace + [m, cipher.oidSuffix]
    }

    /// "id-PACE-ECDH-GM-AES-CBC-CMAC-128".
    public var description: String {
        "id-PACE-\(agreement.rawValue)-\(mapping.rawValue)-\(cipher.protocolSuffix)"
    }
}

/// A Chip Authentication protocol (ICAO 9303-11 §6.2, TR-03110): key agreement and cipher.
public struct ChipAuthenticationProtocol: Hashable, Sendable, CustomStringConvertible {
    public let agreement: KeyAgreementKind
    public let cipher: SecureMessagingCipher

    public init(agreement: KeyAgreementKind, cipher: SecureMessagingCipher) {
        self.agreement = agreement
        self.cipher = cipher
    }

    public init?(oid: some Collection<UInt8>) {
        let b = Array(oid)
        guard b.count == ObjectIdentifiers.chipAuthentication.count + 2,
            b.starts(with: ObjectIdentifiers.chipAuthentication)
        else {
            return nil
        }
        switch b[b.count - 2] {
        case 1: agreement = .dh
        case 2: agreement = .ecdh
        default: return nil
        }
        guard let c = SecureMessagingCipher(suffix: b[b.count - 1]) else { return nil }
        cipher = c
    }

    public var oid: [UInt8] { ObjectIdentifiers.chipAuthentication + [agreement == .dh ? 1 : 2, cipher.oidSuffix] }

    public var description: String { "id-CA-\(agreement.rawValue)-\(cipher.protocolSuffix)" }
}

extension SecureMessagingCipher {
    init?(suffix: UInt8) {
        switch suffix {
        case 1: self = .tripleDES
        case 2: self = .aes128
        case 3: self = .aes192
        case 4: self = .aes256
        default: return nil
        }
    }

    var oidSuffix: UInt8 {
        switch self {
        case .tripleDES: return 1
        case .aes128: return 2
        case .aes192: return 3
        case .aes256: return 4
        }
    }

    var protocolSuffix: String {
        switch self {
        case .tripleDES: return "3DES-CBC-CBC"
        case .aes128: return "AES-CBC-CMAC-128"
        case .aes192: return "AES-CBC-CMAC-192"
        case .aes256: return "AES-CBC-CMAC-256"
        }
    }
}
