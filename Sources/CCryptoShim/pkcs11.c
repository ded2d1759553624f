// PKCS#11 for the document signer: a vendor's module loaded with dlopen, a token found by its label, sessions,
// key generation inside the token, and an EVP_PKEY whose private operations happen in the token (OpenSSL 3.0's
// EC_KEY_METHOD / RSA_METHOD, the way a "foreign" key reaches CMS_sign unchanged). Written from the PKCS#11 v2.40
// specification (OASIS) with p11-kit's pkcs11.h.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "CCryptoShim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <p11-kit/pkcs11.h>

struct cccd_p11 {
    void *library;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE key;
    CK_KEY_TYPE key_type;
    CK_OBJECT_HANDLE secret;
    pthread_mutex_t lock;
    CK_SESSION_HANDLE pool[64];
    int pooled;
    unsigned long last_error;
};

unsigned long cccd_p11_last_error(cccd_p11 *p) { return p ? p->last_error : CKR_GENERAL_ERROR; }

// Modules still loaded when the process exits are finalized by an atexit handler registered after OpenSSL's own,
// so it runs before OpenSSL cleans up: a module built on OpenSSL (SoftHSM2) must not tear down its objects after
// that (it crashes the process on its way out otherwise).
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static cccd_p11 *live[16];
static int live_count = 0;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void finalize_at_exit(void) {
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < live_count; i++) {
        if (live[i] != NULL) live[i]->f->C_Finalize(NULL);
        live[i] = NULL;
    }
    live_count = 0;
    pthread_mutex_unlock(&live_lock);
}

static void register_exit(void) {
    OPENSSL_init_crypto(0, NULL);  // OpenSSL's atexit first, so ours runs before it
    atexit(finalize_at_exit);
}

static void track(cccd_p11 *p, int add) {
    pthread_mutex_lock(&live_lock);
    if (add) {
        if (live_count < 16) live[live_count++] = p;
    } else {
        for (int i = 0; i < live_count; i++) {
            if (live[i] == p) live[i] = live[--live_count];
        }
    }
    pthread_mutex_unlock(&live_lock);
}

