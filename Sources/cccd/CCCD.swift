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
            Tools for print-centre personalization lines, hospital and bank reader terminals, and developers.
            Available now: reading a card image through the built-in software chip with PACE or BAC, Chip and
            Active Authentication (read); checking citizen records (validate); a test PKI (pki init); the
            synthetic sample card (sample-card); inspection of BER-TLV data and APDUs (tlv, apdu).
            """,
        version: version,
        subcommands: [ReadCommand.self, PrepareCommand.self, ValidateCommand.self, PKICommand.self, SampleCardCommand.self, TLVCommand.self, APDUCommand.self]
    )
}
