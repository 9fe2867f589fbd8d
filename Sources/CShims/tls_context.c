// TLS contexts (SSL_CTX): versions, ciphers, certificates, ALPN, verification, session tickets and SNI,
// through the functions tls.c looked up at run time.
#include "tls_openssl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
        wm_tls_api.SSL_select_next_proto(&chosen, out_length, context->alpn, context->alpn_length, offered, offered_length) !=
            NPN_NEGOTIATED) {
        return TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN, as nginx does
    }
    *out = chosen;
    return TLSEXT_ERR_OK;
}

wm_tls_context *wm_tls_context_new(int server) {
    if (!wm_tls_available()) return NULL;
    SSL_CTX *ctx = wm_tls_api.SSL_CTX_new(server ? wm_tls_api.TLS_server_method() : wm_tls_api.TLS_client_method());
    if (ctx == NULL) return NULL;
    wm_tls_context *context = calloc(1, sizeof(wm_tls_context));
    if (context == NULL) {
        wm_tls_api.SSL_CTX_free(ctx);
        return NULL;
    }
    context->ctx = ctx;
    context->server = server;
    wm_tls_api.SSL_CTX_ctrl(ctx, CTRL_SET_MIN_PROTO_VERSION, 0x0303, NULL);
    wm_tls_api.SSL_CTX_ctrl(ctx, CTRL_SET_MAX_PROTO_VERSION, 0x0304, NULL);
    wm_tls_api.SSL_CTX_set_options(ctx, OP_NO_COMPRESSION | OP_NO_RENEGOTIATION);
    // Partial writes: SSL_write returns after each record, so a full socket never holds a whole send
    // hostage; moving buffer: a retry may come from another address (the send queue moves its bytes);
    // release buffers: an idle connection keeps no 16 KiB read/write buffers.
    wm_tls_api.SSL_CTX_ctrl(ctx, CTRL_MODE, MODE_ENABLE_PARTIAL_WRITE | MODE_ACCEPT_MOVING_WRITE_BUFFER | MODE_RELEASE_BUFFERS,
                   NULL);
    // Read ahead: one recv takes whatever the socket holds (several records, or a record's header and
    // body together) instead of a header, then a body, then another header that would block.
    wm_tls_api.SSL_CTX_ctrl(ctx, CTRL_SET_READ_AHEAD, 1, NULL);
    if (server) {
        static const unsigned char session_context[] = "workerman";
        wm_tls_api.SSL_CTX_set_session_id_context(ctx, session_context, sizeof(session_context) - 1);
        wm_tls_api.SSL_CTX_set_alpn_select_cb(ctx, select_alpn, context);
    }
    return context;
}

void wm_tls_context_free(wm_tls_context *context) {
    if (context == NULL) return;
    wm_tls_api.SSL_CTX_free(context->ctx);
    memset(&context->current, 0, sizeof(context->current));  // the keys open every live ticket
    memset(&context->previous, 0, sizeof(context->previous));
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
    if (tls12 && wm_tls_api.SSL_CTX_set_cipher_list(context->ctx, tls12) != 1) return 0;
    if (tls13 && wm_tls_api.SSL_CTX_set_ciphersuites(context->ctx, tls13) != 1) return 0;
    return 1;
}

int wm_tls_context_set_versions(wm_tls_context *context, int lowest, int highest) {
    return wm_tls_api.SSL_CTX_ctrl(context->ctx, CTRL_SET_MIN_PROTO_VERSION, lowest, NULL) == 1 &&
           wm_tls_api.SSL_CTX_ctrl(context->ctx, CTRL_SET_MAX_PROTO_VERSION, highest, NULL) == 1;
}

int wm_tls_context_use_chain_file(wm_tls_context *context, const char *path) {
    return wm_tls_api.SSL_CTX_use_certificate_chain_file(context->ctx, path) == 1;
}

int wm_tls_context_use_key_file(wm_tls_context *context, const char *path, const char *passphrase) {
    free(context->passphrase);
    context->passphrase = passphrase ? strdup(passphrase) : NULL;
    wm_tls_api.SSL_CTX_set_default_passwd_cb(context->ctx, password_from_userdata);
    wm_tls_api.SSL_CTX_set_default_passwd_cb_userdata(context->ctx, context->passphrase);
    return wm_tls_api.SSL_CTX_use_PrivateKey_file(context->ctx, path, FILETYPE_PEM) == 1;
}

int wm_tls_context_check_key(wm_tls_context *context) { return wm_tls_api.SSL_CTX_check_private_key(context->ctx) == 1; }

