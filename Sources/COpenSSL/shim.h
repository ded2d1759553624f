#ifndef CCCDKIT_COPENSSL_H
#define CCCDKIT_COPENSSL_H
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif
