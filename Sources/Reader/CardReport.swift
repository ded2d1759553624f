import Foundation
import LDS
import Verification

/// What a read of a card says, for software and for people: the holder's data parsed from DG1 and DG13, the
/// document, one verdict per check, `genuine` and `valid`, and (not in the JSON) the raw files and the portrait.
/// `cccd read --json` and `cccd serve` both encode it: its JSON field names are one contract for terminal software.
/// Each file is parsed once, here.
public struct CardReport: Sendable, Codable {
    /// The CitizenRecord fields read from the card (same names as the record format).
    public struct Holder: Sendable, Codable, Hashable {
        public var idNumber: String?
        public var fullName: String?
        public var dateOfBirth: String?
        public var sex: String?
        public var nationality: String?
        public var ethnicity: String?
        public var religion: String?
        public var placeOfOrigin: String?
        public var placeOfResidence: String?
        public var identifyingMarks: String?
        public var dateOfIssue: String?
        public var dateOfExpiry: String?
        public var fatherName: String?
        public var motherName: String?
        public var spouseName: String?
        public var oldIdNumber: String?
    }
    public struct Document: Sendable, Codable, Hashable {
        public var documentNumber: String?
        public var dateOfExpiry: String?
        public var mrz: String?
    }
    /// What DG2's portrait is (the image itself is `portraitImage`, served apart).
    public struct PortraitInfo: Sendable, Codable, Hashable {
        public var format: String
        public var width: Int
        public var height: Int
        /// Why the portrait cannot be shown ("portrait cannot be shown: the JPEG 2000 image declares 16384
        /// components (at most 4)"): its header is outside the image bounds or it does not decode. Absent when it can.
        public var problem: String?
    }
    /// An image a browser shows: the JPEG as read, or PNG decoded from JPEG 2000.
    public struct BrowserImage: Sendable, Hashable {
        public var mediaType: String
        public var bytes: [UInt8]
    }

    public var holder = Holder()
    public var document = Document()
    public var accessControl: String?
    /// The checks a report names, in the order people read them; their JSON keys are these names.
    public enum Check: String, CaseIterable, Codable, CodingKeyRepresentable, Sendable, Comparable {
        case passiveAuthentication, chipAuthentication, activeAuthentication, terminalAuthentication
        case documentValidity, recordConsistency

        /// For people.
        public var title: String {
            switch self {
            case .passiveAuthentication: "Passive Authentication"
            case .chipAuthentication: "Chip Authentication"
            case .activeAuthentication: "Active Authentication"
            case .terminalAuthentication: "Terminal Authentication"
            case .documentValidity: "Document validity"
            case .recordConsistency: "Record consistency"
            }
        }

        public static func < (a: Check, b: Check) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }
    public var checks: [Check: Verdict] = [:]
    public var notes: [String] = []
    public var files: [String: Int] = [:]
    public var skipped: [String: String] = [:]
    public var apdus: Int
    public var bytes: Int
    public var unreadable: [String: String] = [:]
    public var problems: [String] = []
    /// The definition of genuine is `Assessment`'s: true only when every required check passed.
    public var genuine: Bool
    /// Not expired (or no expiry). A separate answer: an expired card can be genuine.
    public var valid: Bool
    /// Genuine, signer unverified (no trusted CSCA given) or not genuine.
    public var authenticity: Assessment.Authenticity
    /// Why the card is not genuine (each requirement that did not hold).
    public var reasons: [String]
    /// One line for a person ("GENUINE, EXPIRED on 2030-01-01").
    public var verdict: String
    /// The exit code `cccd read` ends with (`Assessment.exitCode`).
    public var exitCode: Int32
    public var portrait: PortraitInfo?
    /// Where the service serves the portrait (set by `cccd serve`; absent from `cccd read`).
    public var portraitURL: String?
    /// The service's id of this read (`/v1/reads/{readId}`; absent from `cccd read`).
    public var readId: String?
    /// The reader the card was in, when it was read and when the service erases the report (ISO 8601 with the
    /// zone; set by `cccd serve`).
    public var reader: String?
    public var readAt: String?
    public var expiresAt: String?

    /// The files as read (not encoded).
    public var rawFiles: [LDSFile: [UInt8]] = [:]
    /// DG2's first face (not encoded).
    public var portraitImage: Portrait?
    /// The portrait converted for a browser, once per read (`convertPortrait`; not encoded).
    public var browserPortrait: BrowserImage?

    enum CodingKeys: String, CodingKey {
        case holder, document, accessControl, checks, notes, files, skipped, apdus, bytes, unreadable, problems
        case genuine, valid, authenticity, reasons, verdict, exitCode, portrait, portraitURL, readId
        case reader, readAt, expiresAt
    }

