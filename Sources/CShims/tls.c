// OpenSSL 3 without OpenSSL's headers: the package must build on a machine with no libssl-dev, so the
// functions TLS needs are looked up in libssl.so.3 / libcrypto.so.3 at run time (as zlib.c does for
// zlib). OpenSSL's objects stay opaque pointers; the few constants used are OpenSSL 3's (stable ABI
// within a major version, which is why only the .so.3 names are opened).
#include "CWorkermanShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef void SSL_CTX;
typedef void SSL;
typedef void SSL_METHOD;
typedef void SSL_CIPHER;
typedef void BIO;
typedef void BIO_METHOD;
typedef void X509;
typedef void X509_NAME;
typedef int (*password_cb)(char *, int, int, void *);
typedef int (*alpn_select_cb)(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned, void *);

// OpenSSL 3 constants (ssl.h, tls1.h, bio.h).
enum {
    CTRL_MODE = 33,
    CTRL_SET_SESS_CACHE_MODE = 44,
    CTRL_SET_TLSEXT_HOSTNAME = 55,
    CTRL_SET_MIN_PROTO_VERSION = 123,
    CTRL_SET_MAX_PROTO_VERSION = 124,
    CTRL_SET_TLSEXT_TICKET_KEYS = 59,
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
    X(crypto, const char *, X509_verify_cert_error_string, (long))                                         \
    X(crypto, void, X509_free, (X509 *))                                                                   \
    X(crypto, X509_NAME *, X509_get_subject_name, (const X509 *))                                          \
    X(crypto, char *, X509_NAME_oneline, (const X509_NAME *, char *, int))                                 \
    X(crypto, unsigned char *, SHA256, (const unsigned char *, size_t, unsigned char *))                   \
    X(crypto, const char *, OpenSSL_version, (int))

#define DECLARE_POINTER(lib, result, name, parameters) result(*name) parameters;
static struct {
    WM_TLS_FUNCTIONS(DECLARE_POINTER)
} f;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int available;
static char unavailable_reason[256];
static BIO_METHOD *stream_method;

struct sni_entry {
    char *name;  // lower case; "*.example.com" matches one label
    wm_tls_context *context;
};

struct wm_tls_context {
    SSL_CTX *ctx;
    int server;
    struct sni_entry *sni;
    size_t sni_count;
    char *passphrase;
    unsigned char *alpn;
    unsigned alpn_length;
};

struct wm_tls {
    SSL *ssl;
    wm_tls_transfer_fn transfer;
    void *transfer_context;
};

// MARK: - The BIO: OpenSSL's reads and writes go to the transfer callback (the Swift stream underneath)

static int bio_transfer(BIO *bio, char *buffer, int count, int writing) {
    wm_tls *tls = f.BIO_get_data(bio);
    int flag = writing ? BIO_FLAGS_WRITE_ : BIO_FLAGS_READ_;
    f.BIO_clear_flags(bio, BIO_FLAGS_READ_ | BIO_FLAGS_WRITE_ | BIO_FLAGS_SHOULD_RETRY_);
    if (tls == NULL || count <= 0) return 0;
    long moved = tls->transfer(tls->transfer_context, buffer, count, writing);
    if (moved > 0) return (int)moved;
    if (moved == -1) {
        f.BIO_set_flags(bio, flag | BIO_FLAGS_SHOULD_RETRY_);  // "would block": OpenSSL says WANT_READ/WRITE
        return -1;
    }
    return moved == 0 ? 0 : -1;  // end of stream, or a failure the Swift side recorded
}

static int bio_read(BIO *bio, char *buffer, int count) { return bio_transfer(bio, buffer, count, 0); }
static int bio_write(BIO *bio, const char *buffer, int count) { return bio_transfer(bio, (char *)buffer, count, 1); }

static long bio_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)bio;
    (void)number;
    (void)pointer;
    // Writes go straight to the stream, so a flush has nothing to do but must succeed (OpenSSL flushes
    // after each handshake flight and fails the handshake on 0). Everything else is unsupported.
    return command == BIO_CTRL_FLUSH_ ? 1 : 0;
}

// MARK: - Loading

static void *open_library(const char *name) {
    // RTLD_LOCAL: OpenSSL's symbols stay out of the global namespace (a copy someone else links keeps
    // its own).
    void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(unavailable_reason, sizeof(unavailable_reason), "cannot load %s (%s)", name, why ? why : "not found");
    }
    return library;
}

