# Host names of connect() endpoints (included by io_thread.pyx). connect() never resolves:
# the session keeps the name and looks it up again before every attempt, so a peer that gets
# its DNS entry after we started (containers), or moves to a new address, is found by the
# ordinary reconnect back-off; a name that does not resolve is just a failed attempt.
#
# Where the lookup runs: on a resolver thread of its own (one per I/O thread, started the
# first time a name is used), not on the I/O thread as libzmq does. getaddrinfo blocks for as
# long as DNS takes (seconds for a dead server, times each search domain); on the I/O thread
# that would freeze every other connection it serves (heartbeats time out, messages stop).
# Here the session waits in ZX_S_RESOLVING while the resolver thread blocks, and the answer
# comes back through the I/O thread's mailbox (ZX_CMD_RESOLVED). Lookups of one I/O thread
# run one at a time, which is fine: they are rare (one per reconnect of a named endpoint).
# Numeric addresses never come here (socket.pyx fills the sockaddr once).
#
# Lifetime: a request belongs to the resolver thread until it is posted back; the session
# only points at it. A session that goes away first clears req.s (on the I/O thread, when
# its memory is freed) and the answer is then dropped. At stop the resolver thread is not
# waited for (ctx.term() must not hang on a dead DNS server): it is cut off from the I/O
# thread (r.io = NULL, under its lock, which every post back also holds), detached, and
# frees itself and whatever it still holds when its lookup returns; answers already in the
# mailbox are freed by zx_iothread_stop.
#
# Tests swap the lookup function for a table they change at run time (_set_test_hosts):
# that is how "the name starts resolving" and "the name moves" are tested without DNS.
from libc.stdio cimport snprintf
from libc.string cimport strlen, strncpy, strcmp

ctypedef int (*zx_resolve_fn)(const char *host, int family, int port,
                              sockaddr_storage *out, socklen_t *outlen) noexcept nogil

cdef struct zx_resolve_req:
    zx_session *s                  # NULL once the session is gone (I/O thread only)
    char host[256]
    int family
    int port
    sockaddr_storage addr
    socklen_t addrlen
    int err                        # 0, or the failed attempt's errno
    zx_resolve_req *next

cdef struct zx_resolver:
    zx_mutex_t lock
    zx_sigfd sig
    zx_thread_t thread
    zx_resolve_req *head
    zx_resolve_req *tail
    bint stop
    zx_iothread *io                # where answers go; NULL once stopped (under lock)


cdef int zx_sockaddr_fill(sockaddr_storage *ss, socklen_t *len, int family, const char *ip,
                          int port) noexcept nogil:
    cdef sockaddr_in *sin
    cdef sockaddr_in6 *sin6
    memset(ss, 0, sizeof(sockaddr_storage))
    if family == AF_INET:
        sin = <sockaddr_in *>ss
        sin.sin_family = AF_INET
        sin.sin_port = htons(<unsigned short>port)
        if inet_pton(AF_INET, ip, &sin.sin_addr) != 1:
            return -1
        len[0] = sizeof(sockaddr_in)
        return 0
    if family == AF_INET6:
        sin6 = <sockaddr_in6 *>ss
        sin6.sin6_family = AF_INET6
        sin6.sin6_port = htons(<unsigned short>port)
        if inet_pton(AF_INET6, ip, &sin6.sin6_addr) != 1:
            return -1
        len[0] = sizeof(sockaddr_in6)
        return 0
    return -1


cdef int zx_session_set_host(zx_session *s, const char *host, int family,
                             int port) noexcept nogil:
    cdef size_t n = strlen(host)
    if n == 0 or n >= sizeof(s.host):
        return -1
    memcpy(s.host, host, n + 1)
    s.host_family = family
    s.host_port = port
    s.family = AF_INET6 if family == AF_INET6 else AF_INET
    return 0


# ---------------------------------------------------------------- the lookup functions