    /// `imageBounds` bound the portrait's header before anything decodes it; `convertPortrait` decodes it (JPEG 2000
    /// to PNG) once, here, for `browserPortrait` (the desk serves it; `cccd read --out` saves it).
    public init(_ result: ReadResult, imageBounds: ImageBounds = .standard, convertPortrait: Bool = false) {
        accessControl = result.accessControl
        notes = result.notes
        checks = [
            .passiveAuthentication: result.checks.passiveAuthentication,
            .chipAuthentication: result.checks.chipAuthentication,
            .activeAuthentication: result.checks.activeAuthentication,
            .terminalAuthentication: result.checks.terminalAuthentication,
            .documentValidity: result.checks.documentValidity,
            .recordConsistency: result.checks.recordConsistency,
        ]
        apdus = result.apduCount
        bytes = result.bytesSent + result.bytesReceived
        rawFiles = result.files
        for (file, content) in result.files { files[file.name] = content.count }
        for (file, reason) in result.skipped { skipped[file.name] = reason }
        for (file, reason) in result.unreadable { unreadable[file.name] = reason }
        let assessment = result.assessment
        genuine = assessment.genuine
        valid = assessment.valid
        authenticity = assessment.authenticity
        reasons = assessment.reasons
        verdict = assessment.headline
        exitCode = assessment.exitCode
        if let dg1 = result.files[.dataGroup(1)] {
            do {
                let mrz = try result.mrz ?? DataGroup1(bytes: dg1).mrz
                holder.idNumber = VietnameseCard.idNumber(from: mrz)
                holder.fullName = [mrz.primaryIdentifier, mrz.secondaryIdentifier].filter { !$0.isEmpty }.joined(
                    separator: " ")
                holder.dateOfBirth = Self.date(mrz.dateOfBirth, birth: true)
                holder.sex = mrz.sex == "<" ? nil : mrz.sex
                document.documentNumber = mrz.documentNumber.replacingOccurrences(of: "<", with: "")
                document.dateOfExpiry =
                    mrz.dateOfExpiry == VietnameseCard.noExpiry ? nil : Self.date(mrz.dateOfExpiry, birth: false)
                document.mrz = mrz.text
            } catch {
                problems.append("DG1: \(error)")
            }
        }
        if let bytes = result.files[.dataGroup(13)] {
            do {
                let dg = try result.dataGroup13 ?? DataGroup13(bytes: bytes)
                func iso(_ text: String?) -> String? {
                    guard let text else { return nil }
                    let p = text.split(separator: "/")
                    return p.count == 3 ? "\(p[2])-\(p[1])-\(p[0])" : text
                }
                holder.idNumber = dg.idNumber ?? holder.idNumber
                holder.fullName = dg.fullName ?? holder.fullName
                holder.dateOfBirth = iso(dg.dateOfBirth) ?? holder.dateOfBirth
                holder.sex = dg.sex == "Nam" ? "M" : dg.sex == "Nữ" ? "F" : holder.sex
                holder.nationality = dg.nationality
                holder.ethnicity = dg.ethnicity
                holder.religion = dg.religion
                holder.placeOfOrigin = dg.placeOfOrigin
                holder.placeOfResidence = dg.placeOfResidence
                holder.identifyingMarks = dg.identifyingMarks
                holder.dateOfIssue = iso(dg.dateOfIssue)
                holder.dateOfExpiry = dg.dateOfExpiry == DataGroup13.noExpiryText ? nil : iso(dg.dateOfExpiry)
                holder.fatherName = dg.fatherName
                holder.motherName = dg.motherName
                holder.spouseName = dg.spouseName
                holder.oldIdNumber = dg.oldIdNumber
            } catch {
                problems.append("DG13: \(error)")
            }
        }
        if let dg2 = result.files[.dataGroup(2)] {
            if let face = Portrait(dataGroup2: dg2) {
                portraitImage = face
                portrait = PortraitInfo(format: face.format.rawValue, width: face.width, height: face.height)
                do {
                    if convertPortrait {
                        let image = try face.forBrowser(bounds: imageBounds)
                        browserPortrait = BrowserImage(mediaType: image.mediaType, bytes: image.bytes)
                    } else if face.format == .wsq {
                        throw PortraitError("a WSQ image is not a portrait a browser can show")
                    } else {
                        do { _ = try imageBounds.check(face.original) } catch { throw PortraitError(error.description) }
                    }
                } catch {
                    portrait?.problem = "portrait cannot be shown: \(error)"
                    problems.append("DG2: portrait cannot be shown: \(error)")
                }
            } else {
                problems.append("DG2: no portrait this reader can extract")
            }
        }
    }

    /// YYMMDD → YYYY-MM-DD (birth dates in the past century when they would lie in the future).
    static func date(_ yymmdd: String, birth: Bool) -> String? {
        guard yymmdd.count == 6, let yy = Int(yymmdd.prefix(2)) else { return nil }
        let now = Calendar(identifier: .gregorian).component(.year, from: Date()) % 100
        let century = birth ? (yy > now ? 1900 : 2000) : 2000
        return "\(century + yy)-\(yymmdd.dropFirst(2).prefix(2))-\(yymmdd.suffix(2))"
    }

    /// The JSON of `cccd read --json` (sorted keys; `pretty` for people).
    public func json(pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
        return try encoder.encode(self)
    }
}

extension Assessment {
    /// The exit code of a read that reached its verdicts (`cccd read` documents them): 4 not genuine before 8 signer
    /// unverified (no trusted CSCA) before 9 expired; 0 genuine and valid.
    public var exitCode: Int32 { ExitStatus(self).rawValue }
}
