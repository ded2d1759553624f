import CardCore
import CardCrypto
import CardEmulator
import ChipAccess
import ChipImage
import LDS
import Personalization

/// The emulator's command dispatch, fed random APDU sequences: an issued card (the sample card) and a blank chip,
/// each with and without a session (BAC secure messaging on the issued card, SCP03 on the blank chip).
///
/// Input: a mode byte, then commands as `control, length, bytes`. Control bit 0 sends the command through the
/// session (wrapped by the terminal's own secure messaging, its answer unwrapped), bit 1 power-cycles the chip
/// first; otherwise the bytes go to the chip as they are.
enum EmulatorTargets {
    static let all: [FuzzTarget] = [issued, blank]

    /// At most this many commands per input (longer runs slow the fuzzer down and reach no new state: BAC comes from the mode byte).
    static let maximumCommands = 8

    /// A random source that starts over for every input, so a run is repeatable.
    final class Replayable: RandomSource {
        private var state: UInt64 = 1
        func restart(_ seed: UInt64) { state = seed | 1 }
        func bytes(_ count: Int) throws -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                for i in 0..<8 where out.count < count {
                    out.append(UInt8(truncatingIfNeeded: state >> (8 * UInt64(i))))
                }
            }
            return out
        }
    }

    /// Chip variants the mode byte picks from: textbook, short length only, and the oddities deployed chips show.
    static let settings: [EmulatorSettings] = [
        EmulatorSettings(),
        EmulatorSettings(supportsExtendedLength: false, maxResponseLength: 256),
        EmulatorSettings(maxResponseLength: 231, oddities: .allOfSection1),
        EmulatorSettings.personality(.jmrtdApplet),
        EmulatorSettings(
            faultPlan: FaultPlan(
                plainErrors: true, plainErrorsCounted: true, plainErrorsAsDO99: true, readPastEndStatus: .wrongLength,
                shortFileIDStatus: .incorrectP1P2)),
    ]

    // MARK: Issued card

    /// One chip per settings variant, built once; `reset()` returns it to power-on between inputs (an issued
    /// card's memory does not change).
    private final class IssuedChips: @unchecked Sendable {
        let random = Replayable()
        let chips: [EmulatedChip]
        let bacKey: BACKey?
        init() {
            guard let image = SeedMaterial.sampleCard else {
                fatalError("Vectors/sample-card/card.json is missing: the issued-chip target needs it")
            }
            let random = self.random
            chips = settings.map { s in
                guard let chip = try? EmulatedChip(image: image, settings: s, random: random) else {
                    fatalError("the sample card does not load in the emulator")
                }
                return chip
            }
            bacKey = image.secrets.bacKey
        }
    }
    private static let issuedChips = IssuedChips()

    static let issued = FuzzTarget(
        name: "emulator-issued",
        summary: "the emulated issued card (sample card): random APDU sequences, plain and under BAC secure messaging",
        seeds: { issuedSeeds }
    ) { input in
        var stream = FuzzInput(input)
        let mode = stream.byte()
        let chips = issuedChips
        let chip = chips.chips[Int(mode >> 4) % chips.chips.count]
        chips.random.restart(UInt64(mode) &+ 0x9E37)
        chip.reset()
        var session: SecureMessaging? = nil
        if mode & 1 != 0, let key = chips.bacKey {
            session = try? BAC.authenticate(chip, key: key, random: chips.random)
            guard session != nil else { fatalError("BAC with the sample card's own key failed") }
        }
        let answered = run(&stream, chip: chip) { command in
            guard let sm = session, !sm.isEnded else { return nil }
            let wrapped = try sm.protect(command)
            let response = try chip.transmit(wrapped)
            return try sm.unprotect(response)
        }
        return answered ? .accepted : .rejected("no command answered 9000")
    }

    /// Sends the input's commands. `wrapped` handles a command meant for the session (nil: no session is open,
    /// send it plain). True when some command was answered with 9000.
    private static func run(
        _ stream: inout FuzzInput, chip: EmulatedChip, wrapped: (CommandAPDU) throws -> ResponseAPDU?
    ) -> Bool {
        var successes = 0
        var count = 0
        while !stream.isEmpty, count < maximumCommands {
            count += 1
            let control = stream.byte()
            let bytes = stream.chunk()
            if control & 2 != 0 { chip.reset() }
            if control & 1 != 0, let command = try? CommandAPDU(bytes: bytes) {
                do {
                    if let response = try wrapped(command) {
                        if response.statusWord == .success { successes += 1 }
                        continue
                    }
                } catch {
                    continue  // the terminal refused the chip's answer (or the chip ended the session): typed
                }
            }
            do {
                let answer = try chip.process(bytes)
                guard answer.count >= 2, answer.count <= 65538 else {
                    fatalError("the emulator answered \(answer.count) bytes")
                }
                if answer.suffix(2) == [0x90, 0x00] { successes += 1 }
            } catch {
                fatalError("the emulator threw on a command without a fault plan: \(error)")
            }
        }
        return successes > 0
    }

    /// A Vietnamese read's commands as a terminal sends them (plain, so the harness wraps them): SELECT of the
    /// application and of each file, READ BINARY by SFI, by offset and with odd INS, GET CHALLENGE, MSE and
    /// GENERAL AUTHENTICATE for PACE and CA, INTERNAL AUTHENTICATE.
    static var issuedSeeds: [[UInt8]] {
        let aid = VietnameseCard.applicationID
        let select: [UInt8] = [0x00, 0xA4, 0x04, 0x0C, UInt8(aid.count)] + aid
        var commands: [[UInt8]] = [select]
        for fid: [UInt8] in [[0x01, 0x1E], [0x01, 0x01], [0x01, 0x0D], [0x01, 0x0E], [0x01, 0x0F], [0x01, 0x1D]] {
            commands.append([0x00, 0xA4, 0x02, 0x0C, 0x02] + fid)
            commands.append([0x00, 0xB0, 0x00, 0x00, 0x04])
            commands.append([0x00, 0xB0, 0x00, 0x04, 0xDF])
        }
        let reads: [[UInt8]] = [
            [0x00, 0xB0, 0x81, 0x00, 0x00], [0x00, 0xB0, 0x82, 0x00, 0x00, 0x01, 0x00],
            [0x00, 0xB1, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x10, 0x00],
            [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C], [0x00, 0x84, 0x00, 0x00, 0x08],
            [0x00, 0x88, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00],
        ]
        // PACE with the CAN (ECDH-GM-AES-128, brainpoolP256r1) and Chip Authentication (ECDH-AES-128).
        let pace: [UInt8] = [
            0x00, 0x22, 0xC1, 0xA4, 0x0F, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x83,
            0x01, 0x02,
        ]
        let nonce: [UInt8] = [0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00]
        let ca: [UInt8] = [
            0x00, 0x22, 0x41, 0xA4, 0x0C, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02,
        ]
        var point: [UInt8] = []
        if let dg14 = SeedMaterial.sampleFile(.dataGroup(14)), let infos = try? DataGroup14(bytes: dg14),
            let key = try? infos.securityInfos.chipAuthenticationPublicKeys.first?.publicKey()
        {
            point = key.key
        }
        let caAuth: [UInt8] =
            [0x00, 0x86, 0x00, 0x00, UInt8(point.count + 4), 0x7C, UInt8(point.count + 2), 0x80, UInt8(point.count)]
            + point + [0x00]
        return [
            [0x00] + commandSequence(commands, control: 0),
            [0x01] + commandSequence(commands + reads, control: 1),
            [0x21] + commandSequence(reads + [pace, nonce], control: 0),
            [0x11] + commandSequence([select, ca, caAuth] + commands, control: 1),
            [0x31] + commandSequence(reads, control: 3),
        ]
    }

    // MARK: Blank chip

    private static let master: [UInt8] = Array(0x40...0x4F)
    private static let serial: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A]
    private static let blankChips: [BlankChip] = PersoCommandSet.allCases.map { set in
        guard let chip = try? BlankChip(serial: serial, master: master, commandSet: set) else {
            fatalError("a blank chip cannot be made")
        }
        return chip
    }
    nonisolated(unsafe) private static let blankRandom = Replayable()

    static let blank = FuzzTarget(
        name: "emulator-blank",
        summary: "the emulated blank chip (every perso command set): random APDU sequences, plain and under SCP03",
        seeds: { blankSeeds }
    ) { input in
        var stream = FuzzInput(input)
        let mode = stream.byte()
        let blank = blankChips[Int(mode >> 4) % blankChips.count]
        blankRandom.restart(UInt64(mode) &+ 0x51)
        guard
            let chip = try? EmulatedChip(
                blank: blank, settings: settings[Int(mode >> 1) % 2], random: blankRandom)
        else { fatalError("a blank chip cannot be made") }
        var session: SCP03Session? = nil
        if mode & 1 != 0 { session = openSCP03(chip, blank: blank) }
        let answered = run(&stream, chip: chip) { command in
            guard let channel = session, !channel.isEnded, chip.isBlank else { return nil }
            let response = try chip.transmit(try channel.wrap(command))
            return try channel.unwrap(response)
        }
        return answered ? .accepted : .rejected("no command answered 9000")
    }

    /// SELECT, INITIALIZE UPDATE and EXTERNAL AUTHENTICATE with the chip's diversified keys.
    private static func openSCP03(_ chip: EmulatedChip, blank: BlankChip) -> SCP03Session? {
        let aid = VietnameseCard.applicationID
        _ = try? chip.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid))
        guard let keys = try? SCP03.StaticKeys.diversified(master: master, diversificationData: serial) else {
            return nil
        }
        let host = SCP03Host(keys: keys, hostChallenge: [1, 2, 3, 4, 5, 6, 7, 8])
        guard let answer = try? chip.transmit(host.initializeUpdate), let card = try? SCP03Host.parse(answer),
            let (channel, authenticate) = try? host.authenticate(card, level: .personalization),
            let done = try? chip.transmit(authenticate), done.statusWord == .success
        else { return nil }
        return channel
    }

    /// A personalization's commands (the sample card's image compiled for each command set), plain.
    static var blankSeeds: [[UInt8]] {
        guard let image = SeedMaterial.sampleCard else { return [] }
        var seeds: [[UInt8]] = []
        for (index, set) in PersoCommandSet.allCases.enumerated() {
            guard let script = try? PersoScript.compile(image, commandSet: set, extendedLength: false) else { continue }
            let commands = script.steps.map { $0.command.encoded() }.filter { $0.count <= 255 }
            let secure: UInt8 = set == .secure ? 1 : 0
            // The first commands, the middle and the end (the lock), each within the per-input limit.
            for part in [Array(commands.prefix(20)), Array(commands.suffix(12))] {
                seeds.append([UInt8(index << 4) | secure] + commandSequence(part, control: secure))
            }
        }
        return seeds
    }
}
