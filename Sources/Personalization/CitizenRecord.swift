import Foundation
import LDS

/// One person's data as a print centre receives it (one JSON object per line in a batch).
public struct CitizenRecord: Codable, Hashable, Sendable {
    public var idNumber: String
    public var fullName: String
    /// YYYY-MM-DD
    public var dateOfBirth: String
    /// "M" or "F"
    public var sex: String
    public var nationality: String
    public var ethnicity: String?
    public var religion: String?
    public var placeOfOrigin: String
    public var placeOfResidence: String
    public var identifyingMarks: String?
    /// YYYY-MM-DD
    public var dateOfIssue: String
    /// YYYY-MM-DD, or null for a card without expiry.
    public var dateOfExpiry: String?
    public var fatherName: String?
    public var motherName: String?
    public var spouseName: String?
    public var oldIdNumber: String?
    /// A path to a JPEG/JPEG 2000 file (relative to the batch file's folder), or the image in base64.
    public var portrait: String?
    /// Optional finger images: position (ISO 19794-4) and image (path or base64).
    public var fingerprints: [Fingerprint]?

    public struct Fingerprint: Codable, Hashable, Sendable {
        public var position: Int
        public var image: String
    }

    public init(
        idNumber: String, fullName: String, dateOfBirth: String, sex: String, nationality: String = "Việt Nam",
        ethnicity: String? = "Kinh", religion: String? = "Không", placeOfOrigin: String, placeOfResidence: String,
        identifyingMarks: String? = nil, dateOfIssue: String, dateOfExpiry: String?, fatherName: String? = nil,
        motherName: String? = nil, spouseName: String? = nil, oldIdNumber: String? = nil, portrait: String? = nil,
        fingerprints: [Fingerprint]? = nil
    ) {
        self.idNumber = idNumber
        self.fullName = fullName
        self.dateOfBirth = dateOfBirth
        self.sex = sex
        self.nationality = nationality
        self.ethnicity = ethnicity
        self.religion = religion
        self.placeOfOrigin = placeOfOrigin
        self.placeOfResidence = placeOfResidence
        self.identifyingMarks = identifyingMarks
        self.dateOfIssue = dateOfIssue
        self.dateOfExpiry = dateOfExpiry
        self.fatherName = fatherName
        self.motherName = motherName
        self.spouseName = spouseName
        self.oldIdNumber = oldIdNumber
        self.portrait = portrait
        self.fingerprints = fingerprints
    }

    /// The record as DG13 (CCCD.md §6): dates dd/mm/yyyy, sex "Nam"/"Nữ", "Không thời hạn" without expiry; the
    /// fields where `layout` puts them.
    public func dataGroup13(layout: DataGroup13Layout = .cccd2021) -> DataGroup13 {
        var dg = DataGroup13()
        dg.version = layout.version
        dg.idNumber = idNumber
        dg.fullName = fullName
        dg.dateOfBirth = CalendarDate(iso: dateOfBirth)?.vietnamese ?? dateOfBirth
        dg.sex = sex == "F" ? "Nữ" : "Nam"
        dg.nationality = nationality
        dg.ethnicity = ethnicity
        dg.religion = religion
        dg.placeOfOrigin = placeOfOrigin
        dg.placeOfResidence = placeOfResidence
        dg.identifyingMarks = identifyingMarks
        dg.dateOfIssue = CalendarDate(iso: dateOfIssue)?.vietnamese ?? dateOfIssue
        dg.dateOfExpiry = dateOfExpiry.map { CalendarDate(iso: $0)?.vietnamese ?? $0 } ?? DataGroup13.noExpiryText
        dg.fatherName = fatherName?.isEmpty == false ? fatherName : nil
        dg.motherName = motherName?.isEmpty == false ? motherName : nil
        dg.spouseName = spouseName?.isEmpty == false ? spouseName : nil
        dg.oldIdNumber = oldIdNumber?.isEmpty == false ? oldIdNumber : nil
        return dg
    }

    /// The portrait's bytes: from base64, or a file (relative paths against `baseDirectory`).
    public func portraitBytes(baseDirectory: String?) -> [UInt8]? {
        portrait.flatMap { Self.imageBytes($0, baseDirectory: baseDirectory) }
    }

    /// An image given as a file path (relative paths against `baseDirectory`) or as base64 text.
    public static func imageBytes(_ text: String, baseDirectory: String?) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        if text.utf8.count <= 4096 {
            var path = text
            if let base = baseDirectory, !text.hasPrefix("/") {
                path = (base as NSString).appendingPathComponent(text)
            }
            if let bytes = readImageFile(path) { return bytes }
        }
        if text.utf8.count > 64, looksLikeBase64(text), let data = Data(base64Encoded: text) { return [UInt8](data) }
        return nil
    }

    /// The largest image file a record may name (a portrait or fingerprint is tens of kilobytes; a chip holds
    /// less than a megabyte).
    public static let maximumImageFileSize = 16 << 20

    /// A regular file's bytes, up to `maximumImageFileSize`: a record naming a device, a pipe, a folder or a huge
    /// file gets "cannot be read" instead of a line that blocks or fills its memory.
    static func readImageFile(_ path: String) -> [UInt8]? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = (attributes[.size] as? NSNumber)?.intValue, size <= maximumImageFileSize
        else { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumImageFileSize + 1), data.count <= maximumImageFileSize
        else { return nil }
        return [UInt8](data)
    }

    /// Only base64 characters (A–Z a–z 0–9 + / =), so a path is never mistaken for an image.
    static func looksLikeBase64(_ text: String) -> Bool {
        text.utf8.allSatisfy { c in
            (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) || c == 0x2B
                || c == 0x2F || c == 0x3D
        }
    }
}
