#include "CCryptoShim.h"
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/cms.h>
#include <openssl/rsa.h>
#include <openssl/objects.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>

int cccd_cmac_init(EVP_MAC_CTX *ctx, const char *cipher_name, const uint8_t *key, size_t key_len) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(ctx, key, key_len, params);
}

void cccd_last_error(char *buffer, size_t length) {
    unsigned long code = ERR_get_error();
    if (length == 0) return;
    if (code == 0) {
        strncpy(buffer, "no OpenSSL error recorded", length - 1);
        buffer[length - 1] = 0;
    } else {
        ERR_error_string_n(code, buffer, length);
    }
    ERR_clear_error();
}

EVP_PKEY *cccd_ec_keygen(const char *group_name) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) == 1) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group_name, 0);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_PKEY_CTX_set_params(ctx, params) != 1 || EVP_PKEY_generate(ctx, &key) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

EVP_PKEY *cccd_rsa_keygen(unsigned int bits) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) == 1) {
        size_t b = bits;
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_PKEY_CTX_set_params(ctx, params) != 1 || EVP_PKEY_generate(ctx, &key) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int cccd_ec_group_name(const EVP_PKEY *key, char *buffer, size_t length) {
    size_t out = 0;
    return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, buffer, length, &out);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_dn(X509_NAME *name, const char *dn) {
    char buffer[512];
    strncpy(buffer, dn, sizeof(buffer) - 1);
    buffer[sizeof(buffer) - 1] = 0;
    char *save = NULL;
    for (char *part = strtok_r(buffer, ",", &save); part != NULL; part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (eq == NULL) return 0;
        *eq = 0;
        if (!X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8, (const unsigned char *)(eq + 1), -1, -1, 0)) return 0;
    }
    return 1;
}

X509 *cccd_x509_create(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, X509 *issuer, const char *dn, long serial,
                       long not_before_offset, long validity, int is_ca, const char *md_name) {
    X509 *cert = X509_new();
    if (cert == NULL) return NULL;
    int ok = X509_set_version(cert, 2) && ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) &&
             X509_gmtime_adj(X509_getm_notBefore(cert), not_before_offset) &&
             X509_gmtime_adj(X509_getm_notAfter(cert), not_before_offset + validity) &&
             X509_set_pubkey(cert, subject_key) && set_dn(X509_get_subject_name(cert), dn) &&
             X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert));
    if (ok) {
        if (is_ca) {
            ok = add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
                 add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
        } else {
            ok = add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
        }
        ok = ok && add_ext(cert, issuer, NID_subject_key_identifier, "hash");
        if (ok && issuer) ok = add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
    }
    if (ok) ok = X509_sign(cert, issuer_key, EVP_get_digestbyname(md_name)) > 0;
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

X509_CRL *cccd_crl_create(X509 *issuer, EVP_PKEY *issuer_key, const long *serials, int count, long validity,
                          const char *md_name) {
    X509_CRL *crl = X509_CRL_new();
    if (crl == NULL) return NULL;
    ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
    ASN1_TIME *next = X509_gmtime_adj(NULL, validity);
    int ok = X509_CRL_set_version(crl, 1) && X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
             X509_CRL_set1_lastUpdate(crl, now) && X509_CRL_set1_nextUpdate(crl, next);
    for (int i = 0; ok && i < count; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ok = r && serial && ASN1_INTEGER_set(serial, serials[i]) && X509_REVOKED_set_serialNumber(r, serial) &&
             X509_REVOKED_set_revocationDate(r, now) && X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(serial);
    }
    ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, issuer_key, EVP_get_digestbyname(md_name)) > 0;
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    if (!ok) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

size_t cccd_cms_sign(X509 *signer, EVP_PKEY *key, const uint8_t *content, size_t length, const char *econtent_oid,
                     const char *md_name, int pss, uint8_t **out) {
    unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    if (cms == NULL) return 0;
    size_t written = 0;
    BIO *in = BIO_new_mem_buf(content, (int)length);
    ASN1_OBJECT *type = OBJ_txt2obj(econtent_oid, 1);
    CMS_SignerInfo *si = NULL;
    if (in && type && CMS_set1_eContentType(cms, type)) {
        si = CMS_add1_signer(cms, signer, key, EVP_get_digestbyname(md_name), flags | (pss ? CMS_KEY_PARAM : 0));
    }
    int ok = si != NULL;
    if (ok && pss) {
        EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        ok = pctx && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    }
    if (ok && CMS_final(cms, in, NULL, CMS_BINARY)) {
        int n = i2d_CMS_ContentInfo(cms, out);
        if (n > 0) written = (size_t)n;
    }
    ASN1_OBJECT_free(type);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return written;
}