static void load_openssl(void) {
    void *crypto = open_library("libcrypto.so.3");
    if (crypto == NULL) return;
    void *ssl = open_library("libssl.so.3");
    if (ssl == NULL) return;
    int complete = 1;
#define LOOK_UP(lib, result, name, parameters)                                                           \
    *(void **)(&f.name) = dlsym(lib, #name);                                                              \
    if (f.name == NULL && complete) {                                                                     \
        snprintf(unavailable_reason, sizeof(unavailable_reason), "OpenSSL 3 has no %s", #name);            \
        complete = 0;                                                                                     \
    }
    WM_TLS_FUNCTIONS(LOOK_UP)
#undef LOOK_UP
    if (!complete) return;
    stream_method = f.BIO_meth_new(f.BIO_get_new_index() | BIO_TYPE_SOURCE_SINK_, "workerman byte stream");
    if (stream_method == NULL) {
        snprintf(unavailable_reason, sizeof(unavailable_reason), "OpenSSL refused a new BIO method");
        return;
    }
    f.BIO_meth_set_read(stream_method, bio_read);
    f.BIO_meth_set_write(stream_method, bio_write);
    f.BIO_meth_set_ctrl(stream_method, bio_ctrl);
    available = 1;  // the libraries stay open for the life of the process
}

int wm_tls_available(void) {
    pthread_once(&load_once, load_openssl);
    return available;
}

const char *wm_tls_unavailable_reason(void) { return wm_tls_available() ? NULL : unavailable_reason; }

const char *wm_tls_library_version(void) { return wm_tls_available() ? f.OpenSSL_version(0) : NULL; }

void wm_tls_take_errors(char *out, size_t size) {
    if (size == 0) return;
    out[0] = 0;
    if (!wm_tls_available()) return;
    size_t used = 0;
    unsigned long code;
    while ((code = f.ERR_get_error()) != 0) {
        const char *reason = f.ERR_reason_error_string(code);
        char fallback[32];
        if (reason == NULL) {
            snprintf(fallback, sizeof(fallback), "error %lx", code);
            reason = fallback;
        }
        int wrote = snprintf(out + used, size - used, "%s%s", used ? "; " : "", reason);
        if (wrote < 0 || (size_t)wrote >= size - used) break;
        used += (size_t)wrote;
    }
}

// MARK: - Contexts

static int password_from_userdata(char *buffer, int size, int writing, void *userdata) {
    (void)writing;
    const char *passphrase = userdata;
    if (passphrase == NULL) return 0;
    int length = (int)strlen(passphrase);
    if (length > size) length = size;
    memcpy(buffer, passphrase, (size_t)length);
    return length;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_length, const unsigned char *offered,
                       unsigned offered_length, void *argument) {
    (void)ssl;
    wm_tls_context *context = argument;
    unsigned char *chosen = NULL;
    if (context->alpn == NULL ||
        f.SSL_select_next_proto(&chosen, out_length, context->alpn, context->alpn_length, offered, offered_length) !=
            NPN_NEGOTIATED) {
        return TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN, as nginx does
    }
    *out = chosen;
    return TLSEXT_ERR_OK;
}

wm_tls_context *wm_tls_context_new(int server) {
    if (!wm_tls_available()) return NULL;
    SSL_CTX *ctx = f.SSL_CTX_new(server ? f.TLS_server_method() : f.TLS_client_method());
    if (ctx == NULL) return NULL;
    wm_tls_context *context = calloc(1, sizeof(wm_tls_context));
    if (context == NULL) {
        f.SSL_CTX_free(ctx);
        return NULL;
    }
    context->ctx = ctx;
    context->server = server;
    f.SSL_CTX_ctrl(ctx, CTRL_SET_MIN_PROTO_VERSION, 0x0303, NULL);
    f.SSL_CTX_ctrl(ctx, CTRL_SET_MAX_PROTO_VERSION, 0x0304, NULL);
    f.SSL_CTX_set_options(ctx, OP_NO_COMPRESSION | OP_NO_RENEGOTIATION);
    // Partial writes: SSL_write returns after each record, so a full socket never holds a whole send
    // hostage; moving buffer: a retry may come from another address (the send queue moves its bytes);
    // release buffers: an idle connection keeps no 16 KiB read/write buffers.
    f.SSL_CTX_ctrl(ctx, CTRL_MODE, MODE_ENABLE_PARTIAL_WRITE | MODE_ACCEPT_MOVING_WRITE_BUFFER | MODE_RELEASE_BUFFERS,
                   NULL);
    if (server) {
        static const unsigned char session_context[] = "workerman";
        f.SSL_CTX_set_session_id_context(ctx, session_context, sizeof(session_context) - 1);
        f.SSL_CTX_set_alpn_select_cb(ctx, select_alpn, context);
    }
    return context;
}

void wm_tls_context_free(wm_tls_context *context) {
    if (context == NULL) return;
    f.SSL_CTX_free(context->ctx);
    if (context->passphrase) {
        memset(context->passphrase, 0, strlen(context->passphrase));
        free(context->passphrase);
    }
    free(context->alpn);
    for (size_t i = 0; i < context->sni_count; i++) free(context->sni[i].name);
    free(context->sni);  // the contexts named there belong to their Swift owners
    free(context);
}

int wm_tls_context_set_ciphers(wm_tls_context *context, const char *tls12, const char *tls13) {
    if (tls12 && f.SSL_CTX_set_cipher_list(context->ctx, tls12) != 1) return 0;
    if (tls13 && f.SSL_CTX_set_ciphersuites(context->ctx, tls13) != 1) return 0;
    return 1;
}

int wm_tls_context_set_versions(wm_tls_context *context, int lowest, int highest) {
    return f.SSL_CTX_ctrl(context->ctx, CTRL_SET_MIN_PROTO_VERSION, lowest, NULL) == 1 &&
           f.SSL_CTX_ctrl(context->ctx, CTRL_SET_MAX_PROTO_VERSION, highest, NULL) == 1;
}

int wm_tls_context_use_chain_file(wm_tls_context *context, const char *path) {
    return f.SSL_CTX_use_certificate_chain_file(context->ctx, path) == 1;
}

int wm_tls_context_use_key_file(wm_tls_context *context, const char *path, const char *passphrase) {
    free(context->passphrase);
    context->passphrase = passphrase ? strdup(passphrase) : NULL;
    f.SSL_CTX_set_default_passwd_cb(context->ctx, password_from_userdata);
    f.SSL_CTX_set_default_passwd_cb_userdata(context->ctx, context->passphrase);
    return f.SSL_CTX_use_PrivateKey_file(context->ctx, path, FILETYPE_PEM) == 1;
}

int wm_tls_context_check_key(wm_tls_context *context) { return f.SSL_CTX_check_private_key(context->ctx) == 1; }

int wm_tls_context_set_alpn(wm_tls_context *context, const unsigned char *wire, unsigned length) {
    if (!context->server) return f.SSL_CTX_set_alpn_protos(context->ctx, wire, length) == 0;  // 0 is success here
    unsigned char *copy = malloc(length ? length : 1);
    if (copy == NULL) return 0;
    memcpy(copy, wire, length);
    free(context->alpn);
    context->alpn = copy;
    context->alpn_length = length;
    return 1;
}

int wm_tls_context_set_verify(wm_tls_context *context, int mode, const char *ca_file, const char *ca_dir,
                              int system_store) {
    if ((ca_file || ca_dir) && f.SSL_CTX_load_verify_locations(context->ctx, ca_file, ca_dir) != 1) return 0;
    if (system_store && f.SSL_CTX_set_default_verify_paths(context->ctx) != 1) return 0;
    f.SSL_CTX_set_verify(context->ctx, mode, NULL);
    return 1;
}

int wm_tls_context_set_session_cache(wm_tls_context *context, int enabled) {
    f.SSL_CTX_ctrl(context->ctx, CTRL_SET_SESS_CACHE_MODE, enabled ? SESS_CACHE_SERVER : SESS_CACHE_OFF, NULL);
    if (enabled) {
        f.SSL_CTX_clear_options(context->ctx, OP_NO_TICKET);
    } else {
        f.SSL_CTX_set_options(context->ctx, OP_NO_TICKET);
    }
    return 1;
}

int wm_tls_context_set_ticket_keys(wm_tls_context *context, const unsigned char *keys, size_t length) {
    return f.SSL_CTX_ctrl(context->ctx, CTRL_SET_TLSEXT_TICKET_KEYS, (long)length, (void *)keys) == 1;
}

int wm_tls_sha256(const void *data, size_t length, unsigned char *digest) {
    return wm_tls_available() && f.SHA256(data, length, digest) != NULL;
}

// MARK: - SNI

static int name_matches(const char *pattern, const char *name) {
    if (strncmp(pattern, "*.", 2) == 0) {
        const char *dot = strchr(name, '.');
        return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int select_certificate(SSL *ssl, int *alert, void *argument) {
    (void)alert;
    wm_tls_context *context = argument;
    const char *name = f.SSL_get_servername(ssl, 0);
    if (name == NULL) return TLSEXT_ERR_OK;  // no SNI: the default certificate
    for (size_t i = 0; i < context->sni_count; i++) {
        if (name_matches(context->sni[i].name, name)) {
            f.SSL_set_SSL_CTX(ssl, context->sni[i].context->ctx);
            break;
        }
    }
    return TLSEXT_ERR_OK;  // an unknown name gets the default certificate, as nginx's default server
}

int wm_tls_context_add_server_name(wm_tls_context *context, const char *name, wm_tls_context *other) {
    struct sni_entry *grown = realloc(context->sni, (context->sni_count + 1) * sizeof(struct sni_entry));
    if (grown == NULL) return 0;
    context->sni = grown;
    char *copy = strdup(name);
    if (copy == NULL) return 0;
    context->sni[context->sni_count++] = (struct sni_entry){copy, other};
    f.SSL_CTX_callback_ctrl(context->ctx, CTRL_SET_TLSEXT_SERVERNAME_CB, (void (*)(void))select_certificate);
    f.SSL_CTX_ctrl(context->ctx, CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, context);
    return 1;
}

// MARK: - Connections

static int is_ip_literal(const char *host) {
    // RFC 6066 §3: SNI carries DNS names only.
    if (strchr(host, ':')) return 1;
    for (const char *c = host; *c; c++) {
        if ((*c < '0' || *c > '9') && *c != '.') return 0;
    }
    return 1;
}

wm_tls *wm_tls_new(wm_tls_context *context, int server, const char *host, wm_tls_transfer_fn transfer,
                   void *transfer_context) {
    if (!wm_tls_available()) return NULL;
    wm_tls *tls = calloc(1, sizeof(wm_tls));
    if (tls == NULL) return NULL;
    tls->ssl = f.SSL_new(context->ctx);
    BIO *bio = tls->ssl ? f.BIO_new(stream_method) : NULL;
    if (bio == NULL) {
        if (tls->ssl) f.SSL_free(tls->ssl);
        free(tls);
        return NULL;
    }
    tls->transfer = transfer;
    tls->transfer_context = transfer_context;
    f.BIO_set_data(bio, tls);
    f.BIO_set_init(bio, 1);
    f.SSL_set_bio(tls->ssl, bio, bio);  // one BIO both ways: SSL_free frees it
    if (server) {
        f.SSL_set_accept_state(tls->ssl);
    } else {
        f.SSL_set_connect_state(tls->ssl);
        if (host && *host) {
            if (!is_ip_literal(host)) f.SSL_ctrl(tls->ssl, CTRL_SET_TLSEXT_HOSTNAME, 0, (void *)host);
            f.SSL_set1_host(tls->ssl, host);  // checked only when the context verifies
        }
    }
    return tls;
}

void wm_tls_free(wm_tls *tls) {
    if (tls == NULL) return;
    f.SSL_free(tls->ssl);
    free(tls);
}

static int result_or_error(wm_tls *tls, int result, int *error) {
    *error = result > 0 ? 0 : f.SSL_get_error(tls->ssl, result);
    return result;
}

// Each call starts with an empty error queue: SSL_get_error reads the thread's queue, which another
// connection's failure may have left behind.
int wm_tls_read(wm_tls *tls, void *buffer, int count, int *error) {
    f.ERR_clear_error();
    return result_or_error(tls, f.SSL_read(tls->ssl, buffer, count), error);
}

int wm_tls_write(wm_tls *tls, const void *buffer, int count, int *error) {
    f.ERR_clear_error();
    return result_or_error(tls, f.SSL_write(tls->ssl, buffer, count), error);
}

int wm_tls_shutdown(wm_tls *tls, int *error) {
    f.ERR_clear_error();
    int result = f.SSL_shutdown(tls->ssl);
    *error = result >= 0 ? 0 : f.SSL_get_error(tls->ssl, result);
    return result;
}

int wm_tls_handshake(wm_tls *tls, int *error) {
    f.ERR_clear_error();
    return result_or_error(tls, f.SSL_do_handshake(tls->ssl), error);
}

int wm_tls_handshake_done(wm_tls *tls) { return f.SSL_is_init_finished(tls->ssl); }

int wm_tls_pending(wm_tls *tls) { return f.SSL_pending(tls->ssl); }

const char *wm_tls_protocol(wm_tls *tls) {
    return wm_tls_handshake_done(tls) ? f.SSL_get_version(tls->ssl) : "";
}

const char *wm_tls_cipher(wm_tls *tls) {
    const SSL_CIPHER *cipher = f.SSL_get_current_cipher(tls->ssl);
    const char *name = cipher ? f.SSL_CIPHER_get_name(cipher) : NULL;
    return name ? name : "";
}

void wm_tls_alpn(wm_tls *tls, const unsigned char **data, unsigned *length) {
    *data = NULL;
    *length = 0;
    f.SSL_get0_alpn_selected(tls->ssl, data, length);
}

long wm_tls_verify_result(wm_tls *tls) { return f.SSL_get_verify_result(tls->ssl); }

const char *wm_tls_verify_text(long result) {
    return wm_tls_available() ? f.X509_verify_cert_error_string(result) : "";
}

int wm_tls_peer_subject(wm_tls *tls, char *out, size_t size) {
    X509 *certificate = f.SSL_get1_peer_certificate(tls->ssl);
    if (certificate == NULL || size == 0) return 0;
    X509_NAME *name = f.X509_get_subject_name(certificate);
    int found = name && f.X509_NAME_oneline(name, out, (int)size) != NULL;
    f.X509_free(certificate);
    return found;
}

int wm_tls_session_reused(wm_tls *tls) { return f.SSL_session_reused(tls->ssl); }
