/* POSIX base of the platform layer (Linux, macOS, the BSDs): system headers, threads,
   mutexes, the monotonic clock and the socket calls the I/O thread makes. Linux-only
   shortcuts (accept4, SOCK_NONBLOCK|SOCK_CLOEXEC at creation) are used unless
   ZX_PORTABLE_POSIX is defined, so the generic path (what macOS runs) is testable here. */
#ifndef ZX_OS_POSIX_H
#define ZX_OS_POSIX_H
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE                  /* accept4 (Python.h defines it first in the modules) */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <ifaddrs.h>

#if defined(__linux__) && !defined(ZX_PORTABLE_POSIX)
#define ZX_LINUX_FAST 1
#endif
#ifndef SOCK_NONBLOCK            /* macOS: not at socket(); zx_socket_stream uses fcntl */
#define SOCK_NONBLOCK 0
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0
#endif
#ifdef MSG_NOSIGNAL
#define ZX_MSG_NOSIGNAL MSG_NOSIGNAL
#else                            /* macOS: SO_NOSIGPIPE on each socket instead */
#define ZX_MSG_NOSIGNAL 0
#define MSG_NOSIGNAL 0
#endif
#if !defined(TCP_KEEPIDLE) && defined(TCP_KEEPALIVE)
#define TCP_KEEPIDLE TCP_KEEPALIVE   /* macOS names the idle time TCP_KEEPALIVE */
#endif

typedef pthread_mutex_t zx_mutex_t;
static inline void zx_mutex_init(zx_mutex_t *m) { pthread_mutex_init(m, NULL); }
static inline void zx_mutex_destroy(zx_mutex_t *m) { pthread_mutex_destroy(m); }
static inline void zx_mutex_lock(zx_mutex_t *m) { pthread_mutex_lock(m); }
static inline void zx_mutex_unlock(zx_mutex_t *m) { pthread_mutex_unlock(m); }
static inline int zx_mutex_trylock(zx_mutex_t *m) { return pthread_mutex_trylock(m) == 0; }

typedef pthread_t zx_thread_t;
typedef void (*zx_thread_fn)(void *);
struct zx_thread_start { zx_thread_fn fn; void *arg; };
static void *zx__thread_main(void *p) {
    struct zx_thread_start s = *(struct zx_thread_start *)p;
    free(p);
    s.fn(s.arg);
    return NULL;
}
static inline int zx_thread_start(zx_thread_t *t, zx_thread_fn fn, void *arg) {
    struct zx_thread_start *s = (struct zx_thread_start *)malloc(sizeof *s);
    if (!s) return -1;
    s->fn = fn; s->arg = arg;
    /* block signals in I/O threads: Ctrl-C belongs to the application's main thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, zx__thread_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) { free(s); return -1; }
    return 0;
}
static inline void zx_thread_join(zx_thread_t t) { pthread_join(t, NULL); }
/* let a thread finish on its own (it frees what it owns) */
static inline void zx_thread_detach(zx_thread_t t) { pthread_detach(t); }

/* CLOCK_MONOTONIC: Linux, the BSDs, and macOS since 10.12 (wheels target 10.13+) */
static inline int64_t zx_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t zx_now_ms(void) { return zx_now_ns() / 1000000; }

/* give the CPU to another runnable thread (a spinning waiter lets the I/O thread run) */
static inline void zx_cpu_yield(void) { sched_yield(); }

/* nothing to set up: sockets need no library initialisation on POSIX */
static inline int zx_platform_init(void) { return 0; }

static inline int zx_set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
static inline int zx_errno(void) { return errno; }
static inline int zx_sock_errno(void) { return errno; }
static inline int zx_would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }
static inline int zx_connect_pending(int err) { return err == EINPROGRESS; }
static inline int zx_close_socket(int fd) { return close(fd); }
static inline int zx_sock_error(int fd) {
    int err = 0; socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}
/* a socket fit for the I/O thread: non-blocking, close-on-exec, no SIGPIPE */
static inline int zx__sock_setup(int fd) {
    if (fd < 0) return fd;
#ifndef ZX_LINUX_FAST
    if (zx_set_nonblock(fd) < 0) { int e = errno; close(fd); errno = e; return -1; }
#endif
#ifdef SO_NOSIGPIPE
    { int one = 1; setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one); }
#endif
    return fd;
}
static inline int zx_socket_stream(int family) {
#ifdef ZX_LINUX_FAST
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    return zx__sock_setup(socket(family, SOCK_STREAM, 0));
#endif
}
/* a listening socket bound to sa (ipc:// binds come here, so Windows needs no Python
   AF_UNIX); -1 with the error left for zx_sock_errno */
static inline int zx_listen_stream(const struct sockaddr *sa, socklen_t len, int backlog) {
    int fd = zx_socket_stream(sa->sa_family);
    if (fd < 0) return -1;
    if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
        int e = errno; close(fd); errno = e; return -1;
    }
    return fd;
}
static inline int zx_accept(int lfd, struct sockaddr *sa, socklen_t *len) {
#ifdef ZX_LINUX_FAST
    return accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    return zx__sock_setup(accept(lfd, sa, len));
#endif
}
static inline ssize_t zx_recv(int fd, void *buf, size_t n) { return recv(fd, buf, n, 0); }
/* one read into two buffers: the rest of a large frame's body, then the start of what
   follows it (the next header), so a stream of large frames costs one call per frame */
static inline ssize_t zx_recv2(int fd, void *a, size_t na, void *b, size_t nb) {
    struct iovec iov[2];
    iov[0].iov_base = a; iov[0].iov_len = na;
    iov[1].iov_base = b; iov[1].iov_len = nb;
    return readv(fd, iov, 2);
}
static inline ssize_t zx_send(int fd, const void *buf, size_t n) {
    return send(fd, buf, n, ZX_MSG_NOSIGNAL);
}
static inline ssize_t zx_sendv(int fd, struct iovec *iov, int n) {
    struct msghdr mh; memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov; mh.msg_iovlen = n;
    return sendmsg(fd, &mh, ZX_MSG_NOSIGNAL);
}

static inline int zx_connect(int fd, const struct sockaddr *sa, socklen_t len) {
    return connect(fd, sa, len);
}
static inline int zx_setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
    return setsockopt(fd, level, name, val, len);
}

/* wait for readiness of up to n fds; returns poll()'s result, -1/EINTR on a signal */
static inline int zx_poll_fds(struct pollfd *fds, int n, int timeout_ms) {
    return poll(fds, (nfds_t)n, timeout_ms);
}
/* the first address of one family (AF_INET or AF_INET6) on a network interface named like
   "eth0", for tcp://eth0:port; -1 when there is no such interface or it has no such address */
static inline int zx_if_addr(const char *name, int family, struct sockaddr_storage *out) {
    struct ifaddrs *all, *i;
    int rc = -1;
    if (getifaddrs(&all) < 0) return -1;
    for (i = all; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family) continue;
        if (strcmp(i->ifa_name, name) != 0) continue;
        memset(out, 0, sizeof *out);
        memcpy(out, i->ifa_addr, family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                    : sizeof(struct sockaddr_in));
        rc = 0;
        break;
    }
    freeifaddrs(all);
    return rc;
}

#endif