int cccd_cms_verify_signature(const uint8_t *der, size_t length, X509 **signer_out) {
    const unsigned char *p = der;
    *signer_out = NULL;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)length);
    if (cms == NULL) { ERR_clear_error(); return -3; }
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    if (infos == NULL || sk_CMS_SignerInfo_num(infos) != 1) { CMS_ContentInfo_free(cms); ERR_clear_error(); return -3; }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(infos, 0);
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    X509 *signer = NULL;
    for (int i = 0; certs && i < sk_X509_num(certs); i++) {
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) { signer = sk_X509_value(certs, i); break; }
    }
    if (signer == NULL) { sk_X509_pop_free(certs, X509_free); CMS_ContentInfo_free(cms); ERR_clear_error(); return -4; }
    X509_up_ref(signer);
    *signer_out = signer;
    sk_X509_pop_free(certs, X509_free);
    CMS_SignerInfo_set1_signer_cert(si, signer);
    int result;
    if (CMS_signed_get_attr_count(si) >= 0) {
        // Signed attributes: the signature covers them; the messageDigest attribute covers the content.
        result = CMS_SignerInfo_verify(si) == 1 ? 1 : -2;
        if (result == 1) {
            // Run the content through the digest BIOs CMS sets up, then compare with messageDigest.
            BIO *chain = CMS_dataInit(cms, NULL);
            if (chain == NULL) {
                result = -3;
            } else {
                char buffer[4096];
                while (BIO_read(chain, buffer, sizeof(buffer)) > 0) {}
                result = CMS_SignerInfo_verify_content(si, chain) == 1 ? 1 : -1;
                BIO_free_all(chain);
            }
        }
    } else {
        result = -2;
    }
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    return result;
}

size_t cccd_cms_content(const uint8_t *der, size_t length, uint8_t **out, char *oid, size_t oid_length) {
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)length);
    if (cms == NULL) { ERR_clear_error(); return 0; }
    size_t n = 0;
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    const ASN1_OBJECT *type = CMS_get0_eContentType(cms);
    if (pos && *pos && type) {
        OBJ_obj2txt(oid, (int)oid_length, type, 1);
        *out = OPENSSL_malloc((size_t)(*pos)->length);
        if (*out) {
            memcpy(*out, (*pos)->data, (size_t)(*pos)->length);
            n = (size_t)(*pos)->length;
        }
    }
    CMS_ContentInfo_free(cms);
    return n;
}

int cccd_verify_chain(X509 *leaf, X509 **trusted, int trusted_count, X509_CRL **crls, int crl_count, int check_crl,
                      int check_time) {
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int error = X509_V_ERR_UNSPECIFIED;
    if (store && ctx) {
        for (int i = 0; i < trusted_count; i++) X509_STORE_add_cert(store, trusted[i]);
        for (int i = 0; i < crl_count; i++) X509_STORE_add_crl(store, crls[i]);
        if (X509_STORE_CTX_init(ctx, store, leaf, NULL)) {
            unsigned long flags = X509_V_FLAG_X509_STRICT;
            if (check_crl) flags |= X509_V_FLAG_CRL_CHECK;
            if (!check_time) flags |= X509_V_FLAG_NO_CHECK_TIME;
            X509_STORE_CTX_set_flags(ctx, flags);
            error = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
        }
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return error;
}

int cccd_x509_validity(X509 *cert) {
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) return -1;
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) return 1;
    return 0;
}

