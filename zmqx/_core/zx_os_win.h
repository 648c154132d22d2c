/* Windows base of the platform layer: Winsock 2 (initialised once, on first use), threads,
   SRW locks, the monotonic clock (QueryPerformanceCounter), the socket calls the I/O thread
   makes, AF_UNIX for ipc:// (Windows 10 1803+), and Ctrl-C for blocking calls.
   SOCKET handles are kept in the same int fields as POSIX fds: Windows allocates them as
   small kernel handle values, well inside int range, and every call casts them back.
   Ctrl-C: a console control handler raises SIGINT for Python (so KeyboardInterrupt is
   pending) and then wakes every zx_poll_fds() through one interrupt socket pair, which the
   waits poll beside their own sockets; they return -1/EINTR and the caller checks signals. */
#ifndef ZX_OS_WIN_H
#define ZX_OS_WIN_H
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00          /* WSAPoll, inet_pton, AF_UNIX need Vista / 10 */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>
#include <windows.h>
#include <process.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#if defined(__has_include)
#if __has_include(<afunix.h>)
#include <afunix.h>
#define ZX_HAVE_AFUNIX 1
#endif
#endif
#ifndef ZX_HAVE_AFUNIX
#define UNIX_PATH_MAX 108
struct sockaddr_un { ADDRESS_FAMILY sun_family; char sun_path[UNIX_PATH_MAX]; };
#endif

#ifdef _MSC_VER
#include <BaseTsd.h>
typedef SSIZE_T ssize_t;
#endif
struct iovec { void *iov_base; size_t iov_len; };
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK 0
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0
#endif
#ifndef SHUT_RDWR
#define SHUT_RDWR SD_BOTH
#endif
#ifndef TCP_KEEPIDLE
#define TCP_KEEPIDLE 3               /* TCP_KEEPALIVE, Windows 10 1709+ */
#endif
#ifndef TCP_KEEPCNT
#define TCP_KEEPCNT 16
#endif
#ifndef TCP_KEEPINTVL
#define TCP_KEEPINTVL 17
#endif

/* ---- locks and threads ---- */
typedef SRWLOCK zx_mutex_t;
static inline void zx_mutex_init(zx_mutex_t *m) { InitializeSRWLock(m); }
static inline void zx_mutex_destroy(zx_mutex_t *m) { (void)m; }
static inline void zx_mutex_lock(zx_mutex_t *m) { AcquireSRWLockExclusive(m); }
static inline void zx_mutex_unlock(zx_mutex_t *m) { ReleaseSRWLockExclusive(m); }
static inline int zx_mutex_trylock(zx_mutex_t *m) { return TryAcquireSRWLockExclusive(m) != 0; }

typedef HANDLE zx_thread_t;
typedef void (*zx_thread_fn)(void *);
struct zx_thread_start { zx_thread_fn fn; void *arg; };
static unsigned __stdcall zx__thread_main(void *p) {
    struct zx_thread_start s = *(struct zx_thread_start *)p;
    free(p);
    s.fn(s.arg);
    return 0;
}
static inline int zx_thread_start(zx_thread_t *t, zx_thread_fn fn, void *arg) {
    struct zx_thread_start *s = (struct zx_thread_start *)malloc(sizeof *s);
    if (!s) return -1;
    s->fn = fn; s->arg = arg;
    /* console control events run on their own thread: nothing to mask here */
    uintptr_t h = _beginthreadex(NULL, 0, zx__thread_main, s, 0, NULL);
    if (!h) { free(s); return -1; }
    *t = (HANDLE)h;
    return 0;
}
static inline void zx_thread_join(zx_thread_t t) { WaitForSingleObject(t, INFINITE); CloseHandle(t); }
static inline void zx_thread_detach(zx_thread_t t) { CloseHandle(t); }

static inline int64_t zx_now_ns(void) {
    static LARGE_INTEGER freq;        /* racy first fill is harmless: same value */
    LARGE_INTEGER now;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (int64_t)(now.QuadPart / freq.QuadPart * 1000000000 +
                     now.QuadPart % freq.QuadPart * 1000000000 / freq.QuadPart);
}

static inline void zx_cpu_yield(void) { SwitchToThread(); }

static inline int64_t zx_now_ms(void) { return zx_now_ns() / 1000000; }

