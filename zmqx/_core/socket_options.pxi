# Options of the socket core, driven by the options table (zmqx/constants.py,
# _SOCKET_OPTIONS): each row says which socket types accept an option, whether it may be
# read or written, its default, and where it is kept; this file only knows how to reach
# each kind of storage. Included into socket.pyx.
from zmqx.constants import _SOCKET_OPTIONS, SocketType as _SocketType, _OptType

cdef enum:
    K_NONE = 0          # not supported: EINVAL
    K_CORE = 1          # special-cased below
    K_SESSION = 2       # a field of zx_opts (snapshot taken by each connection)
    K_SOCKET = 3        # a field of zx_coreopts (the core's own)
    K_SHARED = 4        # a field of zx_sock (read by the type rooms)
    K_TYPE = 5          # the type room's setopt/getopt hooks
    K_KEPT = 6          # remembered in Socket._kept, no effect
    K_SEC = 7           # security options: _sec_setopt/_sec_getopt below

cdef enum:
    A_READ = 1
    A_WRITE = 2

ctypedef struct _optrow:
    int kind
    int access
    int vtype           # 0 int, 1 int64, 2 bytes, 3 fd
    long types          # bit t set: socket type t accepts it
    Py_ssize_t offset   # K_SESSION/K_SOCKET/K_SHARED: where the field is
    int width           # its C size (4 or 8)

cdef enum:
    N_OPTS = 128

cdef _optrow _ROWS[N_OPTS]
cdef dict _DEFAULTS = {}

# where the fields named in the table live (Cython has no offsetof; measure a dummy)
cdef zx_opts _o
cdef zx_coreopts _c
cdef zx_sock _k
_FIELDS = {
    "session": {
        "sndhwm": (<char *>&_o.sndhwm - <char *>&_o, sizeof(_o.sndhwm)),
        "rcvhwm": (<char *>&_o.rcvhwm - <char *>&_o, sizeof(_o.rcvhwm)),
        "maxmsgsize": (<char *>&_o.maxmsgsize - <char *>&_o, sizeof(_o.maxmsgsize)),
        "reconnect_ivl": (<char *>&_o.reconnect_ivl - <char *>&_o, sizeof(_o.reconnect_ivl)),
        "reconnect_ivl_max": (<char *>&_o.reconnect_ivl_max - <char *>&_o, sizeof(_o.reconnect_ivl_max)),
        "handshake_ivl": (<char *>&_o.handshake_ivl - <char *>&_o, sizeof(_o.handshake_ivl)),
        "sndbuf": (<char *>&_o.sndbuf - <char *>&_o, sizeof(_o.sndbuf)),
        "rcvbuf": (<char *>&_o.rcvbuf - <char *>&_o, sizeof(_o.rcvbuf)),
        "tcp_keepalive": (<char *>&_o.tcp_keepalive - <char *>&_o, sizeof(_o.tcp_keepalive)),
        "tcp_keepalive_cnt": (<char *>&_o.tcp_keepalive_cnt - <char *>&_o, sizeof(_o.tcp_keepalive_cnt)),
        "tcp_keepalive_idle": (<char *>&_o.tcp_keepalive_idle - <char *>&_o, sizeof(_o.tcp_keepalive_idle)),
        "tcp_keepalive_intvl": (<char *>&_o.tcp_keepalive_intvl - <char *>&_o, sizeof(_o.tcp_keepalive_intvl)),
        "heartbeat_ivl": (<char *>&_o.heartbeat_ivl - <char *>&_o, sizeof(_o.heartbeat_ivl)),
        "heartbeat_ttl": (<char *>&_o.heartbeat_ttl - <char *>&_o, sizeof(_o.heartbeat_ttl)),
        "heartbeat_timeout": (<char *>&_o.heartbeat_timeout - <char *>&_o, sizeof(_o.heartbeat_timeout)),
        "connect_timeout": (<char *>&_o.connect_timeout - <char *>&_o, sizeof(_o.connect_timeout)),
        "probe_router": (<char *>&_o.probe_router - <char *>&_o, sizeof(_o.probe_router)),
        "immediate": (<char *>&_o.immediate - <char *>&_o, sizeof(_o.immediate)),
        "raw_notify": (<char *>&_o.raw_notify - <char *>&_o, sizeof(_o.raw_notify)),
    },
    "socket": {
        "linger": (<char *>&_c.linger - <char *>&_c, sizeof(_c.linger)),
        "rcvtimeo": (<char *>&_c.rcvtimeo - <char *>&_c, sizeof(_c.rcvtimeo)),
        "sndtimeo": (<char *>&_c.sndtimeo - <char *>&_c, sizeof(_c.sndtimeo)),
        "backlog": (<char *>&_c.backlog - <char *>&_c, sizeof(_c.backlog)),
        "ipv6": (<char *>&_c.ipv6 - <char *>&_c, sizeof(_c.ipv6)),
    },
    "shared": {
        "conflate": (<char *>&_k.conflate - <char *>&_k, sizeof(_k.conflate)),
        "invert_matching": (<char *>&_k.invert_matching - <char *>&_k, sizeof(_k.invert_matching)),
    },
}

