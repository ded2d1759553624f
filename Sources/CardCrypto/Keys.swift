import CCryptoShim
import COpenSSL

/// The signature and key-agreement keys of a chip or a signer (owns an EVP_PKEY). Serialized as DER: private
/// keys PKCS#8, public keys SubjectPublicKeyInfo. Never printed.
public final class AsymmetricKey: CustomStringConvertible {
    let pkey: OpaquePointer
    /// What must live as long as the key (the PKCS#11 module a token key signs through).
    var owner: AnyObject?

    init(owning pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    public enum Kind: Hashable, Sendable { case ec, rsa, other }

    /// The key size in bits (the RSA modulus, the EC group order).
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    public var kind: Kind {
        if EVP_PKEY_is_a(pkey, "EC") == 1 { return .ec }
        if EVP_PKEY_is_a(pkey, "RSA") == 1 { return .rsa }
        return .other
    }

    /// A new EC key pair.
    public static func generateEC(_ curve: NamedCurve) throws(CryptoError) -> AsymmetricKey {
        guard let k = cccd_ec_keygen(curve.openSSLName) else { throw .library("EC key generation") }
        return AsymmetricKey(owning: k)
    }

    /// A new RSA key pair (e = 65537).
    public static func generateRSA(bits: Int) throws(CryptoError) -> AsymmetricKey {
        guard let k = cccd_rsa_keygen(UInt32(bits)) else { throw .library("RSA key generation") }
        return AsymmetricKey(owning: k)
    }

    /// An EC key from its private scalar on a named curve (the public point computed).
    public static func ec(_ curve: NamedCurve, scalar: [UInt8]) throws(CryptoError) -> AsymmetricKey {
        guard let k = cccd_ec_from_scalar(curve.openSSLName, scalar, scalar.count) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidEncoding, reason: "not a private key on \(curve.rawValue)")
        }
        return AsymmetricKey(owning: k)
    }

    /// An RSA key (every CRT component) from its two primes and public exponent.
    public static func rsa(p: [UInt8], q: [UInt8], e: [UInt8]) throws(CryptoError) -> AsymmetricKey {
        guard let k = cccd_rsa_from_primes(p, p.count, q, q.count, e, e.count) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidEncoding, reason: "not an RSA key (p, q, e)")
        }
        return AsymmetricKey(owning: k)
    }

    /// An RSA key (every CRT component) from n, e and d alone: the primes are recovered, so a chip given only
    /// the modulus and private exponent (JMRTD's applet convention) still yields a whole key.
    public static func rsa(modulus n: [UInt8], publicExponent e: [UInt8], privateExponent d: [UInt8])
        throws(CryptoError) -> AsymmetricKey
    {
        guard let k = cccd_rsa_from_private_exponent(n, n.count, e, e.count, d, d.count) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidEncoding, reason: "the modulus and exponents are not one RSA key")
        }
        return AsymmetricKey(owning: k)
    }

    /// The first probable prime at or above `candidate` (top two and lowest bits set) with gcd(p − 1, e) = 1:
    /// deterministic, for RSA keys generated from a seed.
    public static func rsaPrime(from candidate: [UInt8], e: UInt = 65537) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: candidate.count)
        guard cccd_rsa_prime_from(candidate, candidate.count, e, &out) == 1 else { throw .library("RSA prime search") }
        return out
    }

    /// A big-number component of the key by its OpenSSL name ("n", "e", "d" for RSA), big-endian.
    public func component(_ name: String) throws(CryptoError) -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else {
            ERR_clear_error()
            throw .library("EVP_PKEY_get_bn_param(\(name))")
        }
        return BigNumber(owning: bn).bytes()
    }

    /// A private key from DER (PKCS#8 or the traditional form).
    public init(privateKeyDER der: [UInt8]) throws(CryptoError) {
        guard let key = OpenSSLDER.decode(der, { d2i_AutoPrivateKey(nil, $0, $1) }) else {
            throw CryptoError(code: .invalidEncoding, reason: "not a DER private key")
        }
        pkey = key
    }

    /// A public key from a DER SubjectPublicKeyInfo.
    public init(publicKeyDER der: [UInt8]) throws(CryptoError) {
        guard let key = OpenSSLDER.decode(der, { d2i_PUBKEY(nil, $0, $1) }) else {
            throw CryptoError(code: .invalidEncoding, reason: "not a DER SubjectPublicKeyInfo")
        }
        pkey = key
    }

    /// PKCS#8 DER of the private key.
    public func privateKeyDER() throws(CryptoError) -> [UInt8] {
        guard let p8 = EVP_PKEY2PKCS8(pkey) else { throw .library("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        let der = OpenSSLDER.encode { i2d_PKCS8_PRIV_KEY_INFO(p8, $0) }
        guard !der.isEmpty else { throw .library("i2d_PKCS8_PRIV_KEY_INFO") }
        return der
    }

    /// A private key from PEM text (PKCS#8 or traditional).
    public init(privateKeyPEM text: [UInt8]) throws(CryptoError) {
        guard let bio = text.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw .library("BIO_new_mem_buf")
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidEncoding, reason: "not a PEM private key")
        }
        pkey = key
    }

    /// PKCS#8 PEM of the private key.
    public func privateKeyPEM() throws(CryptoError) -> String {
        PEM.encode(try privateKeyDER(), label: "PRIVATE KEY")
    }

    /// A public key from PEM text (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY").
    public init(publicKeyPEM text: [UInt8]) throws(CryptoError) {
        guard let bio = text.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw .library("BIO_new_mem_buf")
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidEncoding, reason: "not a PEM public key")
        }
        pkey = key
    }

    /// SubjectPublicKeyInfo PEM of the public key.
    public func publicKeyPEM() throws(CryptoError) -> String {
        PEM.encode(try publicKeyDER(), label: "PUBLIC KEY")
    }

    /// SubjectPublicKeyInfo DER of the public key.
    public func publicKeyDER() throws(CryptoError) -> [UInt8] {
        let der = OpenSSLDER.encode { i2d_PUBKEY(pkey, $0) }
        guard !der.isEmpty else { throw .library("i2d_PUBKEY") }
        return der
    }

    // MARK: EC

    /// The named curve of an EC key.
    public var curve: NamedCurve? {
        var buffer = [CChar](repeating: 0, count: 64)
        guard cccd_ec_group_name(pkey, &buffer, buffer.count) == 1 else { return nil }
        return NamedCurve(
            openSSLName: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The EC private scalar (for PACE-CAM and Chip Authentication in the chip role).
    public func ecPrivateScalar() throws(CryptoError) -> BigNumber {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, "priv", &bn) == 1, let bn else {
            throw .library("EVP_PKEY_get_bn_param(priv)")
        }
        return BigNumber(owning: bn)
    }

    /// The EC public point, uncompressed.
    public func ecPublicPoint() throws(CryptoError) -> [UInt8] {
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", nil, 0, &length) == 1 else {
            throw .library("EVP_PKEY_get_octet_string_param")
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", &out, length, &length) == 1 else {
            throw .library("EVP_PKEY_get_octet_string_param")
        }
        return Array(out.prefix(length))
    }

    /// ECDSA over `message` with `hash`, as the plain r ‖ s of BSI TR-03111 (each half the order's length).
    public func signECDSAPlain(_ message: [UInt8], hash: HashAlgorithm) throws(CryptoError) -> [UInt8] {
        let der = try digestSign(message, hash: hash)
        guard let curve else {
            throw CryptoError(code: .unsupportedAlgorithm, reason: "ECDSA key without a named curve")
        }
        let n = try ECGroup(curve).order.count
        guard let sig = OpenSSLDER.decode(der, { d2i_ECDSA_SIG(nil, $0, $1) }) else { throw .library("d2i_ECDSA_SIG") }
        defer { ECDSA_SIG_free(sig) }
        guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig), let rc = BN_dup(r), let sc = BN_dup(s)
        else {
            throw .library("ECDSA_SIG_get0")
        }
        return BigNumber(owning: rc).bytes(length: n) + BigNumber(owning: sc).bytes(length: n)
    }

    /// Verifies a plain r ‖ s ECDSA signature.
    public func verifyECDSAPlain(_ signature: [UInt8], message: [UInt8], hash: HashAlgorithm) -> Bool {
        guard signature.count % 2 == 0, !signature.isEmpty else { return false }
        let half = signature.count / 2
        guard let sig = ECDSA_SIG_new() else { return false }
        defer { ECDSA_SIG_free(sig) }
        let r = BN_bin2bn(signature, Int32(half), nil)
        let s = signature.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress.map { $0 + half }, Int32(half), nil) }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else { return false }
        let der = OpenSSLDER.encode { i2d_ECDSA_SIG(sig, $0) }
        return !der.isEmpty && digestVerify(der, message: message, hash: hash)
    }

    /// A signature in OpenSSL's native form (DER for ECDSA, PKCS#1 v1.5 for RSA).
    /// With `pss` (RSA keys only): RSASSA-PSS with MGF1 of the same hash and a salt of the hash's length (as BSI
    /// TR-03110-3 and CMS ask).
    public func digestSign(_ message: [UInt8], hash: HashAlgorithm, pss: Bool = false) throws(CryptoError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit(ctx, &pctx, hash.md, nil, pkey) == 1 else { throw .library("EVP_DigestSignInit") }
        if pss {
            guard kind == .rsa, let pctx, Self.setPSS(pctx, hash: hash) else { throw .library("RSA-PSS padding") }
        }
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else { throw .library("EVP_DigestSign") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &out, &length, message, message.count) == 1 else { throw .library("EVP_DigestSign") }
        return Array(out.prefix(length))
    }

    public func digestVerify(_ signature: [UInt8], message: [UInt8], hash: HashAlgorithm, pss: Bool = false) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestVerifyInit(ctx, &pctx, hash.md, nil, pkey) == 1 else {
            ERR_clear_error()
            return false
        }
        if pss {
            guard kind == .rsa, let pctx, Self.setPSS(pctx, hash: hash) else {
                ERR_clear_error()
                return false
            }
        }
        let ok = EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
        ERR_clear_error()
        return ok
    }

    private static func setPSS(_ pctx: OpaquePointer, hash: HashAlgorithm) -> Bool {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
            && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, hash.md) == 1
            && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(hash.digestLength)) == 1
    }

    // MARK: RSA (raw, for ISO/IEC 9796-2)

    /// The modulus length in bytes.
    public var size: Int { Int(EVP_PKEY_get_size(pkey)) }

    /// m^d mod n without padding (the caller formats m, e.g. ISO/IEC 9796-2).
    public func rsaPrivateRaw(_ m: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { throw .library("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_sign_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 else {
            throw .library("EVP_PKEY_sign_init")
        }
        var length = size
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(ctx, &out, &length, m, m.count) == 1 else { throw .library("EVP_PKEY_sign (raw RSA)") }
        return Array(out.prefix(length))
    }

    /// s^e mod n without padding; nil when s is not a valid input.
    public func rsaPublicRaw(_ s: [UInt8]) -> [UInt8]? {
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_verify_recover_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 else {
            ERR_clear_error()
            return nil
        }
        var length = size
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_verify_recover(ctx, &out, &length, s, s.count) == 1 else {
            ERR_clear_error()
            return nil
        }
        return Array(out.prefix(length))
    }

    public var description: String { "AsymmetricKey(\(kind), <redacted>)" }
}
