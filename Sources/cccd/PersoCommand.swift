import EAC
import ArgumentParser
import CardCore
import CardCrypto
import CardEmulator
import Foundation
import Issuance
import IssuanceSlots
import LDS
import PCSC
import Personalization
import Verification

#if canImport(Glibc)
    import Glibc
#endif

struct PersoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perso",
        abstract: "Personalize a batch: validated records become signed, locked, verified chips.",
        discussion: """
            Every record is validated first; invalid ones are rejected with their reasons before any card is \
            touched. Each reader of this station (or emulated chip) then takes the next record, prepares its card \
            image (fresh chip keys, EF.SOD signed), writes it to the blank chip with the profile's command set \
            (inside a GlobalPlatform SCP03 channel for `secure`), locks it and reads it back as a terminal would \
            (PA against the signer's CSCA, CA, AA, every file byte-identical). Only then is the card issued; a \
            card that fails is spoiled and its record goes to the next card.

            The journal records every attempt before the first write, so a run that dies resumes where it \
            stopped and never issues a record twice: run the same command again. It never holds a private key or \
            biometric data. An SQLite file (the default, one machine) or a PostgreSQL queue \
            (--journal postgres://user@host/db) that several stations share: load the batch once with \
            --load-only, then start `cccd perso --station NAME` on each station with the same batch file. A station \
            that loses the database takes no new record, finishes the card in hand and records it when the \
            database is back.

            Exit codes: 0 every record issued (or held mid-card by another station); 2 some records rejected as \
            invalid (the others issued); 1 records left failed or pending, or an error.

            Example: cccd perso --batch Vectors/sample-card/batch.jsonl --signer out/pki \
            --journal out/perso.db --emulated 4 --chips out/chips
            """
    )

    @Option(help: "The batch: one JSON record per line (UTF-8).")
    var batch: String

    @Option(help: ArgumentHelp("A built-in card profile by name, or a profile YAML file.", valueName: "name|path"))
    var profile: String = "vn-cccd-2021"

    @Option(
        help: ArgumentHelp(
            "The document signer: a folder (ds.crt, ds.key, and its CSCA csca.crt) as `cccd pki init` writes, or a key in a PKCS#11 token, pkcs11:token=LABEL;object=ds (with --pkcs11 MODULE).",
            valueName: "dir|pkcs11-uri"))
    var signer: String?

    @OptionGroup var token: PKCS11Options

    @OptionGroup var eacTrust: CVCAOption

    /// The line's inspection system (optional): the read-back opens DG3 with it.
    @OptionGroup(title: "EAC read-back (DG3 compared byte for byte)") var eac: TerminalOptions

    @Option(
        help: ArgumentHelp(
            "The journal: an SQLite file (created if needed), or a PostgreSQL queue, postgres://user[:password]@host[:port]/db (password also from PGPASSWORD). The same journal resumes the batch.",
            valueName: "file|url"))
    var journal: String

    @Option(
        help: ArgumentHelp(
            "This station's name in the journal (one running process per name). Given: join a batch already loaded with --load-only. Default: the host name, and the batch is loaded if needed.",
            valueName: "name"))
    var station: String?

    @Flag(help: "Validate the batch and load it into the journal's queue, then stop (no reader, no signer needed).")
    var loadOnly = false

    @Option(
        help:
            "Seconds a claimed record stays this station's before any write (a dead station's record goes back after that)."
    )
    var lease: Double = 60

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("PC/SC readers to work: all, or reader names.", valueName: "all|name"))
    var readers: [String] = []

    @Option(help: "Work N emulated blank chips in this process instead of readers.")
    var emulated: Int?

    @Option(
        name: [.customLong("chips"), .customLong("out")],
        help: ArgumentHelp(
            "With --emulated: the emulated chips' own memory, kept apart from the line's output (the journal): the issued cards (cards/), spoiled chips (spoiled/) and the chips in work (slots/). They hold the chips' keys and CANs: folders 0700, files 0600. (--out is the old name.)",
            valueName: "dir"))
    var chips: String = "out/chips"

    @Option(
        help: ArgumentHelp(
            "The batch's transport master key, from which each chip's SCP03 keys are diversified: pkcs11:token=LABEL;object=transport (in a token, with --pkcs11 MODULE; it never leaves it), or a file (hex, AES-128/192/256; development, with a warning). With --emulated, a built-in TEST key by default.",
            valueName: "pkcs11-uri|file"))
    var transportKey: String?

    @Option(help: "Trust this CSCA for the read-back instead of the signer folder's csca.crt.")
    var trust: String?

    @Flag(
        help:
            "Print one JSON object per event (JSON Lines: each card, spoiled chip, refusal, reader state), then the summary as the last line."
    )
    var json = false

    @Flag(help: "Refuse records with validation warnings too (an expiry already past, …), not only invalid ones.")
    var strict = false

    @Option(
        help: ArgumentHelp(
            "Issue another card to citizens who hold one already (a lost or damaged card), for this reason; the journal keeps it with the record. Without it, a record whose ID number the journal has issued (any batch) is refused as record.alreadyIssued.",
            valueName: "reason"))
    var reissue: String?

    func validate() throws {
        if loadOnly {
            guard emulated == nil && readers.isEmpty && station == nil else {
                throw ValidationError("--load-only loads the batch and stops: no --readers, --emulated or --station")
            }
            return
        }
        guard signer != nil else { throw ValidationError("give --signer DIR (the document signer and its CSCA)") }
        guard (emulated != nil) != !readers.isEmpty else {
            throw ValidationError("give either --readers all|NAME… or --emulated N")
        }
        guard lease >= 5 && lease <= 86400 else { throw ValidationError("--lease must be 5…86400 seconds") }
        if let station, station.isEmpty || station.utf8.count > 64 {
            throw ValidationError("--station must be a name of 1…64 bytes")
        }
        if let emulated, !(1...64).contains(emulated) { throw ValidationError("--emulated must be 1…64") }
    }

    /// A TEST transport master key for emulated chips (the key card makers would hand over, here public).
    static let testTransportKey: [UInt8] = Array("CCCDKit TEST KEY".utf8)

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let cardProfile: CardProfile
        let data: Data
        do {
            cardProfile = try CardProfile(nameOrPath: profile)
            guard let d = FileManager.default.contents(atPath: batch) else {
                throw PreparationError(reason: "cannot read \(batch)")
            }
            data = d
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        // Decode and validate everything before any card is touched.
        let loaded = try loadBatch(data, profile: cardProfile)
        let (batchID, store) = (loaded.batchID, loaded.journal)
        if loadOnly {
            let rows = (try? store.records(batch: batchID)) ?? []
            let pending = rows.filter { $0.status == .pending }.count
            if json {
                let object: [String: Any] = [
                    "batch": batchID, "records": rows.count, "rejected": loaded.rejected.count, "pending": pending,
                    "issued": rows.filter { $0.status == .issued }.count,
                ]
                let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: out, as: UTF8.self))
            } else {
                print(
                    "batch \(batchID) is in the queue: \(plural(rows.count, "record")), \(loaded.rejected.count) rejected, \(pending) pending; start each station with --station NAME"
                )
            }
            if !loaded.rejected.isEmpty { throw ExitCode(CCCDExit.invalidRecords) }
            return
        }
        let documentSigner: DocumentSigner
        let trustStore: TrustStore
        do {
            let signer = self.signer ?? ""
            let (opened, tokenCSCA) = try token.signer(signer, cvca: eacTrust.cvca)
            documentSigner = opened
            if trust == nil, let tokenCSCA {
                trustStore = TrustStore(anchors: [tokenCSCA])
            } else {
                trustStore = try TrustStore.load(
                    paths: [trust ?? (signer as NSString).appendingPathComponent("csca.crt")])
            }
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let (valid, rejected, bytes) = (loaded.valid, loaded.rejected, [UInt8](data))
        let folder = (batch as NSString).deletingLastPathComponent
        let base = folder.isEmpty ? "." : folder
        let transportKeys: (any TransportKeyProvider)?
        if let transportKey {
            do {
                let (provider, warning) = try TransportKeySource.open(transportKey, token: token)
                if let warning { warn(warning) }
                transportKeys = provider
            } catch {
                throw fail("\(error)", code: CCCDExit.failure)
            }
        } else if emulated != nil {
            transportKeys = SoftwareTransportKeys(master: Self.testTransportKey)
        } else if cardProfile.persoCommandSet == .secure {
            throw fail(
                "the secure command set needs --transport-key (the batch's master key: pkcs11:token=LABEL;object=transport, or a key file)",
                code: CCCDExit.failure)
        } else {
            transportKeys = nil
        }
        if cardProfile.persoCommandSet == .jmrtdApplet {
            warn(
                "profile \(cardProfile.name) uses the jmrtd-applet command set: keys, CAN and MRZ cross the reader in clear (development cards only)"
            )
        }

        // Emulated chips take their serials from the journal: through the line's own journal once the line has one
        // (so that an outage there reaches the operator's progress as the line's outages do), the loading one before.
        let serials = Locked<any PersoJournal>(store)
        let slots: [any CardSlot]
        do {
            if let emulated {
                let tag = UInt16(truncatingIfNeeded: Int(bytes.count) &* 31 &+ emulated)
                slots = try (0..<emulated).map { index in
                    try EmulatedSlot(
                        index: index, folder: chips, keys: transportKeys ?? SoftwareTransportKeys(master: Self.testTransportKey),
                        commandSet: cardProfile.persoCommandSet,
                        aid: cardProfile.applicationID,
                        nextSerial: { BlankChip.serial(batch: tag, index: try serials.get().nextChipNumber()) })
                }
            } else {
                let context = try PCSCContext()
                let present = try context.readers()
                let names = readers == ["all"] ? present : readers
                guard !names.isEmpty else { throw PCSCError(status: 0x8010_002E, operation: "listing readers") }
                if let unknown = names.first(where: { !present.contains($0) }) {
                    throw fail(
                        "no reader named \"\(unknown)\"; the readers are: "
                            + (present.isEmpty ? "none" : present.map { "\"\($0)\"" }.joined(separator: ", ")),
                        code: CCCDExit.noReader)
                }
                slots = try names.map { try PCSCSlot(reader: $0) }
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail("\(error)", code: error is PCSCError ? CCCDExit.noReader : CCCDExit.failure)
        }

        let mode: PersoProgress.Mode = json ? .json : (isatty(1) == 1 ? .board : .lines)
        let progress = PersoProgress(total: valid.count, mode: mode, readers: slots.map(\.name))
        // Before any card: what is refused, what is issued again and why, what is issued with a warning.
        for (line, reason) in rejected {
            progress.note("line \(line): REJECTED  \(reason)", ["event": "rejected", "line": line, "reason": reason])
        }
        for (line, reason) in loaded.alreadyIssued {
            progress.note(
                "line \(line): ALREADY ISSUED  \(reason)", ["event": "alreadyIssued", "line": line, "reason": reason])
        }
        for line in loaded.reissued {
            progress.note(
                "line \(line): REISSUE  the citizen holds a card already; issuing another (\(reissue ?? ""))",
                ["event": "reissue", "line": line, "reason": reissue ?? ""])
        }
        for (line, text) in loaded.warned {
            progress.note(
                "line \(line): WARNING  \(text) (issued anyway; --strict refuses such records)",
                ["event": "warning", "line": line, "warnings": text])
        }

        var job = PersoJob(
            batchID: batchID, records: valid, profile: cardProfile, signer: documentSigner, trust: trustStore,
            transportKeys: transportKeys, baseDirectory: base, station: stationName,
            lease: lease)
        do { job.terminal = try eac.load(token: token) } catch {
            throw fail("the line's inspection system: \(error)", code: CCCDExit.failure)
        }
        // The line wraps the bare journal itself, so that its outages and returns reach the operator's progress.
        let line = PersoLine(job: job, journal: store.base, slots: slots) { progress.report($0) }
        serials.set(line.journal)
        // The operator's stop: the first SIGINT/SIGTERM finishes the card in hand (or leaves it untouched) and
        // ends cleanly; a second stops at once (the journal has the card in hand; the next run accounts for it).
        let stops = OperatorStop(line: line)
        let summary: LineSummary
        let lineError: (any Error)?
        do {
            summary = try line.run()
            lineError = nil
        } catch let error as StationStopped {
            summary = line.summarySoFar
            lineError = error
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        stops.cancel()
        // Pending records another station holds mid-card are that station's to finish; any other is not done. (The
        // holds first, then the records: a record another station finishes in between is issued, not missed.)
        let heldElsewhere = Set(
            ((try? store.openAttempts(batch: batchID)) ?? []).filter { $0.station != stationName }.map(\.line))
        let rows = (try? store.records(batch: batchID)) ?? []
        let issued = rows.filter { $0.status == .issued }.count
        let alreadyIssued = rows.filter {
            $0.status == .rejected && ($0.reason ?? "").hasPrefix(CitizenRule.alreadyIssued)
        }.count
        let rejectedCount = rows.filter { $0.status == .rejected }.count - alreadyIssued
        let pending = rows.filter { $0.status == .pending && !heldElsewhere.contains($0.line) }.count
        let failed = rows.filter { $0.status == .failed }.count
        // A stop that left nothing undone is a finished run.
        let stopped = stops.requested && pending > 0
        let object: [String: Any] = [
            "batch": batchID, "records": rows.count, "issued": issued, "rejected": rejectedCount,
            "alreadyIssued": alreadyIssued, "failed": failed + (stopped ? 0 : pending), "pending": pending,
            "spoiled": summary.spoiled, "recovered": summary.recovered, "seconds": summary.seconds,
            "cardsPerMinute": summary.cardsPerMinute, "issuedThisRun": summary.issued,
            "issuedByReader": summary.issuedBy, "station": stationName, "heldByOtherStations": heldElsewhere.count,
            "stoppedByOperator": stopped, "warnings": loaded.warned.count,
        ]
        var text =
            "batch \(batchID): \(issued) of \(plural(rows.count, "record")) issued, \(rejectedCount) rejected, "
            + (alreadyIssued > 0 ? "\(alreadyIssued) already issued before, " : "")
            + "\(failed + (stopped ? 0 : pending)) failed; \(plural(summary.spoiled, "card")) spoiled; "
            + String(format: "%.1f cards/min this run", summary.cardsPerMinute)
        if stopped {
            text += "\nstopped by the operator: \(plural(pending, "record")) left pending; run the same command again to go on"
        }
        progress.finish(summary: object, text: text)
        if let lineError { throw fail("\(lineError)", code: CCCDExit.failure) }
        if stopped { throw ExitCode(CCCDExit.stopped) }
        if failed + pending > 0 { throw ExitCode(CCCDExit.failure) }
        if rejectedCount > 0 { throw ExitCode(CCCDExit.invalidRecords) }
    }

    var stationName: String { station ?? ProcessInfo.processInfo.hostName }

    struct LoadedBatch {
        var batchID: String
        /// The journal while the batch loads: it waits out a database that is away, telling the operator on stderr.
        var journal: ResilientJournal
        var valid: [Int: CitizenRecord]
        var rejected: [(Int, String)]
        /// Valid records issued with validation warnings (`--strict` refuses them).
        var warned: [(Int, String)]
        /// Valid records whose citizen holds a card from another record (refused; not an error of the file).
        var alreadyIssued: [(Int, String)]
        /// Records allowed a reissue (--reissue).
        var reissued: [Int]
    }

    /// Decodes and validates the whole batch (before any card is touched), opens the journal and loads the batch
    /// into it, or, for a station joining a shared queue (--station), checks it is loaded already (BatchIntake).
    func loadBatch(_ data: Data, profile cardProfile: CardProfile) throws -> LoadedBatch {
        let folder = (batch as NSString).deletingLastPathComponent
        let intake: BatchIntake
        do {
            intake = try BatchIntake(
                [UInt8](data), source: (batch as NSString).lastPathComponent, profile: cardProfile,
                baseDirectory: folder.isEmpty ? "." : folder, strict: strict)
        } catch {
            throw fail("\(batch): \(error.problems)", code: CCCDExit.invalidRecords)
        }
        do {
            // A station (re)started while the database is away waits for it, as a running one does, and says so.
            let store = ResilientJournal(try JournalLocation.open(journal, patience: 600), patience: 600) { state in
                switch state {
                case .unavailable(let reason):
                    FileHandle.standardError.write(
                        Data("warning: the journal cannot be reached; waiting for it (\(reason))\n".utf8))
                case .back(let seconds):
                    FileHandle.standardError.write(
                        Data("the journal is back after \(String(format: "%.1f", seconds)) s; going on\n".utf8))
                }
            }
            let loaded = try intake.load(
                into: store, profile: cardProfile, joining: station != nil, reissue: reissue,
                location: JournalLocation.redacted(journal))
            return LoadedBatch(
                batchID: intake.batchID, journal: store, valid: intake.valid,
                rejected: intake.rejected.map { ($0.line, $0.reason) }, warned: intake.warned.map { ($0.line, $0.warnings) },
                alreadyIssued: loaded.alreadyIssued.map { ($0.line, $0.reason) }, reissued: loaded.reissued)
        } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
    }

    func warn(_ message: String) {
        var stderr = StandardError()
        print("warning: \(message)", to: &stderr)
    }
}