/* ---- sockets ---- */
static inline int zx_sock_errno(void) {
    /* Winsock's codes, mapped to errno where the engine or an error message cares */
    int e = WSAGetLastError();
    switch (e) {
    case WSAEWOULDBLOCK: return EWOULDBLOCK;
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEINTR: return EINTR;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAECONNRESET: return ECONNRESET;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAEHOSTUNREACH: return EHOSTUNREACH;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAEACCES: return EACCES;
    case WSAEINVAL: return EINVAL;
    case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
    case WSAENOBUFS: return ENOBUFS;
    case WSAEMFILE: return EMFILE;
    case WSAENOTCONN: return ENOTCONN;
    /* what an AF_UNIX bind can add: a sun_path Windows refuses (WSAENAMETOOLONG; a path
       that is not UTF-8 reads as WSAENETDOWN), no AF_UNIX at all (before Windows 10 1803) */
    case WSAENAMETOOLONG: return ENAMETOOLONG;
    case WSAENETDOWN: return ENETDOWN;
    case WSAEPROTONOSUPPORT: return EPROTONOSUPPORT;
    case WSAESOCKTNOSUPPORT: return EPROTONOSUPPORT;
    case WSAEOPNOTSUPP: return EOPNOTSUPP;
    case WSAENOTSOCK: return ENOTSOCK;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAENETRESET: return ENETRESET;
    case WSAEISCONN: return EISCONN;
    case WSAEALREADY: return EALREADY;
    case WSAEFAULT: return EFAULT;
    default: return e;
    }
}
static inline int zx_errno(void) { return errno; }
static inline int zx_would_block(int err) { return err == EWOULDBLOCK || err == EAGAIN; }
static inline int zx_connect_pending(int err) { return err == EWOULDBLOCK || err == EINPROGRESS; }
static inline int zx_set_nonblock(int fd) {
    u_long one = 1;
    SetHandleInformation((HANDLE)(uintptr_t)fd, HANDLE_FLAG_INHERIT, 0);
    return ioctlsocket((SOCKET)fd, FIONBIO, &one) == 0 ? 0 : -1;
}
static inline int zx_close_socket(int fd) { return closesocket((SOCKET)fd); }
static inline int zx_sock_error(int fd) {
    int err = 0; int len = sizeof err;
    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0) return zx_sock_errno();
    if (err) { WSASetLastError(err); return zx_sock_errno(); }
    return 0;
}
static inline int zx_socket_stream(int family) {
    SOCKET s = WSASocketW(family, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) return -1;
    if (zx_set_nonblock((int)s) < 0) { closesocket(s); return -1; }
    return (int)s;
}
/* a listening socket bound to sa: Python on Windows has no AF_UNIX, so ipc:// binds are
   made here; -1 with the error left for zx_sock_errno */
static inline int zx_listen_stream(const struct sockaddr *sa, socklen_t len, int backlog) {
    int fd = zx_socket_stream(sa->sa_family);
    if (fd < 0) return -1;
    if (bind((SOCKET)fd, sa, len) == SOCKET_ERROR || listen((SOCKET)fd, backlog) == SOCKET_ERROR) {
        int e = WSAGetLastError(); closesocket((SOCKET)fd); WSASetLastError(e); return -1;
    }
    return fd;
}
static inline int zx_accept(int lfd, struct sockaddr *sa, socklen_t *len) {
    SOCKET s = accept((SOCKET)lfd, sa, len);
    if (s == INVALID_SOCKET) return -1;
    if (zx_set_nonblock((int)s) < 0) { closesocket(s); return -1; }
    return (int)s;
}
static inline ssize_t zx_recv(int fd, void *buf, size_t n) {
    if (n > INT_MAX) n = INT_MAX;
    int rc = recv((SOCKET)fd, (char *)buf, (int)n, 0);
    return rc == SOCKET_ERROR ? -1 : rc;
}
static inline ssize_t zx_recv2(int fd, void *a, size_t na, void *b, size_t nb) {
    WSABUF bufs[2];
    DWORD got = 0, flags = 0;
    if (na > INT_MAX) na = INT_MAX;
    if (nb > INT_MAX) nb = INT_MAX;
    bufs[0].buf = (CHAR *)a; bufs[0].len = (ULONG)na;
    bufs[1].buf = (CHAR *)b; bufs[1].len = (ULONG)nb;
    if (WSARecv((SOCKET)fd, bufs, 2, &got, &flags, NULL, NULL) == SOCKET_ERROR) return -1;
    return (ssize_t)got;
}
static inline ssize_t zx_send(int fd, const void *buf, size_t n) {
    if (n > INT_MAX) n = INT_MAX;
    int rc = send((SOCKET)fd, (const char *)buf, (int)n, 0);
    return rc == SOCKET_ERROR ? -1 : rc;
}
static inline ssize_t zx_sendv(int fd, struct iovec *iov, int n) {
    WSABUF bufs[64];
    DWORD sent = 0;
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        bufs[i].buf = (CHAR *)iov[i].iov_base;
        bufs[i].len = (ULONG)iov[i].iov_len;
    }
    if (WSASend((SOCKET)fd, bufs, (DWORD)n, &sent, 0, NULL, NULL) == SOCKET_ERROR) return -1;
    return (ssize_t)sent;
}
static inline int zx_connect(int fd, const struct sockaddr *sa, socklen_t len) {
    return connect((SOCKET)fd, sa, len) == 0 ? 0 : -1;
}
static inline int zx_setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
    return setsockopt((SOCKET)fd, level, name, (const char *)val, len);
}

