import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import Foundation
import LDS
import Yams

/// A profile file's problem, with its line (and the key's path).
struct ProfileProblem: Error {
    let line: Int?
    let message: String
}

/// The profile file read strictly (README, "Card profiles"): every key is known or refused with its line, every
/// algorithm is one of a fixed set, and the settings must fit together (a PACE or CA offer needs DG14, AA needs
/// DG15, …).
extension CardProfile {
    /// The keys each section may hold.
    static let schema: [String: Set<String>] = [
        "": [
            "name", "description", "application", "mrz", "quirks", "accessControl", "chipAuthentication",
            "activeAuthentication", "securityObject", "dataGroups", "perso", "capacities", "dataGroup13Layout",
            "extendedAccessControl",
        ],
        "extendedAccessControl": ["fingerprints"],
        "mrz": ["format", "nameTruncation"],
        "quirks": ["selectMasterFileUnsupported"],
        "accessControl": ["bac", "pace", "can"],
        "accessControl.pace": ["mapping", "agreement", "cipher", "parameterId"],
        "chipAuthentication": ["agreement", "cipher", "curve", "dhGroup", "version"],
        "activeAuthentication": ["key", "hash"],
        "securityObject": ["dataGroupHash", "signatureHash", "rsaPSS", "version"],
        "perso": ["commandSet", "chipKeys"],
    ]

    /// The largest profile file, and the deepest nesting in one (a profile nests three levels).
    static let maximumSize = 1 << 20
    static let maximumDepth = 32