# the values each option accepts (the table's "check" column), as (low, high) for ints
_INT_RANGES = {"bool": (0, 1), "flag": (0, None), ">=0": (0, None), ">0": (1, None),
               ">=-1": (-1, None), "-1..1": (-1, 1)}
cdef dict _CHECK = {}          # option number -> (low, high) or "id" / "nonempty"

cdef int O_HWM, O_ROUTING_ID, O_SUBSCRIBE, O_UNSUBSCRIBE, O_RCVMORE, O_FD, O_EVENTS, O_TYPE
cdef int O_LINGER, O_LAST_ENDPOINT, O_IPV4ONLY, O_CONNECT_ROUTING_ID, O_THREAD_SAFE


cdef int _load_table() except -1:
    global O_HWM, O_ROUTING_ID, O_SUBSCRIBE, O_UNSUBSCRIBE, O_RCVMORE, O_FD, O_EVENTS, O_TYPE
    global O_LINGER, O_LAST_ENDPOINT, O_IPV4ONLY, O_CONNECT_ROUTING_ID, O_THREAD_SAFE
    cdef _optrow *r
    cdef int num
    kinds = {"core": K_CORE, "session": K_SESSION, "socket": K_SOCKET, "shared": K_SHARED,
             "type": K_TYPE, "kept": K_KEPT, "sec": K_SEC}
    vtypes = {_OptType.int: 0, _OptType.int64: 1, _OptType.bytes: 2, _OptType.fd: 3}
    memset(_ROWS, 0, sizeof(_ROWS))
    nums = {}
    for name, num, vtype, default, types, store, access, check in _SOCKET_OPTIONS:
        nums[name] = num
        r = &_ROWS[num]
        if store is None:
            continue
        where, _, field = store.partition(".")
        r.kind = kinds[where]
        if field:
            r.offset, r.width = _FIELDS[where][field]
        r.access = (A_READ if "r" in access else 0) | (A_WRITE if "w" in access else 0)
        r.vtype = vtypes[vtype]
        if types is None:
            r.types = -1
        else:
            for t in types:
                r.types |= 1 << int(_SocketType[t])
        _DEFAULTS[num] = default
        if check is not None:
            _CHECK[num] = _INT_RANGES.get(check, check)
    O_HWM, O_ROUTING_ID, O_SUBSCRIBE, O_UNSUBSCRIBE = nums["HWM"], nums["ROUTING_ID"], nums["SUBSCRIBE"], nums["UNSUBSCRIBE"]
    O_RCVMORE, O_FD, O_EVENTS, O_TYPE = nums["RCVMORE"], nums["FD"], nums["EVENTS"], nums["TYPE"]
    O_LINGER, O_LAST_ENDPOINT, O_IPV4ONLY = nums["LINGER"], nums["LAST_ENDPOINT"], nums["IPV4ONLY"]
    O_CONNECT_ROUTING_ID, O_THREAD_SAFE = nums["CONNECT_ROUTING_ID"], nums["THREAD_SAFE"]
    return 0

_load_table()


cdef char *_field(Socket self, _optrow *r) noexcept:
    if r.kind == K_SESSION:
        return <char *>&self.opts + r.offset
    if r.kind == K_SOCKET:
        return <char *>&self.copts + r.offset
    return <char *>&self.core + r.offset


cdef int _store_int(Socket self, _optrow *r, object value) except -1:
    cdef char *p = _field(self, r)
    if r.width == 8:
        (<int64_t *>p)[0] = value
    else:
        (<int *>p)[0] = value
    return 0


cdef object _load_int(Socket self, _optrow *r):
    cdef char *p = _field(self, r)
    if r.width == 8:
        return (<int64_t *>p)[0]
    return (<int *>p)[0]


