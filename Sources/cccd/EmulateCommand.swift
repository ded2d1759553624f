import ArgumentParser
import CardCore
import CardCrypto
import CardEmulator
import ChipImage
import Dispatch
import Foundation
import Issuance
import LDS

#if canImport(Glibc)
    import Glibc
#endif

struct EmulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulate",
        abstract: "Serve a card image as a card in a virtual PC/SC reader (vsmartcard's vpcd in pcscd).",
        discussion: """
            Connects to vpcd (port 35963 = "Virtual PCD 00 00", 35964 = "Virtual PCD 00 01"; with the second \
            reader scripts/vpcd-readers.sh installs, 35965 = "Virtual PCD B 00 00", 35966 = "Virtual PCD B 00 01") \
            and answers every APDU with the software chip; any PC/SC program then sees the card. Reconnects when pcscd restarts; \
            stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

            Example: cccd emulate --card out/card.json --vpcd 127.0.0.1:35963
            """
    )

    @Option(help: "The card image (JSON). Or --blank for a chip to personalize.")
    var card: String?

    @Flag(help: "Serve a blank chip (pre-personalization): a serial and transport keys, waiting for `cccd perso`.")
    var blank = false

    @Option(
        help: ArgumentHelp(
            "With --blank: the batch's transport master key, from which the chip's SCP03 keys are diversified: pkcs11:token=LABEL;object=transport (with --pkcs11 MODULE; the card maker's token) or a key file (hex).",
            valueName: "pkcs11-uri|file"))
    var transportKey: String?

    @OptionGroup var token: PKCS11Options

    @Option(help: "With --blank: the chip's serial (10 bytes of key diversification data, hex; random by default).")
    var serial: String?

    @Option(help: "With --blank: the perso command set the chip takes (secure or jmrtd-applet).")
    var commandSet: String = PersoCommandSet.secure.rawValue

    @Flag(
        help:
            "With --blank --command-set jmrtd-applet: the chip does not answer GET DATA of its serial, as JMRTD's applet (the line assigns one)."
    )
    var noSerial = false

    @Option(help: "With --blank: write the issued card image here when the chip is locked.")
    var save: String?

    @Option(help: "vpcd's address, HOST:PORT (a name such as localhost, or an IPv4 or [IPv6] address).")
    var vpcd = "127.0.0.1:35963"

    @Flag(help: "Emulate a chip without extended-length support.")
    var noExtendedLength = false

    @Option(help: "Fault plan: the link drops after this many commands (tests of a pulled card).")
    var dropAfter: Int?

    @Option(
        help: ArgumentHelp(
            "Behave like a chip nobody here wrote, byte for byte as ../shared/FIELD.md records it (repeatable): an item (\(ChipOddities.items.map { "\($0.name) \($0.field)" }.joined(separator: ", "))) or a whole chip (vicc: §1.1-1.4; vicc-td3: all of §1; jmrtd-applet: §2, with no extended length and, with --blank, the applet's personalization).",
            valueName: "oddity"))
    var oddity: [String] = []

    /// HOST:PORT, with [IPv6]:PORT for an IPv6 literal.
    var hostAndPort: (host: String, port: UInt16)? {
        guard let colon = vpcd.lastIndex(of: ":"), let port = UInt16(vpcd[vpcd.index(after: colon)...]) else {
            return nil
        }
        var host = String(vpcd[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    var oddities: ChipOddities {
        get throws {
            var odd = ChipOddities()
            for o in oddity { try odd.add(o) }
            return odd
        }
    }

    func validate() throws {
        do { _ = try oddities } catch { throw ValidationError("--oddity \(error)") }
        guard (card != nil) != blank else { throw ValidationError("give --card FILE or --blank") }
        if blank && transportKey == nil && PersoCommandSet(rawValue: commandSet) == .secure {
            throw ValidationError("a blank secure chip needs --transport-key FILE")
        }
        guard PersoCommandSet(rawValue: commandSet) != nil else {
            throw ValidationError("--command-set must be secure or jmrtd-applet")
        }
        if noSerial && (!blank || PersoCommandSet(rawValue: commandSet) != .jmrtdApplet) {
            throw ValidationError(
                "--no-serial is for a blank jmrtd-applet chip (a secure chip's keys come from its serial)")
        }
        if let serial, (try? Hex.decode(serial))?.count != 10 {
            throw ValidationError("--serial must be 10 bytes in hex")
        }
        guard hostAndPort != nil else {
            throw ValidationError("--vpcd must be HOST:PORT, like 127.0.0.1:35963, localhost:35963 or [::1]:35963.")
        }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let chipState: EmulatedChip.State
        do {
            if let card {
                chipState = .issued(try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card))), serial: nil)
            } else {
                // A jmrtd-applet chip has no SCP03: its keys are never used.
                let keys: any TransportKeyProvider =
                    try transportKey.map { try TransportKeySource.open($0, token: token).provider }
                    ?? SoftwareTransportKeys(master: [UInt8](repeating: 0, count: 16))
                let chipSerial = try serial.map { try Hex.decode($0) } ?? [0x43, 0x43] + (try SecureRandom.bytes(8))
                var blankChip = try BlankChip(
                    serial: chipSerial, keys: try keys.staticKeys(serial: chipSerial),
                    commandSet: PersoCommandSet(rawValue: commandSet) ?? .secure)
                if noSerial { blankChip.answersSerial = false }
                if try oddities.refusesExtendedLength {
                    // JMRTD's applet as FIELD.md §2 records it: no serial, and its own PUT DATA forms only.
                    guard blankChip.commandSet == .jmrtdApplet else {
                        throw ValidationError("--oddity jmrtd-applet with --blank needs --command-set jmrtd-applet")
                    }
                    blankChip.answersSerial = false
                    blankChip.modelsJMRTDApplet = true
                }
                chipState = .blank(blankChip)
            }
        } catch {
            throw fail("\(card ?? "blank chip"): \(error)", code: CCCDExit.failure)
        }
        guard let (host, port) = hostAndPort else { return }
        do { _ = try VPCDBridge.resolve(host: host, port: port) } catch {
            throw fail("\(error)", code: CCCDExit.failure)
        }
        let odd = try oddities
        let settings = EmulatorSettings(
            supportsExtendedLength: !noExtendedLength && !odd.refusesExtendedLength,
            faultPlan: FaultPlan(dropLinkAfterCommands: dropAfter), oddities: odd)
        let chip = try EmulatedChip(state: chipState, settings: settings)
        if let save {
            chip.onNonVolatileChange = { state in
                guard case .issued(let image, _) = state, let data = try? image.json() else { return }
                try? PrivateFile.write(data, to: save)
                FileHandle.standardError.write(
                    Data("cccd emulate: the chip is locked; its card image is in \(save) (mode 0600: it holds the chip's keys)\n".utf8))
            }
        }
        let bridge = VPCDBridge(chip: chip, host: host, port: port) {
            message in
            FileHandle.standardError.write(Data("cccd emulate: \(message)\n".utf8))
        }
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { bridge.stop() }
            source.resume()
            return source
        }
        let oddText = settings.oddities == ChipOddities() ? "" : ", oddities: \(settings.oddities)"
        let what: String
        switch chipState {
        case .issued(let image, _): what = "\(image)"
        case .blank(let chip): what = "a blank chip, serial \(chip.serial.hexString) (\(chip.commandSet.rawValue))"
        }
        FileHandle.standardError.write(Data("cccd emulate: serving \(what)\(oddText) (Ctrl-C to stop)\n".utf8))
        let outcome = bridge.run()
        sources.forEach { $0.cancel() }
        FileHandle.standardError.write(
            Data("cccd emulate: \(outcome == .stopped ? "stopped" : "the card left the field (fault plan)")\n".utf8))
    }
}
