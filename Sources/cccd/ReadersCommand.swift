import ArgumentParser
import Foundation
import PCSC

struct ReadersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readers",
        abstract: "List the PC/SC readers and whether a card is present (with its ATR).",
        discussion: "Exit codes: 0 at least one reader, 6 no reader or no PC/SC service (start pcscd)."
    )

    @Flag(help: "Print JSON: an array of {reader, cardPresent, atr, extendedLength}.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let states: [PCSCContext.ReaderState]
        do {
            states = try PCSCContext().states()
        } catch {
            throw fail(error.description, code: CCCDExit.noReader)
        }
        if json {
            struct Row: Encodable {
                var reader: String
                var cardPresent: Bool
                var atr: String?
                var extendedLength: Bool?
            }
            let rows = states.map {
                Row(
                    reader: $0.reader, cardPresent: $0.cardPresent,
                    atr: $0.cardPresent ? $0.atr.map { String(format: "%02X", $0) }.joined() : nil,
                    extendedLength: $0.cardPresent ? ATR($0.atr)?.supportsExtendedLength : nil)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            for s in states {
                if s.cardPresent {
                    let ext = ATR(s.atr)?.supportsExtendedLength == true ? ", extended length" : ""
                    print("\(s.reader): card present, ATR \(s.atr.map { String(format: "%02X", $0) }.joined())\(ext)")
                } else {
                    print("\(s.reader): no card")
                }
            }
        }
        if states.isEmpty { throw fail("no smart-card reader connected", code: CCCDExit.noReader) }
    }
}
