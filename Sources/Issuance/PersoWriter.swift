import CardCore
import CardCrypto
import ChipAccess
import ChipImage
import EAC
import LDS
import Personalization
import Reader
import Verification

/// Why a card could not be personalized, in the operator's terms. Never carries a secret or a command's data.
public struct PersoError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// The card is not a blank chip of this line (issued already, another applet, no serial).
        case notBlank
        /// The chip's transport keys do not match the batch master key (SCP03 authentication failed).
        case wrongTransportKey
        /// The chip refused a step.
        case refused
        /// The card left the reader or the link broke.
        case cardRemoved
        /// The secure channel broke (a MAC that does not verify).
        case channel
        /// The card was written but does not read back as the image.
        case readBack
    }

    public let kind: Kind
    public let reason: String
    public let statusWord: StatusWord?

    public init(_ kind: Kind, _ reason: String, statusWord: StatusWord? = nil) {
        self.kind = kind
        self.reason = reason
        self.statusWord = statusWord
    }

    public var description: String { reason + (statusWord.map { " (\($0.hex))" } ?? "") }
}

/// Replays a `PersoScript` through any `CardTransport` (a PC/SC reader or a blank emulated chip): SELECT the
/// applet, learn the chip's serial, open SCP03 with the chip's own keys (`secure`), then every step, in the
/// largest chunks the link takes, and the lock.
public struct PersoWriter {
    /// Where the chips' transport keys come from (`secure` command set; nil for a plain development applet).
    public let transportKeys: (any TransportKeyProvider)?
    public let random: any RandomSource

    public init(transportKeys: (any TransportKeyProvider)?, random: any RandomSource = SystemRandom()) {
        self.transportKeys = transportKeys
        self.random = random
    }

    /// Who a chip is: its serial (key diversification data), or, for a chip that has none (JMRTD's applet does
    /// not answer GET DATA), a serial the line assigned: `FF` and 9 random bytes, journalled like a real one.
    public struct ChipIdentity: Sendable, Hashable {
        public var serial: [UInt8]
        public var assigned: Bool

        public init(serial: [UInt8], assigned: Bool) {
            self.serial = serial
            self.assigned = assigned
        }

        /// The first byte of a serial the line assigned.
        public static let assignedPrefix: UInt8 = 0xFF

        /// Whether a journalled serial (hex) is one the line assigned.
        public static func isAssigned(_ serialHex: String) -> Bool { serialHex.uppercased().hasPrefix("FF") }
    }

