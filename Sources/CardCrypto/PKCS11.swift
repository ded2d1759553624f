import CCryptoShim
import COpenSSL
import Foundation

/// A PKCS#11 failure in the operator's terms: which step, and the token's CKR_ name. Never a PIN.
public struct PKCS11Error: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case moduleMissing, tokenMissing, wrongPIN, pinLocked, keyMissing, wrongKeyType, failed
    }

    public let kind: Kind
    public let reason: String
    public let code: UInt

    public init(_ kind: Kind, _ reason: String, code: UInt = 0) {
        self.kind = kind
        self.reason = reason
        self.code = code
    }

    public var description: String { "PKCS#11: " + reason + (code == 0 ? "" : " (\(Self.name(code)))") }

    /// The PKCS#11 name of a return value.
    public static func name(_ rv: UInt) -> String {
        let names: [UInt: String] = [
            0x0: "CKR_OK", 0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD",
            0x30: "CKR_DEVICE_ERROR", 0x32: "CKR_DEVICE_REMOVED", 0x60: "CKR_KEY_HANDLE_INVALID",
            0x63: "CKR_KEY_TYPE_INCONSISTENT", 0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x70: "CKR_MECHANISM_INVALID",
            0x71: "CKR_MECHANISM_PARAM_INVALID", 0xA0: "CKR_PIN_INCORRECT", 0xA1: "CKR_PIN_INVALID",
            0xA2: "CKR_PIN_LEN_RANGE", 0xA4: "CKR_PIN_LOCKED", 0xB3: "CKR_SESSION_HANDLE_INVALID",
            0xE0: "CKR_TOKEN_NOT_PRESENT", 0x101: "CKR_USER_NOT_LOGGED_IN", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
            0x150: "CKR_BUFFER_TOO_SMALL", 0x12: "CKR_ATTRIBUTE_TYPE_INVALID", 0x13: "CKR_ATTRIBUTE_VALUE_INVALID",
        ]
        return names[rv] ?? String(format: "CKR 0x%lX", rv)
    }
}

/// A vendor's PKCS#11 module (any `.so`, loaded with dlopen) with one token selected, logged in as the user, and
/// one private key selected: keys stay in the token; `signingKey` gives an `AsymmetricKey` whose signatures the
/// token makes (ECDSA, RSA PKCS#1 v1.5, RSA-PSS), from as many threads as want, one session each.
public final class PKCS11Token: @unchecked Sendable {
    let handle: OpaquePointer
    public let modulePath: String
    public let tokenLabel: String

