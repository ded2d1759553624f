import ArgumentParser
import CardCore

struct APDUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apdu",
        abstract: "Decode a command APDU (ISO 7816-4 case, class bits, Nc, Ne) or a status word.",
        discussion: "Examples: cccd apdu 00A4020C02011C   ·   cccd apdu --status 6982"
    )

    @Argument(help: "The command APDU in hex.")
    var apdu: HexBytes?

    @Option(help: "A status word (4 hex digits) to explain instead.")
    var status: HexBytes?

    func validate() throws {
        if (apdu == nil) == (status == nil) { throw ValidationError("Give either an APDU or --status, not both.") }
        if let status, status.bytes.count != 2 { throw ValidationError("--status takes exactly 2 bytes, like 6A82.") }
    }

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        if let status {
            print(StatusWord(sw1: status.bytes[0], sw2: status.bytes[1]))
            return
        }
        guard let apdu else { return }
        let command: CommandAPDU
        do {
            command = try CommandAPDU(bytes: apdu.bytes)
        } catch {
            throw ValidationError("\(error)")
        }
        let form = command.encoded() == apdu.bytes ? "short" : "extended"
        print(
            "case \(command.isoCase) (\(form)): CLA \([command.cla].hexString) INS \([command.ins].hexString)"
                + " P1 \([command.p1].hexString) P2 \([command.p2].hexString)")
        print("Nc = \(command.data.count)" + (command.data.isEmpty ? "" : "  data \(command.data.hexString)"))
        print("Ne = " + (command.ne.map(String.init) ?? "none"))
        if command.isSecureMessaging { print("secure messaging (header authenticated)") }
        if command.isChained { print("command chaining: more commands follow") }
    }
}
