import CardCore
import ChipAccess
import LDS
import Foundation

/// Exactly what a personalized chip holds: its files, its secrets (access keys, private keys), its
/// life-cycle state and its quirks. Data preparation produces it, the emulator runs it, and it serializes to
/// one JSON file (binary content in base64, identifiers in hex).
public struct CardImage: Codable, Hashable, Sendable, CustomStringConvertible {
    public static let formatName = "cccdkit.card-image.v1"

    public enum LifeCycle: String, Codable, Sendable { case blank, personalized, terminated }

    /// Who may read a file.
    public enum Access: String, Codable, Sendable {
        /// Readable without access control (EF.CardAccess).
        case always
        /// After BAC or PACE, through secure messaging.
        case accessControl
        /// After Terminal Authentication (EAC): DG3, DG4.
        case terminalAuthentication
    }

    public struct File: Codable, Hashable, Sendable {
        public var name: String
        public var fileID: UInt16
        public var shortFileID: UInt8?
        public var access: Access
        public var content: [UInt8]

        public init(name: String, fileID: UInt16, shortFileID: UInt8?, access: Access, content: [UInt8]) {
            self.name = name
            self.fileID = fileID
            self.shortFileID = shortFileID
            self.access = access
            self.content = content
        }

        public init(_ file: LDSFile, content: [UInt8]) {
            self.init(
                name: file.name, fileID: file.fileID, shortFileID: file.shortFileID,
                access: file == .cardAccess
                    ? .always : file.needsTerminalAuthentication ? .terminalAuthentication : .accessControl,
                content: content)
        }