cdef int _resolve_getaddrinfo(const char *host, int family, int port,
                              sockaddr_storage *out, socklen_t *outlen) noexcept nogil:
    cdef addrinfo hints
    cdef addrinfo *res = NULL
    cdef addrinfo *ai
    cdef addrinfo *pick = NULL
    cdef char service[16]
    memset(&hints, 0, sizeof(addrinfo))
    hints.ai_family = family
    hints.ai_socktype = SOCK_STREAM
    snprintf(service, sizeof(service), "%d", port)
    if getaddrinfo(host, service, &hints, &res) != 0 or res == NULL:
        return EHOSTUNREACH
    # with IPV6 (AF_UNSPEC) an IPv6 answer is preferred, as libzmq does
    ai = res
    while ai != NULL:
        if ai.ai_family == AF_INET6 or ai.ai_family == AF_INET:
            if pick == NULL or (ai.ai_family == AF_INET6 and pick.ai_family != AF_INET6):
                pick = ai
        ai = ai.ai_next
    if pick == NULL or <size_t>pick.ai_addrlen > sizeof(sockaddr_storage):
        freeaddrinfo(res)
        return EHOSTUNREACH
    memset(out, 0, sizeof(sockaddr_storage))
    memcpy(out, pick.ai_addr, pick.ai_addrlen)
    outlen[0] = pick.ai_addrlen
    freeaddrinfo(res)
    return 0


# the test table: name -> numeric IPv4/IPv6 text, changed by tests while sockets retry
cdef enum:
    _TEST_HOSTS_MAX = 16
cdef char _test_names[16][256]
cdef char _test_ips[16][64]
cdef int _test_n = 0
cdef int _test_delay_ms = 0         # a slow DNS server, for the test that nothing stalls
cdef zx_mutex_t _test_lock
zx_mutex_init(&_test_lock)


cdef int _resolve_table(const char *host, int family, int port,
                        sockaddr_storage *out, socklen_t *outlen) noexcept nogil:
    cdef int i, rc = EHOSTUNREACH
    if _test_delay_ms > 0:
        zx_poll_fds(NULL, 0, _test_delay_ms)
    zx_mutex_lock(&_test_lock)
    for i in range(_test_n):
        if strcmp(_test_names[i], host) == 0:
            if zx_sockaddr_fill(out, outlen, AF_INET, _test_ips[i], port) == 0:
                rc = 0
            elif family != AF_INET and \
                    zx_sockaddr_fill(out, outlen, AF_INET6, _test_ips[i], port) == 0:
                rc = 0
            break
    zx_mutex_unlock(&_test_lock)
    return rc


cdef zx_resolve_fn _resolve = _resolve_getaddrinfo


def _set_test_hosts(table, int delay_ms=0):
    """Tests only: resolve connect() host names from `table` ({name: numeric ip}, read at
    every lookup, so a test can change it while a socket retries) instead of DNS, each
    lookup taking delay_ms first; None restores getaddrinfo."""
    global _resolve, _test_n, _test_delay_ms
    cdef int i
    cdef bytes name, ip
    if table is None:
        _resolve = _resolve_getaddrinfo
        return
    if len(table) > _TEST_HOSTS_MAX:
        raise ValueError("too many test hosts")
    zx_mutex_lock(&_test_lock)
    _test_n = 0
    _test_delay_ms = delay_ms
    for i, (k, v) in enumerate(table.items()):
        name = k.encode()[:255]
        ip = v.encode()[:63]
        strncpy(_test_names[i], name, 256)
        strncpy(_test_ips[i], ip, 64)
        _test_n = i + 1
    zx_mutex_unlock(&_test_lock)
    _resolve = _resolve_table


# ---------------------------------------------------------------- the resolver thread

cdef void _resolver_main(void *arg) noexcept nogil:
    cdef zx_resolver *r = <zx_resolver *>arg
    cdef zx_resolve_req *req
    cdef pollfd p
    cdef bint stop, posted
    while True:
        zx_mutex_lock(&r.lock)
        stop = r.stop
        req = r.head
        if req != NULL and not stop:
            r.head = req.next
            if r.head == NULL:
                r.tail = NULL
        zx_mutex_unlock(&r.lock)
        if stop:
            break
        if req == NULL:
            p.fd = r.sig.r
            p.events = POLLIN
            p.revents = 0
            zx_poll_fds(&p, 1, -1)
            zx_sig_drain(&r.sig)
            continue
        req.err = _resolve(req.host, req.family, req.port, &req.addr, &req.addrlen)
        zx_mutex_lock(&r.lock)
        posted = r.io != NULL and zx_mailbox_post(&r.io.mb, ZX_CMD_RESOLVED, req, 0) == 0
        zx_mutex_unlock(&r.lock)
        if not posted:
            free(req)
    # stopped (and detached): nobody else holds r any more
    while r.head != NULL:
        req = r.head
        r.head = req.next
        free(req)
    zx_mutex_destroy(&r.lock)
    zx_sig_close(&r.sig)
    free(r)