cccd_p11 *cccd_p11_load(const char *path, unsigned long *rv, char *message, size_t length) {
    *rv = CKR_OK;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *e = dlerror();
        snprintf(message, length, "%s", e ? e : "dlopen failed");
        *rv = CKR_GENERAL_ERROR;
        return NULL;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    if (get == NULL || get(&f) != CKR_OK || f == NULL) {
        snprintf(message, length, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
        dlclose(library);
        *rv = CKR_GENERAL_ERROR;
        return NULL;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV r = f->C_Initialize(&args);
    if (r != CKR_OK && r != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        snprintf(message, length, "C_Initialize failed");
        dlclose(library);
        *rv = r;
        return NULL;
    }
    cccd_p11 *p = calloc(1, sizeof(cccd_p11));
    if (p == NULL) { dlclose(library); *rv = CKR_HOST_MEMORY; return NULL; }
    p->library = library;
    p->f = f;
    pthread_mutex_init(&p->lock, NULL);
    pthread_once(&exit_once, register_exit);
    track(p, 1);
    return p;
}

void cccd_p11_unload(cccd_p11 *p) {
    if (p == NULL) return;
    track(p, 0);
    for (int i = 0; i < p->pooled; i++) p->f->C_CloseSession(p->pool[i]);
    p->f->C_Finalize(NULL);
    dlclose(p->library);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/// The label field of a token: 32 bytes padded with spaces.
static int label_matches(const CK_UTF8CHAR *field, const char *label) {
    size_t n = strlen(label);
    if (n > 32) return 0;
    if (memcmp(field, label, n) != 0) return 0;
    for (size_t i = n; i < 32; i++) if (field[i] != ' ') return 0;
    return 1;
}

unsigned long cccd_p11_select_token(cccd_p11 *p, const char *label) {
    CK_ULONG count = 0;
    CK_RV r = p->f->C_GetSlotList(CK_TRUE, NULL, &count);
    if (r != CKR_OK) return r;
    if (count == 0) return CKR_TOKEN_NOT_PRESENT;
    CK_SLOT_ID *slots = calloc(count, sizeof(CK_SLOT_ID));
    if (slots == NULL) return CKR_HOST_MEMORY;
    r = p->f->C_GetSlotList(CK_TRUE, slots, &count);
    CK_RV result = CKR_TOKEN_NOT_PRESENT;
    for (CK_ULONG i = 0; r == CKR_OK && i < count; i++) {
        CK_TOKEN_INFO info;
        if (p->f->C_GetTokenInfo(slots[i], &info) == CKR_OK && label_matches(info.label, label)) {
            p->slot = slots[i];
            result = CKR_OK;
            break;
        }
    }
    free(slots);
    return r != CKR_OK ? r : result;
}

/// A session from the pool, or a new one (read-write, so that key generation can use it too).
static CK_RV take_session(cccd_p11 *p, CK_SESSION_HANDLE *s) {
    pthread_mutex_lock(&p->lock);
    if (p->pooled > 0) {
        *s = p->pool[--p->pooled];
        pthread_mutex_unlock(&p->lock);
        return CKR_OK;
    }
    pthread_mutex_unlock(&p->lock);
    return p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
}

static void give_session(cccd_p11 *p, CK_SESSION_HANDLE s) {
    pthread_mutex_lock(&p->lock);
    if (p->pooled < 64) {
        p->pool[p->pooled++] = s;
        s = CK_INVALID_HANDLE;
    }
    pthread_mutex_unlock(&p->lock);
    if (s != CK_INVALID_HANDLE) p->f->C_CloseSession(s);
}

unsigned long cccd_p11_login(cccd_p11 *p, const char *pin) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    r = p->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (r == CKR_USER_ALREADY_LOGGED_IN) r = CKR_OK;
    give_session(p, s);
    return r;
}

/// The first object of `class` with this label; its handle.
static CK_RV find(cccd_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *out) {
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_RV r = p->f->C_FindObjectsInit(s, t, 2);
    if (r != CKR_OK) return r;
    CK_ULONG n = 0;
    r = p->f->C_FindObjects(s, out, 1, &n);
    p->f->C_FindObjectsFinal(s);
    if (r != CKR_OK) return r;
    return n == 1 ? CKR_OK : CKR_KEY_HANDLE_INVALID;
}

unsigned long cccd_p11_select_key(cccd_p11 *p, const char *label, unsigned long *key_type) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    r = find(p, s, CKO_PRIVATE_KEY, label, &p->key);
    if (r == CKR_OK) {
        CK_ATTRIBUTE a = {CKA_KEY_TYPE, &p->key_type, sizeof(p->key_type)};
        r = p->f->C_GetAttributeValue(s, p->key, &a, 1);
        *key_type = p->key_type;
    }
    give_session(p, s);
    return r;
}

unsigned long cccd_p11_key_flags(cccd_p11 *p, int *extractable, int *sensitive) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_BBOOL e = CK_TRUE, x = CK_FALSE;
    CK_ATTRIBUTE t[] = {{CKA_EXTRACTABLE, &e, sizeof(e)}, {CKA_SENSITIVE, &x, sizeof(x)}};
    r = p->f->C_GetAttributeValue(s, p->key, t, 2);
    *extractable = e == CK_TRUE;
    *sensitive = x == CK_TRUE;
    give_session(p, s);
    return r;
}

unsigned long cccd_p11_object_exists(cccd_p11 *p, const char *label, int *exists) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_OBJECT_HANDLE h;
    CK_RV f = find(p, s, CKO_PRIVATE_KEY, label, &h);
    *exists = f == CKR_OK;
    give_session(p, s);
    return (f == CKR_OK || f == CKR_KEY_HANDLE_INVALID) ? CKR_OK : f;
}

/// A key pair generated inside the token: the private key sensitive, not extractable, for signing only; the public
/// key's SubjectPublicKeyInfo (DER) comes back through OpenSSL.
unsigned long cccd_p11_generate(cccd_p11 *p, const char *label, const uint8_t *ec_params, size_t ec_params_len,
                                unsigned long rsa_bits, EVP_PKEY **public_key) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_BYTE id[1] = {0x01};
    CK_ULONG bits = rsa_bits;
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},       {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},   {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, id, sizeof(id)},
    };
    CK_MECHANISM m;
    memset(&m, 0, sizeof(m));
    if (ec_params != NULL) {
        CK_ATTRIBUTE pub_t[] = {
            {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_VERIFY, &yes, sizeof(yes)},
            {CKA_EC_PARAMS, (void *)ec_params, ec_params_len}, {CKA_LABEL, (void *)label, strlen(label)},
            {CKA_ID, id, sizeof(id)},
        };
        m.mechanism = CKM_EC_KEY_PAIR_GEN;
        r = p->f->C_GenerateKeyPair(s, &m, pub_t, 5, priv_t, 7, &pub, &priv);
    } else {
        CK_ATTRIBUTE pub_t[] = {
            {CKA_TOKEN, &yes, sizeof(yes)},          {CKA_VERIFY, &yes, sizeof(yes)},
            {CKA_MODULUS_BITS, &bits, sizeof(bits)}, {CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)},
            {CKA_LABEL, (void *)label, strlen(label)}, {CKA_ID, id, sizeof(id)},
        };
        m.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        r = p->f->C_GenerateKeyPair(s, &m, pub_t, 6, priv_t, 7, &pub, &priv);
    }
    if (r == CKR_OK) r = cccd_p11_public_key_of(p, s, pub, ec_params != NULL, public_key);
    give_session(p, s);
    return r;
}

