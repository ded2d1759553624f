import CardCore
import CardCrypto
import ChipAccess
import LDS
import Logging

/// One conversation with one chip: select the application, access control, then file reads with the fewest
/// round trips the chip allows (DESIGN.md, performance principles):
///
/// - one READ BINARY by short file identifier per file when extended length works (Le = 0000 reads the whole
///   file); otherwise the largest Le whose protected answer fits a short response (231 bytes under 3DES, 223
///   under AES), then plain-offset READ BINARY (odd INS B1 past offset 32767);
/// - the file's length comes from its TLV header in the first answer, so nothing is read twice;
/// - a Le that works is remembered for the session; 6700 to an extended Le falls back to short reads and 6Cxx
///   takes the chip's exact length, both without desynchronising the SSC (the chip answers them protected).
public final class ReaderSession {
    /// Counts every APDU on the wire (protected bytes).
    public let meter: MeteredTransport
    var channel: any CardTransport
    var secureMessaging: SecureMessaging?
    var secureTransport: SecureMessagingTransport?
    let random: any RandomSource

    /// The access control used ("BAC", later "PACE-CAN", "PACE-MRZ"), once performed.
    public internal(set) var accessControl: String?
    /// Extended-length reads in use (false after a fallback).
    public internal(set) var usesExtendedLength: Bool
    /// The largest plaintext a READ BINARY has delivered or may ask for in this session.
    public internal(set) var workingLe: Int

    /// The largest file this session reads (a card announcing more is refused before any byte of it is asked
    /// for): `ReadOptions.defaultMaxFileSize` unless the read's options say otherwise.
    public var maxFileSize = ReadOptions.defaultMaxFileSize

    /// Told each step of a read as it starts (and each chunk of a file as it arrives): progress a person can
    /// follow. Carries no data of the card.
    public var progress: (@Sendable (ReadStep) -> Void)?
    /// Tells `progress` and the debug log (`--verbose`) a step of the read.
    func report(_ step: ReadStep) {
        if case .reading(_, let bytes, let total) = step, bytes < total { return debugAndProgress(step, log: false) }
        debugAndProgress(step, log: true)
    }

    private func debugAndProgress(_ step: ReadStep, log: Bool) {
        if log { Self.logger.debug("\(step)") }
        progress?(step)
    }

    static let logger = Logger(label: "cccd.read")

    /// The largest READ BINARY another reader's strategy asks for (`imitate`); nil: as large as the chip allows.
    var imitatedReadLength: Int?

    public init(transport: any CardTransport, random: any RandomSource = SystemRandom()) {
        meter = MeteredTransport(transport)
        channel = meter
        self.random = random
        usesExtendedLength = transport.capabilities.supportsExtendedLength
        workingLe = usesExtendedLength ? 65536 : 256
    }

    // Tolerances learnt from this chip; they outlive a channel, so a re-opened card is read the way that works.
    /// The chip refuses READ BINARY by short file identifier: each file is selected by its identifier first.
    public internal(set) var selectsFilesByIdentifier = false
    /// The chip will not read past the end of a file: each file's header is read first, then exactly the rest.
    public internal(set) var readsHeaderFirst = false
    /// Whether this chip counts its unprotected status answers in the SSC. Presumed not (the chip did not
    /// protect them; FIELD.md §1); found out otherwise when a channel breaks right after one, and the card is
    /// opened again with the other rule, once a session.
    public internal(set) var plainAnswersCountInSSC = false
    var learntPlainAnswerRule = false
    /// Plain status answers, discarded data, failing checksums and answers without DO'99' in channels already
    /// closed.
    var retiredPlainAnswers = 0
    var retiredDiscardedAnswers = 0
    var retiredFailedChecksums = 0
    var retiredAnswersWithoutStatus = 0

