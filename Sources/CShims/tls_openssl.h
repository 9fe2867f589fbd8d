// What tls.c and tls_context.c share: OpenSSL's opaque types and the constants we use (OpenSSL 3's, from
// its headers, which the build never needs), every function we call (looked up with dlsym), and our
// structures. Private to the shim: not under include/, so Swift never sees it.
#ifndef WM_TLS_OPENSSL_H
#define WM_TLS_OPENSSL_H

#include "CWorkermanShims.h"

#include <stddef.h>
#include <stdint.h>

typedef void SSL_CTX;
typedef void SSL;
typedef void SSL_METHOD;
typedef void SSL_CIPHER;
typedef void BIO;
typedef void BIO_METHOD;
typedef void X509;
typedef void X509_NAME;
typedef void EVP_PKEY;
typedef void EVP_PKEY_CTX;
typedef void EVP_CIPHER;
typedef void EVP_CIPHER_CTX;
typedef void EVP_MAC_CTX;
typedef void ENGINE;
/// OpenSSL 3's parameter record (core.h): a public, stable layout, built here with OpenSSL's own
/// constructors so its type codes need not be copied.
typedef struct {
    const char *key;
    unsigned int data_type;
    void *data;
    size_t data_size;
    size_t return_size;
} OSSL_PARAM;
typedef int (*ticket_key_cb)(SSL *, unsigned char *, unsigned char *, EVP_CIPHER_CTX *, EVP_MAC_CTX *, int);
typedef int (*password_cb)(char *, int, int, void *);
typedef int (*alpn_select_cb)(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned, void *);

// OpenSSL 3 constants (ssl.h, tls1.h, bio.h).
enum {
    CTRL_MODE = 33,
    CTRL_SET_READ_AHEAD = 41,
    CTRL_SET_SESS_CACHE_MODE = 44,
    CTRL_SET_TLSEXT_HOSTNAME = 55,
    CTRL_SET_MIN_PROTO_VERSION = 123,
    CTRL_SET_MAX_PROTO_VERSION = 124,
    CTRL_SET_TLSEXT_SERVERNAME_CB = 53,
    CTRL_SET_TLSEXT_SERVERNAME_ARG = 54,
    MODE_ENABLE_PARTIAL_WRITE = 0x1,
    MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2,
    MODE_RELEASE_BUFFERS = 0x10,
    FILETYPE_PEM = 1,
    BIO_TYPE_SOURCE_SINK_ = 0x0400,
    BIO_FLAGS_READ_ = 0x01,
    BIO_FLAGS_WRITE_ = 0x02,
    BIO_FLAGS_SHOULD_RETRY_ = 0x08,
    BIO_CTRL_FLUSH_ = 11,
    TLSEXT_ERR_OK = 0,
    TLSEXT_ERR_NOACK = 3,
    NPN_NEGOTIATED = 1,
    SESS_CACHE_OFF = 0,
    SESS_CACHE_SERVER = 2,
    RSA_PKCS1_OAEP_PADDING_ = 4,
};
#define OP_NO_COMPRESSION ((uint64_t)1 << 17)
#define OP_NO_RENEGOTIATION ((uint64_t)1 << 30)
#define OP_NO_TICKET ((uint64_t)1 << 14)