/// The public key object's material as an OpenSSL public key.
unsigned long cccd_p11_public_key_of(cccd_p11 *p, unsigned long session, unsigned long object, int is_ec,
                                     EVP_PKEY **out) {
    *out = NULL;
    if (is_ec) {
        CK_BYTE params[256], point[512];
        CK_ATTRIBUTE t[] = {{CKA_EC_PARAMS, params, sizeof(params)}, {CKA_EC_POINT, point, sizeof(point)}};
        CK_RV r = p->f->C_GetAttributeValue(session, object, t, 2);
        if (r != CKR_OK) return r;
        // CKA_EC_POINT is the DER OCTET STRING around the point.
        const unsigned char *q = point;
        ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)t[1].ulValueLen);
        const unsigned char *g = params;
        EC_GROUP *group = d2i_ECPKParameters(NULL, &g, (long)t[0].ulValueLen);
        EC_KEY *ec = EC_KEY_new();
        int ok = os && group && ec && EC_KEY_set_group(ec, group) == 1 &&
                 EC_KEY_oct2key(ec, ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), NULL) == 1;
        EVP_PKEY *k = ok ? EVP_PKEY_new() : NULL;
        if (k && EVP_PKEY_assign_EC_KEY(k, ec) == 1) {
            ec = NULL;
            *out = k;
        } else {
            EVP_PKEY_free(k);
        }
        EC_KEY_free(ec);
        EC_GROUP_free(group);
        ASN1_OCTET_STRING_free(os);
        return *out ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    CK_BYTE n[1024], e[16];
    CK_ATTRIBUTE t[] = {{CKA_MODULUS, n, sizeof(n)}, {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
    CK_RV r = p->f->C_GetAttributeValue(session, object, t, 2);
    if (r != CKR_OK) return r;
    RSA *rsa = RSA_new();
    BIGNUM *bn = BN_bin2bn(n, (int)t[0].ulValueLen, NULL), *be = BN_bin2bn(e, (int)t[1].ulValueLen, NULL);
    if (rsa && bn && be && RSA_set0_key(rsa, bn, be, NULL) == 1) {
        bn = be = NULL;
        EVP_PKEY *k = EVP_PKEY_new();
        if (k && EVP_PKEY_assign_RSA(k, rsa) == 1) {
            rsa = NULL;
            *out = k;
        } else {
            EVP_PKEY_free(k);
        }
    }
    BN_free(bn);
    BN_free(be);
    RSA_free(rsa);
    return *out ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

/// One signature in the token with the selected key.
static CK_RV token_sign(cccd_p11 *p, CK_MECHANISM_TYPE mechanism, const unsigned char *data, CK_ULONG length,
                        unsigned char *out, CK_ULONG *out_length) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_MECHANISM m = {mechanism, NULL, 0};
    r = p->f->C_SignInit(s, &m, p->key);
    if (r == CKR_OK) r = p->f->C_Sign(s, (CK_BYTE_PTR)data, length, out, out_length);
    if (r == CKR_SESSION_HANDLE_INVALID || r == CKR_SESSION_CLOSED || r == CKR_DEVICE_REMOVED) {
        p->f->C_CloseSession(s);  // never back into the pool
    } else {
        give_session(p, s);
    }
    return r;
}

// MARK: EC keys whose signatures come from the token

static int ec_index = -1;
static int rsa_index = -1;
static EC_KEY_METHOD *ec_method = NULL;
static RSA_METHOD *rsa_method = NULL;
static pthread_once_t methods_once = PTHREAD_ONCE_INIT;

static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv, const BIGNUM *r,
                              EC_KEY *eckey) {
    (void)kinv;
    (void)r;
    cccd_p11 *p = EC_KEY_get_ex_data(eckey, ec_index);
    if (p == NULL) return NULL;
    unsigned char raw[264];
    CK_ULONG n = sizeof(raw);
    CK_RV rv = token_sign(p, CKM_ECDSA, dgst, (CK_ULONG)dlen, raw, &n);
    p->last_error = rv;
    if (rv != CKR_OK || n == 0 || n % 2 != 0) return NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(raw, (int)(n / 2), NULL), *bs = BN_bin2bn(raw + n / 2, (int)(n / 2), NULL);
    if (sig == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(sig, br, bs) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(br);
        BN_free(bs);
        return NULL;
    }
    return sig;
}

