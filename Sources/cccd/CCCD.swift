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
            Available now: low-level inspection of BER-TLV data and command APDUs. Reading over BAC/PACE,
            emulation, validation of citizen records and personalization arrive as the toolchain grows
            (planned: read, emulate, prepare, validate, pki, readers, personalize).
            """,
        version: version,
        subcommands: [TLVCommand.self, APDUCommand.self]
    )
}
