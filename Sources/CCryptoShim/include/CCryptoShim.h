#ifndef CCCDKIT_CRYPTO_SHIM_H
#define CCCDKIT_CRYPTO_SHIM_H
#include <stddef.h>
#include <stdint.h>

// Small forwarders for what Swift cannot call directly (OSSL_PARAM arrays, macros).
// Only CardCrypto imports this module. Every function returns 1 on success, 0 on failure.

typedef struct evp_mac_ctx_st EVP_MAC_CTX;

/// Initialise (or re-key) a CMAC context for the named block cipher ("AES-128-CBC", ...).
int cccd_cmac_init(EVP_MAC_CTX *ctx, const char *cipher_name, const uint8_t *key, size_t key_len);

/// Text of the oldest error on this thread's OpenSSL error queue (clears the queue). Never contains key material.
void cccd_last_error(char *buffer, size_t length);

typedef struct evp_pkey_st EVP_PKEY;

/// A new EC key pair on the named curve ("brainpoolP256r1", "prime256v1", ...); NULL on failure.
EVP_PKEY *cccd_ec_keygen(const char *group_name);

/// A new RSA key pair of `bits` bits with public exponent 65537; NULL on failure.
EVP_PKEY *cccd_rsa_keygen(unsigned int bits);

/// The short name of an EC key's curve into `buffer`; 1 on success.
int cccd_ec_group_name(const EVP_PKEY *key, char *buffer, size_t length);

/// An EC key on the named curve from its private scalar (big-endian); the public point is computed. NULL when the
/// scalar is not in [1, n-1] or on failure.
EVP_PKEY *cccd_ec_from_scalar(const char *group_name, const uint8_t *scalar, size_t length);

/// An RSA private key with every CRT component from its primes p, q and public exponent e (big-endian); NULL when
/// p = q, e is not invertible or on failure.
EVP_PKEY *cccd_rsa_from_primes(const uint8_t *p, size_t p_len, const uint8_t *q, size_t q_len, const uint8_t *e,
                               size_t e_len);

/// An RSA private key with every CRT component from n, e and d alone (the primes are recovered: NIST SP 800-56B
/// appendix C); NULL when (n, e, d) is not an RSA key.
EVP_PKEY *cccd_rsa_from_private_exponent(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                                         const uint8_t *d, size_t d_len);

/// The first probable prime p >= candidate (its top two and lowest bits set first) with gcd(p - 1, e) = 1, as
/// big-endian bytes of the candidate's length into `out`; 1 on success. Deterministic: for seeded key generation.
int cccd_rsa_prime_from(const uint8_t *candidate, size_t length, unsigned long e, uint8_t *out);

typedef struct x509_st X509;
typedef struct X509_crl_st X509_CRL;

/// A new certificate for `subject_key`, signed by `issuer_key` (self-signed when `issuer` is NULL).
/// `dn` is "C=VN,O=...,CN=..."; validity from now + not_before_offset to now + not_before_offset + validity (s).
/// is_ca: CSCA (basicConstraints CA, keyCertSign + cRLSign) or document signer (digitalSignature).
X509 *cccd_x509_create(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, X509 *issuer, const char *dn, long serial,
                       long not_before_offset, long validity, int is_ca, const char *md_name);

/// A CRL by `issuer` listing `serials` as revoked, valid from now for `validity` seconds.
X509_CRL *cccd_crl_create(X509 *issuer, EVP_PKEY *issuer_key, const long *serials, int count, long validity,
                          const char *md_name);

/// CMS SignedData (DER) over `content` with eContentType `econtent_oid`, one signer with signed attributes
/// (contentType, signingTime, messageDigest) and the signer certificate included. pss: RSASSA-PSS.
/// Returns the DER length written into *out (free with OPENSSL_free), or 0.
size_t cccd_cms_sign(X509 *signer, EVP_PKEY *key, const uint8_t *content, size_t length, const char *econtent_oid,
                     const char *md_name, int pss, uint8_t **out);

/// Checks a CMS SignedData's signature (signer certificate from the CMS, not chained). Returns 1 valid,
/// -1 messageDigest does not match the content, -2 signature invalid, -3 malformed, -4 no signer certificate.
/// On 1, -1 and -2, *signer_out gets a new reference to the signer certificate when there is one.
int cccd_cms_verify_signature(const uint8_t *der, size_t length, X509 **signer_out);

/// The encapsulated content of a CMS SignedData (copied into *out, free with OPENSSL_free) and its eContentType
/// in dotted form; 0 on failure.
size_t cccd_cms_content(const uint8_t *der, size_t length, uint8_t **out, char *oid, size_t oid_length);

/// Verifies `leaf` up to one of `trusted` with `crls` (CRL checking when check_crl). check_time 0 ignores
/// validity periods. Returns the X509_V_ERR code (0 = X509_V_OK).
int cccd_verify_chain(X509 *leaf, X509 **trusted, int trusted_count, X509_CRL **crls, int crl_count, int check_crl,
                      int check_time);

