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

#endif
