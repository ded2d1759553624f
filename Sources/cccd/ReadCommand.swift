import ArgumentParser
import CardCore
import CardEmulator
import ChipAccess
import Foundation
import LDS
import PCSC
import Reader

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read and verify a card: PACE (or BAC), Chip and Active Authentication, every file EF.SOD signs.",
        discussion: """
            EF.CardAccess decides: PACE when the card offers it (CAN or MRZ as the password), BAC otherwise. Falling \
            back from PACE to BAC happens only with --allow-bac-fallback and is reported. Chip Authentication runs \
            when DG14 offers it, Active Authentication when DG15 is present; each gets a verdict.

            Passive Authentication checks EF.SOD against the data groups and, with --trust, the document signer \
            against trusted CSCAs (and CRLs). With --card, the card is an image run by the built-in software chip.

            Chips in the field that depart from the letter of ICAO 9303 are read all the same, and the notes say \
            what was tolerated: errors answered without secure messaging, answers without DO'99', no short file \
            identifiers, reads past the end of a file refused. No data is ever accepted without its MAC.

            Genuine means: Passive Authentication passed with a document signer chained to a trusted CSCA; every \
            data group EF.SOD lists was read and matched (or skipped for a stated reason: DG3/DG4 need Terminal \
            Authentication, or --fields left it out); Chip Authentication (or PACE-CAM) passed when EF.SOD lists \
            DG14, Active Authentication when it lists DG15; the record is consistent. "Not checked" never counts as \
            passed. Valid (not expired) is a second, separate answer.

            Exit codes: 0 genuine and valid; 1 other failure; 3 access denied (wrong key); 4 not genuine (a check \
            failed or a required one could not run); 5 no card or card removed; 6 no reader or no PC/SC service; \
            7 protocol error before access control, or no eMRTD application; 8 signature intact but signer unverified (no --trust); \
            9 genuine but expired. When several apply, the lowest of 4, 8, 9 wins.

            Example: cccd read --card out/sample-card.json --can 000000
            """
    )

    @Option(help: "A card image (JSON) to read through the in-process software chip instead of a reader.")
    var card: String?

    @Option(help: "The PC/SC reader (default: the first reader with a card).")
    var reader: String?

    @Option(help: "Seconds to wait for a card in the reader.")
    var wait: Double = 10

    @Option(help: "basic: DG1, DG13 and EF.SOD (what a check-in desk needs); all: every data group.")
    var fields: Fields = .all

    enum Fields: String, ExpressibleByArgument, CaseIterable { case basic, all }

    @OptionGroup var key: AccessKeyOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "Save the raw files (EF.COM.bin, DG1.bin, …) in this folder.")
    var out: String?

    @Flag(help: "Emulate a chip without extended-length support (short reads only).")
    var noExtendedLength = false

    @Flag(help: "Allow BAC when the card offers PACE but PACE cannot run (reported; never after a wrong key).")
    var allowBACFallback = false

    @Option(
        help: ArgumentHelp(
            "The largest file a card may announce, in bytes (a larger one is not read and fails its check).",
            valueName: "bytes"))
    var maxFileSize: Int = ReadOptions.defaultMaxFileSize

    @Option(
        help:
            "Trusted CSCA certificates for Passive Authentication: a file (PEM/DER, .crl, .ml master list) or a folder. Repeatable."
    )
    var trust: [String] = []

    func validate() throws {
        if card != nil && reader != nil { throw ValidationError("Give --card or --reader, not both.") }
        if wait < 0 || wait > 3600 { throw ValidationError("--wait must be 0...3600 seconds.") }
        let sizes = ReadOptions.maxFileSizeRange
        if !sizes.contains(maxFileSize) {
            throw ValidationError("--max-file-size must be \(sizes.lowerBound)...\(sizes.upperBound) bytes.")
        }
    }

    func run() throws {
        let accessKey = try key.accessKey()
        let trustStore: TrustStore?
        do {
            trustStore = trust.isEmpty ? nil : try TrustStore.load(paths: trust)
        } catch {
            throw failRead("\(error)", code: CCCDExit.failure)
        }
        let transport: any CardTransport
        var pcscContext: PCSCContext? = nil
        if let card {
            let image: CardImage
            do {
                image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card)))
            } catch let error as LDSError {
                throw failRead("\(card): \(error)", code: CCCDExit.failure)
            } catch {
                throw failRead("cannot read \(card): \(error.localizedDescription)", code: CCCDExit.failure)
            }
            transport = try EmulatedChip(
                image: image, settings: EmulatorSettings(supportsExtendedLength: !noExtendedLength))
        } else {
            let opened = try openReader()
            pcscContext = opened.context
            transport = opened.transport
        }
        defer { _ = pcscContext }
        let session = ReaderSession(transport: transport)
        let result: ReadResult
        do {
            let groups: Set<Int>? = fields == .basic ? [1, 13] : nil
            var options = ReadOptions(allowBACFallback: allowBACFallback, dataGroups: groups, trust: trustStore)
            options.maxFileSize = maxFileSize
            result = try session.readCard(accessKey, options: options)
        } catch let error as ReaderError {
            throw failRead(error.description, code: CCCDExit.code(for: error))
        }
        if let out { try save(result, to: out) }
        let report = ReadReport(result)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
        let code = CCCDExit.code(for: result.assessment)
        if code != CCCDExit.ok { throw ExitCode(code) }
    }

    /// Reports a failure: on standard error, and with --json also as `{"error": {"code", "message", "exitCode"}}`
    /// on standard output, so terminal software always gets one JSON answer.
    private func failRead(_ message: String, code: Int32) -> ExitCode {
        if json {
            let names: [Int32: String] = [
                CCCDExit.failure: "failure", CCCDExit.accessDenied: "accessDenied",
                CCCDExit.verificationFailed: "verificationFailed",
                CCCDExit.noCard: "noCard", CCCDExit.noReader: "noReader", CCCDExit.protocolError: "protocolError",
                CCCDExit.signerUnverified: "signerUnverified", CCCDExit.genuineNotValid: "genuineNotValid",
            ]
            struct Body: Encodable {
                var code: String
                var message: String
                var exitCode: Int32
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode([
                "error": Body(code: names[code] ?? "failure", message: message, exitCode: code)
            ]) {
                print(String(decoding: data, as: UTF8.self))
            }
        }
        return fail(message, code: code)
    }

    /// Waits for a card in the reader and connects (T=0 cards get GET RESPONSE handling).
    private func openReader() throws -> (context: PCSCContext, transport: any CardTransport) {
        let context: PCSCContext
        let card: PCSCCard
        do {
            context = try PCSCContext()
            let state = try context.waitForCard(reader: reader, timeout: wait)
            card = try context.connect(reader: state.reader)
        } catch {
            switch error.code {
            case .noService, .noReader, .unknownReader: throw failRead(error.description, code: CCCDExit.noReader)
            case .timeout, .noCard, .cardRemoved: throw failRead(error.description, code: CCCDExit.noCard)
            default: throw failRead(error.description, code: CCCDExit.failure)
            }
        }
        return (context, card.isT1 ? card : T0ResponseHandling(card))
    }

    private func save(_ result: ReadResult, to folder: String) throws {
        let url = URL(fileURLWithPath: folder, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (file, bytes) in result.files {
            try Data(bytes).write(to: url.appendingPathComponent("\(file.name).bin"))
        }
        if let dg2 = result.files[.dataGroup(2)], let face = try? DataGroup2(bytes: dg2).faces.first {
            try Data(face.image).write(to: url.appendingPathComponent("portrait.\(face.format.fileExtension)"))
        }
    }
}

/// What `cccd read` prints. The JSON field names are a contract for terminal software.
struct ReadReport: Encodable {
    /// The CitizenRecord fields read from the card (same names as the record format).
    struct Holder: Encodable {
        var idNumber: String?
        var fullName: String?
        var dateOfBirth: String?
        var sex: String?
        var nationality: String?
        var ethnicity: String?
        var religion: String?
        var placeOfOrigin: String?
        var placeOfResidence: String?
        var identifyingMarks: String?
        var dateOfIssue: String?
        var dateOfExpiry: String?
        var fatherName: String?
        var motherName: String?
        var spouseName: String?
        var oldIdNumber: String?
    }
    struct Document: Encodable {
        var documentNumber: String?
        var dateOfExpiry: String?
        var mrz: String?
    }

    var holder = Holder()
    var document = Document()
    var accessControl: String?
    var checks: [String: Verdict] = [:]
    var notes: [String] = []
    var files: [String: Int] = [:]
    var skipped: [String: String] = [:]
    var apdus: Int
    var bytes: Int
    var unreadable: [String: String] = [:]
    var problems: [String] = []
    /// The definition of genuine is `Assessment`'s: true only when every required check passed.
    var genuine: Bool
    /// Not expired (or no expiry). A separate answer: an expired card can be genuine.
    var valid: Bool
    /// "genuine", "signerUnverified" (no trusted CSCA given) or "notGenuine".
    var authenticity: String
    /// Why the card is not genuine (each requirement that did not hold).
    var reasons: [String]
    /// One line for a person ("GENUINE, EXPIRED on 2030-01-01").
    var verdict: String
    /// The exit code `cccd read` ends with.
    var exitCode: Int32

    init(_ result: ReadResult) {
        accessControl = result.accessControl
        notes = result.notes
        checks = [
            "passiveAuthentication": result.checks.passiveAuthentication,
            "chipAuthentication": result.checks.chipAuthentication,
            "activeAuthentication": result.checks.activeAuthentication,
            "documentValidity": result.checks.documentValidity,
            "recordConsistency": result.checks.recordConsistency,
        ]
        apdus = result.apduCount
        bytes = result.bytesSent + result.bytesReceived
        for (file, content) in result.files { files[file.name] = content.count }
        for (file, reason) in result.skipped { skipped[file.name] = reason }
        for (file, reason) in result.unreadable { unreadable[file.name] = reason }
        let assessment = result.assessment
        genuine = assessment.genuine
        valid = assessment.valid
        authenticity = assessment.authenticity.rawValue
        reasons = assessment.reasons
        verdict = assessment.headline
        exitCode = CCCDExit.code(for: assessment)
        if let dg1 = result.files[.dataGroup(1)] {
            do {
                let mrz = try DataGroup1(bytes: dg1).mrz
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
                let dg = try DataGroup13(bytes: bytes)
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
    }

    /// YYMMDD → YYYY-MM-DD (birth dates in the past century when they would lie in the future).
    static func date(_ yymmdd: String, birth: Bool) -> String? {
        guard yymmdd.count == 6, let yy = Int(yymmdd.prefix(2)) else { return nil }
        let now = Calendar(identifier: .gregorian).component(.year, from: Date()) % 100
        let century = birth ? (yy > now ? 1900 : 2000) : 2000
        return "\(century + yy)-\(yymmdd.dropFirst(2).prefix(2))-\(yymmdd.suffix(2))"
    }

    var text: String {
        var lines: [String] = []
        lines.append(
            "Card read over \(accessControl ?? "no access control") in \(apdus) APDUs (\(bytes) bytes on the wire)")
        lines.append("  Name:          \(holder.fullName ?? "?")")
        lines.append("  ID number:     \(holder.idNumber ?? "?")")
        lines.append(
            "  Date of birth: \(holder.dateOfBirth ?? "?")   Sex: \(holder.sex.map { $0 == "M" ? "Nam (M)" : "Nữ (F)" } ?? "?")"
        )
        if let residence = holder.placeOfResidence { lines.append("  Residence:     \(residence)") }
        if let origin = holder.placeOfOrigin { lines.append("  Origin:        \(origin)") }
        lines.append("  Expiry:        \(document.dateOfExpiry ?? "none")")
        lines.append(
            "  Files:         "
                + files.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) B" }.joined(separator: ", "))
        for (name, reason) in skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("  Skipped:       \(name): \(reason)")
        }
        for (name, reason) in unreadable.sorted(by: { $0.key < $1.key }) {
            lines.append("  Unreadable:    \(name): \(reason)")
        }
        for problem in problems { lines.append("  Problem:       \(problem)") }
        for note in notes { lines.append("  Note:          \(note)") }
        let order = [
            "passiveAuthentication", "chipAuthentication", "activeAuthentication", "documentValidity",
            "recordConsistency",
        ]
        let names = [
            "passiveAuthentication": "Passive Authentication", "chipAuthentication": "Chip Authentication",
            "activeAuthentication": "Active Authentication", "documentValidity": "Document validity",
            "recordConsistency": "Record consistency",
        ]
        lines.append("  Verdict:       \(verdict)")
        for reason in reasons where authenticity == "notGenuine" { lines.append("    because      \(reason)") }
        for key in order {
            guard let v = checks[key] else { continue }
            let mark = v.status == .passed ? "PASSED " : v.status == .failed ? "FAILED " : "not checked"
            lines.append("  \((names[key] ?? key).padding(24)) \(mark)  \(v.reason)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