    /// SELECT the eMRTD applet (plain) and ask its serial (GET DATA CF), before any authentication. A chip of
    /// the `jmrtd-applet` command set that gives no serial gets one assigned; a `secure` chip must give its own
    /// (its SCP03 keys are diversified from it).
    public static func identify(
        on transport: any CardTransport, aid: [UInt8], commandSet: PersoCommandSet,
        random: any RandomSource = SystemRandom()
    ) throws(PersoError) -> ChipIdentity {
        let select = try send(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid), on: transport, doing: "SELECT")
        guard select.statusWord == .success else {
            throw PersoError(.notBlank, "the card has no eMRTD applet", statusWord: select.statusWord)
        }
        let answer = try send(PersoProtocol.getDiversificationData, on: transport, doing: "GET DATA")
        if let serial = PersoProtocol.diversificationData(from: answer) {
            return ChipIdentity(serial: serial, assigned: false)
        }
        guard commandSet == .jmrtdApplet else {
            throw PersoError(
                .notBlank, "the card gives no serial: not a blank chip of this line", statusWord: answer.statusWord)
        }
        do {
            return ChipIdentity(serial: [ChipIdentity.assignedPrefix] + (try random.bytes(9)), assigned: true)
        } catch {
            throw PersoError(.refused, "no random source for a chip serial: \(error)")
        }
    }

    /// The chip's own serial (`identify` for a `secure` chip).
    public static func chipSerial(on transport: any CardTransport, aid: [UInt8]) throws(PersoError) -> [UInt8] {
        try identify(on: transport, aid: aid, commandSet: .secure).serial
    }

    /// What the write did.
    public struct Report: Sendable {
        public var serial: [UInt8]
        public var apdus: Int
        public var bytesSent: Int
    }

    /// Writes `script` to the blank chip in `transport`. `step` is told each step as it completes (the journal).
    /// `identity`: the chip as `identify` just found it, its applet still selected (saves the SELECT and the GET
    /// DATA); nil identifies it first.
    public func write(
        _ script: PersoScript, to transport: any CardTransport, identity: ChipIdentity? = nil,
        step: (PersoScript.Step) -> Void = { _ in }
    ) throws(PersoError) -> Report {
        let session = try open(transport, aid: script.aid, commandSet: script.commandSet, identity: identity)
        try session.replay(script.steps, step: step)
        return session.report
    }

    /// The public keys a chip made (`KeyGeneration`), by key reference.
    public typealias ChipPublicKeys = [PersoProtocol.Tag: ChipPublicKey]

    /// Writes a chip that makes its own keys (a `secure` chip, inside SCP03): asks it for each key pair of
    /// `requests` (GENERATE ASYMMETRIC KEY PAIR; the private keys never leave it), hands the public keys to
    /// `complete`, which returns the script of everything else (DG14, DG15 and EF.SOD carry those public keys), and
    /// replays that script in the same channel, through the lock. `extendedLength`: the link takes extended APDUs
    /// (an RSA key's answer is longer than 256 bytes).
    public func write(
        generating requests: [(key: PersoProtocol.Tag, parameters: ChipKeyParameters)], aid: [UInt8],
        to transport: any CardTransport, identity: ChipIdentity? = nil, extendedLength: Bool,
        complete: (ChipPublicKeys) throws -> PersoScript, step: (PersoScript.Step) -> Void = { _ in }
    ) throws(PersoError) -> Report {
        let session = try open(transport, aid: aid, commandSet: .secure, identity: identity)
        var keys: ChipPublicKeys = [:]
        for request in requests {
            if case .rsa(let bits) = request.parameters, bits / 8 + 16 > 256, !extendedLength {
                throw PersoError(
                    .refused, "the chip's \(request.parameters) key cannot be answered over a link without extended length")
            }
            let what = "GENERATE ASYMMETRIC KEY PAIR (\(request.key), \(request.parameters))"
            let answer = try session.exchange(
                KeyGeneration.command(request.key, request.parameters, extendedLength: extendedLength), doing: what)
            do {
                keys[request.key] = try KeyGeneration.publicKey(from: answer.data, asked: request.parameters)
            } catch {
                throw PersoError(.refused, "\(what): \(error)")
            }
        }
        let script: PersoScript
        do { script = try complete(keys) } catch let error as PersoError { throw error } catch {
            throw PersoError(.refused, "the card's files could not be made from the chip's keys: \(error)")
        }
        try session.replay(script.steps, step: step)
        return session.report
    }

    /// One chip being written: its identity, the metered link and the SCP03 channel (`secure`).
    struct Session {
        let chip: ChipIdentity
        let meter: MeteredTransport
        let channel: SCP03Session?

        var report: Report { Report(serial: chip.serial, apdus: meter.apduCount, bytesSent: meter.bytesSent) }

        /// One command through the channel; anything but 9000 is refused (6985: the chip is locked).
        func exchange(_ plain: CommandAPDU, doing what: String) throws(PersoError) -> ResponseAPDU {
            var command = plain
            if let channel {
                do { command = try channel.wrap(command) } catch {
                    throw PersoError(.channel, "\(what): \(error)")
                }
            }
            var answer = try PersoWriter.send(command, on: meter, doing: what)
            if let channel {
                do { answer = try channel.unwrap(answer) } catch {
                    throw PersoError(.channel, "\(what): \(error)", statusWord: answer.statusWord)
                }
            }
            guard answer.statusWord == .success else {
                if answer.statusWord == .conditionsOfUseNotSatisfied {
                    throw PersoError(
                        .notBlank, "\(what): the chip is locked (an issued card)", statusWord: answer.statusWord)
                }
                throw PersoError(.refused, "\(what) refused", statusWord: answer.statusWord)
            }
            return answer
        }

        func replay(_ steps: [PersoScript.Step], step: (PersoScript.Step) -> Void) throws(PersoError) {
            for s in steps {
                _ = try exchange(s.command, doing: "\(s)")
                step(s)
            }
        }
    }

    /// Identifies the chip (unless `identity` is given) and, for `secure`, opens SCP03 with its own keys.
    func open(
        _ transport: any CardTransport, aid: [UInt8], commandSet: PersoCommandSet, identity: ChipIdentity?
    ) throws(PersoError) -> Session {
        let meter = MeteredTransport(transport)
        let chip: ChipIdentity
        if let identity {
            chip = identity
        } else {
            chip = try Self.identify(on: meter, aid: aid, commandSet: commandSet, random: random)
        }
        var channel: SCP03Session? = nil
        if commandSet == .secure {
            guard !chip.assigned else { throw PersoError(.notBlank, "the card gives no serial: not a secure chip") }
            guard let transportKeys else {
                throw PersoError(.wrongTransportKey, "the secure command set needs the batch's transport master key")
            }
            channel = try openChannel(on: meter, keys: transportKeys, serial: chip.serial)
        }
        return Session(chip: chip, meter: meter, channel: channel)
    }

    /// INITIALIZE UPDATE, the card cryptogram checked with the chip's diversified keys, EXTERNAL AUTHENTICATE at
    /// C-MAC + C-DECRYPTION + R-MAC.
    func openChannel(on transport: any CardTransport, keys provider: any TransportKeyProvider, serial: [UInt8])
        throws(PersoError)
        -> SCP03Session
    {
        do {
            let keys = try provider.staticKeys(serial: serial)
            let host = try SCP03Host(keys: keys, random: random)
            let answer = try Self.send(host.initializeUpdate, on: transport, doing: "INITIALIZE UPDATE")
            if answer.statusWord == .conditionsOfUseNotSatisfied {
                throw PersoError(.notBlank, "the chip is locked (an issued card)", statusWord: answer.statusWord)
            }
            let card = try SCP03Host.parse(answer)
            guard card.diversificationData == serial else {
                throw PersoError(.notBlank, "the chip changed between GET DATA and INITIALIZE UPDATE")
            }
            let (channel, externalAuthenticate) = try host.authenticate(card, level: .personalization)
            let done = try Self.send(externalAuthenticate, on: transport, doing: "EXTERNAL AUTHENTICATE")
            guard done.statusWord == .success else {
                throw PersoError(.wrongTransportKey, "EXTERNAL AUTHENTICATE refused", statusWord: done.statusWord)
            }
            return channel
        } catch let error as PersoError {
            throw error
        } catch let error as SCP03Error {
            throw PersoError(.wrongTransportKey, "\(error)", statusWord: error.statusWord)
        } catch {
            throw PersoError(.channel, "opening the secure channel: \(error)")
        }
    }

    static func send(_ command: CommandAPDU, on transport: any CardTransport, doing what: String) throws(PersoError)
        -> ResponseAPDU
    {
        do {
            CardLog.sent(command, layer: "perso")
            let response = try transport.transmit(command)
            CardLog.received(response, layer: "perso")
            return response
        } catch let error as TransportError {
            throw PersoError(.cardRemoved, "\(what): \(error.reason)")
        } catch {
            throw PersoError(.cardRemoved, "\(what): \(error)")
        }
    }
}

