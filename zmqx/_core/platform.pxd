# Cython view of zx_platform.h, the platform layer (threads, mutexes, the monotonic clock,
# signalers, the I/O thread's poller, sockets). Only the zx_* calls are portable; the raw
# socket declarations below are the POSIX names that Winsock also provides.
from libc.stdint cimport int64_t, uint32_t, uint64_t

cdef extern from "zx_platform.h" nogil:
    ctypedef struct zx_mutex_t:
        pass
    void zx_mutex_init(zx_mutex_t *m)
    void zx_mutex_destroy(zx_mutex_t *m)
    void zx_mutex_lock(zx_mutex_t *m)
    void zx_mutex_unlock(zx_mutex_t *m)
    bint zx_mutex_trylock(zx_mutex_t *m)     # 1: taken; 0: someone holds it

    ctypedef struct zx_thread_t:
        pass
    ctypedef void (*zx_thread_fn)(void *) noexcept nogil
    int zx_thread_start(zx_thread_t *t, zx_thread_fn fn, void *arg)
    void zx_thread_join(zx_thread_t t)
    void zx_thread_detach(zx_thread_t t)

    int64_t zx_now_ms()
    int64_t zx_now_ns()
    void zx_cpu_yield()

    ctypedef struct zx_sigfd:
        int r
        int w
    int zx_sig_open(zx_sigfd *s)
    void zx_sig_close(zx_sigfd *s)
    void zx_sig_send(zx_sigfd *s)
    void zx_sig_drain(zx_sigfd *s)

    struct pollfd:
        int fd
        short events
        short revents
    enum:
        POLLIN
        POLLOUT
        POLLERR
        POLLHUP
        POLLNVAL
    int zx_poll_fds(pollfd *fds, int n, int timeout_ms)

    enum:
        ZX_EV_IN
        ZX_EV_OUT
        ZX_EV_ERR
    ctypedef struct zx_event:
        void *ptr
        int events
    ctypedef struct zx_poller:
        pass
    const char *ZX_POLLER_NAME
    const char *ZX_SIGNALER_NAME
    int zx_platform_init()
    int zx_poller_open(zx_poller *p)
    void zx_poller_close(zx_poller *p)
    int zx_poller_add(zx_poller *p, int fd, int ev, void *ptr)
    int zx_poller_mod(zx_poller *p, int fd, int ev, void *ptr)
    int zx_poller_del(zx_poller *p, int fd)
    int zx_poller_wait(zx_poller *p, zx_event *out, int max, int timeout_ms)

    int zx_set_nonblock(int fd)
    int zx_errno()
    int zx_sock_error(int fd)

cdef extern from "zx_platform.h" nogil:
    ctypedef int socklen_t
    ctypedef long ssize_t
    struct sockaddr:
        unsigned short sa_family
    struct sockaddr_storage:
        unsigned short ss_family
    struct in_addr:
        unsigned int s_addr
    struct sockaddr_in:
        unsigned short sin_family
        unsigned short sin_port
        in_addr sin_addr
    struct in6_addr:
        pass
    struct sockaddr_in6:
        unsigned short sin6_family
        unsigned short sin6_port
        unsigned int sin6_flowinfo
        in6_addr sin6_addr
        unsigned int sin6_scope_id
    struct sockaddr_un:
        unsigned short sun_family
        char sun_path[108]
    struct iovec:
        void *iov_base
        size_t iov_len
    enum:
        AF_INET
        AF_INET6
        AF_UNIX
        AF_UNSPEC
        SOCK_STREAM
        SOL_SOCKET
        SO_SNDBUF
        SO_RCVBUF
        SO_KEEPALIVE
        IPPROTO_TCP
        TCP_NODELAY
        TCP_KEEPIDLE
        TCP_KEEPCNT
        TCP_KEEPINTVL
        EAGAIN
        EWOULDBLOCK
        EINTR
        EINPROGRESS
        ECONNREFUSED
        ETIMEDOUT
        ENOMEM
        EHOSTUNREACH
        SHUT_RDWR
    int zx_sock_errno()
    bint zx_would_block(int err)
    bint zx_connect_pending(int err)
    int zx_close_socket(int fd)
    int zx_socket_stream(int family)
    int zx_connect(int fd, const sockaddr *sa, socklen_t len)
    int zx_peer_address(int fd, char *out, int cap)
    void zx_conn_ends(int fd, uint64_t *local, uint64_t *peer)
    int zx_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    int zx_accept(int lfd, sockaddr *sa, socklen_t *len)
    int zx_listen_stream(const sockaddr *sa, socklen_t len, int backlog)
    ssize_t zx_recv(int fd, void *buf, size_t n)
    ssize_t zx_recv2(int fd, void *a, size_t na, void *b, size_t nb)   # a, then b
    ssize_t zx_send(int fd, const void *buf, size_t n)
    ssize_t zx_sendv(int fd, iovec *iov, int n)
    int socket(int domain, int type, int protocol)
    int connect(int fd, const sockaddr *addr, socklen_t len)
    ssize_t recv(int fd, void *buf, size_t n, int flags)
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    int close(int fd)
    int shutdown(int fd, int how)
    int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    int inet_pton(int af, const char *src, void *dst)
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
    int bind(int fd, const sockaddr *addr, socklen_t len)
    # names (resolved off the I/O thread, see io_resolver.pxi) and interface addresses
    struct addrinfo:
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol
        socklen_t ai_addrlen
        sockaddr *ai_addr
        addrinfo *ai_next
    int getaddrinfo(const char *node, const char *service, const addrinfo *hints,
                    addrinfo **res)
    void freeaddrinfo(addrinfo *res)
    int zx_if_addr(const char *name, int family, sockaddr_storage *out)
    unsigned short htons(unsigned short v)


# look at fds without sleeping until until_ns (a zx_now_ns time), letting other threads
# (the I/O thread about to deliver) run in between: waking a sleeping thread costs tens of
# microseconds on a virtual machine, a yield a fraction of one. poll(2)'s result, 0 if
# nothing came in time (see docs/performance.md, "Waiting")
cdef inline int zx_spin_poll(pollfd *pfd, int n, int64_t until_ns) noexcept nogil:
    cdef int rc
    while True:
        rc = zx_poll_fds(pfd, n, 0)
        if rc > 0:
            return rc
        if zx_now_ns() >= until_ns:
            return 0
        zx_cpu_yield()
