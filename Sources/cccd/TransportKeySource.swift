import CardCore
import CardCrypto
import Foundation
import Issuance
import Personalization

/// `--transport-key`: where a batch's SCP03 master key is. A PKCS#11 URI (`pkcs11:token=LABEL;object=transport`,
/// the module from `--pkcs11`): the key stays in the token, which diversifies each chip's keys itself; or a key
/// file (hex), for development only: the line warns.
enum TransportKeySource {
    static func open(_ spec: String, token: PKCS11Options) throws -> (provider: any TransportKeyProvider, warning: String?)
    {
        if PKCS11URI.isURI(spec) {
            let uri = try PKCS11URI(spec, defaultObject: "transport")
            guard let module = token.pkcs11 ?? uri.modulePath else {
                throw PKCS11Error(
                    .moduleMissing, "a transport key in a PKCS#11 token needs its module: --pkcs11 /path/to/module.so")
            }
            let opened = try PKCS11Token.shared(module: module, token: uri.token)
            try opened.login(pin: try token.pin())
            return (try PKCS11TransportKeys(token: opened, label: uri.object), nil)
        }
        // Read as a stream: `--transport-key <(command)` is a pipe with no size.
        guard let handle = FileHandle(forReadingAtPath: spec),
            let text = String(data: handle.readDataToEndOfFile(), encoding: .utf8),
            let key = try? Hex.decode(text.filter { !$0.isWhitespace }), [16, 24, 32].contains(key.count)
        else {
            throw TransportKeyFileError(
                description: "\(spec): not an AES key in hex (32, 48 or 64 hex digits), nor a pkcs11: URI")
        }
        return (
            SoftwareTransportKeys(master: key),
            "the transport master key is a file on this station (\(spec)): for development only; keep a line's key in a PKCS#11 token (cccd pki transport-key --pkcs11 MODULE --token LABEL, then --transport-key 'pkcs11:token=LABEL;object=transport')"
        )
    }

    struct TransportKeyFileError: Error, CustomStringConvertible {
        let description: String
    }
}
