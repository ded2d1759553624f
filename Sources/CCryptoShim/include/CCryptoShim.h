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

#endif
