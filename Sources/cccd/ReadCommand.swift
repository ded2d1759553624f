import ArgumentParser
import CardCore
import CardEmulator
import ChipAccess
import Foundation
import LDS
import Reader

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read a card: select the eMRTD application, BAC, then every file EF.COM lists and EF.SOD.",
        discussion: """
            The card is a card image run by the built-in software chip (--card). Reading through a PC/SC reader,
            PACE with the CAN, and the verification verdicts (Passive, Chip and Active Authentication) come with
            the next issues.

            Exit codes: 0 read, 1 other failure, 3 access denied (wrong key), 5 card removed, 7 protocol error.

            Example: cccd read --card out/sample-card.json --id 001090000000 --dob 900101 --doe 300101
            """
    )

    @Option(help: "A card image (JSON) to read through the in-process software chip.")
    var card: String

    @OptionGroup var key: AccessKeyOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "Save the raw files (EF.COM.bin, DG1.bin, …) in this folder.")
    var out: String?

    @Flag(help: "Emulate a chip without extended-length support (short reads only).")
    var noExtendedLength = false

    func run() throws {
        let bac = try key.bacKey()
        let image: CardImage
        do {
            image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card)))
        } catch let error as LDSError {
            throw fail("\(card): \(error)", code: CCCDExit.failure)
        } catch {
            throw fail("cannot read \(card): \(error.localizedDescription)", code: CCCDExit.failure)
        }
        let chip = try EmulatedChip(image: image, settings: EmulatorSettings(supportsExtendedLength: !noExtendedLength))
        let session = ReaderSession(transport: chip)
        let result: ReadResult
        do {
            try session.selectApplication()
            try session.performBAC(bac)
            result = try session.readAll()
        } catch let error as ReaderError {
            throw fail(error.description, code: CCCDExit.code(for: error))
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
    }

    private func save(_ result: ReadResult, to folder: String) throws {
        let url = URL(fileURLWithPath: folder, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (file, bytes) in result.files {
            try Data(bytes).write(to: url.appendingPathComponent("\(file.name).bin"))
        }
    }
}

/// What `cccd read` prints. The JSON field names are a contract for terminal software.
struct ReadReport: Encodable {
    struct Holder: Encodable {
        var idNumber: String?
        var fullName: String?
        var dateOfBirth: String?
        var sex: String?
    }
    struct Document: Encodable {
        var documentNumber: String?
        var dateOfExpiry: String?
        var mrz: String?
    }

    var holder = Holder()
    var document = Document()
    var accessControl: String?
    var files: [String: Int] = [:]
    var skipped: [String: String] = [:]
    var apdus: Int
    var bytes: Int
    var problems: [String] = []

    init(_ result: ReadResult) {
        accessControl = result.accessControl
        apdus = result.apduCount
        bytes = result.bytesSent + result.bytesReceived
        for (file, content) in result.files { files[file.name] = content.count }
        for (file, reason) in result.skipped { skipped[file.name] = reason }
        if let dg1 = result.files[.dataGroup(1)] {
            do {
                let mrz = try DataGroup1(bytes: dg1).mrz
                holder.idNumber = VietnameseCard.idNumber(from: mrz)
                holder.fullName = [mrz.primaryIdentifier, mrz.secondaryIdentifier].filter { !$0.isEmpty }.joined(separator: " ")
                holder.dateOfBirth = Self.date(mrz.dateOfBirth, birth: true)
                holder.sex = mrz.sex == "<" ? nil : mrz.sex
                document.documentNumber = mrz.documentNumber.replacingOccurrences(of: "<", with: "")
                document.dateOfExpiry = mrz.dateOfExpiry == VietnameseCard.noExpiry ? nil : Self.date(mrz.dateOfExpiry, birth: false)
                document.mrz = mrz.text
            } catch {
                problems.append("DG1: \(error)")
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
        lines.append("Card read over \(accessControl ?? "no access control") in \(apdus) APDUs (\(bytes) bytes on the wire)")
        lines.append("  Name:          \(holder.fullName ?? "?") (from the MRZ)")
        lines.append("  ID number:     \(holder.idNumber ?? "?")")
        lines.append("  Date of birth: \(holder.dateOfBirth ?? "?")   Sex: \(holder.sex ?? "?")")
        lines.append("  Expiry:        \(document.dateOfExpiry ?? "none")")
        lines.append("  Files:         " + files.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) B" }.joined(separator: ", "))
        for (name, reason) in skipped.sorted(by: { $0.key < $1.key }) { lines.append("  Skipped:       \(name): \(reason)") }
        for problem in problems { lines.append("  Problem:       \(problem)") }
        lines.append("  Not checked:   Passive, Chip and Active Authentication (not implemented yet)")
        return lines.joined(separator: "\n")
    }
}
