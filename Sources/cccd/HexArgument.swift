import ArgumentParser
import CardCore

/// A hex byte string on the command line ("00A4040C07A0000002471001", spaces and colons allowed).
struct HexBytes: ExpressibleByArgument {
    let bytes: [UInt8]

    init?(argument: String) {
        guard let bytes = try? Hex.decode(argument) else { return nil }
        self.bytes = bytes
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