/// The read-back that decides "issued": the card, read as a terminal would (PACE or BAC with the image's own key),
/// is genuine against the batch's CSCA (PA, CA, AA, consistency), and every file is byte-identical to the image.
public enum ReadBack {
    public struct Outcome: Sendable {
        public var passed: Bool
        public var reason: String
        public var result: ReadResult?
    }

    /// The key a terminal would use for this image: the CAN when the chip offers PACE with one, else the MRZ.
    public static func accessKey(for image: CardImage) -> AccessKey? {
        if image.content(of: .cardAccess) != nil, let can = image.secrets.can { return .can(can) }
        return image.secrets.bacKey.map { .mrz($0) }
    }

    /// Reads the card back as a terminal would and compares every file with the image. The files behind Terminal
    /// Authentication (DG3) are read and compared with `terminal` (the line's inspection system); without one, the
    /// chip must refuse them (`6982`: the access rule is in force), and EF.SOD, compared byte for byte, signs the
    /// DG3 the line wrote.
    public static func verify(
        _ image: CardImage, on transport: any CardTransport, trust: TrustStore, today: CalendarDate? = nil,
        terminal: TerminalCredentials? = nil
    ) -> Outcome {
        guard let key = accessKey(for: image) else {
            return Outcome(passed: false, reason: "the image has no access key", result: nil)
        }
        let result: ReadResult
        var options = ReadOptions(trust: trust, today: today)
        options.readsEFCOM = true  // every file is compared with the image
        options.terminal = terminal
        let session = ReaderSession(transport: transport)
        do {
            result = try session.readCard(key, options: options)
        } catch {
            return Outcome(passed: false, reason: "the card does not read back: \(error)", result: nil)
        }
        for (file, content) in image.lDSFiles.sorted(by: { $0.key < $1.key }) where file != .cardAccess {
            if terminal == nil, file.needsTerminalAuthentication, result.files[file] == nil,
                result.skipped[file] != nil
            {
                // No inspection system on this line: the chip must keep the file closed.
                do {
                    _ = try session.readFile(file)
                    return Outcome(
                        passed: false, reason: "\(file.name) is readable without Terminal Authentication", result: result)
                } catch let error as ReaderError where error.statusWord == .securityStatusNotSatisfied {
                    continue
                } catch {
                    return Outcome(
                        passed: false, reason: "\(file.name): the chip did not refuse it with 6982 (\(error))",
                        result: result)
                }
            }
            guard let read = result.files[file] else {
                let why = result.unreadable[file] ?? result.skipped[file] ?? "not read"
                return Outcome(passed: false, reason: "\(file.name) could not be read back: \(why)", result: result)
            }
            guard read == content else {
                return Outcome(
                    passed: false, reason: "\(file.name) reads back different from the image", result: result)
            }
        }
        guard result.assessment.genuine else {
            return Outcome(
                passed: false, reason: "not genuine: " + result.assessment.reasons.joined(separator: "; "),
                result: result)
        }
        return Outcome(passed: true, reason: "genuine; every file byte-identical", result: result)
    }
}