/// RSA private "encryption" is signing: PKCS#1 v1.5 (the DigestInfo comes in) or raw (OpenSSL applied PSS).
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding) {
    cccd_p11 *p = RSA_get_ex_data(rsa, rsa_index);
    if (p == NULL) return -1;
    CK_MECHANISM_TYPE m;
    if (padding == RSA_PKCS1_PADDING) m = CKM_RSA_PKCS;
    else if (padding == RSA_NO_PADDING) m = CKM_RSA_X_509;
    else return -1;
    CK_ULONG n = (CK_ULONG)RSA_size(rsa);
    CK_RV rv = token_sign(p, m, from, (CK_ULONG)flen, to, &n);
    p->last_error = rv;
    return rv == CKR_OK ? (int)n : -1;
}

static void make_methods(void) {
    ec_index = EC_KEY_get_ex_new_index(0, "cccd pkcs11", NULL, NULL, NULL);
    rsa_index = RSA_get_ex_new_index(0, "cccd pkcs11", NULL, NULL, NULL);
    ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (ec_method) {
        int (*sign)(int, const unsigned char *, int, unsigned char *, unsigned int *, const BIGNUM *, const BIGNUM *,
                    EC_KEY *) = NULL;
        int (*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;
        EC_KEY_METHOD_get_sign(ec_method, &sign, &setup, NULL);
        EC_KEY_METHOD_set_sign(ec_method, sign, NULL, ec_sign_sig);
    }
    rsa_method = RSA_meth_dup(RSA_PKCS1_OpenSSL());
    if (rsa_method) {
        RSA_meth_set1_name(rsa_method, "cccd pkcs11");
        RSA_meth_set_priv_enc(rsa_method, rsa_priv_enc);
    }
}

EVP_PKEY *cccd_p11_signing_key(cccd_p11 *p, EVP_PKEY *public_key) {
    pthread_once(&methods_once, make_methods);
    if (public_key == NULL) return NULL;
    EVP_PKEY *out = NULL;
    if (EVP_PKEY_is_a(public_key, "EC")) {
        if (ec_method == NULL) return NULL;
        // A legacy EC_KEY from the public key (export through DER: works for provider keys too).
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(public_key, &der);
        const unsigned char *q = der;
        EVP_PKEY *legacy = n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
        OPENSSL_free(der);
        EC_KEY *ec = legacy ? EC_KEY_dup(EVP_PKEY_get0_EC_KEY(legacy)) : NULL;
        EVP_PKEY_free(legacy);
        if (ec && EC_KEY_set_method(ec, ec_method) == 1 && EC_KEY_set_ex_data(ec, ec_index, p) == 1) {
            out = EVP_PKEY_new();
            if (out && EVP_PKEY_assign_EC_KEY(out, ec) == 1) ec = NULL;
            else { EVP_PKEY_free(out); out = NULL; }
        }
        EC_KEY_free(ec);
    } else if (EVP_PKEY_is_a(public_key, "RSA")) {
        if (rsa_method == NULL) return NULL;
        BIGNUM *n = NULL, *e = NULL;
        RSA *rsa = RSA_new();
        if (rsa && EVP_PKEY_get_bn_param(public_key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
            EVP_PKEY_get_bn_param(public_key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 && RSA_set0_key(rsa, n, e, NULL) == 1) {
            n = e = NULL;
            if (RSA_set_method(rsa, rsa_method) == 1 && RSA_set_ex_data(rsa, rsa_index, p) == 1) {
                out = EVP_PKEY_new();
                if (out && EVP_PKEY_assign_RSA(out, rsa) == 1) rsa = NULL;
                else { EVP_PKEY_free(out); out = NULL; }
            }
        }
        BN_free(n);
        BN_free(e);
        RSA_free(rsa);
    }
    return out;
}

unsigned long cccd_p11_store_certificate(cccd_p11 *p, const char *label, const uint8_t *der, size_t length) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    const unsigned char *q = der;
    X509 *cert = d2i_X509(NULL, &q, (long)length);
    unsigned char *subject = NULL;
    int subject_length = cert ? i2d_X509_NAME(X509_get_subject_name(cert), &subject) : -1;
    if (subject_length <= 0) {
        X509_free(cert);
        give_session(p, s);
        return CKR_ARGUMENTS_BAD;
    }
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},           {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},           {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_LABEL, (void *)label, strlen(label)}, {CKA_SUBJECT, subject, (CK_ULONG)subject_length},
        {CKA_VALUE, (void *)der, length},
    };
    CK_OBJECT_HANDLE h;
    r = p->f->C_CreateObject(s, t, 7, &h);
    OPENSSL_free(subject);
    X509_free(cert);
    give_session(p, s);
    return r;
}

