// zlib without zlib.h: the package must build where zlib's headers are not installed, so the few
// functions permessage-deflate needs are looked up in libz.so.1 at run time, and z_stream is declared
// here as zlib 1.x lays it out (an ABI zlib has kept since 1.0; its *Init2_ functions check the size
// we pass). Where the library is missing, wm_zlib_available() says 0 and WebSocket compression is
// simply not negotiated.
#include "CWorkermanShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// zlib.h's z_stream, field for field (uInt = unsigned int, uLong = unsigned long, pointers as void *).
typedef struct {
    const unsigned char *next_in;
    unsigned int avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned int avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc;  // NULL: zlib's default allocator
    void *zfree;
    void *opaque;
    int data_type;
    unsigned long adler;
    unsigned long reserved;
} wm_z_stream;

// The version we declare the layout for: zlib's init functions only compare its first character
// (the major version) and the struct size, as the deflateInit2/inflateInit2 macros pass them.
static const char declared_version[] = "1.2.11";
enum { Z_DEFLATED_METHOD = 8, Z_DEFAULT_STRATEGY_VALUE = 0 };

typedef int (*deflate_init2_fn)(wm_z_stream *, int, int, int, int, int, const char *, int);
typedef int (*inflate_init2_fn)(wm_z_stream *, int, const char *, int);
typedef int (*run_fn)(wm_z_stream *, int);
typedef int (*end_fn)(wm_z_stream *);
typedef const char *(*version_fn)(void);

static struct {
    deflate_init2_fn deflate_init2;
    run_fn deflate;
    end_fn deflate_reset;
    end_fn deflate_end;
    inflate_init2_fn inflate_init2;
    run_fn inflate;
    end_fn inflate_reset;
    end_fn inflate_end;
    version_fn version;
    int available;
} z;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_zlib(void) {
    // RTLD_LOCAL: zlib's symbols stay out of the global namespace (another copy linked by someone else
    // keeps its own).
    void *library = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return;
    z.deflate_init2 = (deflate_init2_fn)dlsym(library, "deflateInit2_");
    z.deflate = (run_fn)dlsym(library, "deflate");
    z.deflate_reset = (end_fn)dlsym(library, "deflateReset");
    z.deflate_end = (end_fn)dlsym(library, "deflateEnd");
    z.inflate_init2 = (inflate_init2_fn)dlsym(library, "inflateInit2_");
    z.inflate = (run_fn)dlsym(library, "inflate");
    z.inflate_reset = (end_fn)dlsym(library, "inflateReset");
    z.inflate_end = (end_fn)dlsym(library, "inflateEnd");
    z.version = (version_fn)dlsym(library, "zlibVersion");
    int complete = z.deflate_init2 && z.deflate && z.deflate_reset && z.deflate_end && z.inflate_init2 &&
                   z.inflate && z.inflate_reset && z.inflate_end && z.version;
    // Only the 1.x layout is declared above.
    const char *version = complete ? z.version() : NULL;
    if (version == NULL || version[0] != '1') {
        dlclose(library);
        memset(&z, 0, sizeof(z));
        return;
    }
    z.available = 1;  // the handle stays open for the life of the process
}

int wm_zlib_available(void) {
    pthread_once(&load_once, load_zlib);
    return z.available;
}

const char *wm_zlib_version(void) { return wm_zlib_available() ? z.version() : NULL; }

struct wm_zstream {
    wm_z_stream stream;
    int inflating;
};

wm_zstream *wm_zstream_deflate_new(int level, int window_bits, int mem_level) {
    if (!wm_zlib_available()) return NULL;
    wm_zstream *handle = calloc(1, sizeof(wm_zstream));
    if (handle == NULL) return NULL;
    // A negative window size asks for raw deflate: no zlib header or trailer (RFC 7692 §7.2.1).
    if (z.deflate_init2(&handle->stream, level, Z_DEFLATED_METHOD, -window_bits, mem_level, Z_DEFAULT_STRATEGY_VALUE,
                        declared_version, (int)sizeof(wm_z_stream)) != 0) {
        free(handle);
        return NULL;
    }
    return handle;
}

wm_zstream *wm_zstream_inflate_new(int window_bits) {
    if (!wm_zlib_available()) return NULL;
    wm_zstream *handle = calloc(1, sizeof(wm_zstream));
    if (handle == NULL) return NULL;
    handle->inflating = 1;
    if (z.inflate_init2(&handle->stream, -window_bits, declared_version, (int)sizeof(wm_z_stream)) != 0) {
        free(handle);
        return NULL;
    }
    return handle;
}

int wm_zstream_run(wm_zstream *handle, const void *in, unsigned in_count, void *out, unsigned out_count, int flush,
                   unsigned *in_used, unsigned *out_produced) {
    wm_z_stream *stream = &handle->stream;
    stream->next_in = in;
    stream->avail_in = in_count;
    stream->next_out = out;
    stream->avail_out = out_count;
    int result = handle->inflating ? z.inflate(stream, flush) : z.deflate(stream, flush);
    *in_used = in_count - stream->avail_in;
    *out_produced = out_count - stream->avail_out;
    stream->next_in = NULL;  // the caller's buffers are not ours to keep pointing at
    stream->next_out = NULL;
    return result;
}

int wm_zstream_reset(wm_zstream *handle) {
    return handle->inflating ? z.inflate_reset(&handle->stream) : z.deflate_reset(&handle->stream);
}

void wm_zstream_free(wm_zstream *handle) {
    if (handle == NULL) return;
    if (handle->inflating) {
        z.inflate_end(&handle->stream);
    } else {
        z.deflate_end(&handle->stream);
    }
    free(handle);
}
