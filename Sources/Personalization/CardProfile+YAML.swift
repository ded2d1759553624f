import CardCore
import CardCrypto
import ChipAccess
import Foundation
import LDS
import Yams

extension CardProfile {
    /// Reads a profile file (Profiles/*.yaml). Every key is checked; a wrong value names its key.
    public init(yaml text: String) throws {
        struct File: Decodable {
            struct Quirks: Decodable { var selectMasterFileUnsupported: Bool? }
            struct PACE: Decodable {
                var mapping: String
                var agreement: String
                var cipher: String
                var parameterId: Int
            }
            struct Access: Decodable {
                var bac: Bool?
                /// Absent: a BAC-only chip (no EF.CardAccess).
                var pace: PACE?
                var can: String?
            }
            struct CA: Decodable {
                var agreement: String
                var cipher: String
                /// ECDH: the curve of the chip's key.
                var curve: String?
                /// DH: the standardized group (0, 1, 2).
                var dhGroup: Int?
                var version: Int
            }
            struct AA: Decodable {
                var key: String
                var hash: String
            }
            struct SOD: Decodable {
                var dataGroupHash: String
                var signatureHash: String
                var rsaPSS: Bool?
                var version: Int?
            }
            struct MRZSettings: Decodable { var nameTruncation: String? }
            var name: String
            var application: String
            var quirks: Quirks?
            var accessControl: Access
            /// Absent: no Chip Authentication (no CA key in DG14).
            var chipAuthentication: CA?
            var activeAuthentication: AA
            var securityObject: SOD
            var mrz: MRZSettings?
            var capacities: [String: Int]
        }
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch let error as DecodingError {
            throw PreparationError(reason: "profile: \(Self.describe(error))")
        } catch {
            throw PreparationError(reason: "profile: not valid YAML (\(error))")
        }
        func bad(_ key: String, _ value: String) -> PreparationError {
            PreparationError(reason: "profile: \(key) \"\(value)\" is not supported")
        }
        func cipher(_ key: String, _ v: String) throws -> SecureMessagingCipher {
            guard let c = SecureMessagingCipher(rawValue: v) else { throw bad(key, v) }
            return c
        }
        func agreement(_ key: String, _ v: String) throws -> KeyAgreementKind {
            guard let a = KeyAgreementKind(rawValue: v) else { throw bad(key, v) }
            return a
        }
        func hash(_ key: String, _ v: String) throws -> HashAlgorithm {
            guard let h = HashAlgorithm(rawValue: v) else { throw bad(key, v) }
            return h
        }
        guard let aid = try? Hex.decode(file.application), (5...16).contains(aid.count) else {
            throw bad("application", file.application)
        }
        var pace = CardProfile.vietnamese2021.paceProtocol
        var paceParameterID = CardProfile.vietnamese2021.paceParameterID
        if let p = file.accessControl.pace {
            guard let mapping = PACEProtocol.Mapping(rawValue: p.mapping) else {
                throw bad("accessControl.pace.mapping", p.mapping)
            }
            pace = PACEProtocol(
                mapping: mapping, agreement: try agreement("accessControl.pace.agreement", p.agreement),
                cipher: try cipher("accessControl.pace.cipher", p.cipher))
            guard PACEProtocol(oid: pace.oid) != nil else { throw bad("accessControl.pace", pace.description) }
            guard let parameters = DomainParameters(standardizedID: p.parameterId),
                parameters.agreement == pace.agreement
            else {
                throw bad("accessControl.pace.parameterId", "\(p.parameterId)")
            }
            paceParameterID = p.parameterId
        }
        var curve = CardProfile.vietnamese2021.chipAuthenticationCurve
        var ca = CardProfile.vietnamese2021.chipAuthentication
        var caVersion = 1
        if let c = file.chipAuthentication {
            let caCurveName = c.curve ?? "brainpoolP256r1"
            guard let named = NamedCurve(rawValue: caCurveName) else {
                throw bad("chipAuthentication.curve", caCurveName)
            }
            curve = named
            ca = ChipAuthenticationProtocol(
                agreement: try agreement("chipAuthentication.agreement", c.agreement),
                cipher: try cipher("chipAuthentication.cipher", c.cipher))
            if ca.agreement == .dh {
                guard let group = c.dhGroup, DHGroup.standardized(group) != nil else {
                    throw bad("chipAuthentication.dhGroup", c.dhGroup.map(String.init) ?? "missing (0, 1 or 2 for DH)")
                }
            }
            guard [1, 2].contains(c.version) else { throw bad("chipAuthentication.version", "\(c.version)") }
            caVersion = c.version
        }
        let aaKey = file.activeAuthentication.key
        guard ["rsa1024", "rsa2048", "rsa3072"].contains(aaKey) || NamedCurve(rawValue: aaKey) != nil else {
            throw bad("activeAuthentication.key", aaKey)
        }
        var capacities: [LDSFile: Int] = [:]
        for (name, size) in file.capacities {
            guard let f = LDSFile(name: name) else { throw bad("capacities", name) }
            guard (1...65535).contains(size) else { throw bad("capacities.\(name)", "\(size)") }
            capacities[f] = size
        }
        for required in [LDSFile.dataGroup(1), .dataGroup(2), .dataGroup(13)] where capacities[required] == nil {
            throw PreparationError(reason: "profile: capacities.\(required.name) is missing")
        }
        let truncationName = file.mrz?.nameTruncation ?? MRZNameTruncation.cut.rawValue
        guard let truncation = MRZNameTruncation(rawValue: truncationName) else {
            throw bad("mrz.nameTruncation", truncationName)
        }
        self.init(
            name: file.name, applicationID: aid, paceProtocol: pace, paceParameterID: paceParameterID,
            chipAuthentication: ca, chipAuthenticationCurve: curve, chipAuthenticationVersion: caVersion,
            activeAuthenticationKey: aaKey,
            activeAuthenticationHash: try hash("activeAuthentication.hash", file.activeAuthentication.hash),
            sodHash: try hash("securityObject.dataGroupHash", file.securityObject.dataGroupHash),
            signatureHash: try hash("securityObject.signatureHash", file.securityObject.signatureHash),
            rsaPSS: file.securityObject.rsaPSS ?? false, securityObjectVersion: file.securityObject.version ?? 0,
            selectMasterFileUnsupported: file.quirks?.selectMasterFileUnsupported ?? false,
            capacities: FileCapacities(capacities), mrzNameTruncation: truncation)
        offersPACE = file.accessControl.pace != nil
        offersChipAuthentication = file.chipAuthentication != nil
        if ca.agreement == .dh { chipAuthenticationDHGroup = file.chipAuthentication?.dhGroup }
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PreparationError(reason: "cannot read the profile \(path)")
        }
        try self.init(yaml: String(decoding: data, as: UTF8.self))
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let c):
            return "missing key \((c.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "wrong value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case .dataCorrupted(let c):
            return "malformed at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
