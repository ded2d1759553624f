import CardCrypto
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS

/// What a card of one kind holds and how it is protected (DESIGN.md: data, not code). The built-in default is
/// the Vietnamese CCCD as CCCD.md describes it; `Profiles/*.yaml` files describe others.
public struct CardProfile: Hashable, Sendable {
    public var name: String
    public var applicationID: [UInt8]
    /// Whether the chip offers PACE (EF.CardAccess); false for a BAC-only card.
    public var offersPACE = true
    /// Whether the chip offers Chip Authentication (its key in DG14).
    public var offersChipAuthentication = true
    /// PACE as EF.CardAccess offers it.
    public var paceProtocol: PACEProtocol
    public var paceParameterID: Int
    /// Chip Authentication (DG14): protocol, curve, version (1 ICAO, 2 with nonce and token).
    public var chipAuthentication: ChipAuthenticationProtocol
    public var chipAuthenticationCurve: NamedCurve
    /// For DH Chip Authentication: the standardized group (0, 1 or 2); the curve is then unused.
    public var chipAuthenticationDHGroup: Int? = nil
    public var chipAuthenticationVersion: Int
    /// Active Authentication key (DG15): RSA of a size, or EC on a curve.
    public var activeAuthenticationKey: ActiveAuthenticationKeyType
    public var activeAuthenticationHash: HashAlgorithm
    /// EF.SOD: data-group hash, signature hash, RSA-PSS, LDSSecurityObject version.
    public var sodHash: HashAlgorithm
    public var signatureHash: HashAlgorithm
    public var rsaPSS: Bool
    public var securityObjectVersion: Int
    /// SELECT MF answered 6D00.
    public var selectMasterFileUnsupported: Bool
    /// What each file can hold on the chip: a record is refused for length only when its files do not fit.
    public var capacities: FileCapacities
    /// How a name too long for the MRZ is truncated (ICAO 9303-3 §4.6).
    public var mrzNameTruncation: MRZNameTruncation = .cut
    /// The personalization commands the profile's chips take.
    public var persoCommandSet: PersoCommandSet = .secure
    /// Where the chip's Chip and Active Authentication keys are made: inside the chip (GENERATE ASYMMETRIC KEY PAIR,
    /// the `secure` set's default: no private key ever exists outside the chip) or on the host, written with PUT DATA
    /// (the `jmrtd-applet` set, whose chips cannot make keys).
    public var chipKeys: ChipKeyOrigin = .onChip
    /// Whether the profile's chips make their own keys (`chipKeys` onChip, on a `secure` chip).
    public var keysMadeOnChip: Bool { persoCommandSet == .secure && chipKeys == .onChip }

    /// The key pairs a chip of this profile makes (none when the host makes them): the Chip Authentication key on
    /// the profile's curve or DH group, the Active Authentication key of the profile's type.
    public var chipKeyRequests: [(key: PersoProtocol.Tag, parameters: ChipKeyParameters)] {
        guard keysMadeOnChip else { return [] }
        var out: [(key: PersoProtocol.Tag, parameters: ChipKeyParameters)] = []
        if offersChipAuthentication {
            out.append(
                (.chipAuthenticationKey,
                 chipAuthentication.agreement == .dh
                    ? .dh(groupID: chipAuthenticationDHGroup ?? 0) : .ec(chipAuthenticationCurve)))
        }
        if offersActiveAuthentication {
            switch activeAuthenticationKey {
            case .rsa(let bits): out.append((.activeAuthenticationKey, .rsa(bits: bits)))
            case .ec(let curve): out.append((.activeAuthenticationKey, .ec(curve)))
            }
        }
        return out
    }
    /// Whether the chip offers Active Authentication (DG15).
    public var offersActiveAuthentication = true
    /// Whether the chip answers BAC (false: PACE only; the MRZ stays a PACE password).
    public var bacEnabled = true
    /// Where the CAN comes from.
    public var canRule: CANRule = .last6OfIdNumber
    /// The data groups the card carries (3 only when the record has fingerprints; 13 is the Vietnamese one).
    public var dataGroups: Set<Int> = [1, 2, 3, 13, 14, 15]
    /// TD1 (ID card, 3 × 30) or TD3 (passport, 2 × 44).
    public var mrzFormat: MRZ.Format = .td1
    /// Where DG13 puts each citizen field (a registered layout, named in the profile YAML).
    public var dataGroup13Layout: DataGroup13Layout = .cccd2021
    /// Extended Access Control: the chip gets its CVCA and date in personalization, DG3 opens only after
    /// Terminal Authentication (false: no EAC; DG3 is then not written).
    public var extendedAccessControl = true
    /// Whether a record must bring fingerprints (DG3): the state's card holds the two index fingers.
    public var fingerprintsRequired = true