cdef int _options_init(Socket self) except -1:
    # every stored option starts at the table's default
    cdef int num
    cdef _optrow *r
    self._kept = {}
    for num, default in _DEFAULTS.items():
        r = &_ROWS[num]
        if r.kind in (K_SESSION, K_SOCKET, K_SHARED) and isinstance(default, int):
            _store_int(self, r, default)
    self.copts.linger = self.ops.linger        # LINGER's default is the type's
    return 0


cdef bytes _bytes_opt(object optval):
    # bytes-valued options take a buffer: not str (use set_string), not int
    if isinstance(optval, str):
        raise TypeError("unicode not allowed, use setsockopt_string")
    if isinstance(optval, int):
        raise TypeError("option value must be bytes, not int")
    return bytes(memoryview(optval))


cdef _optrow *_row(Socket self, int option, int access) except NULL:
    cdef _optrow *r
    if self._closed:
        raise ZMQError(ENOTSOCK_)
    if option < 0 or option >= N_OPTS:
        raise ZMQError(EINVAL_)
    r = &_ROWS[option]
    if r.kind == K_NONE or not (r.access & access) or not (r.types & (1 << self.socket_type)):
        raise ZMQError(EINVAL_)
    return r


cdef int _setopt(Socket self, int option, object optval) except -1:
    cdef _optrow *r = _row(self, option, A_WRITE)
    cdef bytes b
    check = _CHECK.get(option)
    if r.kind == K_SEC:
        return _sec_setopt(self, option, optval, check)
    if r.vtype == 2:
        value = _bytes_opt(optval)
        if (check == "nonempty" and not value) or (check == "1..255" and not 0 < len(value) < 256) \
                or (check == "0..255" and len(value) > 255):
            raise ZMQError(EINVAL_)
    else:
        if isinstance(optval, (bytes, str)):
            raise TypeError("option %d takes an int, not %r" % (option, type(optval).__name__))
        value = int(optval)
        if check is not None and (value < check[0] or (check[1] is not None and value > check[1])):
            raise ZMQError(EINVAL_)
    if r.kind == K_CORE:
        if option == O_ROUTING_ID:
            b = value
            memcpy(self.opts.identity, <char *>b, len(b))
            self.opts.identity_len = len(b)
        elif option == O_CONNECT_ROUTING_ID:
            self.connect_rid = value
        elif option == O_HWM:
            self.opts.sndhwm = self.opts.rcvhwm = value
        elif option == O_IPV4ONLY:
            self.copts.ipv6 = 0 if value else 1
        else:
            raise ZMQError(EINVAL_)
    elif r.kind == K_TYPE:
        if option == O_SUBSCRIBE or option == O_UNSUBSCRIBE:
            self._check()          # take in new links first: they get the subscription too
        self.ops.setopt(&self.core, option, value)
    elif r.kind == K_KEPT:
        self._kept[option] = value
    elif option == O_LINGER:
        self.copts.linger = -1 if value < 0 else value
    elif r.kind == K_SHARED:
        _store_int(self, r, 1 if value else 0)
    else:
        _store_int(self, r, value)
    return 0


cdef object _getopt(Socket self, int option):
    cdef _optrow *r = _row(self, option, A_READ)
    if r.kind == K_CORE:
        if option == O_TYPE:
            return self.socket_type
        if option == O_RCVMORE:
            return int(self.rcvmore)
        if option == O_LAST_ENDPOINT:
            return self._last_endpoint
        if option == O_EVENTS:
            ev = self._poll_events()
            if self.fd_exported:
                self._sync_fd()
            return ev
        if option == O_FD:
            if not self.fd_exported:
                self.fd_exported = True
                self._sync_fd()
            return self.sb.rsig.r
        if option == O_ROUTING_ID:
            return PyBytes_FromStringAndSize(<char *>self.opts.identity, self.opts.identity_len)
        if option == O_HWM:
            return self.opts.sndhwm
        if option == O_IPV4ONLY:
            return 0 if self.copts.ipv6 else 1
        if option == O_THREAD_SAFE:
            return 1 if self.ops.flags & ZX_T_THREADSAFE else 0
        raise ZMQError(EINVAL_)
    if r.kind == K_TYPE:
        return self.ops.getopt(&self.core, option)
    if r.kind == K_SEC:
        return _sec_getopt(self, option)
    if r.kind == K_KEPT:
        return self._kept.get(option, _DEFAULTS[option])
    return _load_int(self, r)


# ---------------------------------------------------------------- security options

