import ArgumentParser
import CardCrypto
import Foundation
import Personalization

/// The PKCS#11 options of every command that signs: the module and where the PIN comes from (never the command
/// line: the environment variable CCCD_PKCS11_PIN or a file).
struct PKCS11Options: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The PKCS#11 module (any vendor's .so) of the token holding the document signer's key (--signer pkcs11:token=LABEL;object=ds) or the transport master key (--transport-key pkcs11:token=LABEL;object=transport).",
            valueName: "module"))
    var pkcs11: String?

    @Option(
        help: ArgumentHelp(
            "A file whose first line is the token's user PIN (else the environment variable CCCD_PKCS11_PIN).",
            valueName: "file"))
    var pinFile: String?


    /// A key in a token named by `spec` (pkcs11:token=LABEL;object=LABEL), logged in, that signs inside the
    /// token; `publicKey` is its public half (the token's key type and curve).
    func signingKey(_ spec: String, publicKey: AsymmetricKey) throws -> AsymmetricKey {
        let uri = try PKCS11URI(spec)
        guard let module = pkcs11 ?? uri.modulePath else {
            throw PKCS11Error(.moduleMissing, "a key in a token needs its module: --pkcs11 /path/to/module.so")
        }
        let token = try PKCS11Token.shared(module: module, token: uri.token)
        try token.login(pin: try pin())
        _ = try token.selectKey(label: uri.object)
        return try token.signingKey(publicKey: publicKey)
    }

    func pin() throws -> String {
        if let pinFile {
            guard let text = try? String(contentsOfFile: pinFile, encoding: .utf8) else {
                throw PKCS11Error(.wrongPIN, "cannot read the PIN file \(pinFile)")
            }
            let pin = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !pin.isEmpty else { throw PKCS11Error(.wrongPIN, "the PIN file \(pinFile) is empty") }
            return pin
        }
        if let pin = ProcessInfo.processInfo.environment["CCCD_PKCS11_PIN"], !pin.isEmpty { return pin }
        throw PKCS11Error(.wrongPIN, "no PIN: set CCCD_PKCS11_PIN or give --pin-file FILE (never on the command line)")
    }

    /// The document signer named by `signer` (a folder, or a PKCS#11 URI) and, for a token, the CSCA certificate
    /// stored beside it (the read-back's default trust).
    /// `cvca`: the CVCA certificate file for EAC chips (`--cvca`), else the signer folder's.
    func signer(_ signer: String, cvca: String? = nil) throws -> (DocumentSigner, Certificate?) {
        guard PKCS11URI.isURI(signer) else {
            return (try withCVCA(try DocumentSigner.load(directory: signer), cvca), nil)
        }
        let (documentSigner, token) = try DocumentSigner.token(try PKCS11URI(signer), module: pkcs11, pin: try pin())
        let csca = (try? token.certificate(label: DocumentSigner.tokenCSCALabel)).flatMap { try? Certificate(der: $0) }
        return (try withCVCA(documentSigner, cvca), csca)
    }

    /// The signer with the CVCA of --cvca, when given.
    private func withCVCA(_ signer: DocumentSigner, _ cvca: String?) throws -> DocumentSigner {
        guard let cvca else { return signer }
        guard let data = FileManager.default.contents(atPath: cvca) else {
            throw PreparationError(reason: "cannot read the CVCA certificate \(cvca)")
        }
        var signer = signer
        signer.cvca = try DocumentSigner.cvca(bytes: [UInt8](data), from: cvca)
        return signer
    }
}

/// `--cvca FILE`: the CVCA's CV certificate that EAC chips get as their trust point (cccd perso, cccd prepare).
struct CVCAOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The CVCA's CV certificate the chips trust for EAC Terminal Authentication (profiles with extendedAccessControl; default: the signer folder's eac/cvca.cvcert, from cccd pki init --eac; needed with a token signer).",
            valueName: "file"))
    var cvca: String?
}