    /// After the secure channel broke on a read: the read strategy takes one step down (short reads, then the
    /// header first, then SELECT), so the re-opened card never gets the request that broke the last session.
    /// Says what changed, or nil at the bottom of the ladder.
    func adaptAfterBreak() -> String? {
        if usesExtendedLength && imitatedReadLength == nil {
            usesExtendedLength = false
            return "reads were made short"
        }
        if !readsHeaderFirst {
            readsHeaderFirst = true
            return "each file's header was read first"
        }
        if !selectsFilesByIdentifier {
            selectsFilesByIdentifier = true
            return "files were selected by identifier"
        }
        return nil
    }

    /// A note for the report, once.
    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Adds the counts of a channel that ends to the session's.
    func retire(_ session: SecureMessaging?) {
        guard let session else { return }
        retiredPlainAnswers += session.plainAnswers
        retiredDiscardedAnswers += session.discardedAnswers
        retiredFailedChecksums += session.failedChecksumAnswers
        retiredAnswersWithoutStatus += session.answersWithoutStatusObject
    }

    /// Notes for what the chip's secure messaging needed tolerated (no data is ever accepted without a MAC).
    func secureMessagingNotes() {
        let plain = retiredPlainAnswers + (secureMessaging?.plainAnswers ?? 0)
        let discarded = retiredDiscardedAnswers + (secureMessaging?.discardedAnswers ?? 0)
        let failedChecksums = retiredFailedChecksums + (secureMessaging?.failedChecksumAnswers ?? 0)
        let withoutStatus = retiredAnswersWithoutStatus + (secureMessaging?.answersWithoutStatusObject ?? 0)
        if plain > 0 {
            note(
                "the chip answered \(plain) error or warning status\(plain == 1 ? "" : "es") without secure messaging "
                    + "that verifies (taken as status only; \(plainAnswersCountInSSC ? "counted" : "not counted") in the SSC, as this chip does)"
            )
        }
        if discarded > 0 {
            note(
                "the chip sent data without a valid MAC with \(discarded) warning or error status\(discarded == 1 ? "" : "es") "
                    + "(a DO'87' without DO'8E'): the data was discarded, never used")
        }
        if failedChecksums > 0 {
            note("\(failedChecksums) error or warning answer\(failedChecksums == 1 ? "" : "s") carried a DO'8E' that does not verify (status only)")
        }
        if withoutStatus > 0 {
            note(
                "the chip sent \(withoutStatus) protected answer\(withoutStatus == 1 ? "" : "s") without DO'99' "
                    + "(the MAC covers the data; the status came from the trailer)")
        }
    }

    func open(_ session: SecureMessaging) {
        retire(secureMessaging)
        session.countsPlainAnswers = plainAnswersCountInSSC
        secureMessaging = session
        let transport = SecureMessagingTransport(meter, session: session)
        secureTransport = transport
        channel = transport
        let short = SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: session.keys.blockSize)
        let extended = SecureMessagingCodec.maxPlaintextLength(
            responseLength: min(65536, meter.capabilities.maxResponseLength), blockSize: session.keys.blockSize)
        workingLe = min(usesExtendedLength ? extended : short, imitatedReadLength ?? Int.max)
    }

    /// Back to plain APDUs (before a new access control).
    func closeSecureMessaging() {
        retire(secureMessaging)
        secureMessaging = nil
        secureTransport = nil
        channel = meter
    }

    func send(_ command: CommandAPDU, doing what: String) throws -> ResponseAPDU {
        do {
            return try channel.transmit(command)
        } catch {
            throw ReaderError.wrap(error, doing: what)
        }
    }

    /// The largest plaintext Le without extended length in the current channel.
    var shortLe: Int {
        secureMessaging.map {
            SecureMessagingCodec.maxPlaintextLength(responseLength: 256, blockSize: $0.keys.blockSize)
        } ?? 256
    }

    var paceResult: PACE.Result?
    /// BAC's document number (Terminal Authentication's ID_PICC after BAC).
    var bacDocumentNumber: String?
    /// The terminal's ephemeral key of this channel's Chip Authentication, compressed (TA signs over it).
    var chipAuthenticationTerminalKey: [UInt8]?
    var paceParameters: DomainParameters?
    /// What the read had to do differently (fallbacks), for the report.
    public internal(set) var notes: [String] = []
}
