// The self-pipe signal handler. The handler does one async-signal-safe thing: it writes the
// signal number as one byte to the pipe its signal is routed to. The event loop that owns the
// pipe's read end does the real work on its own thread.
#include "CWorkermanShims.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static _Atomic int routes[WM_SIGNAL_MAX + 1] = {0};  // write fd + 1; 0 = no route

static void write_signal_number(int signo) {
    int saved = errno;  // a handler must not change errno under the interrupted code
    if (signo > 0 && signo <= WM_SIGNAL_MAX) {
        int fd = atomic_load_explicit(&routes[signo], memory_order_acquire) - 1;
        if (fd >= 0) {
            unsigned char byte = (unsigned char)signo;
            // A full pipe drops the byte: the loop already has this signal pending.
            ssize_t ignored = write(fd, &byte, 1);
            (void)ignored;
        }
    }
    errno = saved;
}

int wm_signal_route(int signo, int write_fd) {
    if (signo <= 0 || signo > WM_SIGNAL_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    sigemptyset(&action.sa_mask);
    if (write_fd >= 0) {
        atomic_store_explicit(&routes[signo], write_fd + 1, memory_order_release);
        action.sa_handler = write_signal_number;
        action.sa_flags = SA_RESTART;
    } else {
        action.sa_handler = SIG_DFL;
    }
    int result = sigaction(signo, &action, NULL);
    if (write_fd < 0) {
        atomic_store_explicit(&routes[signo], 0, memory_order_release);
    }
    return result;
}

int wm_signal_route_fd(int signo) {
    if (signo <= 0 || signo > WM_SIGNAL_MAX) return -1;
    return atomic_load_explicit(&routes[signo], memory_order_acquire) - 1;
}
