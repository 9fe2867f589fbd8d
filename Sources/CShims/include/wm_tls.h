// TLS through OpenSSL 3, loaded at run time (libssl.so.3 and libcrypto.so.3 with dlopen), so the package
// builds where OpenSSL's headers are not installed. Only the WorkermanTLS module calls these.
#ifndef WM_TLS_H
#define WM_TLS_H

#include <stddef.h>

/// An SSL_CTX (settings and certificates shared by many connections) behind an opaque pointer.
typedef struct wm_tls_context wm_tls_context;
/// One TLS connection: an SSL plus the transfer callback its BIO calls.
typedef struct wm_tls wm_tls;

/// Moves ciphertext between OpenSSL and the stream underneath: `writing` 0 reads into `buffer`, 1
/// writes from it. Returns bytes moved (> 0), 0 for the end of the stream (reads), -1 for "would block",
/// -2 for a failure (the caller keeps its own record of which).
typedef long (*wm_tls_transfer_fn)(void *context, void *buffer, long count, int writing);

/// 1 when libssl.so.3 and libcrypto.so.3 are loaded with every function we need; 0 otherwise.
int wm_tls_available(void);
/// Why TLS is unavailable (dlopen's message or the missing function), or NULL when it is available.
const char *wm_tls_unavailable_reason(void);
/// OpenSSL's version text ("OpenSSL 3.0.x ..."), or NULL when unavailable.
const char *wm_tls_library_version(void);

/// A context for servers (`server` 1) or clients (0): TLS 1.2 and 1.3 only, no compression, no
/// renegotiation, partial writes, buffers released while idle. NULL when unavailable or out of memory.
wm_tls_context *wm_tls_context_new(int server);
void wm_tls_context_free(wm_tls_context *context);
/// TLS 1.2 cipher list and TLS 1.3 suites (either may be NULL to keep OpenSSL's). 1 on success.
int wm_tls_context_set_ciphers(wm_tls_context *context, const char *tls12, const char *tls13);
/// Lowest and highest protocol version (0x0303 TLS 1.2, 0x0304 TLS 1.3). 1 on success.
int wm_tls_context_set_versions(wm_tls_context *context, int lowest, int highest);
/// Loads a PEM certificate chain (leaf first). 1 on success.
int wm_tls_context_use_chain_file(wm_tls_context *context, const char *path);
/// Loads a PEM private key, decrypting it with `passphrase` (may be NULL). 1 on success.
int wm_tls_context_use_key_file(wm_tls_context *context, const char *path, const char *passphrase);
/// 1 when the loaded key matches the loaded certificate.
int wm_tls_context_check_key(wm_tls_context *context);
/// ALPN: a server picks its first protocol the client also offers; a client offers them. `wire` is the
/// protocols in ALPN wire format (length-prefixed). 1 on success.
int wm_tls_context_set_alpn(wm_tls_context *context, const unsigned char *wire, unsigned length);
/// Peer verification: `mode` 0 none, 1 verify (a server: request a certificate), 3 require one.
/// Trust comes from `ca_file` / `ca_dir` when given, and from the system's store when `system_store`.
/// 1 on success.
int wm_tls_context_set_verify(wm_tls_context *context, int mode, const char *ca_file, const char *ca_dir,
                              int system_store);
/// Session cache / tickets off (`enabled` 0) or on. 1 on success.
int wm_tls_context_set_session_cache(wm_tls_context *context, int enabled);

/// Session ticket keys, each 80 bytes (a 16-byte name, a 32-byte HMAC secret, a 32-byte AES-256 key):
/// tickets are issued under `current`; a ticket under `previous` (may be NULL) still resumes and is
/// renewed under `current`; any other is refused (a full handshake). 1 on success.
int wm_tls_context_set_ticket_keys(wm_tls_context *context, const unsigned char *current, const unsigned char *previous);
/// Serves `other`'s certificate to clients asking for `name` (SNI; `*.example.com` matches one label).
/// `other` must outlive `context`. 1 on success.
int wm_tls_context_add_server_name(wm_tls_context *context, const char *name, wm_tls_context *other);
/// SHA-256 of `data` into `digest` (32 bytes). 1 on success.
int wm_tls_sha256(const void *data, size_t length, unsigned char *digest);

/// RSA encryption with OAEP padding (SHA-1, MGF1) under a PEM public key (`-----BEGIN PUBLIC KEY-----`),
/// as MySQL's caching_sha2_password and sha256_password full authentication use it. Writes the
/// ciphertext to `out` and returns its length, or -1 (the reason is in wm_tls_take_errors).
long wm_tls_rsa_oaep_encrypt(const char *pem, size_t pem_length, const unsigned char *data, size_t length,
                             unsigned char *out, size_t out_size);

/// Takes OpenSSL's queued errors as one line (the oldest reason first) into `out`; "" when none.
void wm_tls_take_errors(char *out, size_t size);

/// A connection using `context`, moving ciphertext through `transfer(transfer_context, ...)`. A client
/// sends `host` as SNI and, when verifying, checks the certificate against it (`host` may be NULL).
wm_tls *wm_tls_new(wm_tls_context *context, int server, const char *host, wm_tls_transfer_fn transfer,
                   void *transfer_context);
void wm_tls_free(wm_tls *tls);

/// SSL_read / SSL_write / SSL_shutdown: the result as OpenSSL gives it, and in `*error` SSL_get_error's
/// code when the result is not a success (2 want read, 3 want write, 6 closed cleanly, 5 syscall, 1 ssl).
int wm_tls_read(wm_tls *tls, void *buffer, int count, int *error);
int wm_tls_write(wm_tls *tls, const void *buffer, int count, int *error);
int wm_tls_shutdown(wm_tls *tls, int *error);
/// Drives the handshake alone (no application data). 1 done, otherwise *error as above.
int wm_tls_handshake(wm_tls *tls, int *error);
/// 1 once the handshake finished.
int wm_tls_handshake_done(wm_tls *tls);
/// Bytes decrypted and not yet read.
int wm_tls_pending(wm_tls *tls);
/// 1 when OpenSSL holds input not yet read: decrypted bytes, or records it read ahead (whole or not).
int wm_tls_has_pending(wm_tls *tls);
/// "TLSv1.3", and the cipher suite's name ("TLS_AES_128_GCM_SHA256"); "" before the handshake.
const char *wm_tls_protocol(wm_tls *tls);
const char *wm_tls_cipher(wm_tls *tls);
/// The ALPN protocol chosen (not NUL-terminated) and its length; length 0 when none.
void wm_tls_alpn(wm_tls *tls, const unsigned char **data, unsigned *length);
/// The peer certificate's verification result (0 ok) and its text.
long wm_tls_verify_result(wm_tls *tls);
const char *wm_tls_verify_text(long result);
/// The verified peer certificate's subject ("/CN=client") into `out`; 0 when there is none.
int wm_tls_peer_subject(wm_tls *tls, char *out, size_t size);
/// 1 when the session was resumed.
int wm_tls_session_reused(wm_tls *tls);

#endif
