import ArgumentParser
import CardEmulator
import Dispatch
import Foundation
import LDS

#if canImport(Glibc)
    import Glibc
#endif

struct EmulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulate",
        abstract: "Serve a card image as a card in a virtual PC/SC reader (vsmartcard's vpcd in pcscd).",
        discussion: """
            Connects to vpcd (port 35963 = "Virtual PCD 00 00", 35964 = "Virtual PCD 00 01") and answers every
            APDU with the software chip; any PC/SC program then sees the card. Reconnects when pcscd restarts;
            stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

            Example: cccd emulate --card out/card.json --vpcd 127.0.0.1:35963
            """
    )

    @Option(help: "The card image (JSON).")
    var card: String

    @Option(help: "vpcd's address, HOST:PORT.")
    var vpcd = "127.0.0.1:35963"

    @Flag(help: "Emulate a chip without extended-length support.")
    var noExtendedLength = false

    @Option(help: "Fault plan: the link drops after this many commands (tests of a pulled card).")
    var dropAfter: Int?

    func validate() throws {
        let parts = vpcd.split(separator: ":")
        guard parts.count == 2, UInt16(parts[1]) != nil else {
            throw ValidationError("--vpcd must be HOST:PORT, like 127.0.0.1:35963.")
        }
    }

    func run() throws {
        let image: CardImage
        do {
            image = try CardImage(json: Data(contentsOf: URL(fileURLWithPath: card)))
        } catch {
            throw fail("\(card): \(error)", code: CCCDExit.failure)
        }
        let parts = vpcd.split(separator: ":")
        let settings = EmulatorSettings(
            supportsExtendedLength: !noExtendedLength, faultPlan: FaultPlan(dropLinkAfterCommands: dropAfter))
        let chip = try EmulatedChip(image: image, settings: settings)
        let bridge = VPCDBridge(chip: chip, host: String(parts[0]), port: UInt16(parts[1]) ?? VPCDBridge.defaultPort) {
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
        FileHandle.standardError.write(Data("cccd emulate: serving \(image) (Ctrl-C to stop)\n".utf8))
        let outcome = bridge.run()
        sources.forEach { $0.cancel() }
        FileHandle.standardError.write(
            Data("cccd emulate: \(outcome == .stopped ? "stopped" : "the card left the field (fault plan)")\n".utf8))
    }
}
