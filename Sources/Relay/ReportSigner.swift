import CardCore
import CardCrypto
import Foundation
import RelayWire

/// Signs the relay's reports as compact JWS (RFC 7515) with the server's key, a file or a key in a PKCS#11 token:
/// ES256/ES384/ES512 for P-256/P-384/P-521 keys, PS256 for RSA (2048 bits or more). The bank's back end verifies
/// with the public key it pinned (`ReportVerifier`, or any JOSE library).
public final class ReportSigner: @unchecked Sendable {
    public let algorithm: String
    /// The key id in the header: the first 16 bytes of SHA-256 over the public key's DER, base64url.
    public let keyID: String
    public let publicKey: AsymmetricKey
    let key: AsymmetricKey
    let hash: HashAlgorithm
    let lock = NSLock()

    /// `publicKey`: the public half (needed for a token key; derived from a key file).
    public init(key: AsymmetricKey, publicKey: AsymmetricKey? = nil) throws(RelayError) {
        self.key = key
        do {
            let spki = try (publicKey ?? key).publicKeyDER()
            self.publicKey = try AsymmetricKey(publicKeyDER: spki)
            keyID = Base64URL.encode(Array(HashAlgorithm.sha256.hash(spki).prefix(16)))
        } catch {
            throw RelayError(.unavailable, "the report key has no usable public key: \(error)")
        }
        (algorithm, hash) = try Self.algorithm(for: self.publicKey)
    }

    static func algorithm(for key: AsymmetricKey) throws(RelayError) -> (String, HashAlgorithm) {
        switch key.kind {
        case .ec:
            switch key.curve {
            case .secp256r1: return ("ES256", .sha256)
            case .secp384r1: return ("ES384", .sha384)
            case .secp521r1: return ("ES512", .sha512)
            default:
                throw RelayError(
                    .unavailable, "JWS signs with P-256, P-384 or P-521 (RFC 7518 §3.4), not \(key.curve?.rawValue ?? "this curve")")
            }
        case .rsa:
            guard key.bits >= 2048 else { throw RelayError(.unavailable, "an RSA report key needs 2048 bits or more") }
            return ("PS256", .sha256)
        case .other: throw RelayError(.unavailable, "the report key is neither EC nor RSA")
        }
    }

    /// The compact JWS of `payload` (JSON bytes).
    public func sign(_ payload: [UInt8]) throws(RelayError) -> String {
        let header = RelayJSONValue.object([
            "alg": .string(algorithm), "kid": .string(keyID), "typ": .string("cccd-report+jws"),
        ]).text
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload)
        let signature: [UInt8]
        do {
            signature = try lock.withLock { () throws(CryptoError) -> [UInt8] in
                algorithm.hasPrefix("ES")
                    ? try key.signECDSAPlain(Array(input.utf8), hash: hash)
                    : try key.digestSign(Array(input.utf8), hash: hash, pss: true)
            }
        } catch {
            throw RelayError(.unavailable, "the report key did not sign: \(error)")
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// A key file: PKCS#8 DER or PEM (PKCS#8 or traditional).
    public static func loadKey(path: String) throws(RelayError) -> AsymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RelayError(.unavailable, "cannot read the report key \(path)")
        }
        let bytes = [UInt8](data)
        if let key = try? AsymmetricKey(privateKeyDER: bytes) { return key }
        do { return try AsymmetricKey(privateKeyPEM: bytes) } catch {
            throw RelayError(.unavailable, "\(path) is not a private key (PKCS#8 DER or PEM)")
        }
    }
}

/// The bank's side: checks a report's JWS against the pinned public key and gives its payload.
public struct ReportVerifier: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    let spki: [UInt8]

    public init(publicKey: AsymmetricKey) throws {
        spki = try publicKey.publicKeyDER()
    }

    /// A public key file: PEM ("BEGIN PUBLIC KEY") or SubjectPublicKeyInfo DER.
    public init(publicKeyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(path)")
        }
        let key = try (try? AsymmetricKey(publicKeyDER: [UInt8](data))) ?? AsymmetricKey(publicKeyPEM: [UInt8](data))
        try self.init(publicKey: key)
    }

    /// The payload of a JWS that verifies with this key; the header's `alg` must be the key's own (no "none", no
    /// algorithm switch).
    public func verify(_ jws: String) throws(Failure) -> [UInt8] {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw Failure(description: "not a compact JWS") }
        guard let key = try? AsymmetricKey(publicKeyDER: spki), let (algorithm, hash) = try? ReportSigner.algorithm(for: key)
        else { throw Failure(description: "the pinned key is not a report key") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            header["alg"] as? String == algorithm
        else { throw Failure(description: "the JWS header does not name \(algorithm), the pinned key's algorithm") }
        let input = Array((parts[0] + "." + parts[1]).utf8)
        let ok =
            algorithm.hasPrefix("ES")
            ? key.verifyECDSAPlain(signature, message: input, hash: hash)
            : key.digestVerify(signature, message: input, hash: hash, pss: true)
        guard ok else { throw Failure(description: "the report's signature does not verify with the pinned key") }
        return payload
    }
}
