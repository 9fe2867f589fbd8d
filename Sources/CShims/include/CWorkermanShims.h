// What Glibc does not expose to Swift, or exposes in a shape Swift cannot use well:
// epoll (its event struct is packed on x86_64), eventfd, the FD_* macros, and a
// signal handler that only writes the signal number to a pipe.
#ifndef C_WORKERMAN_SHIMS_H
#define C_WORKERMAN_SHIMS_H

#include <stdint.h>
#include <sys/select.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>

// MARK: - epoll

static const uint32_t WM_EPOLLIN = EPOLLIN;
static const uint32_t WM_EPOLLOUT = EPOLLOUT;
static const uint32_t WM_EPOLLERR = EPOLLERR;
static const uint32_t WM_EPOLLHUP = EPOLLHUP;
static const uint32_t WM_EPOLLRDHUP = EPOLLRDHUP;
static const int WM_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int WM_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int WM_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

/// Wraps `epoll_ctl(2)` so Swift never builds the packed `struct epoll_event` itself.
static inline int wm_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

/// The size of one kernel event record, so Swift can allocate a buffer of them.
static inline int wm_epoll_event_size(void) { return (int)sizeof(struct epoll_event); }

/// Wraps `epoll_wait(2)` over a caller-owned buffer of `count` raw events.
static inline int wm_epoll_wait(int epfd, void *buffer, int count, int timeout_ms) {
    return epoll_wait(epfd, (struct epoll_event *)buffer, count, timeout_ms);
}

static inline uint32_t wm_epoll_event_flags(const void *buffer, int index) {
    return ((const struct epoll_event *)buffer)[index].events;
}

static inline uint64_t wm_epoll_event_data(const void *buffer, int index) {
    return ((const struct epoll_event *)buffer)[index].data.u64;
}

// MARK: - eventfd

static const int WM_EFD_NONBLOCK = EFD_NONBLOCK;
static const int WM_EFD_CLOEXEC = EFD_CLOEXEC;
#endif

// MARK: - select

static const int WM_FD_SETSIZE = FD_SETSIZE;

static inline void wm_fd_zero(fd_set *set) { FD_ZERO(set); }
static inline void wm_fd_set(int fd, fd_set *set) { FD_SET(fd, set); }
static inline void wm_fd_clr(int fd, fd_set *set) { FD_CLR(fd, set); }
static inline int wm_fd_isset(int fd, const fd_set *set) { return FD_ISSET(fd, (fd_set *)set); }

// MARK: - signals

/// The highest signal number the self-pipe handler serves.
#define WM_SIGNAL_MAX 64

/// Routes `signo` to `write_fd` (a non-blocking pipe) and installs the writing handler.
/// Returns 0, or -1 with errno set. `write_fd` = -1 removes the route and restores the
/// default disposition.
int wm_signal_route(int signo, int write_fd);

/// The write end a signal is routed to, or -1.
int wm_signal_route_fd(int signo);

// MARK: - descriptors

/// `pipe2(fds, O_NONBLOCK | O_CLOEXEC)`: Glibc hides `pipe2` from Swift (it needs _GNU_SOURCE).
int wm_pipe_nonblocking(int fds[2]);

struct sockaddr;
/// `accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC)`: also hidden behind _GNU_SOURCE.
int wm_accept_nonblocking(int fd, struct sockaddr *address, unsigned int *length);

// MARK: - processes

/// Whether the caller runs on the process's main thread (its thread id equals the process id).
int wm_is_main_thread(void);

/// `prctl(PR_SET_PDEATHSIG, signal)`: the kernel sends `signal` when the parent dies.
int wm_set_parent_death_signal(int signal);

/// `prctl(PR_SET_NAME)`: the 15-byte thread name `top` and `ps -L` show.
void wm_set_thread_name(const char *name);

/// Sets the title `ps` shows by overwriting the process's argv area, first moving the environment
/// strings that follow it elsewhere so the whole area is usable (what nginx and PHP's
/// cli_set_process_title do). Returns the number of bytes available (0 if unsupported).
int wm_set_process_title(int argc, char **argv, const char *title);

#include "wm_tls.h"

// MARK: - zlib, loaded at run time

/// A zlib stream (deflate or inflate, raw: no zlib header) behind an opaque pointer. zlib is not linked:
/// `libz.so.1` is opened with dlopen on first use, so the package builds without zlib's headers and runs
/// (without compression) where the library is missing.
typedef struct wm_zstream wm_zstream;

/// Whether `libz.so.1` was loaded and has every function used here (1) or not (0). Loads it once.
int wm_zlib_available(void);

/// zlib's version string, or NULL when unavailable.
const char *wm_zlib_version(void);

/// A raw deflate stream (`deflateInit2(level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY)`),
/// or NULL when zlib is unavailable or refuses the parameters.
wm_zstream *wm_zstream_deflate_new(int level, int window_bits, int mem_level);

/// A raw inflate stream (`inflateInit2(-window_bits)`), or NULL.
wm_zstream *wm_zstream_inflate_new(int window_bits);

/// One `deflate` or `inflate` call (by the stream's kind) from `in` to `out` with `flush`; stores the bytes
/// used and produced. Returns zlib's code (0 Z_OK, 1 Z_STREAM_END, -5 Z_BUF_ERROR, other negatives errors).
int wm_zstream_run(wm_zstream *stream, const void *in, unsigned in_count, void *out, unsigned out_count, int flush,
                   unsigned *in_used, unsigned *out_produced);

/// `deflateReset` or `inflateReset`: forget the sliding window (no context takeover).
int wm_zstream_reset(wm_zstream *stream);

/// `deflateEnd` or `inflateEnd`, then frees the stream. NULL is ignored.
void wm_zstream_free(wm_zstream *stream);

// MARK: - errno and threads

/// `errno` as a function: Swift reads the thread-local through it at once after a call.
static inline int wm_errno(void);

#include <errno.h>
static inline int wm_errno(void) { return errno; }

#endif