cdef zx_resolver *_resolver_get(zx_iothread *io) noexcept nogil:
    cdef zx_resolver *r = <zx_resolver *>io.resolver
    if r != NULL:
        return r
    r = <zx_resolver *>calloc(1, sizeof(zx_resolver))
    if r == NULL:
        return NULL
    r.io = io
    r.sig.r = r.sig.w = -1
    if zx_sig_open(&r.sig) < 0:
        free(r)
        return NULL
    zx_mutex_init(&r.lock)
    if zx_thread_start(&r.thread, _resolver_main, r) < 0:
        zx_mutex_destroy(&r.lock)
        zx_sig_close(&r.sig)
        free(r)
        return NULL
    io.resolver = r
    return r


# for zx_iothread_stop, after the I/O thread has exited: cut the resolver thread off and let
# it finish alone (a lookup in flight is not waited for), then free the answers it left in
# the mailbox
cdef void _resolver_stop(zx_iothread *io) noexcept nogil:
    cdef zx_resolver *r = <zx_resolver *>io.resolver
    cdef zx_thread_t t
    cdef zx_cmd cmd
    if r == NULL:
        return
    io.resolver = NULL
    t = r.thread
    zx_mutex_lock(&r.lock)
    r.stop = True
    r.io = NULL
    zx_sig_send(&r.sig)            # under the lock: r may be freed as soon as it is released
    zx_mutex_unlock(&r.lock)
    zx_thread_detach(t)
    while zx_mailbox_take(&io.mb, &cmd):
        if cmd.type == ZX_CMD_RESOLVED:
            free(cmd.ptr)


# ---------------------------------------------------------------- the session's side

# start the lookup of the session's host; the attempt continues in _session_resolved.
# -1 if it failed at once (the session is marked as a failed attempt)
cdef int _session_resolve(zx_session *s) noexcept nogil:
    cdef zx_resolver *r = _resolver_get(s.io)
    cdef zx_resolve_req *req
    if r == NULL:
        return _session_end(s, ZX_END_CONNECT_FAILED, ENOMEM)
    req = <zx_resolve_req *>calloc(1, sizeof(zx_resolve_req))
    if req == NULL:
        return _session_end(s, ZX_END_CONNECT_FAILED, ENOMEM)
    req.s = s
    memcpy(req.host, s.host, sizeof(s.host))
    req.family = s.host_family
    req.port = s.host_port
    s.resolving = req
    s.state = ZX_S_RESOLVING
    zx_mutex_lock(&r.lock)
    if r.tail != NULL:
        r.tail.next = req
    else:
        r.head = req
    r.tail = req
    zx_mutex_unlock(&r.lock)
    zx_sig_send(&r.sig)
    return 0


# the I/O thread got an answer (ZX_CMD_RESOLVED); frees the request
cdef void _resolve_answered(zx_resolve_req *req) noexcept nogil:
    cdef zx_session *s = req.s
    if s != NULL and s.resolving == <void *>req:
        s.resolving = NULL
    else:
        s = NULL
    if s == NULL or s.dead:
        free(req)                  # the session went away meanwhile
        return
    if s.state == ZX_S_RESOLVING and s.end_reason == ZX_END_NONE:
        if req.err != 0:
            # as libzmq: a name that does not resolve is a failed attempt, retried later
            _session_end(s, ZX_END_CONNECT_FAILED, req.err)
        else:
            memcpy(&s.addr, &req.addr, sizeof(sockaddr_storage))
            s.addrlen = req.addrlen
            s.family = (<sockaddr *>&s.addr).sa_family
            _session_connect_addr(s)
    free(req)
    _session_settle(s)


# a session's memory is about to be freed: its lookup in flight no longer has anyone to
# answer (called on the I/O thread, where answers are read, so this cannot race one)
cdef inline void _resolve_forget(zx_session *s) noexcept nogil:
    if s.resolving != NULL:
        (<zx_resolve_req *>s.resolving).s = NULL
        s.resolving = NULL


# ---------------------------------------------------------------- interface names

def _interface_address(name, int family):
    """The numeric address of one family on the network interface `name` (tcp://eth0:port,
    tcp://lo:*), or None. For bind and source addresses, on the caller's thread."""
    cdef sockaddr_storage ss
    cdef char text[64]
    cdef bytes b = name.encode()
    cdef const void *raw
    if zx_if_addr(b, family, &ss) != 0:
        return None
    if family == AF_INET6:
        raw = &(<sockaddr_in6 *>&ss).sin6_addr
    else:
        raw = &(<sockaddr_in *>&ss).sin_addr
    if inet_ntop(family, raw, text, sizeof(text)) == NULL:
        return None
    return (<bytes>text).decode("ascii")
