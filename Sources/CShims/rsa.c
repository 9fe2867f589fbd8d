// RSA-OAEP public-key encryption through the dlopen'd libcrypto (tls.c loads it): what a MySQL client
// needs to send a password to a server without TLS (caching_sha2_password's full authentication).
#include "CWorkermanShims.h"

#include "tls_openssl.h"

long wm_tls_rsa_oaep_encrypt(const char *pem, size_t pem_length, const unsigned char *data, size_t length,
                             unsigned char *out, size_t out_size) {
    if (!wm_tls_available() || pem_length > 64 * 1024) return -1;
    BIO *bio = wm_tls_api.BIO_new_mem_buf(pem, (int)pem_length);
    if (bio == NULL) return -1;
    EVP_PKEY *key = wm_tls_api.PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    wm_tls_api.BIO_free(bio);
    if (key == NULL) return -1;
    long result = -1;
    EVP_PKEY_CTX *context = wm_tls_api.EVP_PKEY_CTX_new(key, NULL);
    size_t written = out_size;
    if (context != NULL && wm_tls_api.EVP_PKEY_encrypt_init(context) == 1 &&
        wm_tls_api.EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING_) == 1 &&
        wm_tls_api.EVP_PKEY_encrypt(context, out, &written, data, length) == 1) {
        result = (long)written;
    }
    if (context != NULL) wm_tls_api.EVP_PKEY_CTX_free(context);
    wm_tls_api.EVP_PKEY_free(key);
    return result;
}
