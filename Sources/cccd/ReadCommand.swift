import ArgumentParser
import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import EAC
import Foundation
import LDS
import PCSC
import Personalization
import Reader
import Verification

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

            Fingerprints (DG3) and iris images (DG4) sit behind EAC Terminal Authentication. With --terminal DIR             (an inspection system's CV certificates, *.cvcert, and its key is.pkcs8; or --terminal-key             pkcs11:token=LABEL;object=is with --pkcs11 MODULE), TA runs after Chip Authentication, DG3 is read as             far as the chain grants, Passive Authentication covers it, and the report's terminalAuthentication             check says what the chip granted or why it refused. Without --terminal, DG3 is skipped ("needs             Terminal Authentication") and the verdict is the same: TA is not a requirement of genuine.             `cccd pki init --eac` makes a TEST chain (its terminal/ folder is a --terminal DIR).

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

    @Option(
        help:
            "basic: DG1, DG13 and EF.SOD (what a check-in desk needs); all: every data group EF.SOD signs; complete: those and EF.COM (unsigned, so read only when asked; --out asks for it too)."
    )
    var fields: Fields = .all

    enum Fields: String, ExpressibleByArgument, CaseIterable { case basic, all, complete }

    @OptionGroup var key: AccessKeyOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup(title: "EAC (fingerprints behind Terminal Authentication)") var eac: TerminalOptions

    @OptionGroup(title: "PKCS#11 (a terminal key in a token)") var token: PKCS11Options

    @Option(help: "Save the raw files (EF.COM.bin, DG1.bin, …), the portrait and the fingerprints in this folder.")
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

    @Flag(
        help:
            "Read every card inserted, one report per card (JSON Lines with --json), until interrupted (or --max-cards)."
    )
    var watch = false

    @Option(help: ArgumentHelp("With --watch: stop after this many cards.", valueName: "n"))
    var maxCards: Int?

    func validate() throws {
        if watch && card != nil { throw ValidationError("--watch reads cards from PC/SC readers, not --card.") }
        if maxCards != nil && !watch { throw ValidationError("--max-cards goes with --watch.") }
        if let maxCards, maxCards < 1 { throw ValidationError("--max-cards must be at least 1.") }
        if card != nil && reader != nil { throw ValidationError("Give --card or --reader, not both.") }
        if wait < 0 || wait > 3600 { throw ValidationError("--wait must be 0...3600 seconds.") }
        let sizes = ReadOptions.maxFileSizeRange
        if !sizes.contains(maxFileSize) {
            throw ValidationError("--max-file-size must be \(sizes.lowerBound)...\(sizes.upperBound) bytes.")
        }
    }

    @OptionGroup(title: "Images") var images: ImageBoundsOptions

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let accessKey: AccessKey
        do { accessKey = try key.accessKey() } catch { throw ValidationError("\(error)") }
        if let mrz = key.mrz {
            var stderr = StandardError()
            for note in DeskKey.mrzNotes(mrz) { print("note: \(note)", to: &stderr) }
        }
        let trustStore: TrustStore?
        do {
            trustStore = trust.isEmpty ? nil : try TrustStore.load(paths: trust)
        } catch {
            throw failRead("\(error)", code: CCCDExit.failure)
        }
        let terminal: TerminalCredentials?
        do { terminal = try eac.load(token: token) } catch {
            throw failRead("the terminal: \(error)", code: CCCDExit.failure)
        }
        if watch {
            try watchReaders(accessKey, trust: trustStore, terminal: terminal)
            return
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
            do {
                transport = try EmulatedChip(
                    image: image, settings: EmulatorSettings(supportsExtendedLength: !noExtendedLength))
            } catch {
                throw failRead("\(card): the software chip cannot run this image: \(error)", code: CCCDExit.failure)
            }
        } else {
            let opened = try openReader()
            pcscContext = opened.context
            transport = opened.transport
        }
        defer { _ = pcscContext }
        let report: CardReport
        do {
            report = try read(transport, accessKey, trust: trustStore, terminal: terminal)
        } catch let error as ReaderError {
            throw failRead(error.description, code: CCCDExit(error))
        }
        if let out { try save(report, to: out) }
        if json {
            print(String(decoding: try report.json(), as: UTF8.self))
        } else {
            print(report.text)
        }
        if report.exitCode != CCCDExit.ok.rawValue { throw ExitCode(report.exitCode) }
    }

    var readOptions: ReadOptions {
        var options = ReadOptions(allowBACFallback: allowBACFallback, dataGroups: fields == .basic ? [1, 13] : nil)
        options.maxFileSize = maxFileSize
        options.readsEFCOM = fields == .complete || out != nil
        return options
    }

    /// One read, with the step shown on a terminal's standard error as it runs.
    /// `terminal`: the inspection system of --terminal (loaded once, before any card).
    func read(_ transport: any CardTransport, _ key: AccessKey, trust: TrustStore?, terminal: TerminalCredentials?)
        throws -> CardReport
    {
        let session = ReaderSession(transport: transport)
        let progress = TerminalProgress()
        session.progress = progress.show
        defer { progress.clear() }
        var options = readOptions
        options.trust = trust
        options.terminal = terminal
        return CardReport(
            try session.readCard(key, options: options), imageBounds: images.bounds, convertPortrait: out != nil)
    }

    /// --watch: every card inserted in the reader (or any reader) is read with the key and reported; a failed read
    /// is reported and the next card awaited.
    private func watchReaders(_ key: AccessKey, trust: TrustStore?, terminal: TerminalCredentials?) throws {
        let context: PCSCContext
        do { context = try PCSCContext() } catch { throw failRead(error.description, code: CCCDExit.noReader) }
        var done = 0
        var stderr = StandardError()
        if !json { print("Waiting for cards (Ctrl-C to stop)…", to: &stderr) }
        while maxCards.map({ done < $0 }) ?? true {
            let state: PCSCContext.ReaderState
            do {
                state = try CardWatch.nextInsertion(context, reader: reader)
            } catch {
                throw failRead(error.description, code: CCCDExit.noReader)
            }
            done += 1
            do {
                let card = try context.connect(reader: state.reader, reset: done == 1)
                let report = try read(
                    card.isT1 ? card : T0ResponseHandling(card), key, trust: trust, terminal: terminal)
                card.disconnect(reset: true)
                if let out { try save(report, to: out + "/\(done)") }
                print(json ? String(decoding: try report.json(pretty: false), as: UTF8.self) : report.text + "\n")
            } catch {
                let message = (error as? ReaderError)?.description ?? "\(error)"
                if json {
                    print(
                        #"{"error":{"message":"# + jsonString(message) + #","reader":"# + jsonString(state.reader)
                            + "}}")
                } else {
                    print("error (\(state.reader)): \(message)\n")
                }
            }
            fflush(nil)  // every stream: a pipe gets each report as it is made
            if let maxCards, done >= maxCards { break }
            // The same card is read once: the next read waits for this one to leave.
            try? context.waitForRemoval(reader: state.reader, timeout: 3600)
        }
    }

    private func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }

    /// Reports a failure: on standard error, and with --json also as `{"error": {"code", "message", "exitCode"}}`
    /// on standard output, so terminal software always gets one JSON answer.
    private func failRead(_ message: String, code: ExitStatus) -> ExitCode {
        if json {
            struct Body: Encodable {
                var code: String
                var message: String
                var exitCode: Int32
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode([
                "error": Body(code: code.name, message: message, exitCode: code.rawValue)
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
            let present = try? context.states().first { $0.cardPresent && (reader == nil || $0.reader == reader) }
            let state = try context.waitForCard(reader: reader, timeout: wait)
            // A card that was in the reader already is reset first: its state is unknown (FIELD.md §2.6).
            card = try context.connect(reader: state.reader, reset: present != nil)
        } catch {
            switch error.code {
            case .noService, .noReader, .unknownReader: throw failRead(error.description, code: CCCDExit.noReader)
            case .timeout, .noCard, .cardRemoved: throw failRead(error.description, code: CCCDExit.noCard)
            default: throw failRead(error.description, code: CCCDExit.failure)
            }
        }
        return (context, card.isT1 ? card : T0ResponseHandling(card))
    }

    /// The raw files, the portrait as the chip holds it and, for a JPEG 2000 portrait, a PNG beside it.
    private func save(_ report: CardReport, to folder: String) throws {
        let url = URL(fileURLWithPath: folder, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (file, bytes) in report.rawFiles {
            try Data(bytes).write(to: url.appendingPathComponent("\(file.name).bin"))
        }
        // Fingerprints: each image as the chip holds it, and a PNG beside a JPEG 2000 one (browsers show neither
        // JPEG 2000 nor WSQ; WSQ has no decoder here and stays as it is).
        if let dg3 = report.rawFiles[.dataGroup(3)], let fingers = try? DataGroup3(bytes: dg3) {
            for finger in fingers.fingers {
                let ext = [2: "wsq", 4: "jpg", 5: "jp2", 6: "png"][Int(finger.compression)] ?? "raw"
                let name = "finger-\(finger.position)"
                try Data(finger.image).write(to: url.appendingPathComponent("\(name).\(ext)"))
                if finger.compression == 5 {
                    do {
                        let png = try Portrait.png(fromJPEG2000: finger.image, bounds: images.bounds)
                        try Data(png.bytes).write(to: url.appendingPathComponent("\(name).png"))
                    } catch {
                        var stderr = StandardError()
                        print("warning: \(name): \(error)", to: &stderr)
                    }
                }
            }
        }
        guard let face = report.portraitImage else { return }
        try Data(face.original).write(to: url.appendingPathComponent("portrait.\(face.format.fileExtension)"))
        if let problem = report.portrait?.problem {
            var stderr = StandardError()
            print("warning: \(problem)", to: &stderr)
        } else if face.format == .jpeg2000, let png = report.browserPortrait {
            try Data(png.bytes).write(to: url.appendingPathComponent("portrait.png"))
        }
    }
}

/// The report for a person on a terminal.
extension CardReport {
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
        lines.append("  Verdict:       \(verdict)")
        for reason in reasons where authenticity == .notGenuine { lines.append("    because      \(reason)") }
        for check in CardReport.Check.allCases {
            guard let v = checks[check] else { continue }
            let mark = v.status == .passed ? "PASSED " : v.status == .failed ? "FAILED " : "not checked"
            lines.append("  \(check.title.padding(24)) \(mark)  \(v.reason)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

/// The step of a read on one line of a terminal's standard error (nothing when standard error is not a terminal).
final class TerminalProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled = isatty(2) == 1
    private var shown = false

    var show: @Sendable (ReadStep) -> Void {
        { [self] step in
            guard enabled else { return }
            lock.withLock {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(step)…".utf8))
                shown = true
            }
        }
    }

    func clear() {
        lock.withLock {
            if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            shown = false
        }
    }
}

/// Watching readers for cards.
enum CardWatch {
    /// Waits for a card to be inserted into `reader` (or any reader): a card already present when the watch
    /// starts counts as inserted. Polls the resource manager every 100 ms; readers plugged in later are watched too.
    static func nextInsertion(_ context: PCSCContext, reader: String?) throws(PCSCError) -> PCSCContext.ReaderState {
        while true {
            let states: [PCSCContext.ReaderState]
            do { states = try context.states() } catch  where error.code == .noReader { states = [] }
            if let hit = states.first(where: { $0.cardPresent && (reader == nil || $0.reader == reader) }) {
                return hit
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}