// Every function we call, by name; the X-macro keeps the declaration, the pointer and the lookup in one
// place. `lib` says which library holds it.
#define WM_TLS_FUNCTIONS(X)                                                                                \
    X(ssl, const SSL_METHOD *, TLS_server_method, (void))                                                  \
    X(ssl, const SSL_METHOD *, TLS_client_method, (void))                                                  \
    X(ssl, SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *))                                                   \
    X(ssl, void, SSL_CTX_free, (SSL_CTX *))                                                                \
    X(ssl, long, SSL_CTX_ctrl, (SSL_CTX *, int, long, void *))                                             \
    X(ssl, uint64_t, SSL_CTX_set_options, (SSL_CTX *, uint64_t))                                           \
    X(ssl, uint64_t, SSL_CTX_clear_options, (SSL_CTX *, uint64_t))                                         \
    X(ssl, int, SSL_CTX_set_cipher_list, (SSL_CTX *, const char *))                                        \
    X(ssl, int, SSL_CTX_set_ciphersuites, (SSL_CTX *, const char *))                                       \
    X(ssl, int, SSL_CTX_use_certificate_chain_file, (SSL_CTX *, const char *))                             \
    X(ssl, int, SSL_CTX_use_PrivateKey_file, (SSL_CTX *, const char *, int))                               \
    X(ssl, int, SSL_CTX_check_private_key, (const SSL_CTX *))                                              \
    X(ssl, void, SSL_CTX_set_default_passwd_cb, (SSL_CTX *, password_cb))                                  \
    X(ssl, void, SSL_CTX_set_default_passwd_cb_userdata, (SSL_CTX *, void *))                              \
    X(ssl, void, SSL_CTX_set_alpn_select_cb, (SSL_CTX *, alpn_select_cb, void *))                          \
    X(ssl, int, SSL_CTX_set_alpn_protos, (SSL_CTX *, const unsigned char *, unsigned))                     \
    X(ssl, int, SSL_select_next_proto,                                                                     \
      (unsigned char **, unsigned char *, const unsigned char *, unsigned, const unsigned char *, unsigned)) \
    X(ssl, void, SSL_CTX_set_verify, (SSL_CTX *, int, void *))                                             \
    X(ssl, int, SSL_CTX_load_verify_locations, (SSL_CTX *, const char *, const char *))                    \
    X(ssl, int, SSL_CTX_set_default_verify_paths, (SSL_CTX *))                                             \
    X(ssl, int, SSL_CTX_set_session_id_context, (SSL_CTX *, const unsigned char *, unsigned))              \
    X(ssl, SSL *, SSL_new, (SSL_CTX *))                                                                    \
    X(ssl, void, SSL_free, (SSL *))                                                                        \
    X(ssl, void, SSL_set_bio, (SSL *, BIO *, BIO *))                                                       \
    X(ssl, void, SSL_set_accept_state, (SSL *))                                                            \
    X(ssl, void, SSL_set_connect_state, (SSL *))                                                           \
    X(ssl, int, SSL_read, (SSL *, void *, int))                                                            \
    X(ssl, int, SSL_write, (SSL *, const void *, int))                                                     \
    X(ssl, int, SSL_get_error, (const SSL *, int))                                                         \
    X(ssl, int, SSL_shutdown, (SSL *))                                                                     \
    X(ssl, int, SSL_do_handshake, (SSL *))                                                                 \
    X(ssl, int, SSL_is_init_finished, (const SSL *))                                                       \
    X(ssl, int, SSL_pending, (const SSL *))                                                                \
    X(ssl, int, SSL_has_pending, (const SSL *))                                                            \
    X(ssl, const char *, SSL_get_version, (const SSL *))                                                   \
    X(ssl, const SSL_CIPHER *, SSL_get_current_cipher, (const SSL *))                                      \
    X(ssl, const char *, SSL_CIPHER_get_name, (const SSL_CIPHER *))                                        \
    X(ssl, long, SSL_ctrl, (SSL *, int, long, void *))                                                     \
    X(ssl, int, SSL_set1_host, (SSL *, const char *))                                                      \
    X(ssl, long, SSL_get_verify_result, (const SSL *))                                                     \
    X(ssl, void, SSL_get0_alpn_selected, (const SSL *, const unsigned char **, unsigned *))                \
    X(ssl, X509 *, SSL_get1_peer_certificate, (const SSL *))                                               \
    X(ssl, int, SSL_session_reused, (const SSL *))                                                         \
    X(ssl, long, SSL_CTX_callback_ctrl, (SSL_CTX *, int, void (*)(void)))                                  \
    X(ssl, const char *, SSL_get_servername, (const SSL *, int))                                           \
    X(ssl, SSL_CTX *, SSL_set_SSL_CTX, (SSL *, SSL_CTX *))                                                 \
    X(ssl, int, SSL_CTX_set_tlsext_ticket_key_evp_cb, (SSL_CTX *, ticket_key_cb))                          \
    X(ssl, int, SSL_set_ex_data, (SSL *, int, void *))                                                     \
    X(ssl, void *, SSL_get_ex_data, (const SSL *, int))                                                    \
    X(crypto, int, EVP_EncryptInit_ex,                                                                     \
      (EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *))      \
    X(crypto, int, EVP_DecryptInit_ex,                                                                     \
      (EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *))      \
    X(crypto, const EVP_CIPHER *, EVP_aes_256_cbc, (void))                                                 \
    X(crypto, int, RAND_bytes, (unsigned char *, int))                                                     \
    X(crypto, int, EVP_MAC_CTX_set_params, (EVP_MAC_CTX *, const OSSL_PARAM *))                            \
    X(crypto, OSSL_PARAM, OSSL_PARAM_construct_octet_string, (const char *, void *, size_t))               \
    X(crypto, OSSL_PARAM, OSSL_PARAM_construct_utf8_string, (const char *, char *, size_t))                \
    X(crypto, OSSL_PARAM, OSSL_PARAM_construct_end, (void))                                                \
    X(crypto, BIO_METHOD *, BIO_meth_new, (int, const char *))                                             \
    X(crypto, int, BIO_meth_set_write, (BIO_METHOD *, int (*)(BIO *, const char *, int)))                  \
    X(crypto, int, BIO_meth_set_read, (BIO_METHOD *, int (*)(BIO *, char *, int)))                         \
    X(crypto, int, BIO_meth_set_ctrl, (BIO_METHOD *, long (*)(BIO *, int, long, void *)))                  \
    X(crypto, int, BIO_get_new_index, (void))                                                              \
    X(crypto, BIO *, BIO_new, (const BIO_METHOD *))                                                        \
    X(crypto, void, BIO_set_data, (BIO *, void *))                                                         \
    X(crypto, void *, BIO_get_data, (BIO *))                                                               \
    X(crypto, void, BIO_set_init, (BIO *, int))                                                            \
    X(crypto, void, BIO_set_flags, (BIO *, int))                                                           \
    X(crypto, void, BIO_clear_flags, (BIO *, int))                                                         \
    X(crypto, unsigned long, ERR_get_error, (void))                                                        \
    X(crypto, const char *, ERR_reason_error_string, (unsigned long))                                      \
    X(crypto, void, ERR_clear_error, (void))                                                               \
    X(crypto, unsigned long, ERR_peek_error, (void))                                                       \
    X(crypto, const char *, X509_verify_cert_error_string, (long))                                         \
    X(crypto, void, X509_free, (X509 *))                                                                   \
    X(crypto, X509_NAME *, X509_get_subject_name, (const X509 *))                                          \
    X(crypto, char *, X509_NAME_oneline, (const X509_NAME *, char *, int))                                 \
    X(crypto, unsigned char *, SHA256, (const unsigned char *, size_t, unsigned char *))                   \
    X(crypto, BIO *, BIO_new_mem_buf, (const void *, int))                                                 \
    X(crypto, int, BIO_free, (BIO *))                                                                      \
    X(crypto, EVP_PKEY *, PEM_read_bio_PUBKEY, (BIO *, EVP_PKEY **, password_cb, void *))                  \
    X(crypto, void, EVP_PKEY_free, (EVP_PKEY *))                                                           \
    X(crypto, EVP_PKEY_CTX *, EVP_PKEY_CTX_new, (EVP_PKEY *, void *))                                      \
    X(crypto, void, EVP_PKEY_CTX_free, (EVP_PKEY_CTX *))                                                   \
    X(crypto, int, EVP_PKEY_encrypt_init, (EVP_PKEY_CTX *))                                                \
    X(crypto, int, EVP_PKEY_CTX_set_rsa_padding, (EVP_PKEY_CTX *, int))                                    \
    X(crypto, int, EVP_PKEY_encrypt, (EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t)) \
    X(crypto, const char *, OpenSSL_version, (int))

