/* The platform layer: every OS primitive zmqx uses, behind one small interface, so that the
   rest of the core is the same C on Linux, macOS and Windows. This file only chooses; the
   code lives in one file per job:
     zx_os_posix.h / zx_os_win.h   threads, mutexes, monotonic clock, socket calls,
                                   zx_poll_fds (blocking waits of the app threads),
                                   zx_platform_init (Winsock + Ctrl-C handler on Windows)
     zx_signaler.h                 zx_sig_*: eventfd, pipe, or a loopback socket pair
     zx_poller_epoll.h             zx_poller_*: the I/O thread's poller on Linux
     zx_poller_poll.h              zx_poller_*: poll(2) elsewhere, WSAPoll on Windows
   The interface (all static inline, callable without the GIL):
     zx_mutex_{init,destroy,lock,trylock,unlock}, zx_thread_{start,join}, zx_now_ms
     zx_sig_{open,close,send,drain} on a zx_sigfd {r, w}: r polls readable while signalled
     zx_poller_{open,close,add,mod,del,wait}: level-triggered, ZX_EV_IN/OUT/ERR, a pointer
       per fd that comes back with its events
     zx_socket_stream, zx_accept, zx_connect, zx_setsockopt, zx_recv, zx_send, zx_sendv,
       zx_close_socket, zx_sock_error, zx_sock_errno, zx_would_block, zx_connect_pending
     zx_poll_fds: a blocking wait on a few fds (returns -1/EINTR on a signal or Ctrl-C)
     zx_peer_address: a connection's peer as libzmq's Peer-Address property
   Build switch: ZX_FORCE_POLL (setup.py defines it for ZMQX_POLLER=poll) selects the poll(2)
   poller, pipe signalers and the generic POSIX socket calls on Linux too, so the code that
   macOS runs is built and tested here. ZX_POLLER_NAME and ZX_SIGNALER_NAME say what was built. */
#ifndef ZX_PLATFORM_H
#define ZX_PLATFORM_H

#if defined(ZX_FORCE_POLL) && !defined(ZX_PORTABLE_POSIX)
#define ZX_PORTABLE_POSIX 1
#endif

#if defined(_WIN32)
#include "zx_os_win.h"
#else
#include "zx_os_posix.h"
#endif

#include "zx_signaler.h"
#include <stdio.h>

/* ---- a connected socket's two ends as two hashes (FNV-1a of the addresses the kernel
   reports): a connection whose (local, peer) is another one's (peer, local) has both ends
   in this process. Over ipc the connecting end is unnamed, so every connecter to a path
   pairs with every acceptor at it, which is still true: both ends are ours. 0s: unknown */
static inline uint64_t zx_fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    while (n--) {
        h ^= *p++;
        h *= 1099511628211ULL;
    }
    return h;
}

static inline void zx_conn_ends(int fd, uint64_t *local, uint64_t *peer) {
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    *local = *peer = 0;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 || len > (socklen_t)sizeof ss)
        return;
    *local = zx_fnv1a((const unsigned char *)&ss, (size_t)len);
    len = (socklen_t)sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 || len > (socklen_t)sizeof ss) {
        *local = 0;
        return;
    }
    *peer = zx_fnv1a((const unsigned char *)&ss, (size_t)len);
}

/* ---- the address of a connected socket's peer: libzmq's Peer-Address message property.
   The IP for tcp; for ipc, where Linux can say who the peer process is (SO_PEERCRED),
   libzmq's "localhost:uid:gid:pid"; else nothing (returns the length written, 0) ---- */
static inline int zx_peer_address(int fd, char *out, int cap) {
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        const void *a = ss.ss_family == AF_INET
            ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
            : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (inet_ntop(ss.ss_family, a, out, (socklen_t)cap) == NULL) {
            out[0] = '\0';
            return 0;
        }
        return (int)strlen(out);
    }
#if defined(__linux__) && defined(SO_PEERCRED) && defined(_GNU_SOURCE)
    if (ss.ss_family == AF_UNIX) {
        struct ucred cr;
        socklen_t crlen = (socklen_t)sizeof cr;
        int n;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0)
            return 0;
        n = snprintf(out, (size_t)cap, "localhost:%u:%u:%d", (unsigned)cr.uid,
                     (unsigned)cr.gid, (int)cr.pid);
        return n > 0 && n < cap ? n : 0;
    }
#endif
    return 0;
}

/* ---- the I/O thread's poller ---- */
#define ZX_EV_IN 1
#define ZX_EV_OUT 2
#define ZX_EV_ERR 4
typedef struct { void *ptr; int events; } zx_event;
#if defined(__linux__) && !defined(ZX_FORCE_POLL)
#include "zx_poller_epoll.h"
#else
#include "zx_poller_poll.h"
#endif

#endif
