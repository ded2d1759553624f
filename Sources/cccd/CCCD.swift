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
            Available now: reading a card image through the built-in software chip over BAC with secure
            messaging (read), the synthetic sample card (sample-card), and low-level inspection of BER-TLV
            data and APDUs (tlv, apdu). PC/SC readers, PACE, verification, record validation and
            personalization arrive as the toolchain grows.
            """,
        version: version,
        subcommands: [ReadCommand.self, SampleCardCommand.self, TLVCommand.self, APDUCommand.self]
    )
}