#define DECLARE_POINTER(lib, result, name, parameters) result(*name) parameters;
struct wm_tls_functions {
    WM_TLS_FUNCTIONS(DECLARE_POINTER)
};
#undef DECLARE_POINTER
/// The functions, looked up once by wm_tls_available() (tls.c); callers check that first.
extern struct wm_tls_functions wm_tls_api;

struct sni_entry {
    char *name;  // lower case; "*.example.com" matches one label
    wm_tls_context *context;
};

/// One session ticket key: the name a ticket carries, its HMAC secret and its AES-256 key.
struct ticket_key {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
};

struct wm_tls_context {
    SSL_CTX *ctx;
    /// Tickets are issued with `current`; `previous` (when `has_previous`) still opens the tickets
    /// issued before the last rotation, which are then renewed under `current`.
    struct ticket_key current;
    struct ticket_key previous;
    int has_ticket_keys;
    int has_previous;
    int server;
    struct sni_entry *sni;
    size_t sni_count;
    char *passphrase;
    unsigned char *alpn;
    unsigned alpn_length;
};

struct wm_tls {
    SSL *ssl;
    /// The context the connection was made with (its ticket keys, even after SNI picks another).
    wm_tls_context *context;
    wm_tls_transfer_fn transfer;
    void *transfer_context;
};

#endif
