import CardCrypto
import Foundation
import Personalization

/// A batch file taken in before any card is touched: every line decoded and validated (an ID number on two lines
/// refuses both: which one is right is the operator's call), then loaded into the journal, or, for a station
/// joining a shared queue, found there already. What the journal keeps of each line is its hash and ID number,
/// never its content.
public struct BatchIntake: Sendable {
    /// The batch's id: the first 8 bytes of the file's SHA-256, in hex (the same file is the same batch).
    public let batchID: String
    /// The file's name, as the journal records its source.
    public let source: String
    /// Valid records by line.
    public let valid: [Int: CitizenRecord]
    /// Refused lines and why (decoding or validation).
    public let rejected: [(line: Int, reason: String)]
    /// Valid lines issued with validation warnings (`strict` refuses them instead).
    public let warned: [(line: Int, warnings: String)]
    /// Every line as the journal records it.
    public let journalRecords: [(line: Int, idNumber: String?, hash: String, rejection: String?)]

    /// Why a batch could not be taken in at all (not one of its lines: the file).
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public let source: String
        /// What is wrong with the file, in the decoder's words.
        public let problems: String
        public var description: String { "\(source): \(problems)" }
    }

    /// Decodes and validates `bytes` (a JSON Lines batch named `source`); portraits and finger images are read
    /// against `baseDirectory`. `strict` refuses a record with warnings.
    public init(
        _ bytes: [UInt8], source: String, profile: CardProfile, baseDirectory: String, strict: Bool
    ) throws(Refusal) {
        let entries: [RecordDecoder.Entry]
        do { entries = try RecordDecoder.decodeBatch(bytes) } catch {
            throw Refusal(source: source, problems: error.problems.map(\.description).joined(separator: "; "))
        }
        let validator = RecordValidator(profile: profile)
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var valid: [Int: CitizenRecord] = [:]
        var journalRecords: [(line: Int, idNumber: String?, hash: String, rejection: String?)] = []
        var rejected: [(line: Int, reason: String)] = []
        var warned: [(line: Int, warnings: String)] = []
        let duplicates = BatchValidation.duplicateIDs(entries)
        for entry in entries {
            let text = entry.line <= lines.count ? String(lines[entry.line - 1]) : ""
            let hash = HashAlgorithm.sha256.hash(Array(text.utf8)).prefix(16).hexString
            switch entry.result {
            case .success(let record):
                var result = validator.validate(record, baseDirectory: baseDirectory)
                if let issue = duplicates[entry.line] { result.errors.append(issue) }
                if !result.warnings.isEmpty {
                    if strict {
                        result.errors += result.warnings
                    } else {
                        warned.append((entry.line, result.warnings.map(\.description).joined(separator: "; ")))
                    }
                }
                if result.isValid {
                    valid[entry.line] = record
                    journalRecords.append((entry.line, record.idNumber, hash, nil))
                } else {
                    let reason = result.errors.map(\.description).joined(separator: "; ")
                    rejected.append((entry.line, reason))
                    journalRecords.append(
                        (entry.line, record.idNumber.utf8.count <= 32 ? record.idNumber : nil, hash, reason))
                }
            case .failure(let error):
                let reason = error.problems.map(\.description).joined(separator: "; ")
                rejected.append((entry.line, reason))
                journalRecords.append((entry.line, nil, hash, reason))
            }
        }
        self.batchID = HashAlgorithm.sha256.hash(bytes).prefix(8).hexString
        self.source = source
        self.valid = valid
        self.rejected = rejected
        self.warned = warned
        self.journalRecords = journalRecords
    }

    /// What loading decided about citizens who hold a card already.
    public struct Loaded: Sendable {
        /// Valid records whose citizen holds a card from another record: refused (not an error of the file).
        public var alreadyIssued: [(line: Int, reason: String)] = []
        /// Records allowed a reissue.
        public var reissued: [Int] = []
    }

    /// Loads the batch into `journal` (or, `joining` a shared queue, checks it is there with the same records),
    /// then applies the one-card-per-citizen rule across batches: a record whose citizen the journal has issued
    /// elsewhere is refused, or, with a `reissue` reason, allowed once more with the reason on record. The line
    /// checks again at each claim (another station may issue the citizen meanwhile).
    public func load(
        into journal: any PersoJournal, profile: CardProfile, joining: Bool, reissue: String?, location: String
    ) throws -> Loaded {
        if joining {
            guard let loaded = try journal.batch(id: batchID) else {
                throw JournalError(
                    "batch \(batchID) (\(source)) is not in the queue at \(location): load it once with `cccd perso --batch … --journal … --load-only`"
                )
            }
            guard loaded.recordCount == journalRecords.count else {
                throw JournalError(
                    "batch \(batchID) was loaded with \(loaded.recordCount) records, not \(journalRecords.count)")
            }
        } else {
            try journal.begin(
                batch: BatchRow(
                    id: batchID, source: source, profile: profile.name, createdAt: Date(),
                    recordCount: journalRecords.count),
                records: journalRecords)
        }
        var outcome = Loaded()
        let issuedElsewhere = Dictionary(
            grouping: try journal.issuedRecords(idNumbers: valid.values.map(\.idNumber)), by: { $0.idNumber ?? "" })
        for (line, record) in valid.sorted(by: { $0.key < $1.key }) {
            let cards = issuedElsewhere[record.idNumber] ?? []
            // Issued by this very record (a resumed run): nothing to decide.
            guard !cards.contains(where: { $0.batchId == batchID && $0.line == line }), let card = cards.first
            else { continue }
            if let reissue {
                try journal.allowReissue(batch: batchID, line: line, reason: reissue)
                outcome.reissued.append(line)
            } else {
                let reason = CitizenRule.alreadyIssuedReason(card)
                try journal.refuse(batch: batchID, line: line, reason: reason)
                outcome.alreadyIssued.append((line, reason))
            }
        }
        return outcome
    }
}