int cccd_x509_profile(X509 *cert, cccd_certificate_profile *out, char *eku, size_t eku_length) {
    memset(out, 0, sizeof *out);
    if (eku_length) eku[0] = 0;
    int ok = 1;
    out->version = (int)X509_get_version(cert) + 1;
    out->self_issued = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0;
    int critical = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &critical, NULL);
    if (bc) {
        out->has_basic_constraints = 1;
        out->basic_constraints_ca = bc->ca ? 1 : 0;
        BASIC_CONSTRAINTS_free(bc);
    } else if (critical != -1) {
        ok = 0;  /* present but undecodable (-2: more than once) */
    }
    critical = -1;
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(cert, NID_key_usage, &critical, NULL);
    if (ku) {
        out->has_key_usage = 1;
        out->key_usage_critical = critical == 1;
        unsigned int bits = 0;
        for (int i = 0; i < 9; i++)
            if (ASN1_BIT_STRING_get_bit(ku, i)) bits |= (i < 8 ? (0x80u >> i) : 0x8000u);
        out->key_usage = bits;
        ASN1_BIT_STRING_free(ku);
    } else if (critical != -1) {
        ok = 0;
    }
    critical = -1;
    EXTENDED_KEY_USAGE *xku = X509_get_ext_d2i(cert, NID_ext_key_usage, &critical, NULL);
    if (xku) {
        out->has_extended_key_usage = 1;
        size_t used = 0;
        for (int i = 0; i < sk_ASN1_OBJECT_num(xku); i++) {
            char oid[128];
            int n = OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(xku, i), 1);
            if (n <= 0 || (size_t)n >= sizeof oid) continue;
            if (used + (size_t)n + 2 > eku_length) break;
            if (used) eku[used++] = ' ';
            memcpy(eku + used, oid, (size_t)n);
            used += (size_t)n;
            eku[used] = 0;
        }
        sk_ASN1_OBJECT_pop_free(xku, ASN1_OBJECT_free);
    } else if (critical != -1) {
        ok = 0;
    }
    out->has_authority_key_id = X509_get_ext_by_NID(cert, NID_authority_key_identifier, -1) >= 0;
    out->has_subject_key_id = X509_get_ext_by_NID(cert, NID_subject_key_identifier, -1) >= 0;
    ERR_clear_error();
    return ok;
}

int cccd_pkey_equal(EVP_PKEY *a, EVP_PKEY *b) { return EVP_PKEY_eq(a, b) == 1; }

EVP_PKEY *cccd_ec_from_scalar(const char *group_name, const uint8_t *scalar, size_t length) {
    EVP_PKEY *key = NULL;
    int nid = OBJ_sn2nid(group_name);
    if (nid == NID_undef) nid = OBJ_txt2nid(group_name);
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *priv = BN_bin2bn(scalar, (int)length, NULL);
    EC_POINT *pub = group ? EC_POINT_new(group) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *point = NULL;
    size_t point_len = 0;
    if (group == NULL || priv == NULL || pub == NULL || bld == NULL) goto done;
    if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0) goto done;
    if (EC_POINT_mul(group, pub, priv, NULL, NULL, NULL) != 1) goto done;
    point_len = EC_POINT_point2buf(group, pub, POINT_CONVERSION_UNCOMPRESSED, &point, NULL);
    if (point_len == 0) goto done;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0) != 1) goto done;
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1) goto done;
    if (OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) goto done;
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) key = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    OPENSSL_free(point);
    EC_POINT_free(pub);
    BN_clear_free(priv);
    EC_GROUP_free(group);
    return key;
}

/// An RSA key from n, e, d, p, q (dp, dq, qinv computed); takes ownership of nothing.
static EVP_PKEY *rsa_from_all(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d, const BIGNUM *p, const BIGNUM *q,
                              BN_CTX *bn) {
    EVP_PKEY *key = NULL;
    BIGNUM *p1 = BN_new(), *q1 = BN_new(), *dp = BN_new(), *dq = BN_new(), *qinv = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (!p1 || !q1 || !dp || !dq || !qinv || !bld) goto done;
    if (!BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one())) goto done;
    if (!BN_mod(dp, d, p1, bn) || !BN_mod(dq, d, q1, bn) || !BN_mod_inverse(qinv, q, p, bn)) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) goto done;
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) key = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(p1);
    BN_free(q1);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qinv);
    return key;
}

EVP_PKEY *cccd_rsa_from_primes(const uint8_t *p_bytes, size_t p_len, const uint8_t *q_bytes, size_t q_len,
                               const uint8_t *e_bytes, size_t e_len) {
    EVP_PKEY *key = NULL;
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *p = BN_bin2bn(p_bytes, (int)p_len, NULL), *q = BN_bin2bn(q_bytes, (int)q_len, NULL);
    BIGNUM *e = BN_bin2bn(e_bytes, (int)e_len, NULL);
    BIGNUM *n = BN_new(), *phi = BN_new(), *p1 = BN_new(), *q1 = BN_new(), *d = BN_new();
    if (!bn || !p || !q || !e || !n || !phi || !p1 || !q1 || !d) goto done;
    if (BN_cmp(p, q) == 0) goto done;
    if (BN_cmp(p, q) < 0) BN_swap(p, q);  // p > q, as RSA keys usually have it
    if (!BN_mul(n, p, q, bn) || !BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one())) goto done;
    if (!BN_mul(phi, p1, q1, bn) || BN_mod_inverse(d, e, phi, bn) == NULL) goto done;
    key = rsa_from_all(n, e, d, p, q, bn);
