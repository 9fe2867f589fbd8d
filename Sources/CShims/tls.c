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

#include "tls_openssl.h"

struct wm_tls_functions wm_tls_api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int available;
static char unavailable_reason[256];
static BIO_METHOD *stream_method;

// MARK: - The BIO: OpenSSL's reads and writes go to the transfer callback (the Swift stream underneath)

static int bio_transfer(BIO *bio, char *buffer, int count, int writing) {
    wm_tls *tls = wm_tls_api.BIO_get_data(bio);
    int flag = writing ? BIO_FLAGS_WRITE_ : BIO_FLAGS_READ_;
    wm_tls_api.BIO_clear_flags(bio, BIO_FLAGS_READ_ | BIO_FLAGS_WRITE_ | BIO_FLAGS_SHOULD_RETRY_);
    if (tls == NULL || count <= 0) return 0;
    long moved = tls->transfer(tls->transfer_context, buffer, count, writing);
    if (moved > 0) return (int)moved;
    if (moved == -1) {
        wm_tls_api.BIO_set_flags(bio, flag | BIO_FLAGS_SHOULD_RETRY_);  // "would block": OpenSSL says WANT_READ/WRITE
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
    *(void **)(&wm_tls_api.name) = dlsym(lib, #name);                                                              \
    if (wm_tls_api.name == NULL && complete) {                                                                     \
        snprintf(unavailable_reason, sizeof(unavailable_reason), "OpenSSL 3 has no %s", #name);            \
        complete = 0;                                                                                     \
    }
    WM_TLS_FUNCTIONS(LOOK_UP)
#undef LOOK_UP
    if (!complete) return;
    stream_method = wm_tls_api.BIO_meth_new(wm_tls_api.BIO_get_new_index() | BIO_TYPE_SOURCE_SINK_, "workerman byte stream");
    if (stream_method == NULL) {
        snprintf(unavailable_reason, sizeof(unavailable_reason), "OpenSSL refused a new BIO method");
        return;
    }
    wm_tls_api.BIO_meth_set_read(stream_method, bio_read);
    wm_tls_api.BIO_meth_set_write(stream_method, bio_write);
    wm_tls_api.BIO_meth_set_ctrl(stream_method, bio_ctrl);
    available = 1;  // the libraries stay open for the life of the process
}

int wm_tls_available(void) {
    pthread_once(&load_once, load_openssl);
    return available;
}

const char *wm_tls_unavailable_reason(void) { return wm_tls_available() ? NULL : unavailable_reason; }

const char *wm_tls_library_version(void) { return wm_tls_available() ? wm_tls_api.OpenSSL_version(0) : NULL; }

void wm_tls_take_errors(char *out, size_t size) {
    if (size == 0) return;
    out[0] = 0;
    if (!wm_tls_available()) return;
    size_t used = 0;
    unsigned long code;
    while ((code = wm_tls_api.ERR_get_error()) != 0) {
        const char *reason = wm_tls_api.ERR_reason_error_string(code);
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
    tls->ssl = wm_tls_api.SSL_new(context->ctx);
    BIO *bio = tls->ssl ? wm_tls_api.BIO_new(stream_method) : NULL;
    if (bio == NULL) {
        if (tls->ssl) wm_tls_api.SSL_free(tls->ssl);
        free(tls);
        return NULL;
    }
    tls->transfer = transfer;
    tls->transfer_context = transfer_context;
    tls->context = context;
    wm_tls_api.SSL_set_ex_data(tls->ssl, 0, tls);  // index 0 is OpenSSL's "app data": the ticket callback finds us
    wm_tls_api.BIO_set_data(bio, tls);
    wm_tls_api.BIO_set_init(bio, 1);
    wm_tls_api.SSL_set_bio(tls->ssl, bio, bio);  // one BIO both ways: SSL_free frees it
    if (server) {
        wm_tls_api.SSL_set_accept_state(tls->ssl);
    } else {
        wm_tls_api.SSL_set_connect_state(tls->ssl);
        if (host && *host) {
            if (!is_ip_literal(host)) wm_tls_api.SSL_ctrl(tls->ssl, CTRL_SET_TLSEXT_HOSTNAME, 0, (void *)host);
            wm_tls_api.SSL_set1_host(tls->ssl, host);  // checked only when the context verifies
        }
    }
    return tls;
}

void wm_tls_free(wm_tls *tls) {
    if (tls == NULL) return;
    wm_tls_api.SSL_free(tls->ssl);
    free(tls);
}

static int result_or_error(wm_tls *tls, int result, int *error) {
    *error = result > 0 ? 0 : wm_tls_api.SSL_get_error(tls->ssl, result);
    return result;
}

// Each call starts with an empty error queue: SSL_get_error reads the thread's queue, which another
// connection's failure may have left behind. Peeking first: clearing an already empty queue still walks
// all its slots, a thousand instructions per message that the common case never needs.
static inline void clear_errors(void) {
    if (wm_tls_api.ERR_peek_error() != 0) wm_tls_api.ERR_clear_error();
}

int wm_tls_read(wm_tls *tls, void *buffer, int count, int *error) {
    clear_errors();
    return result_or_error(tls, wm_tls_api.SSL_read(tls->ssl, buffer, count), error);
}

int wm_tls_write(wm_tls *tls, const void *buffer, int count, int *error) {
    clear_errors();
    return result_or_error(tls, wm_tls_api.SSL_write(tls->ssl, buffer, count), error);
}

int wm_tls_shutdown(wm_tls *tls, int *error) {
    clear_errors();
    int result = wm_tls_api.SSL_shutdown(tls->ssl);
    *error = result >= 0 ? 0 : wm_tls_api.SSL_get_error(tls->ssl, result);
    return result;
}

int wm_tls_handshake(wm_tls *tls, int *error) {
    clear_errors();
    return result_or_error(tls, wm_tls_api.SSL_do_handshake(tls->ssl), error);
}

int wm_tls_handshake_done(wm_tls *tls) { return wm_tls_api.SSL_is_init_finished(tls->ssl); }

int wm_tls_pending(wm_tls *tls) { return wm_tls_api.SSL_pending(tls->ssl); }

int wm_tls_has_pending(wm_tls *tls) { return wm_tls_api.SSL_has_pending(tls->ssl); }

const char *wm_tls_protocol(wm_tls *tls) {
    return wm_tls_handshake_done(tls) ? wm_tls_api.SSL_get_version(tls->ssl) : "";
}

const char *wm_tls_cipher(wm_tls *tls) {
    const SSL_CIPHER *cipher = wm_tls_api.SSL_get_current_cipher(tls->ssl);
    const char *name = cipher ? wm_tls_api.SSL_CIPHER_get_name(cipher) : NULL;
    return name ? name : "";
}

void wm_tls_alpn(wm_tls *tls, const unsigned char **data, unsigned *length) {
    *data = NULL;
    *length = 0;
    wm_tls_api.SSL_get0_alpn_selected(tls->ssl, data, length);
}

long wm_tls_verify_result(wm_tls *tls) { return wm_tls_api.SSL_get_verify_result(tls->ssl); }

const char *wm_tls_verify_text(long result) {
    return wm_tls_available() ? wm_tls_api.X509_verify_cert_error_string(result) : "";
}

int wm_tls_peer_subject(wm_tls *tls, char *out, size_t size) {
    X509 *certificate = wm_tls_api.SSL_get1_peer_certificate(tls->ssl);
    if (certificate == NULL || size == 0) return 0;
    X509_NAME *name = wm_tls_api.X509_get_subject_name(certificate);
    int found = name && wm_tls_api.X509_NAME_oneline(name, out, (int)size) != NULL;
    wm_tls_api.X509_free(certificate);
    return found;
}

int wm_tls_session_reused(wm_tls *tls) { return wm_tls_api.SSL_session_reused(tls->ssl); }