unsigned long cccd_p11_read_certificate(cccd_p11 *p, const char *label, uint8_t *out, size_t *length) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_OBJECT_HANDLE h;
    r = find(p, s, CKO_CERTIFICATE, label, &h);
    if (r == CKR_OK) {
        CK_ATTRIBUTE a = {CKA_VALUE, out, *length};
        r = p->f->C_GetAttributeValue(s, h, &a, 1);
        *length = a.ulValueLen;
    }
    give_session(p, s);
    return r;
}

#ifndef CKM_AES_CMAC
#define CKM_AES_CMAC 0x0000108AUL
#endif

/// An AES master key's attributes: private, sensitive, never extractable, for AES-CMAC only. `value` NULL: generate.
static CK_RV make_aes(cccd_p11 *p, const char *label, const uint8_t *value, size_t length) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = length;
    CK_ATTRIBUTE t[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},         {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},     {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},          {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &no, sizeof(no)},         {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_WRAP, &no, sizeof(no)},            {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},          {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_CLASS, &cls, sizeof(cls)},         {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE, (void *)value, length},     {CKA_VALUE_LEN, &len, sizeof(len)},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    if (value != NULL) {
        r = p->f->C_CreateObject(s, t, 15, &h);
    } else {
        // Generation takes neither the value nor (for the mechanism's own) the class and type.
        CK_ATTRIBUTE g[13];
        memcpy(g, t, sizeof(CK_ATTRIBUTE) * 12);
        g[12] = t[15];
        CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
        r = p->f->C_GenerateKey(s, &m, g, 13, &h);
    }
    give_session(p, s);
    return r;
}

unsigned long cccd_p11_import_aes(cccd_p11 *p, const char *label, const uint8_t *value, size_t length) {
    return value == NULL ? CKR_ARGUMENTS_BAD : make_aes(p, label, value, length);
}

unsigned long cccd_p11_generate_aes(cccd_p11 *p, const char *label, size_t length) {
    return make_aes(p, label, NULL, length);
}

unsigned long cccd_p11_select_secret(cccd_p11 *p, const char *label, unsigned long *key_type, unsigned long *length,
                                     int *extractable, int *sensitive) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    r = find(p, s, CKO_SECRET_KEY, label, &p->secret);
    if (r == CKR_OK) {
        CK_KEY_TYPE type = 0;
        CK_ULONG len = 0;
        CK_BBOOL e = CK_TRUE, x = CK_FALSE;
        CK_ATTRIBUTE t[] = {
            {CKA_KEY_TYPE, &type, sizeof(type)},
            {CKA_VALUE_LEN, &len, sizeof(len)},
            {CKA_EXTRACTABLE, &e, sizeof(e)},
            {CKA_SENSITIVE, &x, sizeof(x)},
        };
        r = p->f->C_GetAttributeValue(s, p->secret, t, 4);
        *key_type = type;
        *length = len;
        *extractable = e == CK_TRUE;
        *sensitive = x == CK_TRUE;
    }
    give_session(p, s);
    return r;
}

unsigned long cccd_p11_cmac(cccd_p11 *p, const uint8_t *data, size_t length, uint8_t *out) {
    CK_SESSION_HANDLE s;
    CK_RV r = take_session(p, &s);
    if (r != CKR_OK) return r;
    CK_MECHANISM m = {CKM_AES_CMAC, NULL, 0};
    r = p->f->C_SignInit(s, &m, p->secret);
    if (r == CKR_OK) {
        CK_ULONG n = 16;
        r = p->f->C_Sign(s, (CK_BYTE_PTR)data, length, out, &n);
        if (r == CKR_OK && n != 16) r = CKR_GENERAL_ERROR;
    }
    give_session(p, s);
    return r;
}