        enum CodingKeys: String, CodingKey { case name, fileID, shortFileID, access, content }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            let fid = try c.decode(String.self, forKey: .fileID)
            guard fid.count == 4, let value = UInt16(fid, radix: 16) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fileID, in: c, debugDescription: "file ID must be 4 hex digits")
            }
            fileID = value
            shortFileID = try c.decodeIfPresent(UInt8.self, forKey: .shortFileID)
            access = try c.decode(Access.self, forKey: .access)
            content = try c.decodeBytes(base64: .content)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode([UInt8(fileID >> 8), UInt8(fileID & 0xFF)].hexString, forKey: .fileID)
            try c.encodeIfPresent(shortFileID, forKey: .shortFileID)
            try c.encode(access, forKey: .access)
            try c.encode(Data(content).base64EncodedString(), forKey: .content)
        }
    }

    public struct Application: Codable, Hashable, Sendable {
        /// The application identifier (hex in JSON).
        public var aid: [UInt8]
        public var files: [File]
        public init(aid: [UInt8], files: [File]) {
            self.aid = aid
            self.files = files
        }

        enum CodingKeys: String, CodingKey { case aid, files }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            aid = try c.decodeBytes(hex: .aid)
            files = try c.decode([File].self, forKey: .files)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(aid.hexString, forKey: .aid)
            try c.encode(files, forKey: .files)
        }
    }

    /// The chip's secrets, as bytes in memory (base64 and hex only in the JSON). Never printed.
    public struct Secrets: Codable, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        public struct MRZKey: Codable, Hashable, Sendable {
            public var documentNumber: String
            public var dateOfBirth: String
            public var dateOfExpiry: String
            public init(documentNumber: String, dateOfBirth: String, dateOfExpiry: String) {
                self.documentNumber = documentNumber
                self.dateOfBirth = dateOfBirth
                self.dateOfExpiry = dateOfExpiry
            }
        }
        public var mrz: MRZKey?
        public var can: String?
        /// The Chip Authentication private key (EC, PKCS#8 DER; base64 in JSON); its public half is in DG14.
        public var chipAuthenticationKey: [UInt8]?
        /// A DH Chip Authentication private exponent (hex in JSON), when DG14's CA key is a DH key.
        public var chipAuthenticationDHKey: [UInt8]?
        /// The Active Authentication private key (RSA or EC, PKCS#8 DER; base64 in JSON); its public half is DG15.
        public var activeAuthenticationKey: [UInt8]?

        public init(
            mrz: BACKey? = nil, can: String? = nil, chipAuthenticationKey: [UInt8]? = nil,
            activeAuthenticationKey: [UInt8]? = nil
        ) {
            self.mrz = mrz.map {
                MRZKey(documentNumber: $0.documentNumber, dateOfBirth: $0.dateOfBirth, dateOfExpiry: $0.dateOfExpiry)
            }
            self.can = can
            self.chipAuthenticationKey = chipAuthenticationKey
            self.activeAuthenticationKey = activeAuthenticationKey
        }

        enum CodingKeys: String, CodingKey {
            case mrz, can, chipAuthenticationKey, chipAuthenticationDHKey, activeAuthenticationKey
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mrz = try c.decodeIfPresent(MRZKey.self, forKey: .mrz)
            can = try c.decodeIfPresent(String.self, forKey: .can)
            chipAuthenticationKey = try c.decodeBytesIfPresent(base64: .chipAuthenticationKey)
            chipAuthenticationDHKey = try c.decodeBytesIfPresent(hex: .chipAuthenticationDHKey)
            activeAuthenticationKey = try c.decodeBytesIfPresent(base64: .activeAuthenticationKey)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(mrz, forKey: .mrz)
            try c.encodeIfPresent(can, forKey: .can)
            try c.encodeIfPresent(chipAuthenticationKey.map { Data($0).base64EncodedString() }, forKey: .chipAuthenticationKey)
            try c.encodeIfPresent(chipAuthenticationDHKey?.hexString, forKey: .chipAuthenticationDHKey)
            try c.encodeIfPresent(activeAuthenticationKey.map { Data($0).base64EncodedString() }, forKey: .activeAuthenticationKey)
        }

        public var description: String { redacted }
        public var debugDescription: String { redacted }

        /// What the secrets are, never their values.
        public var redacted: String {
            var parts: [String] = []
            if mrz != nil { parts.append("MRZ key") }
            if can != nil { parts.append("CAN") }
            if chipAuthenticationKey != nil || chipAuthenticationDHKey != nil { parts.append("CA private key") }
            if activeAuthenticationKey != nil { parts.append("AA private key") }
            return "secrets: " + (parts.isEmpty ? "none" : parts.joined(separator: ", ")) + " (redacted)"
        }

        public var bacKey: BACKey? {
            mrz.map {
                BACKey(documentNumber: $0.documentNumber, dateOfBirth: $0.dateOfBirth, dateOfExpiry: $0.dateOfExpiry)
            }
        }
    }

    /// Behaviour of particular chips that readers must cope with.
    public struct Quirks: Codable, Hashable, Sendable {
        /// SELECT MF (00 A4 00 0C 02 3F00) answered with 6D00, as on the Vietnamese CCCD.
        public var selectMasterFileUnsupported: Bool
        public init(selectMasterFileUnsupported: Bool = false) {
            self.selectMasterFileUnsupported = selectMasterFileUnsupported
        }
    }

    public var format: String = CardImage.formatName
    public var profile: String?
    /// The answer to reset (hex in JSON).
    public var atr: [UInt8]
    public var lifeCycle: LifeCycle
    public var masterFiles: [File]
    public var applications: [Application]
    public var secrets: Secrets
    public var quirks: Quirks
    /// False for a chip that does not answer BAC (PACE only; the MRZ stays a PACE password). Nil: BAC answered.
    public var bacEnabled: Bool?
    /// What the chip runs, typed. Absent in older images: then it is derived from the files.
    public var chip: ChipSettings?
    /// Extended Access Control: the chip's trust points and date (written in personalization, moved forward by
    /// the certificates the chip verifies). Nil: no Terminal Authentication (DG3 and DG4 stay closed).
    public var terminalAuthentication: TerminalAuthenticationTrust?

    /// What an EAC chip trusts: its CVCA certificates (`7F21`, base64 in JSON), the newest first, and its current
    /// date (six unpacked digits YYMMDD; "YYMMDD" in JSON).
    public struct TerminalAuthenticationTrust: Codable, Hashable, Sendable {
        public var trustPoints: [[UInt8]]
        public var currentDate: [UInt8]

        public init(trustPoints: [[UInt8]], currentDate: [UInt8]) {
            self.trustPoints = trustPoints
            self.currentDate = currentDate
        }

        enum CodingKeys: String, CodingKey { case trustPoints, currentDate }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            trustPoints = try c.decode([String].self, forKey: .trustPoints).map {
                guard let data = Data(base64Encoded: $0) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .trustPoints, in: c, debugDescription: "trustPoints must be base64")
                }
                return [UInt8](data)
            }
            let date = try c.decode(String.self, forKey: .currentDate)
            guard date.count == 6, date.allSatisfy(\.isASCII), date.allSatisfy(\.isNumber) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .currentDate, in: c, debugDescription: "currentDate must be six digits YYMMDD")
            }
            currentDate = date.compactMap { $0.wholeNumberValue.map(UInt8.init) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(trustPoints.map { Data($0).base64EncodedString() }, forKey: .trustPoints)
            try c.encode(currentDate.map { String($0) }.joined(), forKey: .currentDate)
        }
    }

    public init(
        profile: String? = nil, atr: [UInt8] = CardImage.defaultATR, lifeCycle: LifeCycle = .personalized,
        masterFiles: [File], applications: [Application], secrets: Secrets, quirks: Quirks = .init()
    ) {
        self.profile = profile
        self.atr = atr
        self.lifeCycle = lifeCycle
        self.masterFiles = masterFiles
        self.applications = applications
        self.secrets = secrets
        self.quirks = quirks
    }

    enum CodingKeys: String, CodingKey {
        case format, profile, atr, lifeCycle, masterFiles, applications, secrets, quirks, bacEnabled, chip
        case terminalAuthentication
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        profile = try c.decodeIfPresent(String.self, forKey: .profile)
        atr = try c.decodeBytes(hex: .atr)
        lifeCycle = try c.decode(LifeCycle.self, forKey: .lifeCycle)
        masterFiles = try c.decode([File].self, forKey: .masterFiles)
        applications = try c.decode([Application].self, forKey: .applications)
        secrets = try c.decode(Secrets.self, forKey: .secrets)
        quirks = try c.decode(Quirks.self, forKey: .quirks)
        bacEnabled = try c.decodeIfPresent(Bool.self, forKey: .bacEnabled)
        chip = try c.decodeIfPresent(ChipSettings.self, forKey: .chip)
        terminalAuthentication = try c.decodeIfPresent(TerminalAuthenticationTrust.self, forKey: .terminalAuthentication)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encodeIfPresent(profile, forKey: .profile)
        try c.encode(atr.hexString, forKey: .atr)
        try c.encode(lifeCycle, forKey: .lifeCycle)
        try c.encode(masterFiles, forKey: .masterFiles)
        try c.encode(applications, forKey: .applications)
        try c.encode(secrets, forKey: .secrets)
        try c.encode(quirks, forKey: .quirks)
        try c.encodeIfPresent(bacEnabled, forKey: .bacEnabled)
        try c.encodeIfPresent(chip, forKey: .chip)
        try c.encodeIfPresent(terminalAuthentication, forKey: .terminalAuthentication)
    }

    /// An ISO 14443 / T=1 ATR whose historical bytes announce extended Lc/Le (card capabilities, 7816-4 §8.1.1.2.7).
    public static let defaultATR: [UInt8] = [
        0x3B, 0x88, 0x80, 0x01, 0x00, 0x73, 0xC8, 0x40, 0x13, 0x00, 0x90, 0x00, 0x71,
    ]

    /// An eMRTD with the given LDS1 files (EF.CardAccess goes to the master file), keyed by `bac` and `can`.
    public static func eMRTD(
        files: [LDSFile: [UInt8]], bac: BACKey?, can: String? = nil, aid: [UInt8] = VietnameseCard.applicationID,
        quirks: Quirks = .init(selectMasterFileUnsupported: true), profile: String? = nil,
        chipAuthenticationKey: [UInt8]? = nil, activeAuthenticationKey: [UInt8]? = nil
    ) -> CardImage {
        let sorted = files.keys.sorted()
        return CardImage(
            profile: profile,
            masterFiles: sorted.filter(\.isInMasterFile).map { File($0, content: files[$0] ?? []) },
            applications: [
                Application(
                    aid: aid, files: sorted.filter { !$0.isInMasterFile }.map { File($0, content: files[$0] ?? []) })
            ],
            secrets: Secrets(
                mrz: bac, can: can, chipAuthenticationKey: chipAuthenticationKey,
                activeAuthenticationKey: activeAuthenticationKey),
            quirks: quirks)
    }

    // MARK: JSON

    public init(json: Data) throws(LDSError) {
        do {
            self = try JSONDecoder().decode(CardImage.self, from: json)
        } catch {
            throw LDSError(code: .invalidImage, field: "card image", reason: "not a card image: \(error)")
        }
        guard format == CardImage.formatName else {
            throw LDSError(code: .invalidImage, field: "format", reason: "unknown format '\(format)'")
        }
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Every LDS file of the image with its content.
    public var lDSFiles: [LDSFile: [UInt8]] {
        var out: [LDSFile: [UInt8]] = [:]
        for file in masterFiles + applications.flatMap(\.files) {
            if let f = LDSFile(name: file.name) { out[f] = file.content }
        }
        return out
    }

    /// The content of an LDS file, wherever it lives.
    public func content(of file: LDSFile) -> [UInt8]? {
        (masterFiles + applications.flatMap(\.files)).first { $0.name == file.name }?.content
    }

    public var description: String {
        let count = masterFiles.count + applications.reduce(0) { $0 + $1.files.count }
        return "CardImage(\(profile ?? "no profile"), \(lifeCycle.rawValue), \(count) files, secrets redacted)"
    }
}

/// The card image's byte fields in JSON, for its types and the emulator's: hex or base64, refused with the field's
/// name when they are not.
extension KeyedDecodingContainer {
    /// Bytes written as hex.
    public func decodeBytes(hex key: Key) throws -> [UInt8] {
        let text = try decode(String.self, forKey: key)
        guard let bytes = try? Hex.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(key.stringValue) must be hex")
        }
        return bytes
    }

    public func decodeBytesIfPresent(hex key: Key) throws -> [UInt8]? {
        try contains(key) && !decodeNil(forKey: key) ? decodeBytes(hex: key) : nil
    }

    /// Bytes written as base64.
    public func decodeBytes(base64 key: Key) throws -> [UInt8] {
        let text = try decode(String.self, forKey: key)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(key.stringValue) must be base64")
        }
        return [UInt8](data)
    }

    public func decodeBytesIfPresent(base64 key: Key) throws -> [UInt8]? {
        try contains(key) && !decodeNil(forKey: key) ? decodeBytes(base64: key) : nil
    }
}