    /// The Vietnamese chip ID card (2021): PACE ECDH-GM-AES-128 on brainpoolP256r1 (id 13), BAC, CA ECDH-AES-128
    /// v1, AA RSA-2048, SHA-256 hashes, ECDSA/SHA-256 document signer.
    public static let vietnamese2021 = CardProfile(
        name: "vn-cccd-2021", applicationID: VietnameseCard.applicationID,
        paceProtocol: PACEProtocol(mapping: .generic, agreement: .ecdh, cipher: .aes128), paceParameterID: 13,
        chipAuthentication: ChipAuthenticationProtocol(agreement: .ecdh, cipher: .aes128),
        chipAuthenticationCurve: .brainpoolP256r1,
        chipAuthenticationVersion: 1, activeAuthenticationKey: .rsa(bits: 2048), activeAuthenticationHash: .sha1,
        sodHash: .sha256,
        signatureHash: .sha256, rsaPSS: false, securityObjectVersion: 0, selectMasterFileUnsupported: true,
        capacities: .vietnamese2021, mrzNameTruncation: .cut)

    /// The same card as an ICAO BAC-only chip: no EF.CardAccess, no Chip Authentication (DG14 absent); AA kept.
    public var bacOnly: CardProfile {
        var p = self
        p.name = name + "-bac-only"
        p.offersPACE = false
        p.offersChipAuthentication = false
        // Terminal Authentication runs after Chip Authentication: no EAC, no DG3.
        p.extendedAccessControl = false
        p.fingerprintsRequired = false
        return p
    }
}

/// The Active Authentication key a profile gives its chips.
extension CardProfile {
    /// Why JMRTD's passport applet cannot hold a card of this profile (FIELD.md §2.2), or nil: it takes an RSA-1024
    /// Active Authentication key only, its Chip Authentication needs a binary-curve key with EAC, and it has no
    /// PACE, no CAN and no chip options.
    public var jmrtdAppletRefusal: String? {
        if offersPACE { return "JMRTD's applet has no PACE (remove accessControl.pace)" }
        if canRule != .none { return "JMRTD's applet takes no CAN (PUT DATA 70 is refused with 6A86)" }
        if !bacEnabled { return "JMRTD's applet has no chip options: BAC cannot be turned off" }
        if offersChipAuthentication {
            return "JMRTD's applet does Chip Authentication only on a binary curve with EAC (remove chipAuthentication)"
        }
        if offersActiveAuthentication {
            switch activeAuthenticationKey {
            case .rsa(let bits) where bits == 1024: break
            case .rsa(let bits):
                return "JMRTD's applet takes an RSA-1024 Active Authentication key only, not RSA-\(bits)"
            case .ec(let curve):
                return "JMRTD's applet takes an RSA-1024 Active Authentication key only, not EC (\(curve.rawValue))"
            }
        }
        return nil
    }
}

public enum ActiveAuthenticationKeyType: Hashable, Sendable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(NamedCurve)

    /// `rsa1024`, `rsa2048`, `rsa3072`, `rsa4096` or a curve name.
    public init?(name: String) {
        if name.hasPrefix("rsa"), let bits = Int(name.dropFirst(3)), [1024, 2048, 3072, 4096].contains(bits) {
            self = .rsa(bits: bits)
        } else if let curve = NamedCurve(rawValue: name) {
            self = .ec(curve)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .rsa(let bits): return "rsa\(bits)"
        case .ec(let curve): return curve.rawValue
        }
    }

    public func generate() throws -> AsymmetricKey {
        switch self {
        case .rsa(let bits): return try .generateRSA(bits: bits)
        case .ec(let curve): return try .generateEC(curve)
        }
    }
}

/// Where a card's CAN (PACE password) comes from.
public enum CANRule: String, Hashable, Sendable, CaseIterable {
    /// The Vietnamese rule: the last 6 digits of the 12-digit ID number (no CAN is printed).
    case last6OfIdNumber
    /// No CAN: PACE with the MRZ only.
    case none
}

