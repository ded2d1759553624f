import ArgumentParser
import CardCore

/// `cccd`: the command-line front of CCCDKit. Commands only parse arguments and call the library.
@main
struct CCCD: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "cccd",
        abstract: "Personalize, emulate and verify ICAO 9303 chip ID cards (Vietnam's CCCD first).",
        discussion: """
            Tools for print-centre personalization lines, hospital and bank reader terminals, and developers. \
            A terminal reads and verifies a card in a PC/SC reader (readers, read), or serves \
            reads to the desk's own software and a page for the clerk (serve); a developer serves a card image \
            as a virtual reader (emulate); a print centre checks records and prepares signed card images \
            (validate, prepare, pki init). Also: the synthetic sample card (sample-card) and inspection of \
            BER-TLV data and APDUs (tlv, apdu).
            """,
        version: version,
        subcommands: [
            ReadCommand.self, ServeCommand.self, ReadersCommand.self, EmulateCommand.self, PrepareCommand.self,
            ValidateCommand.self,
            PersoCommand.self, JournalCommand.self, PKICommand.self, SampleCardCommand.self, TLVCommand.self,
            APDUCommand.self, RelayCommand.self, BenchCommand.self, BenchReadsCommand.self,
        ]
    )
}
