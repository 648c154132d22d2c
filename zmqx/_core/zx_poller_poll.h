/* The I/O thread's poller on every other system: poll(2) on POSIX (macOS, the BSDs, and
   Linux built with ZMQX_POLLER=poll), WSAPoll on Windows. Same contract as the epoll one:
   level-triggered, one registration per fd carrying an opaque pointer.
   The registrations are a dense pollfd array (what poll() takes) plus a parallel pointer
   array; an fd -> slot index makes add/mod/del O(1) on POSIX, where fds are small integers;
   Windows SOCKETs are not, so there a linear search finds the slot (an I/O thread holds few).
   When more fds are ready than the caller's batch takes, the next wait resumes where this
   one stopped, so the ones at the end of the array are never starved.
   WSAPoll does not report a failed non-blocking connect (refused, unreachable) on Windows
   before 10 2004: a socket waiting for OUT also gets a zero-timeout select() on its
   exception set, which does report it, and the wait is capped at 100 ms while any is. */
#ifndef ZX_POLLER_POLL_H
#define ZX_POLLER_POLL_H
#define ZX_POLLER_NAME "poll"

typedef struct {
    struct pollfd *fds;
    void **ptrs;
    int n, cap;
    int *slot;          /* POSIX: slot[fd] = index + 1, 0 when unregistered */
    int slot_cap;
    int start;          /* where the next wait begins reporting */
    int n_out;          /* registrations waiting for OUT (Windows connect check) */
} zx_poller;

static inline short zx__pev(int ev) {
    return (short)((ev & ZX_EV_IN ? POLLIN : 0) | (ev & ZX_EV_OUT ? POLLOUT : 0));
}
static inline int zx_poller_open(zx_poller *p) {
    memset(p, 0, sizeof *p);
    return 0;
}
static inline void zx_poller_close(zx_poller *p) {
    free(p->fds); free(p->ptrs); free(p->slot);
    memset(p, 0, sizeof *p);
}
static inline int zx__poll_find(zx_poller *p, int fd) {
#ifdef _WIN32
    for (int i = 0; i < p->n; i++) if ((int)p->fds[i].fd == fd) return i;
    return -1;
#else
    if (fd < 0 || fd >= p->slot_cap) return -1;
    return p->slot[fd] - 1;
#endif
}
static inline int zx_poller_add(zx_poller *p, int fd, int ev, void *ptr) {
    if (fd < 0 || zx__poll_find(p, fd) >= 0) { errno = EEXIST; return -1; }
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        struct pollfd *fds = (struct pollfd *)realloc(p->fds, sizeof *fds * cap);
        if (!fds) return -1;
        p->fds = fds;
        void **ptrs = (void **)realloc(p->ptrs, sizeof *ptrs * cap);
        if (!ptrs) return -1;
        p->ptrs = ptrs;
        p->cap = cap;
    }
#ifndef _WIN32
    if (fd >= p->slot_cap) {
        int cap = p->slot_cap ? p->slot_cap : 64;
        while (cap <= fd) cap *= 2;
        int *slot = (int *)realloc(p->slot, sizeof *slot * cap);
        if (!slot) return -1;
        memset(slot + p->slot_cap, 0, sizeof *slot * (cap - p->slot_cap));
        p->slot = slot;
        p->slot_cap = cap;
    }
    p->slot[fd] = p->n + 1;
#endif
    p->fds[p->n].fd = fd;
    p->fds[p->n].events = zx__pev(ev);
    p->fds[p->n].revents = 0;
    p->ptrs[p->n] = ptr;
    if (ev & ZX_EV_OUT) p->n_out++;
    p->n++;
    return 0;
}
static inline int zx_poller_mod(zx_poller *p, int fd, int ev, void *ptr) {
    int i = zx__poll_find(p, fd);
    if (i < 0) { errno = ENOENT; return -1; }
    if (p->fds[i].events & POLLOUT) p->n_out--;
    if (ev & ZX_EV_OUT) p->n_out++;
    p->fds[i].events = zx__pev(ev);
    p->ptrs[i] = ptr;
    return 0;
}
static inline int zx_poller_del(zx_poller *p, int fd) {
    int i = zx__poll_find(p, fd);
    if (i < 0) { errno = ENOENT; return -1; }
    if (p->fds[i].events & POLLOUT) p->n_out--;
    p->n--;
    if (i != p->n) {          /* the last registration fills the hole */
        p->fds[i] = p->fds[p->n];
        p->ptrs[i] = p->ptrs[p->n];
#ifndef _WIN32
        p->slot[p->fds[i].fd] = i + 1;
#endif
    }
#ifndef _WIN32
    p->slot[fd] = 0;
#endif
    return 0;
}

#ifdef _WIN32
/* failed connects that WSAPoll keeps quiet about: ZX_EV_ERR for sockets in select()'s
   exception set among those waiting for OUT */
static inline void zx__win_connect_errors(zx_poller *p) {
    for (int base = 0; base < p->n; base += FD_SETSIZE) {
        fd_set ex; FD_ZERO(&ex);
        int any = 0;
        for (int i = base; i < p->n && i < base + FD_SETSIZE; i++)
            if (p->fds[i].events & POLLOUT) { FD_SET(p->fds[i].fd, &ex); any = 1; }
        if (!any) continue;
        struct timeval tv = {0, 0};
        if (select(0, NULL, NULL, &ex, &tv) <= 0) continue;
        for (int i = base; i < p->n && i < base + FD_SETSIZE; i++)
            if ((p->fds[i].events & POLLOUT) && FD_ISSET(p->fds[i].fd, &ex))
                p->fds[i].revents |= POLLERR;
    }
}
#endif

static inline int zx_poller_wait(zx_poller *p, zx_event *out, int max, int timeout_ms) {
    int rc, k = 0, n = p->n;
#ifdef _WIN32
    if (p->n_out > 0 && (timeout_ms < 0 || timeout_ms > 100)) timeout_ms = 100;
    if (n == 0) { Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms); return 0; }
    rc = WSAPoll(p->fds, (ULONG)n, timeout_ms);
    if (rc < 0) return -1;
    if (p->n_out > 0) { zx__win_connect_errors(p); rc = 1; }
#else
    rc = poll(p->fds, (nfds_t)n, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -1;
#endif
    if (rc == 0) return 0;
    if (p->start >= n) p->start = 0;
    int j = 0;
    for (; j < n && k < max; j++) {
        int i = (p->start + j) % n;
        short r = p->fds[i].revents;
        if (!r) continue;
        p->fds[i].revents = 0;
        out[k].ptr = p->ptrs[i];
        out[k].events = (r & POLLIN ? ZX_EV_IN : 0) | (r & POLLOUT ? ZX_EV_OUT : 0) |
                        (r & (POLLERR | POLLHUP | POLLNVAL) ? ZX_EV_ERR : 0);
        k++;
    }
    /* a full batch: the next wait starts where this one stopped */
    if (k == max) p->start = (p->start + j) % n;
    return k;
}
#endif
