/* The I/O thread's poller on Linux: epoll, level-triggered. One registration per fd with an
   opaque pointer that comes back with each event. The default backend on Linux. */
#ifndef ZX_POLLER_EPOLL_H
#define ZX_POLLER_EPOLL_H
#include <sys/epoll.h>
#define ZX_POLLER_NAME "epoll"

typedef struct { int epfd; struct epoll_event evs[256]; } zx_poller;
static inline int zx_poller_open(zx_poller *p) {
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    return p->epfd < 0 ? -1 : 0;
}
static inline void zx_poller_close(zx_poller *p) { if (p->epfd >= 0) close(p->epfd); p->epfd = -1; }
static inline uint32_t zx__ep(int ev) {
    return (ev & ZX_EV_IN ? EPOLLIN : 0) | (ev & ZX_EV_OUT ? EPOLLOUT : 0);
}
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
#endif