/// The bytes each file of a card can hold (the size its CREATE FILE reserves on the chip).
public struct FileCapacities: Hashable, Sendable {
    public var bytes: [LDSFile: Int]
    public init(_ bytes: [LDSFile: Int]) { self.bytes = bytes }
    public subscript(file: LDSFile) -> Int? { bytes[file] }

    /// The Vietnamese card's files: DG13 with room for long Vietnamese names and addresses (long-form lengths),
    /// a portrait of up to about 31 KB, fingers of up to about 31 KB.
    public static let vietnamese2021 = FileCapacities([
        .cardAccess: 512, .com: 64, .sod: 4096, .dataGroup(1): 256, .dataGroup(2): 32000, .dataGroup(3): 32000,
        .dataGroup(13): 4096, .dataGroup(14): 2048, .dataGroup(15): 1024,
    ])

    /// The first file of `files` that exceeds its capacity, with its size and capacity.
    public func firstOverflow(_ files: [LDSFile: [UInt8]]) -> (file: LDSFile, size: Int, capacity: Int)? {
        for (file, content) in files.sorted(by: { $0.key < $1.key }) {
            if let capacity = bytes[file], content.count > capacity { return (file, content.count, capacity) }
        }
        return nil
    }
}

/// A document signer: certificate and private key; with the CVCA's CV certificate that EAC chips get as their
/// trust point (the signer folder's `eac/cvca.cvcert`, from `cccd pki init --eac`).
public struct DocumentSigner {
    public let certificate: Certificate
    public let key: AsymmetricKey
    /// The CVCA whose chains the issued chips accept in Terminal Authentication (profiles with EAC need it).
    public var cvca: CVCertificate?

    public init(certificate: Certificate, key: AsymmetricKey, cvca: CVCertificate? = nil) {
        self.certificate = certificate
        self.key = key
        self.cvca = cvca
    }

    /// The CVCA certificate of a signer folder (`eac/cvca.cvcert`, or `cvca.cvcert`), nil when there is none.
    public static func cvca(inDirectory directory: String) throws -> CVCertificate? {
        for name in ["eac/cvca.cvcert", "cvca.cvcert"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            return try Self.cvca(bytes: [UInt8](data), from: path)
        }
        return nil
    }

    /// A CVCA certificate file's content, checked (a CV certificate, of a CVCA).
    public static func cvca(bytes: [UInt8], from path: String) throws -> CVCertificate {
        let certificate: CVCertificate
        do { certificate = try CVCertificate(bytes: bytes) } catch {
            throw PreparationError(reason: "\(path): \(error)")
        }
        guard certificate.isCVCA else {
            throw PreparationError(
                reason: "\(path) is a \(certificate.authorization.role) certificate, not a CVCA's: chips trust a CVCA")
        }
        return certificate
    }

    /// ds.crt and ds.key (PEM) from a folder written by `cccd pki init`.
    public static func load(directory: String) throws -> DocumentSigner {
        func read(_ name: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name))
            else {
                throw PreparationError(reason: "cannot read \(directory)/\(name)")
            }
            return [UInt8](data)
        }
        guard let cert = Certificate.fromPEM(try read("ds.crt")).first ?? (try? Certificate(der: try read("ds.crt")))
        else {
            throw PreparationError(reason: "\(directory)/ds.crt is not a certificate")
        }
        let keyBytes = try read("ds.key")
        guard let key = (try? AsymmetricKey(privateKeyPEM: keyBytes)) ?? (try? AsymmetricKey(privateKeyDER: keyBytes))
        else {
            throw PreparationError(reason: "\(directory)/ds.key is not a private key")
        }
        return DocumentSigner(certificate: cert, key: key, cvca: try cvca(inDirectory: directory))
    }
}

/// Data preparation failed; nothing was produced.
public struct PreparationError: Error, CustomStringConvertible {
    public var reason: String
    public var issues: [ValidationIssue] = []
    public init(reason: String, issues: [ValidationIssue] = []) {
        self.reason = reason
        self.issues = issues
    }
    public var description: String {
        ([reason] + issues.map { "  \($0)" }).joined(separator: "\n")
    }
}

/// Where a chip's private keys are made.
public enum ChipKeyOrigin: String, Hashable, Sendable, CaseIterable {
    /// Inside the chip: the line learns the public keys only.
    case onChip
    /// On the host (data preparation), then written to the chip.
    case host
}