/* a connected loopback TCP pair (Windows has no socketpair()): the signaler, and the
   Ctrl-C interrupt. Both ends non-blocking, no Nagle. */
static inline int zx_socketpair(SOCKET out[2]) {
    SOCKET l = INVALID_SOCKET, a = INVALID_SOCKET, c = INVALID_SOCKET;
    struct sockaddr_in addr; int alen = sizeof addr, one = 1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (l == INVALID_SOCKET) goto fail;
    setsockopt(l, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&addr, &alen)) goto fail;
    c = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (c == INVALID_SOCKET || connect(c, (struct sockaddr *)&addr, sizeof addr)) goto fail;
    a = accept(l, NULL, NULL);
    if (a == INVALID_SOCKET) goto fail;
    closesocket(l);
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    if (zx_set_nonblock((int)a) < 0 || zx_set_nonblock((int)c) < 0) { l = INVALID_SOCKET; goto fail; }
    out[0] = a; out[1] = c;
    return 0;
fail:
    if (l != INVALID_SOCKET) closesocket(l);
    if (a != INVALID_SOCKET) closesocket(a);
    if (c != INVALID_SOCKET) closesocket(c);
    return -1;
}

/* ---- once per process: Winsock, the Ctrl-C handler ---- */
static SOCKET zx__intr[2] = {INVALID_SOCKET, INVALID_SOCKET};
static BOOL WINAPI zx__console_ctrl(DWORD type) {
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT) return FALSE;
    if (type == CTRL_C_EVENT) raise(SIGINT);   /* Python's handler: KeyboardInterrupt pending */
    if (zx__intr[1] != INVALID_SOCKET) { char c = 0; send(zx__intr[1], &c, 1, 0); }
    return type == CTRL_C_EVENT;                /* Ctrl-Break keeps its default: terminate */
}
static inline int zx_platform_init(void) {
    static volatile LONG state = 0;             /* 0 new, 1 starting, 2 ready, 3 failed */
    if (InterlockedCompareExchange(&state, 1, 0) == 0) {
        WSADATA wsa;
        int ok = WSAStartup(MAKEWORD(2, 2), &wsa) == 0 && zx_socketpair(zx__intr) == 0;
        if (ok) SetConsoleCtrlHandler(zx__console_ctrl, TRUE);
        InterlockedExchange(&state, ok ? 2 : 3);
    }
    while (state == 1) Sleep(0);
    return state == 2 ? 0 : -1;
}

/* wait for readiness of up to n sockets, or Ctrl-C (-1 with errno EINTR) */
static inline int zx_poll_fds(struct pollfd *fds, int n, int timeout_ms) {
    struct pollfd local[16];
    struct pollfd *all = n + 1 <= 16 ? local : (struct pollfd *)malloc(sizeof *all * (n + 1));
    int rc;
    if (!all) return -1;
    memcpy(all, fds, sizeof *all * n);
    all[n].fd = zx__intr[0]; all[n].events = POLLIN; all[n].revents = 0;
    rc = WSAPoll(all, (ULONG)(zx__intr[0] == INVALID_SOCKET ? n : n + 1), timeout_ms);
    if (rc > 0 && zx__intr[0] != INVALID_SOCKET && all[n].revents) {
        char buf[16];
        while (recv(zx__intr[0], buf, sizeof buf, 0) > 0) {}
        rc = -1; errno = EINTR;
    }
    for (int i = 0; i < n; i++) fds[i].revents = all[i].revents;
    if (all != local) free(all);
    return rc;
}
/* interface names (tcp://eth0:port) would need GetAdaptersAddresses; not supported yet */
static inline int zx_if_addr(const char *name, int family, struct sockaddr_storage *out) {
    (void)name; (void)family; (void)out;
    return -1;
}

#endif