int wm_tls_context_set_alpn(wm_tls_context *context, const unsigned char *wire, unsigned length) {
    if (!context->server) return wm_tls_api.SSL_CTX_set_alpn_protos(context->ctx, wire, length) == 0;  // 0 is success here
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
    if ((ca_file || ca_dir) && wm_tls_api.SSL_CTX_load_verify_locations(context->ctx, ca_file, ca_dir) != 1) return 0;
    if (system_store && wm_tls_api.SSL_CTX_set_default_verify_paths(context->ctx) != 1) return 0;
    wm_tls_api.SSL_CTX_set_verify(context->ctx, mode, NULL);
    return 1;
}

int wm_tls_context_set_session_cache(wm_tls_context *context, int enabled) {
    wm_tls_api.SSL_CTX_ctrl(context->ctx, CTRL_SET_SESS_CACHE_MODE, enabled ? SESS_CACHE_SERVER : SESS_CACHE_OFF, NULL);
    if (enabled) {
        wm_tls_api.SSL_CTX_clear_options(context->ctx, OP_NO_TICKET);
    } else {
        wm_tls_api.SSL_CTX_set_options(context->ctx, OP_NO_TICKET);
    }
    return 1;
}

// MARK: - Session ticket keys

/// Arms `hmac` (OpenSSL's MAC context, HMAC by default) with `key`'s secret and SHA-256.
static int use_hmac_key(EVP_MAC_CTX *hmac, struct ticket_key *key) {
    char digest[] = "SHA256";
    OSSL_PARAM params[3];
    params[0] = wm_tls_api.OSSL_PARAM_construct_octet_string("key", key->hmac, sizeof(key->hmac));
    params[1] = wm_tls_api.OSSL_PARAM_construct_utf8_string("digest", digest, 0);
    params[2] = wm_tls_api.OSSL_PARAM_construct_end();
    return wm_tls_api.EVP_MAC_CTX_set_params(hmac, params) == 1;
}

// OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb). Issuing (`encrypting` 1): the
// current key. Opening: the key the ticket names; the previous one still opens it and returns 2, so
// OpenSSL resumes the session and issues a fresh ticket under the current key; an unknown name returns
// 0 (no resumption: a full handshake, as for an expired ticket).
static int ticket_key_callback(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                               EVP_MAC_CTX *hmac, int encrypting) {
    wm_tls *tls = wm_tls_api.SSL_get_ex_data(ssl, 0);
    if (tls == NULL || !tls->context->has_ticket_keys) return encrypting ? -1 : 0;
    wm_tls_context *context = tls->context;
    if (encrypting) {
        struct ticket_key *key = &context->current;
        if (wm_tls_api.RAND_bytes(iv, 16) != 1) return -1;  // AES-CBC's IV is 16 bytes
        memcpy(name, key->name, sizeof(key->name));
        if (wm_tls_api.EVP_EncryptInit_ex(cipher, wm_tls_api.EVP_aes_256_cbc(), NULL, key->aes, iv) != 1) return -1;
        return use_hmac_key(hmac, key) ? 1 : -1;
    }
    struct ticket_key *key = NULL;
    int renew = 0;
    if (memcmp(name, context->current.name, sizeof(context->current.name)) == 0) {
        key = &context->current;
    } else if (context->has_previous && memcmp(name, context->previous.name, sizeof(context->previous.name)) == 0) {
        key = &context->previous;
        renew = 1;
    }
    if (key == NULL) return 0;
    if (!use_hmac_key(hmac, key)) return -1;
    if (wm_tls_api.EVP_DecryptInit_ex(cipher, wm_tls_api.EVP_aes_256_cbc(), NULL, key->aes, iv) != 1) return -1;
    return renew ? 2 : 1;
}

int wm_tls_context_set_ticket_keys(wm_tls_context *context, const unsigned char *current, const unsigned char *previous) {
    if (current == NULL) return 0;
    memcpy(&context->current, current, sizeof(struct ticket_key));
    context->has_previous = previous != NULL;
    if (previous) memcpy(&context->previous, previous, sizeof(struct ticket_key));
    if (!context->has_ticket_keys) {
        context->has_ticket_keys = 1;
        return wm_tls_api.SSL_CTX_set_tlsext_ticket_key_evp_cb(context->ctx, ticket_key_callback) == 1;
    }
    return 1;
}

int wm_tls_sha256(const void *data, size_t length, unsigned char *digest) {
    return wm_tls_available() && wm_tls_api.SHA256(data, length, digest) != NULL;
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
    const char *name = wm_tls_api.SSL_get_servername(ssl, 0);
    if (name == NULL) return TLSEXT_ERR_OK;  // no SNI: the default certificate
    for (size_t i = 0; i < context->sni_count; i++) {
        if (name_matches(context->sni[i].name, name)) {
            wm_tls_api.SSL_set_SSL_CTX(ssl, context->sni[i].context->ctx);
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
    wm_tls_api.SSL_CTX_callback_ctrl(context->ctx, CTRL_SET_TLSEXT_SERVERNAME_CB, (void (*)(void))select_certificate);
    wm_tls_api.SSL_CTX_ctrl(context->ctx, CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, context);
    return 1;
}

