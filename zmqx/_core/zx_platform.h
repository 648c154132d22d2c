/* OS primitives behind one small interface: threads, mutexes, wake-up fds, the poll backend,
   the monotonic clock. Linux uses eventfd + epoll; other POSIX systems fall back to a pipe
   and poll(2) so that a kqueue/WSAPoll backend can slot in behind the same calls. */
#ifndef ZX_PLATFORM_H
#define ZX_PLATFORM_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#ifdef __linux__
#include <sys/eventfd.h>
#include <sys/epoll.h>
#define ZX_HAVE_EPOLL 1
#endif

typedef pthread_mutex_t zx_mutex_t;
static inline void zx_mutex_init(zx_mutex_t *m) { pthread_mutex_init(m, NULL); }
static inline void zx_mutex_destroy(zx_mutex_t *m) { pthread_mutex_destroy(m); }
static inline void zx_mutex_lock(zx_mutex_t *m) { pthread_mutex_lock(m); }
static inline void zx_mutex_unlock(zx_mutex_t *m) { pthread_mutex_unlock(m); }

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

static inline int64_t zx_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- signaler: a readable fd while signalled ---- */
typedef struct { int r; int w; } zx_sigfd;
static inline int zx_sig_open(zx_sigfd *s) {
#ifdef __linux__
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    s->r = s->w = fd;
    return 0;
#else
    int fds[2];
    if (pipe(fds) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    s->r = fds[0]; s->w = fds[1];
    return 0;
#endif
}
static inline void zx_sig_close(zx_sigfd *s) {
    if (s->r >= 0) close(s->r);
    if (s->w >= 0 && s->w != s->r) close(s->w);
    s->r = s->w = -1;
}
static inline void zx_sig_send(zx_sigfd *s) {
#ifdef __linux__
    uint64_t one = 1;
    ssize_t rc;
    do { rc = write(s->w, &one, 8); } while (rc < 0 && errno == EINTR);
#else
    char c = 0;
    ssize_t rc;
    do { rc = write(s->w, &c, 1); } while (rc < 0 && errno == EINTR);
#endif
}
static inline void zx_sig_drain(zx_sigfd *s) {
#ifdef __linux__
    /* one read takes the whole eventfd counter */
    uint64_t v;
    ssize_t rc;
    do { rc = read(s->r, &v, 8); } while (rc < 0 && errno == EINTR);
#else
    char buf[64];
    ssize_t rc;
    do { rc = read(s->r, buf, sizeof buf); } while (rc > 0 || (rc < 0 && errno == EINTR));
#endif
}
/* wait for readability of up to n fds; returns poll()'s result, -1/EINTR on signal */
static inline int zx_poll_fds(struct pollfd *fds, int n, int timeout_ms) {
    return poll(fds, (nfds_t)n, timeout_ms);
}

/* ---- poll backend for the I/O thread ---- */
#define ZX_EV_IN 1
#define ZX_EV_OUT 2
#define ZX_EV_ERR 4
typedef struct { void *ptr; int events; } zx_event;
#ifdef ZX_HAVE_EPOLL
typedef struct { int epfd; struct epoll_event evs[256]; } zx_poller;
static inline int zx_poller_open(zx_poller *p) { p->epfd = epoll_create1(EPOLL_CLOEXEC); return p->epfd < 0 ? -1 : 0; }
static inline void zx_poller_close(zx_poller *p) { if (p->epfd >= 0) close(p->epfd); p->epfd = -1; }
static inline uint32_t zx__ep(int ev) { return (ev & ZX_EV_IN ? EPOLLIN : 0) | (ev & ZX_EV_OUT ? EPOLLOUT : 0); }
static inline int zx_poller_add(zx_poller *p, int fd, int ev, void *ptr) {
    struct epoll_event e; memset(&e, 0, sizeof e); e.events = zx__ep(ev); e.data.ptr = ptr;
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &e);
}
static inline int zx_poller_mod(zx_poller *p, int fd, int ev, void *ptr) {
    struct epoll_event e; memset(&e, 0, sizeof e); e.events = zx__ep(ev); e.data.ptr = ptr;
    return epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &e);
}
static inline int zx_poller_del(zx_poller *p, int fd) {
    struct epoll_event e; memset(&e, 0, sizeof e);
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &e);
}
static inline int zx_poller_wait(zx_poller *p, zx_event *out, int max, int timeout_ms) {
    if (max > 256) max = 256;
    int n = epoll_wait(p->epfd, p->evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = p->evs[i].events;
        out[i].ptr = p->evs[i].data.ptr;
        out[i].events = (e & EPOLLIN ? ZX_EV_IN : 0) | (e & EPOLLOUT ? ZX_EV_OUT : 0) |
                        (e & (EPOLLERR | EPOLLHUP) ? ZX_EV_ERR : 0);
    }
    return n;
}
#else
#error "zmqx: only the epoll backend exists so far (kqueue/WSAPoll go behind zx_poller_*)"
#endif

/* ---- sockets ---- */
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
static inline int zx_socket_stream(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}
static inline int zx_accept(int lfd, struct sockaddr *sa, socklen_t *len) {
    return accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
static inline ssize_t zx_recv(int fd, void *buf, size_t n) { return recv(fd, buf, n, 0); }
static inline ssize_t zx_send(int fd, const void *buf, size_t n) { return send(fd, buf, n, MSG_NOSIGNAL); }
static inline ssize_t zx_sendv(int fd, struct iovec *iov, int n) {
    struct msghdr mh; memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov; mh.msg_iovlen = n;
    return sendmsg(fd, &mh, MSG_NOSIGNAL);
}
static inline int zx_sock_error(int fd) {
    int err = 0; socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}
#endif
