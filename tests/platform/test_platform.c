/* C-level tests of the platform layer (zmqx/_core/zx_platform.h), with no Python: the
   signaler, the I/O poller, loopback TCP and AF_UNIX socket pairs through the zx_* socket
   calls, a refused connect, the monotonic clock, threads and mutexes. Built natively for
   each Linux backend and cross-built with mingw-w64 for Windows (run under wine) by
   tests/test_platform_layer.py. Prints one line per check; exit status 0 when all pass.
   A check that the system cannot run (AF_UNIX on an old Windows) prints SKIP and why. */
#include "zx_platform.h"
#include <stddef.h>
#include <stdio.h>
#ifndef _WIN32
#include <sys/stat.h>
#endif

static int failures = 0;
#define CHECK(cond, what) do { \
    if (cond) printf("ok   %s\n", what); \
    else { printf("FAIL %s (line %d, errno %d)\n", what, __LINE__, zx_sock_errno()); failures++; } \
    fflush(stdout); } while (0)

static int readable(int fd, int timeout_ms) {
    struct pollfd p; p.fd = fd; p.events = POLLIN; p.revents = 0;
    return zx_poll_fds(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
}

/* ---- threads ---- */
struct wake_arg { zx_sigfd *sig; int delay_ms; zx_mutex_t *m; int *counter; };
static void sleep_ms(int ms) {
#ifdef _WIN32
    Sleep(ms);
#else
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
#endif
}
static void waker(void *p) {
    struct wake_arg *a = (struct wake_arg *)p;
    sleep_ms(a->delay_ms);
    zx_sig_send(a->sig);
}
static void counter_thread(void *p) {
    struct wake_arg *a = (struct wake_arg *)p;
    for (int i = 0; i < 100000; i++) {
        zx_mutex_lock(a->m);
        (*a->counter)++;
        zx_mutex_unlock(a->m);
    }
}

static void test_clock_threads(void) {
    int64_t t0 = zx_now_ms(), t1;
    struct pollfd none[1];
    zx_sigfd s;
    CHECK(zx_sig_open(&s) == 0, "signaler for the timer test");
    none[0].fd = s.r; none[0].events = POLLIN; none[0].revents = 0;
    zx_poll_fds(none, 1, 60);
    t1 = zx_now_ms();
    CHECK(t1 - t0 >= 50 && t1 - t0 < 1000, "a 60 ms wait takes 50 ms to 1 s on the monotonic clock");
    t0 = zx_now_ms();
    CHECK(zx_now_ms() >= t0, "the clock never goes back");
    zx_sig_close(&s);

    zx_mutex_t m; int counter = 0;
    zx_thread_t th[2];
    struct wake_arg a = {NULL, 0, &m, &counter};
    zx_mutex_init(&m);
    CHECK(zx_thread_start(&th[0], counter_thread, &a) == 0 &&
          zx_thread_start(&th[1], counter_thread, &a) == 0, "two threads start");
    zx_thread_join(th[0]); zx_thread_join(th[1]);
    CHECK(counter == 200000, "a mutex serialises 2 x 100000 increments");
    zx_mutex_destroy(&m);
}

/* ---- signaler ---- */
static void test_signaler(void) {
    zx_sigfd s;
    CHECK(zx_sig_open(&s) == 0, "signaler opens");
    CHECK(!readable(s.r, 0), "a new signaler is quiet");
    zx_sig_send(&s); zx_sig_send(&s); zx_sig_send(&s);
    CHECK(readable(s.r, 0), "signalled: readable");
    CHECK(readable(s.r, 0), "still readable until drained (level)");
    zx_sig_drain(&s);
    CHECK(!readable(s.r, 0), "one drain clears several sends");
    for (int i = 0; i < 100000; i++) zx_sig_send(&s);      /* fills a pipe: must not block */
    CHECK(readable(s.r, 0), "100000 sends without blocking");
    zx_sig_drain(&s);
    CHECK(!readable(s.r, 0), "drained after a flood");

    zx_thread_t t;
    struct wake_arg a = {&s, 30, NULL, NULL};
    int64_t t0 = zx_now_ms();
    CHECK(zx_thread_start(&t, waker, &a) == 0, "waker thread starts");
    CHECK(readable(s.r, 5000), "another thread's send wakes a blocked wait");
    CHECK(zx_now_ms() - t0 < 4000, "... promptly");
    zx_thread_join(t);
    zx_sig_drain(&s);
    zx_sig_close(&s);
    CHECK(s.r == -1 && s.w == -1, "closed signaler forgets its fds");
}

/* ---- poller ---- */
static void test_poller(void) {
    zx_poller p;
    zx_event ev[64];
    zx_sigfd s[100];
    int tags[100];
    int seen[100];
    CHECK(zx_poller_open(&p) == 0, "poller opens");
    for (int i = 0; i < 100; i++) {
        zx_sig_open(&s[i]);
        tags[i] = i;
        zx_poller_add(&p, s[i].r, ZX_EV_IN, &tags[i]);
    }
    CHECK(zx_poller_wait(&p, ev, 64, 0) == 0, "100 quiet fds: no events");
    zx_sig_send(&s[42]);
    int n = zx_poller_wait(&p, ev, 64, 1000);
    CHECK(n == 1 && ev[0].ptr == &tags[42] && (ev[0].events & ZX_EV_IN), "one event, with its pointer");
    CHECK(zx_poller_wait(&p, ev, 64, 0) == 1, "level-triggered: reported again until drained");
    zx_poller_mod(&p, s[42].r, 0, &tags[42]);
    CHECK(zx_poller_wait(&p, ev, 64, 0) == 0, "interest removed: quiet");
    zx_poller_mod(&p, s[42].r, ZX_EV_IN, &tags[42]);
    zx_sig_drain(&s[42]);
    CHECK(zx_poller_wait(&p, ev, 64, 0) == 0, "drained: quiet");
    /* more ready fds than a batch: all are reported within two batches */
    for (int i = 0; i < 100; i++) { zx_sig_send(&s[i]); seen[i] = 0; }
    for (int round = 0; round < 2; round++) {
        n = zx_poller_wait(&p, ev, 64, 1000);
        for (int k = 0; k < n; k++) {
            int i = *(int *)ev[k].ptr;
            seen[i] = 1;
            zx_sig_drain(&s[i]);
        }
    }
    int all = 1;
    for (int i = 0; i < 100; i++) all &= seen[i];
    CHECK(all, "100 ready fds, batches of 64: none starved");
    /* removal in the middle keeps the others working */
    for (int i = 0; i < 100; i += 2) zx_poller_del(&p, s[i].r);
    zx_sig_send(&s[0]); zx_sig_send(&s[99]);
    n = zx_poller_wait(&p, ev, 64, 1000);
    CHECK(n == 1 && ev[0].ptr == &tags[99], "deleted fds are not reported, the rest are");
    for (int i = 0; i < 100; i++) zx_sig_close(&s[i]);
    zx_poller_close(&p);
}

/* ---- sockets ---- */
static int wait_event(zx_poller *p, int fd, int ev, int timeout_ms) {
    zx_event out[4];
    static int tag;
    zx_poller_add(p, fd, ev, &tag);
    int64_t end = zx_now_ms() + timeout_ms;
    int got = 0;
    while (!got && zx_now_ms() < end) {
        int n = zx_poller_wait(p, out, 4, 100);
        for (int i = 0; i < n; i++) if (out[i].ptr == &tag) got = out[i].events;
    }
    zx_poller_del(p, fd);
    return got;
}

/* the listeners are the engine's own (zx_listen_stream: ipc:// binds on Windows use it) */
static int listener(int family, struct sockaddr *sa, socklen_t len) {
    (void)family;
    return zx_listen_stream(sa, len, 8);
}

/* a connected pair over family: non-blocking connect through the poller, then zx_accept */
static int connect_pair(zx_poller *p, int lfd, int family, struct sockaddr *sa, socklen_t len,
                        int *c, int *a, const char *name) {
    char what[128];
    *c = zx_socket_stream(family);
    snprintf(what, sizeof what, "%s: non-blocking socket", name);
    CHECK(*c >= 0, what);
    if (*c < 0) return -1;
    int rc = zx_connect(*c, sa, len);
    snprintf(what, sizeof what, "%s: connect completes or is pending", name);
    CHECK(rc == 0 || zx_connect_pending(zx_sock_errno()), what);
    int ev = wait_event(p, *c, ZX_EV_OUT, 3000);
    snprintf(what, sizeof what, "%s: writable once connected, no error", name);
    CHECK((ev & ZX_EV_OUT) && zx_sock_error(*c) == 0, what);
    ev = wait_event(p, lfd, ZX_EV_IN, 3000);
    struct sockaddr_storage ss; socklen_t sl = sizeof ss;
    *a = zx_accept(lfd, (struct sockaddr *)&ss, &sl);
    snprintf(what, sizeof what, "%s: listener readable, zx_accept gives a socket", name);
    CHECK((ev & ZX_EV_IN) && *a >= 0, what);
    return *a >= 0 ? 0 : -1;
}

static void exchange(zx_poller *p, int c, int a, const char *name) {
    char what[128];
    char buf[64];
    struct iovec iov[3];
    iov[0].iov_base = (void *)"hello "; iov[0].iov_len = 6;
    iov[1].iov_base = (void *)"vectored "; iov[1].iov_len = 9;
    iov[2].iov_base = (void *)"world"; iov[2].iov_len = 5;
    ssize_t n = zx_sendv(c, iov, 3);
    snprintf(what, sizeof what, "%s: zx_sendv writes 3 buffers", name);
    CHECK(n == 20, what);
    size_t got = 0;
    int64_t end = zx_now_ms() + 3000;
    while (got < 20 && zx_now_ms() < end) {
        if (!(wait_event(p, a, ZX_EV_IN, 1000) & ZX_EV_IN)) continue;
        n = zx_recv(a, buf + got, sizeof buf - got);
        if (n > 0) got += (size_t)n;
    }
    snprintf(what, sizeof what, "%s: the peer reads them in order", name);
    CHECK(got == 20 && memcmp(buf, "hello vectored world", 20) == 0, what);
    n = zx_recv(a, buf, sizeof buf);
    snprintf(what, sizeof what, "%s: nothing more: would block", name);
    CHECK(n < 0 && zx_would_block(zx_sock_errno()), what);
    n = zx_send(a, "back", 4);
    snprintf(what, sizeof what, "%s: zx_send the other way", name);
    CHECK(n == 4 && (wait_event(p, c, ZX_EV_IN, 3000) & ZX_EV_IN) && zx_recv(c, buf, 4) == 4 &&
          memcmp(buf, "back", 4) == 0, what);
    /* zx_recv2: one read filling the first buffer (the rest of a large body), then the
       second (what follows it); a first buffer larger than what came gets it all */
    {
        char b1[8], b2[16];
        memset(b1, 0, sizeof b1); memset(b2, 0, sizeof b2);
        n = zx_send(a, "bodytailnext", 12);
        got = 0;
        if (n == 12 && (wait_event(p, c, ZX_EV_IN, 3000) & ZX_EV_IN))
            got = (size_t)zx_recv2(c, b1, 8, b2, sizeof b2);
        snprintf(what, sizeof what, "%s: zx_recv2 fills the first buffer, then the second", name);
        CHECK(got == 12 && memcmp(b1, "bodytail", 8) == 0 && memcmp(b2, "next", 4) == 0, what);
        n = zx_send(a, "xyz", 3);
        got = 0;
        if (n == 3 && (wait_event(p, c, ZX_EV_IN, 3000) & ZX_EV_IN))
            got = (size_t)zx_recv2(c, b1, 8, b2, sizeof b2);
        snprintf(what, sizeof what, "%s: zx_recv2 of less than the first buffer", name);
        CHECK(got == 3 && memcmp(b1, "xyz", 3) == 0, what);
        n = zx_recv2(c, b1, 8, b2, sizeof b2);
        snprintf(what, sizeof what, "%s: zx_recv2 with nothing there: would block", name);
        CHECK(n < 0 && zx_would_block(zx_sock_errno()), what);
    }
    zx_close_socket(c);
    int ev = wait_event(p, a, ZX_EV_IN, 3000);
    n = zx_recv(a, buf, sizeof buf);
    snprintf(what, sizeof what, "%s: peer closed: readable, then end of stream", name);
    CHECK(ev && n == 0, what);
    zx_close_socket(a);
}

static void test_tcp(void) {
    zx_poller p;
    zx_poller_open(&p);
    struct sockaddr_in sin; socklen_t sl = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int lfd = listener(AF_INET, (struct sockaddr *)&sin, sizeof sin);
    CHECK(lfd >= 0, "tcp: loopback listener");
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    zx_set_nonblock(lfd);
    int c, a;
    if (connect_pair(&p, lfd, AF_INET, (struct sockaddr *)&sin, sizeof sin, &c, &a, "tcp") == 0)
        exchange(&p, c, a, "tcp");
    zx_close_socket(lfd);

    /* a refused connect must be reported (WSAPoll alone does not on older Windows) */
    c = zx_socket_stream(AF_INET);
    int rc = zx_connect(c, (struct sockaddr *)&sin, sizeof sin);   /* nobody listens now */
    int err = rc == 0 ? 0 : zx_sock_errno();
    if (rc != 0 && zx_connect_pending(err)) {
        int ev = wait_event(&p, c, ZX_EV_OUT, 5000);
        err = zx_sock_error(c);
        CHECK(ev != 0, "tcp refused: the poller reports the pending connect's end");
    }
    CHECK(err == ECONNREFUSED, "tcp refused: ECONNREFUSED");
    zx_close_socket(c);
#ifdef _WIN32
    /* the workaround on its own: select()'s exception set flags the refused connect even
       where WSAPoll would stay silent */
    c = zx_socket_stream(AF_INET);
    rc = zx_connect(c, (struct sockaddr *)&sin, sizeof sin);
    int flagged = 0;
    zx_poller_add(&p, c, ZX_EV_OUT, &flagged);
    for (int64_t end = zx_now_ms() + 5000; !flagged && zx_now_ms() < end; sleep_ms(10)) {
        p.fds[0].revents = 0;
        zx__win_connect_errors(&p);
        flagged = (p.fds[0].revents & POLLERR) != 0;
    }
    zx_poller_del(&p, c);
    CHECK(flagged, "tcp refused: the select() exception check flags it by itself");
    zx_close_socket(c);
#endif
    zx_poller_close(&p);
}

static void test_unix(void) {
    zx_poller p;
    struct sockaddr_un sun;
    char path[200];
    zx_poller_open(&p);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
#ifdef _WIN32
    char tmp[MAX_PATH];
    GetTempPathA(sizeof tmp, tmp);
    snprintf(path, sizeof path, "%szx-test-%lu.sock", tmp, (unsigned long)GetCurrentProcessId());
    DeleteFileA(path);
#else
    snprintf(path, sizeof path, "/tmp/zx-test-%ld.sock", (long)getpid());
    unlink(path);
#endif
    strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
    /* the length the engine passes (_ipc_listen): the path and its terminator, not the
       whole struct */
    socklen_t sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    int lfd = listener(AF_UNIX, (struct sockaddr *)&sun, sunlen);
    if (lfd < 0) {
#ifdef _WIN32
        printf("SKIP ipc: this Windows has no AF_UNIX sockets (error %d; Windows 10 1803+ has)\n",
               WSAGetLastError());
        zx_poller_close(&p);
        return;
#endif
    }
    CHECK(lfd >= 0, "ipc: AF_UNIX listener");
    /* the path is taken: a second bind fails with the errno the Python layer reports */
    int again = listener(AF_UNIX, (struct sockaddr *)&sun, sunlen);
    int again_err = again < 0 ? zx_sock_errno() : 0;
    CHECK(again < 0 && again_err == EADDRINUSE, "ipc: a second bind on the path is EADDRINUSE");
    if (again >= 0) zx_close_socket(again);
    zx_set_nonblock(lfd);
    int c, a;
    if (connect_pair(&p, lfd, AF_UNIX, (struct sockaddr *)&sun, sunlen, &c, &a, "ipc") == 0)
        exchange(&p, c, a, "ipc");
    zx_close_socket(lfd);
#ifdef _WIN32
    DeleteFileA(path);
#else
    unlink(path);
#endif
    zx_poller_close(&p);
}

#ifdef _WIN32
/* Ctrl-C: the console handler (called here as Windows would, on its own thread) raises
   SIGINT for the host's handler and wakes a blocked zx_poll_fds with -1/EINTR */
static volatile int got_sigint = 0;
static void on_sigint(int sig) { (void)sig; got_sigint = 1; signal(SIGINT, on_sigint); }
static void press(void *p) { sleep_ms(50); zx__console_ctrl(*(DWORD *)p); }
static void test_ctrl_c(void) {
    zx_sigfd s;
    zx_thread_t t;
    DWORD ev = CTRL_C_EVENT;
    struct pollfd pfd;
    signal(SIGINT, on_sigint);
    zx_sig_open(&s);
    pfd.fd = s.r; pfd.events = POLLIN; pfd.revents = 0;
    zx_thread_start(&t, press, &ev);
    int64_t t0 = zx_now_ms();
    int rc = zx_poll_fds(&pfd, 1, 5000);
    int err = errno;
    zx_thread_join(t);
    CHECK(rc == -1 && err == EINTR && zx_now_ms() - t0 < 4000, "Ctrl-C wakes a blocked wait with EINTR");
    CHECK(got_sigint, "Ctrl-C raised SIGINT for the host (Python's KeyboardInterrupt)");
    pfd.revents = 0;
    CHECK(zx_poll_fds(&pfd, 1, 0) == 0, "the interrupt is consumed: the next wait is quiet");
    got_sigint = 0;
    ev = CTRL_BREAK_EVENT;
    zx_thread_start(&t, press, &ev);
    rc = zx_poll_fds(&pfd, 1, 5000);
    err = errno;
    zx_thread_join(t);
    CHECK(rc == -1 && err == EINTR && !got_sigint, "Ctrl-Break wakes the wait, raises nothing");
    zx_sig_close(&s);
}
#endif

#ifdef _WIN32
/* Winsock's codes reach the Python layer as the errno values zmqx's Errno uses on Windows
   (MSVC's errno.h, as libzmq's): the ones a bind or a connection can report */
static void test_errno_map(void) {
    static const int map[][2] = {
        {WSAEADDRINUSE, EADDRINUSE}, {WSAECONNREFUSED, ECONNREFUSED},
        {WSAENAMETOOLONG, ENAMETOOLONG}, {WSAENETDOWN, ENETDOWN},
        {WSAEAFNOSUPPORT, EAFNOSUPPORT}, {WSAEPROTONOSUPPORT, EPROTONOSUPPORT},
        {WSAENOTSOCK, ENOTSOCK}, {WSAEACCES, EACCES}, {WSAEINVAL, EINVAL},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        WSASetLastError(map[i][0]);
        if (zx_sock_errno() != map[i][1]) {
            printf("  WSA error %d maps to %d, not %d\n", map[i][0], zx_sock_errno(), map[i][1]);
            ok = 0;
        }
    }
    WSASetLastError(0);
    CHECK(ok, "Winsock errors map to errno values");
}
#endif

int main(void) {
    CHECK(zx_platform_init() == 0, "platform init");
#ifdef _WIN32
    test_errno_map();
#endif
    printf("backend: poller %s, signaler %s\n", ZX_POLLER_NAME, ZX_SIGNALER_NAME);
    test_clock_threads();
    test_signaler();
    test_poller();
    test_tcp();
    test_unix();
#ifdef _WIN32
    test_ctrl_c();
#endif
    printf(failures ? "%d FAILED\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