# As libzmq 4.3.5 couples them: PLAIN_SERVER/CURVE_SERVER set the server role and switch
# MECHANISM to theirs (or back to NULL when cleared); PLAIN_USERNAME/PASSWORD make a PLAIN
# client; CURVE_PUBLICKEY/SECRETKEY switch to CURVE, CURVE_SERVERKEY makes a CURVE client.
# The keys are write-only (libzmq answers a 255-byte read with EINVAL, so pyzmq can never
# read them). All of it lands in zx_opts, so every later bind/connect snapshots it.
cdef int O_MECHANISM = 43, O_PLAIN_SERVER = 44, O_PLAIN_USERNAME = 45, O_PLAIN_PASSWORD = 46
cdef int O_CURVE_SERVER = 47, O_CURVE_PUBLICKEY = 48, O_CURVE_SECRETKEY = 49
cdef int O_CURVE_SERVERKEY = 50, O_ZAP_DOMAIN = 55, O_ZAP_ENFORCE_DOMAIN = 93


cdef bytes _curve_key(object optval):
    cdef bytes b = _bytes_opt(optval)
    if len(b) == 41 and b[40] == 0:
        b = b[:40]
    if len(b) == 40:
        from zmqx.utils import z85
        try:
            b = z85.decode(b)
        except Exception:
            raise ZMQError(EINVAL_)
    if len(b) != 32:
        raise ZMQError(EINVAL_)
    return b


cdef int _sec_setopt(Socket self, int option, object optval, object check) except -1:
    cdef bytes b
    cdef zx_opts *o = &self.opts
    if option == O_PLAIN_SERVER or option == O_CURVE_SERVER or option == O_ZAP_ENFORCE_DOMAIN:
        if isinstance(optval, (bytes, str)):
            raise TypeError("option %d takes an int, not %r" % (option, type(optval).__name__))
        v = int(optval)
        if option == O_ZAP_ENFORCE_DOMAIN:
            o.zap_enforce_domain = 1 if v else 0
            return 0
        if v != 0 and v != 1:
            raise ZMQError(EINVAL_)
        o.as_server = v
        if v:
            o.mechanism = ZX_MECH_PLAIN if option == O_PLAIN_SERVER else ZX_MECH_CURVE
        else:
            o.mechanism = ZX_MECH_NULL
        return 0
    if option == O_CURVE_PUBLICKEY or option == O_CURVE_SECRETKEY or option == O_CURVE_SERVERKEY:
        b = _curve_key(optval)
        if option == O_CURVE_PUBLICKEY:
            memcpy(o.curve_public, <char *>b, 32)
        elif option == O_CURVE_SECRETKEY:
            memcpy(o.curve_secret, <char *>b, 32)
        else:
            memcpy(o.curve_server, <char *>b, 32)
            o.as_server = 0
        o.mechanism = ZX_MECH_CURVE
        return 0
    b = _bytes_opt(optval)
    if not 0 < len(b) < 256:
        raise ZMQError(EINVAL_)
    if option == O_PLAIN_USERNAME:
        memcpy(o.plain_username, <char *>b, len(b))
        o.plain_username_len = len(b)
        o.as_server = 0
        o.mechanism = ZX_MECH_PLAIN
    elif option == O_PLAIN_PASSWORD:
        memcpy(o.plain_password, <char *>b, len(b))
        o.plain_password_len = len(b)
        o.as_server = 0
        o.mechanism = ZX_MECH_PLAIN
    elif option == O_ZAP_DOMAIN:
        memcpy(o.zap_domain, <char *>b, len(b))
        o.zap_domain_len = len(b)
    else:
        raise ZMQError(EINVAL_)
    return 0


cdef object _sec_getopt(Socket self, int option):
    cdef zx_opts *o = &self.opts
    if option == O_MECHANISM:
        return o.mechanism
    if option == O_PLAIN_SERVER:
        return 1 if o.as_server and o.mechanism == ZX_MECH_PLAIN else 0
    if option == O_CURVE_SERVER:
        return 1 if o.as_server and o.mechanism == ZX_MECH_CURVE else 0
    if option == O_ZAP_ENFORCE_DOMAIN:
        return o.zap_enforce_domain
    if option == O_PLAIN_USERNAME:
        return PyBytes_FromStringAndSize(<char *>o.plain_username, o.plain_username_len)
    if option == O_PLAIN_PASSWORD:
        return PyBytes_FromStringAndSize(<char *>o.plain_password, o.plain_password_len)
    if option == O_ZAP_DOMAIN:
        return PyBytes_FromStringAndSize(<char *>o.zap_domain, o.zap_domain_len)
    raise ZMQError(EINVAL_)