/// -1 when `cert` is not yet valid, 1 when expired, 0 when valid now.
int cccd_x509_validity(X509 *cert);

/// What a certificate's extensions say about its role (the document signer profile of ICAO 9303-12 is checked
/// from these). Flags are 0/1; `key_usage` holds X509v3_KU_* bits when `has_key_usage`.
typedef struct {
    int version;  /* 1, 2 or 3 */
    int has_basic_constraints;
    int basic_constraints_ca;
    int self_issued;  /* subject equals issuer */
    int has_key_usage;
    int key_usage_critical;
    unsigned int key_usage;
    int has_extended_key_usage;
    int has_authority_key_id;
    int has_subject_key_id;
} cccd_certificate_profile;

/// Fills `out`; the extended key usage OIDs go to `eku` as dotted text separated by spaces (truncated to
/// `eku_length`). Returns 0 when an extension present could not be decoded.
int cccd_x509_profile(X509 *cert, cccd_certificate_profile *out, char *eku, size_t eku_length);

/// 1 when the two keys are the same public key.
int cccd_pkey_equal(EVP_PKEY *a, EVP_PKEY *b);

// MARK: PKCS#11 (pkcs11.c): a token's key as an EVP_PKEY. Return values are PKCS#11 CK_RV codes (0 = CKR_OK).

typedef struct cccd_p11 cccd_p11;

/// dlopen the module, C_GetFunctionList, C_Initialize (OS locking). NULL with *rv and a message on failure.
cccd_p11 *cccd_p11_load(const char *path, unsigned long *rv, char *message, size_t length);
void cccd_p11_unload(cccd_p11 *p);
/// The slot whose token has this label (CKR_TOKEN_NOT_PRESENT when none).
unsigned long cccd_p11_select_token(cccd_p11 *p, const char *label);
/// C_Login as the user (the PIN is not kept).
unsigned long cccd_p11_login(cccd_p11 *p, const char *pin);
/// The private key with this label (CKR_KEY_HANDLE_INVALID when none); its CKK_ type.
unsigned long cccd_p11_select_key(cccd_p11 *p, const char *label, unsigned long *key_type);
/// Whether a private key with this label exists.
unsigned long cccd_p11_object_exists(cccd_p11 *p, const char *label, int *exists);
/// CKA_EXTRACTABLE and CKA_SENSITIVE of the selected key.
unsigned long cccd_p11_key_flags(cccd_p11 *p, int *extractable, int *sensitive);
/// A key pair generated in the token (EC when ec_params, the curve's DER OID, is given; else RSA of rsa_bits), the
/// private key sensitive and not extractable; its public key.
unsigned long cccd_p11_generate(cccd_p11 *p, const char *label, const uint8_t *ec_params, size_t ec_params_len,
                                unsigned long rsa_bits, EVP_PKEY **public_key);
unsigned long cccd_p11_public_key_of(cccd_p11 *p, unsigned long session, unsigned long object, int is_ec,
                                     EVP_PKEY **out);
/// An EVP_PKEY with `public_key`'s public part whose signatures are made by the selected key in the token (ECDSA,
/// RSA PKCS#1 v1.5, RSA-PSS through raw RSA). NULL when the key type is neither EC nor RSA.
EVP_PKEY *cccd_p11_signing_key(cccd_p11 *p, EVP_PKEY *public_key);
/// A public X.509 certificate object (DER) on the token under this label.
unsigned long cccd_p11_store_certificate(cccd_p11 *p, const char *label, const uint8_t *der, size_t length);
/// An AES key stored on the token under `label` (an SCP03 batch master key): private, sensitive, never extractable,
/// usable for AES-CMAC signatures only.
unsigned long cccd_p11_import_aes(cccd_p11 *p, const char *label, const uint8_t *value, size_t length);
/// An AES key of `length` bytes generated inside the token under `label`, with the same attributes as an imported one.
unsigned long cccd_p11_generate_aes(cccd_p11 *p, const char *label, size_t length);
/// Selects the secret key labelled `label` for `cccd_p11_cmac`; its type (CKK_AES = 0x1F), its length in bytes,
/// and its CKA_EXTRACTABLE and CKA_SENSITIVE.
unsigned long cccd_p11_select_secret(cccd_p11 *p, const char *label, unsigned long *key_type, unsigned long *length,
                                     int *extractable, int *sensitive);
/// AES-CMAC (CKM_AES_CMAC, 16 bytes) of `data` with the selected secret key, computed inside the token.
unsigned long cccd_p11_cmac(cccd_p11 *p, const uint8_t *data, size_t length, uint8_t *out);
/// The DER of the certificate object with this label into out (*length: its size in, the DER's out).
unsigned long cccd_p11_read_certificate(cccd_p11 *p, const char *label, uint8_t *out, size_t *length);
/// The CK_RV of the last signature the token refused.
unsigned long cccd_p11_last_error(cccd_p11 *p);

#endif