    /// Refuses, before any YAML parsing, what a profile never holds and a parser would choke on: nesting deeper
    /// than `maximumDepth` (the YAML parser recurses once per level, and a file of `{{{{…` would overflow the
    /// stack), anchors and aliases (a few nested aliases expand to billions of nodes), and files over a megabyte.
    /// The scan is deliberately cruder than YAML: brackets and `&`/`*` count inside quoted text too (only comments
    /// are skipped), so nothing the parser would nest can hide in what looks like a string; a real profile holds
    /// neither 32 open brackets nor aliases.
    static func checkShape(_ text: String) throws(ProfileProblem) {
        let raw = Array(text.utf8)
        guard raw.count <= maximumSize else {
            throw ProfileProblem(line: nil, message: "\(raw.count) bytes; a profile is at most \(maximumSize)")
        }
        // Every line break YAML 1.1 knows (CR LF, CR, NEL, LS, PS) as LF, so a comment ends where the parser's does.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var j = 0
        while j < raw.count {
            let b = raw[j]
            if b == 0x0D {
                bytes.append(0x0A)
                if j + 1 < raw.count, raw[j + 1] == 0x0A { j += 1 }
            } else if b == 0xC2, j + 1 < raw.count, raw[j + 1] == 0x85 {
                bytes.append(0x0A)
                j += 1
            } else if b == 0xE2, j + 2 < raw.count, raw[j + 1] == 0x80, raw[j + 2] == 0xA8 || raw[j + 2] == 0xA9 {
                bytes.append(0x0A)
                j += 2
            } else {
                bytes.append(b)
            }
            j += 1
        }
        var line = 1
        var flow = 0  // depth of [ and { here
        var indents: [Int] = []  // indentation of the open block levels
        var i = 0
        var atLineStart = true
        var column = 0
        func tooDeep() -> ProfileProblem {
            ProfileProblem(line: line, message: "nested deeper than \(maximumDepth) levels")
        }
        while i < bytes.count {
            let c = bytes[i]
            if atLineStart {
                // Indentation, then "- " entries and "? " keys: each opens a block level.
                var n = 0
                while i + n < bytes.count, bytes[i + n] == 0x20 { n += 1 }
                var k = i + n
                if k < bytes.count, bytes[k] != 0x0A, bytes[k] != 0x23, flow == 0 {
                    while let top = indents.last, top >= n { indents.removeLast() }
                    indents.append(n)
                    while k + 1 < bytes.count, bytes[k] == 0x2D || bytes[k] == 0x3F, bytes[k + 1] == 0x20 {
                        indents.append(n + (k - i) + 2)
                        k += 2
                        while k < bytes.count, bytes[k] == 0x20 { k += 1 }
                    }
                    if indents.count > maximumDepth { throw tooDeep() }
                }
                atLineStart = false
                column = k - i
                i = k
                continue
            }
            switch c {
            case 0x0A:
                line += 1
                atLineStart = true
            case 0x23 where column == 0 || bytes[i - 1] == 0x20 || bytes[i - 1] == 0x09:
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }  // a comment
                continue
            case 0x5B, 0x7B:
                flow += 1
                if flow + indents.count > maximumDepth { throw tooDeep() }
            case 0x5D, 0x7D:
                flow = max(0, flow - 1)
            case 0x26, 0x2A:  // & and * at the start of a token: an anchor or an alias
                let previous: UInt8 = i > 0 ? bytes[i - 1] : 0x20
                if [0x20, 0x09, 0x5B, 0x7B, 0x2C, 0x3A, 0x0A].contains(previous), i + 1 < bytes.count,
                    ![0x20, 0x09, 0x0A, 0x0D].contains(bytes[i + 1])
                {
                    throw ProfileProblem(
                        line: line, message: "anchors and aliases (& and *) are not allowed in a profile")
                }
            default:
                break
            }
            i += 1
            column += 1
        }
    }

    /// Reads a profile file (Profiles/*.yaml).
    public init(yaml text: String) throws {
        let root: Node
        do {
            try Self.checkShape(text)
            guard let node = try Yams.compose(yaml: text) else { throw ProfileProblem(line: nil, message: "empty") }
            root = node
        } catch let problem as ProfileProblem {
            throw PreparationError(reason: "profile: " + (problem.line.map { "line \($0): " } ?? "") + problem.message)
        } catch {
            throw PreparationError(reason: "profile: not valid YAML (\(error))")
        }
        do {
            try self.init(node: root)
        } catch let problem as ProfileProblem {
            throw PreparationError(reason: "profile: " + (problem.line.map { "line \($0): " } ?? "") + problem.message)
        }
    }

    private init(node root: Node) throws {
        /// A section's mapping, with its keys checked against the schema.
        func section(_ node: Node?, _ path: String) throws -> [String: Node] {
            guard let node else { return [:] }
            guard let mapping = node.mapping else {
                throw ProfileProblem(
                    line: node.mark?.line, message: "\(path.isEmpty ? "the profile" : path) must be a mapping")
            }
            var out: [String: Node] = [:]
            for (key, value) in mapping {
                let name = key.string ?? ""
                let full = path.isEmpty ? name : path + "." + name
                if let allowed = Self.schema[path], !allowed.contains(name) {
                    let near = RecordDecoder.nearest(name, among: allowed.sorted())
                    throw ProfileProblem(
                        line: key.mark?.line,
                        message: "unknown key \(full)"
                            + (near.map { " (did you mean \(path.isEmpty ? $0 : path + "." + $0)?)" } ?? ""))
                }
                guard out[name] == nil else {
                    throw ProfileProblem(line: key.mark?.line, message: "\(full) appears twice")
                }
                out[name] = value
            }
            return out
        }
        func string(_ s: [String: Node], _ key: String, _ path: String, required: Bool = true) throws -> String? {
            guard let node = s[key] else {
                if required {
                    throw ProfileProblem(line: nil, message: "missing key \(path.isEmpty ? key : path + "." + key)")
                }
                return nil
            }
            guard let value = node.scalar?.string else {
                throw ProfileProblem(
                    line: node.mark?.line, message: "\(path.isEmpty ? key : path + "." + key) must be a value")
            }
            return value
        }
        func choice<T>(_ s: [String: Node], _ key: String, _ path: String, _ parse: (String) -> T?, _ allowed: String)
            throws -> T?
        {
            guard let text = try string(s, key, path, required: false) else { return nil }
            guard let value = parse(text) else {
                throw ProfileProblem(
                    line: s[key]?.mark?.line,
                    message:
                        "\(path.isEmpty ? key : path + "." + key) \"\(text)\" is not supported (one of: \(allowed))")
            }
            return value
        }
        func int(_ s: [String: Node], _ key: String, _ path: String) throws -> Int? {
            try choice(s, key, path, { Int($0) }, "a whole number")
        }
        func bool(_ s: [String: Node], _ key: String, _ path: String) throws -> Bool? {
            try choice(s, key, path, { ["true": true, "false": false][$0] }, "true, false")
        }
        func need<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw ProfileProblem(line: nil, message: "missing key \(key)") }
            return value
        }
        let hashes = HashAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        let ciphers = ["3DES", "AES-128", "AES-192", "AES-256"].joined(separator: ", ")

        let top = try section(root, "")
        let name = try need(try string(top, "name", ""), "name")
        let application = try need(try string(top, "application", ""), "application")
        guard let aid = try? Hex.decode(application), (5...16).contains(aid.count) else {
            throw ProfileProblem(
                line: top["application"]?.mark?.line,
                message: "application \"\(application)\" is not an AID (5–16 bytes in hex)")
        }
        let mrz = try section(top["mrz"], "mrz")
        let quirks = try section(top["quirks"], "quirks")
        let access = try section(top["accessControl"], "accessControl")
        let paceSection = try access["pace"].map { try section($0, "accessControl.pace") }
        let caSection = try top["chipAuthentication"].map { try section($0, "chipAuthentication") }
        let aaSection = try top["activeAuthentication"].map { try section($0, "activeAuthentication") }
        let sod = try section(try need(top["securityObject"], "securityObject"), "securityObject")
        let perso = try section(top["perso"], "perso")

        var pace = CardProfile.vietnamese2021.paceProtocol
        var paceParameterID = CardProfile.vietnamese2021.paceParameterID
        if let p = paceSection {
            let mapping = try need(
                try choice(p, "mapping", "accessControl.pace", { PACEProtocol.Mapping(rawValue: $0) }, "GM, IM, CAM"),
                "accessControl.pace.mapping")
            let agreement = try need(
                try choice(p, "agreement", "accessControl.pace", { KeyAgreementKind(rawValue: $0) }, "ECDH, DH"),
                "accessControl.pace.agreement")
            let cipher = try need(
                try choice(p, "cipher", "accessControl.pace", { SecureMessagingCipher(rawValue: $0) }, ciphers),
                "accessControl.pace.cipher")
            pace = PACEProtocol(mapping: mapping, agreement: agreement, cipher: cipher)
            guard PACEProtocol(oid: pace.oid) != nil else {
                throw ProfileProblem(
                    line: access["pace"]?.mark?.line, message: "accessControl.pace \(pace) is not a PACE protocol")
            }
            let id = try need(try int(p, "parameterId", "accessControl.pace"), "accessControl.pace.parameterId")
            guard let parameters = DomainParameters(standardizedID: id), parameters.agreement == pace.agreement else {
                throw ProfileProblem(
                    line: p["parameterId"]?.mark?.line,
                    message:
                        "accessControl.pace.parameterId \"\(id)\" is not supported (a standardized \(pace.agreement) domain: 0–2 for DH, 8–18 for ECDH)"
                )
            }
            paceParameterID = id
        }
        var curve = CardProfile.vietnamese2021.chipAuthenticationCurve
        var ca = CardProfile.vietnamese2021.chipAuthentication
        var caVersion = 1
        var dhGroup: Int? = nil
        if let c = caSection {
            ca = ChipAuthenticationProtocol(
                agreement: try need(
                    try choice(c, "agreement", "chipAuthentication", { KeyAgreementKind(rawValue: $0) }, "ECDH, DH"),
                    "chipAuthentication.agreement"),
                cipher: try need(
                    try choice(c, "cipher", "chipAuthentication", { SecureMessagingCipher(rawValue: $0) }, ciphers),
                    "chipAuthentication.cipher"))
            if ca.agreement == .dh {
                let group = try need(
                    try int(c, "dhGroup", "chipAuthentication"), "chipAuthentication.dhGroup (0, 1 or 2 for DH)")
                guard DHGroup.standardized(group) != nil else {
                    throw ProfileProblem(
                        line: c["dhGroup"]?.mark?.line,
                        message: "chipAuthentication.dhGroup \"\(group)\" is not supported (one of: 0, 1, 2)")
                }
                dhGroup = group
            } else {
                curve =
                    try choice(
                        c, "curve", "chipAuthentication", { NamedCurve(rawValue: $0) },
                        NamedCurve.allCases.map(\.rawValue).joined(separator: ", ")) ?? curve
            }
            caVersion = try int(c, "version", "chipAuthentication") ?? 1
            guard [1, 2].contains(caVersion) else {
                throw ProfileProblem(
                    line: c["version"]?.mark?.line,
                    message: "chipAuthentication.version \"\(caVersion)\" is not supported (one of: 1, 2)")
            }
        }
        var aaKey = ActiveAuthenticationKeyType.rsa(bits: 2048)
        var aaHash = HashAlgorithm.sha1
        if let a = aaSection {
            aaKey = try need(
                try choice(
                    a, "key", "activeAuthentication", { ActiveAuthenticationKeyType(name: $0) },
                    "rsa1024, rsa2048, rsa3072, rsa4096, " + NamedCurve.allCases.map(\.rawValue).joined(separator: ", ")
                ),
                "activeAuthentication.key")
            aaHash = try choice(a, "hash", "activeAuthentication", { HashAlgorithm(rawValue: $0) }, hashes) ?? aaHash
        }
        var capacities: [LDSFile: Int] = [:]
        if let node = top["capacities"] {
            guard let mapping = node.mapping else {
                throw ProfileProblem(line: node.mark?.line, message: "capacities must be a mapping")
            }
            for (key, value) in mapping {
                let fileName = key.string ?? ""
                guard let file = LDSFile(name: fileName) else {
                    throw ProfileProblem(
                        line: key.mark?.line,
                        message: "capacities: \"\(fileName)\" is not a file (EF.COM, EF.SOD, EF.CardAccess, DG1…DG16)")
                }
                guard let size = value.scalar.flatMap({ Int($0.string) }), (1...32767).contains(size) else {
                    throw ProfileProblem(
                        line: value.mark?.line, message: "capacities.\(fileName) must be 1…32767 bytes")
                }
                capacities[file] = size
            }
        }
        for required in [LDSFile.dataGroup(1), .dataGroup(2)] where capacities[required] == nil {
            throw ProfileProblem(line: top["capacities"]?.mark?.line, message: "capacities.\(required.name) is missing")
        }
        var groups: Set<Int> = [1, 2]
        if let node = top["dataGroups"] {
            guard let sequence = node.sequence else {
                throw ProfileProblem(line: node.mark?.line, message: "dataGroups must be a list like [1, 2, 14, 15]")
            }
            groups = []
            for item in sequence {
                guard let n = item.scalar.flatMap({ Int($0.string) }), (1...16).contains(n) else {
                    throw ProfileProblem(
                        line: item.mark?.line,
                        message: "dataGroups: \"\(item.scalar?.string ?? "?")\" is not a data group number 1–16")
                }
                groups.insert(n)
            }
        }

        self.init(
            name: name, applicationID: aid, paceProtocol: pace, paceParameterID: paceParameterID,
            chipAuthentication: ca, chipAuthenticationCurve: curve, chipAuthenticationVersion: caVersion,
            activeAuthenticationKey: aaKey, activeAuthenticationHash: aaHash,
            sodHash: try need(
                try choice(sod, "dataGroupHash", "securityObject", { HashAlgorithm(rawValue: $0) }, hashes),
                "securityObject.dataGroupHash"),
            signatureHash: try need(
                try choice(sod, "signatureHash", "securityObject", { HashAlgorithm(rawValue: $0) }, hashes),
                "securityObject.signatureHash"),
            rsaPSS: try bool(sod, "rsaPSS", "securityObject") ?? false,
            securityObjectVersion: try choice(sod, "version", "securityObject", { ["0": 0, "1": 1][$0] }, "0, 1") ?? 0,
            selectMasterFileUnsupported: try bool(quirks, "selectMasterFileUnsupported", "quirks") ?? false,
            capacities: FileCapacities(capacities),
            mrzNameTruncation: try choice(
                mrz, "nameTruncation", "mrz", { MRZNameTruncation(rawValue: $0) }, "cut, initials") ?? .cut)
        offersPACE = paceSection != nil
        offersChipAuthentication = caSection != nil
        offersActiveAuthentication = aaSection != nil
        chipAuthenticationDHGroup = dhGroup
        bacEnabled = try bool(access, "bac", "accessControl") ?? true
        canRule =
            try choice(access, "can", "accessControl", { CANRule(rawValue: $0) }, "last6OfIdNumber, none")
            ?? (offersPACE ? .last6OfIdNumber : .none)
        mrzFormat = try choice(mrz, "format", "mrz", { MRZ.Format(rawValue: $0) }, "TD1, TD3") ?? .td1
        persoCommandSet =
            try choice(perso, "commandSet", "perso", { PersoCommandSet(rawValue: $0) }, "secure, jmrtd-applet")
            ?? .secure
        chipKeys =
            try choice(perso, "chipKeys", "perso", { ChipKeyOrigin(rawValue: $0) }, "onChip, host")
            ?? (persoCommandSet == .secure ? .onChip : .host)
        dataGroups = groups
        let eac = try top["extendedAccessControl"].map { try section($0, "extendedAccessControl") }
        extendedAccessControl = eac != nil
        fingerprintsRequired =
            try eac.flatMap {
                try choice($0, "fingerprints", "extendedAccessControl", { ["required": true, "optional": false][$0] },
                    "required, optional")
            } ?? false
        if eac != nil && !groups.contains(3) {
            throw ProfileProblem(
                line: top["extendedAccessControl"]?.mark?.line,
                message: "extendedAccessControl protects DG3: dataGroups must hold 3")
        }
        if groups.contains(3) && eac == nil {
            throw ProfileProblem(
                line: top["dataGroups"]?.mark?.line,
                message: "DG3 (fingerprints) is written behind EAC Terminal Authentication: add an extendedAccessControl section")
        }
        if eac != nil && !offersChipAuthentication {
            throw ProfileProblem(
                line: top["extendedAccessControl"]?.mark?.line,
                message: "Terminal Authentication runs after Chip Authentication: extendedAccessControl needs a chipAuthentication section")
        }
        dataGroup13Layout =
            try choice(
                top, "dataGroup13Layout", "", { DataGroup13Layout.registered(named: $0) },
                DataGroup13Layout.registeredNames.joined(separator: ", ")) ?? .cccd2021

        // The settings must fit together.
        func inconsistent(_ message: String) -> ProfileProblem {
            ProfileProblem(line: top["dataGroups"]?.mark?.line, message: message)
        }
        if (offersPACE || offersChipAuthentication) && !groups.contains(14) {
            throw inconsistent("dataGroups must hold 14: it carries the PACE and Chip Authentication settings")
        }
        if offersActiveAuthentication != groups.contains(15) {
            throw inconsistent(
                offersActiveAuthentication
                    ? "dataGroups must hold 15: it carries the Active Authentication key"
                    : "dataGroups holds 15 but there is no activeAuthentication section")
        }
        if !bacEnabled && !offersPACE { throw inconsistent("a chip without BAC needs PACE (accessControl.pace)") }
        if canRule == .last6OfIdNumber && !offersPACE {
            throw ProfileProblem(
                line: access["can"]?.mark?.line, message: "accessControl.can needs PACE (accessControl.pace)")
        }
        if mrzFormat == .td3 && groups.contains(13) {
            throw inconsistent("DG13 is the Vietnamese ID card's: a TD3 passport profile does not carry it")
        }
        if persoCommandSet == .jmrtdApplet && chipKeys == .onChip {
            throw ProfileProblem(
                line: perso["chipKeys"]?.mark?.line,
                message: "perso.chipKeys onChip needs the secure command set: jmrtd-applet chips cannot make keys")
        }
        if persoCommandSet == .jmrtdApplet, let reason = jmrtdAppletRefusal {
            throw ProfileProblem(line: perso["commandSet"]?.mark?.line, message: "perso.commandSet jmrtd-applet: \(reason)")
        }
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PreparationError(reason: "cannot read the profile \(path)")
        }
        do {
            try self.init(yaml: String(decoding: data, as: UTF8.self))
        } catch let error as PreparationError {
            throw PreparationError(reason: "\(path): \(error.reason)")
        }
    }
}