    /// Loads `module` and finds the token labelled `token`.
    public init(module: String, token: String) throws(PKCS11Error) {
        guard FileManager.default.fileExists(atPath: module) else {
            throw PKCS11Error(.moduleMissing, "no PKCS#11 module at \(module)")
        }
        var rv: UInt = 0
        var message = [CChar](repeating: 0, count: 512)
        guard let h = cccd_p11_load(module, &rv, &message, message.count) else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PKCS11Error(
                .moduleMissing, "cannot load the PKCS#11 module \(module): \(text)", code: rv == 5 ? 0 : rv)
        }
        handle = h
        modulePath = module
        tokenLabel = token
        let found = cccd_p11_select_token(h, token)
        guard found == 0 else {
            // (deinit unloads the module: every stored property is set.)
            throw PKCS11Error(.tokenMissing, "no token labelled \"\(token)\" in \(module)", code: found)
        }
    }

    deinit { cccd_p11_unload(handle) }

    private static let openedLock = NSLock()
    nonisolated(unsafe) private static var opened: [String: PKCS11Token] = [:]

    /// One token object per module and token label in the process: the document signer and the transport master
    /// key may sit in the same token, and a module is initialized once.
    public static func shared(module: String, token: String) throws(PKCS11Error) -> PKCS11Token {
        openedLock.lock()
        defer { openedLock.unlock() }
        let key = module + "\u{0}" + token
        if let known = opened[key] { return known }
        let made = try PKCS11Token(module: module, token: token)
        opened[key] = made
        return made
    }

    /// Logs in as the user. The PIN is passed through and not kept.
    public func login(pin: String) throws(PKCS11Error) {
        let rv = cccd_p11_login(handle, pin)
        switch rv {
        case 0: return
        case 0xA0, 0xA1, 0xA2: throw PKCS11Error(.wrongPIN, "the token \"\(tokenLabel)\" refused the PIN", code: rv)
        case 0xA4: throw PKCS11Error(.pinLocked, "the token \"\(tokenLabel)\" has its user PIN locked", code: rv)
        default: throw PKCS11Error(.failed, "login to the token \"\(tokenLabel)\" failed", code: rv)
        }
    }

    /// Whether a private key with this label is on the token.
    public func hasKey(label: String) throws(PKCS11Error) -> Bool {
        var exists: Int32 = 0
        let rv = cccd_p11_object_exists(handle, label, &exists)
        guard rv == 0 else { throw PKCS11Error(.failed, "looking for the key \"\(label)\" failed", code: rv) }
        return exists != 0
    }

    /// Selects the private key labelled `label` for signing; its type (EC or RSA).
    @discardableResult
    public func selectKey(label: String) throws(PKCS11Error) -> AsymmetricKey.Kind {
        var type: UInt = 0
        let rv = cccd_p11_select_key(handle, label, &type)
        guard rv == 0 else {
            throw PKCS11Error(
                .keyMissing, "no private key labelled \"\(label)\" on the token \"\(tokenLabel)\"", code: rv)
        }
        switch type {
        case 0x0: return .rsa  // CKK_RSA
        case 0x3: return .ec  // CKK_EC
        default:
            throw PKCS11Error(
                .wrongKeyType,
                "the key \"\(label)\" is of type \(String(format: "0x%lX", type)), not an RSA or EC signature key")
        }
    }

    /// Stores an AES key on the token under `label` (an SCP03 batch master key): private, sensitive, never
    /// extractable, for AES-CMAC only. The bytes are passed through and not kept.
    public func importAESKey(_ value: [UInt8], label: String) throws(PKCS11Error) {
        guard [16, 24, 32].contains(value.count) else {
            throw PKCS11Error(.wrongKeyType, "an AES key is 16, 24 or 32 bytes, not \(value.count)")
        }
        let rv = cccd_p11_import_aes(handle, label, value, value.count)
        guard rv == 0 else {
            throw PKCS11Error(.failed, "the token could not store the AES key \"\(label)\"", code: rv)
        }
    }

    /// Generates an AES key of `bytes` bytes inside the token under `label`: it never exists outside it.
    public func generateAESKey(bytes: Int, label: String) throws(PKCS11Error) {
        guard [16, 24, 32].contains(bytes) else {
            throw PKCS11Error(.wrongKeyType, "an AES key is 16, 24 or 32 bytes, not \(bytes)")
        }
        let rv = cccd_p11_generate_aes(handle, label, bytes)
        guard rv == 0 else {
            throw PKCS11Error(.failed, "the token could not generate the AES key \"\(label)\"", code: rv)
        }
    }

    /// Whether a secret key with this label is on the token.
    public func hasSecretKey(label: String) -> Bool {
        var type: UInt = 0
        var length: UInt = 0
        var e: Int32 = 0
        var x: Int32 = 0
        return cccd_p11_select_secret(handle, label, &type, &length, &e, &x) == 0
    }

    /// Selects the AES key labelled `label` for `cmac`; its length in bytes. Refused unless it is an AES key the
    /// token will not let out (sensitive, not extractable).
    @discardableResult
    public func selectSecretKey(label: String) throws(PKCS11Error) -> Int {
        var type: UInt = 0
        var length: UInt = 0
        var extractable: Int32 = 1
        var sensitive: Int32 = 0
        let rv = cccd_p11_select_secret(handle, label, &type, &length, &extractable, &sensitive)
        guard rv == 0 else {
            throw PKCS11Error(.keyMissing, "no secret key labelled \"\(label)\" on the token \"\(tokenLabel)\"", code: rv)
        }
        guard type == 0x1F, [16, 24, 32].contains(Int(length)) else {  // CKK_AES
            throw PKCS11Error(
                .wrongKeyType, "the key \"\(label)\" is not an AES-128/192/256 key (type \(String(format: "0x%lX", type)))")
        }
        guard extractable == 0, sensitive != 0 else {
            throw PKCS11Error(
                .wrongKeyType, "the key \"\(label)\" can leave the token (extractable or not sensitive): not a master key")
        }
        return Int(length)
    }

    /// AES-CMAC of `data` under the selected secret key, computed inside the token.
    public func cmac(_ data: [UInt8]) throws(PKCS11Error) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        let rv = cccd_p11_cmac(handle, data, data.count, &out)
        guard rv == 0 else { throw PKCS11Error(.failed, "the token refused AES-CMAC", code: rv) }
        return out
    }

    /// The selected key's CKA_EXTRACTABLE and CKA_SENSITIVE.
    public func keyFlags() throws(PKCS11Error) -> (extractable: Bool, sensitive: Bool) {
        var e: Int32 = 1
        var s: Int32 = 0
        let rv = cccd_p11_key_flags(handle, &e, &s)
        guard rv == 0 else { throw PKCS11Error(.failed, "reading the key's attributes failed", code: rv) }
        return (e != 0, s != 0)
    }

    /// A key pair generated inside the token under `label` (private key sensitive, never extractable); its
    /// public key. `curve` for EC, else RSA of `rsaBits`.
    public func generateKeyPair(label: String, curve: NamedCurve?, rsaBits: Int = 3072) throws(PKCS11Error)
        -> AsymmetricKey
    {
        var params: [UInt8] = []
        if let curve {
            let nid = OBJ_sn2nid(curve.openSSLName)
            guard nid != NID_undef, let object = OBJ_nid2obj(nid) else {
                throw PKCS11Error(.failed, "no object identifier for \(curve.rawValue)")
            }
            params = OpenSSLDER.encode { i2d_ASN1_OBJECT(object, $0) }
        }
        var out: OpaquePointer? = nil
        let rv =
            params.isEmpty
            ? cccd_p11_generate(handle, label, nil, 0, UInt(rsaBits), &out)
            : cccd_p11_generate(handle, label, params, params.count, 0, &out)
        guard rv == 0, let out else {
            throw PKCS11Error(.failed, "the token could not generate the key pair \"\(label)\"", code: rv)
        }
        return AsymmetricKey(owning: out)
    }

    /// The public X.509 certificate stored under `label` (DER).
    public func certificate(label: String) throws(PKCS11Error) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var length = buffer.count
        let rv = cccd_p11_read_certificate(handle, label, &buffer, &length)
        guard rv == 0 else {
            throw PKCS11Error(
                .keyMissing, "no certificate labelled \"\(label)\" on the token \"\(tokenLabel)\"", code: rv)
        }
        return Array(buffer.prefix(length))
    }

    /// Stores a certificate (public) on the token under `label`.
    public func storeCertificate(_ der: [UInt8], label: String) throws(PKCS11Error) {
        let rv = cccd_p11_store_certificate(handle, label, der, der.count)
        guard rv == 0 else { throw PKCS11Error(.failed, "storing the certificate \"\(label)\" failed", code: rv) }
    }

    /// The selected key as an `AsymmetricKey` whose signatures the token makes; `publicKey` (from its certificate)
    /// must be its public half. The key keeps this token loaded.
    public func signingKey(publicKey: AsymmetricKey) throws(PKCS11Error) -> AsymmetricKey {
        guard let k = cccd_p11_signing_key(handle, publicKey.pkey) else {
            throw PKCS11Error(.wrongKeyType, "the token's key is neither an EC nor an RSA signature key")
        }
        let key = AsymmetricKey(owning: k)
        key.owner = self
        return key
    }

    /// The CK_RV of the last signature the token refused (0 when none).
    public var lastSigningError: UInt { cccd_p11_last_error(handle) }
}