done:
    BN_clear_free(p);
    BN_clear_free(q);
    BN_free(e);
    BN_free(n);
    BN_clear_free(phi);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(d);
    BN_CTX_free(bn);
    return key;
}

EVP_PKEY *cccd_rsa_from_private_exponent(const uint8_t *n_bytes, size_t n_len, const uint8_t *e_bytes, size_t e_len,
                                         const uint8_t *d_bytes, size_t d_len) {
    EVP_PKEY *key = NULL;
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *n = BN_bin2bn(n_bytes, (int)n_len, NULL), *e = BN_bin2bn(e_bytes, (int)e_len, NULL);
    BIGNUM *d = BN_bin2bn(d_bytes, (int)d_len, NULL);
    BIGNUM *k = BN_new(), *r = BN_new(), *g = BN_new(), *x = BN_new(), *y = BN_new(), *n1 = BN_new();
    BIGNUM *p = BN_new(), *q = BN_new(), *rem = BN_new();
    int t = 0;
    if (!bn || !n || !e || !d || !k || !r || !g || !x || !y || !n1 || !p || !q || !rem) goto done;
    if (BN_num_bits(n) < 512 || BN_num_bits(n) > 16384 || BN_is_odd(n) == 0 || BN_is_zero(d) || BN_is_zero(e)) goto done;
    if (!BN_sub(n1, n, BN_value_one())) goto done;
    // k = d·e − 1 = 2^t · r with r odd; for random g, some g^(r·2^i) is a non-trivial square root of 1 mod n.
    if (!BN_mul(k, d, e, bn) || !BN_sub_word(k, 1) || BN_is_zero(k)) goto done;
    if (!BN_copy(r, k)) goto done;
    while (!BN_is_odd(r)) {
        if (!BN_rshift1(r, r)) goto done;
        t++;
    }
    if (t == 0) goto done;
    for (int attempt = 0; attempt < 100 && key == NULL; attempt++) {
        if (!BN_set_word(g, 2 + (unsigned long)attempt)) goto done;
        if (!BN_mod_exp(x, g, r, n, bn)) goto done;
        if (BN_is_one(x) || BN_cmp(x, n1) == 0) continue;
        for (int i = 0; i < t; i++) {
            if (!BN_mod_sqr(y, x, n, bn)) goto done;
            if (BN_is_one(y)) {
                // x is a non-trivial square root of 1: gcd(x − 1, n) is a factor.
                if (!BN_sub_word(x, 1) || !BN_gcd(p, x, n, bn)) goto done;
                if (BN_is_one(p) || BN_cmp(p, n) == 0) break;
                if (!BN_div(q, rem, n, p, bn) || !BN_is_zero(rem)) goto done;
                if (BN_cmp(p, q) < 0) BN_swap(p, q);
                key = rsa_from_all(n, e, d, p, q, bn);
                goto done;
            }
            if (BN_cmp(y, n1) == 0) break;
            if (!BN_copy(x, y)) goto done;
        }
    }
done:
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    BN_clear_free(k);
    BN_clear_free(r);
    BN_free(g);
    BN_clear_free(x);
    BN_clear_free(y);
    BN_free(n1);
    BN_clear_free(p);
    BN_clear_free(q);
    BN_free(rem);
    BN_CTX_free(bn);
    return key;
}

int cccd_rsa_prime_from(const uint8_t *candidate, size_t length, unsigned long e, uint8_t *out) {
    int ok = 0;
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *p = BN_bin2bn(candidate, (int)length, NULL), *p1 = BN_new(), *g = BN_new(), *E = BN_new();
    int bits = (int)length * 8;
    if (!bn || !p || !p1 || !g || !E || length < 16 || !BN_set_word(E, e)) goto done;
    if (!BN_set_bit(p, bits - 1) || !BN_set_bit(p, bits - 2) || !BN_set_bit(p, 0)) goto done;
    for (;;) {
        if (BN_num_bits(p) > bits) goto done;  // ran past the length: give up (never in practice)
        int prime = BN_check_prime(p, bn, NULL);
        if (prime < 0) goto done;
        if (prime == 1) {
            if (!BN_sub(p1, p, BN_value_one()) || !BN_gcd(g, p1, E, bn)) goto done;
            if (BN_is_one(g)) break;
        }
        if (!BN_add_word(p, 2)) goto done;
    }
    ok = BN_bn2binpad(p, out, (int)length) == (int)length;
done:
    BN_clear_free(p);
    BN_clear_free(p1);
    BN_free(g);
    BN_free(E);
    BN_CTX_free(bn);
    return ok;
}
