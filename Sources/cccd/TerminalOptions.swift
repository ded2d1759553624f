import ArgumentParser
import CardCrypto
import EAC
import Foundation
import Personalization

/// `--terminal DIR` and `--terminal-key`: an inspection system for EAC Terminal Authentication (cccd read, cccd
/// serve): its CV certificates and its key, a file or a key in a PKCS#11 token.
struct TerminalOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "An inspection system's folder for EAC Terminal Authentication: its CV certificates (*.cvcert: the DV's and its own) and key (is.pkcs8 or is.key). DG3 (fingerprints) is read as far as the chain grants.",
            valueName: "dir"))
    var terminal: String?

    @Option(
        help: ArgumentHelp(
            "With --terminal: the inspection system's private key as a file (PKCS#8 DER or PEM), or pkcs11:token=LABEL;object=LABEL (with --pkcs11 MODULE; the token signs).",
            valueName: "file|pkcs11-uri"))
    var terminalKey: String?

    func validate() throws {
        if terminalKey != nil && terminal == nil { throw ValidationError("--terminal-key goes with --terminal DIR.") }
    }

    /// The inspection system's chain and key (nil without --terminal); `token`: the command's PKCS#11 options.
    func load(token: PKCS11Options) throws -> TerminalCredentials? {
        guard let terminal else { return nil }
        guard let spec = terminalKey else { return try TerminalCredentials.load(directory: terminal) }
        if PKCS11URI.isURI(spec) {
            let key = try token.signingKey(
                spec, publicKey: try TerminalCredentials.inspectionSystemPublicKey(directory: terminal))
            return try TerminalCredentials.load(directory: terminal, key: key)
        }
        guard let bytes = FileManager.default.contents(atPath: spec) else {
            throw CVCertificateError(.malformed, "cannot read the key file \(spec)")
        }
        let key = try (try? AsymmetricKey(privateKeyDER: [UInt8](bytes))) ?? AsymmetricKey(privateKeyPEM: [UInt8](bytes))
        return try TerminalCredentials.load(directory: terminal, key: key)
    }
}
