/* Signalers: a file descriptor that polls readable while signalled, woken from any thread,
   cleared by its owner. What every wait in zmqx sleeps on (the I/O thread's mailbox, a
   socket's FD, blocking send/recv). Three implementations behind the same four calls:
     eventfd   Linux (one fd, one counter; the default there)
     pipe      every POSIX system (macOS), and Linux with ZX_FORCE_POLL
     socket    Windows: a connected loopback TCP pair, since WSAPoll only polls sockets */
#ifndef ZX_SIGNALER_H
#define ZX_SIGNALER_H

typedef struct { int r; int w; } zx_sigfd;

#if defined(_WIN32)
#define ZX_SIGNALER_NAME "socketpair"
static inline int zx_sig_open(zx_sigfd *s) {
    SOCKET fds[2];
    s->r = s->w = -1;
    if (zx_platform_init() < 0 || zx_socketpair(fds) < 0) return -1;
    s->r = (int)fds[0]; s->w = (int)fds[1];
    return 0;
}
static inline void zx_sig_close(zx_sigfd *s) {
    if (s->r >= 0) closesocket((SOCKET)s->r);
    if (s->w >= 0) closesocket((SOCKET)s->w);
    s->r = s->w = -1;
}
static inline void zx_sig_send(zx_sigfd *s) {
    char c = 0;
    send((SOCKET)s->w, &c, 1, 0);   /* WSAEWOULDBLOCK: already signalled many times over */
}
static inline void zx_sig_drain(zx_sigfd *s) {
    char buf[64];
    while (recv((SOCKET)s->r, buf, sizeof buf, 0) > 0) {}
}
#elif defined(__linux__) && !defined(ZX_FORCE_POLL)
#include <sys/eventfd.h>
#define ZX_SIGNALER_NAME "eventfd"
static inline int zx_sig_open(zx_sigfd *s) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->r = s->w = -1;
    if (fd < 0) return -1;
    s->r = s->w = fd;
    return 0;
}
static inline void zx_sig_close(zx_sigfd *s) {
    if (s->r >= 0) close(s->r);
    s->r = s->w = -1;
}
static inline void zx_sig_send(zx_sigfd *s) {
    uint64_t one = 1;
    ssize_t rc;
    do { rc = write(s->w, &one, 8); } while (rc < 0 && errno == EINTR);
}
static inline void zx_sig_drain(zx_sigfd *s) {
    /* one read takes the whole counter */
    uint64_t v;
    ssize_t rc;
    do { rc = read(s->r, &v, 8); } while (rc < 0 && errno == EINTR);
}
#else
#define ZX_SIGNALER_NAME "pipe"
static inline int zx_sig_open(zx_sigfd *s) {
    int fds[2];
    s->r = s->w = -1;
    if (pipe(fds) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        if (zx_set_nonblock(fds[i]) < 0) { close(fds[0]); close(fds[1]); return -1; }
    }
    s->r = fds[0]; s->w = fds[1];
    return 0;
}
static inline void zx_sig_close(zx_sigfd *s) {
    if (s->r >= 0) close(s->r);
    if (s->w >= 0) close(s->w);
    s->r = s->w = -1;
}
static inline void zx_sig_send(zx_sigfd *s) {
    /* EAGAIN (a full pipe) is fine: the reader will wake anyway */
    char c = 0;
    ssize_t rc;
    do { rc = write(s->w, &c, 1); } while (rc < 0 && errno == EINTR);
}
static inline void zx_sig_drain(zx_sigfd *s) {
    char buf[256];
    ssize_t rc;
    do { rc = read(s->r, buf, sizeof buf); } while (rc > 0 || (rc < 0 && errno == EINTR));
}
#endif
#endif
