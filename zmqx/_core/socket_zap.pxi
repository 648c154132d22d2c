# The app-thread half of the ZAP client (the I/O half is io_zap.pxi), included by
# socket.pyx: at bind()/connect() of a socket that will have to ask ZAP (a PLAIN/CURVE
# server, or any socket with a ZAP_DOMAIN), find the handler bound at
# inproc://zeromq.zap.01 in the context's inproc registry (only reachable with the GIL)
# and link to it as an inproc DEALER would; the link goes to the I/O thread in the
# endpoint's options snapshot. No handler bound now: no link, and libzmq's "no handler"
# rules apply to that endpoint's connections.
from zmqx._core.mechanism cimport ZX_MECH_NULL, ZX_MECH_PLAIN, ZX_MECH_CURVE
from zmqx._core.zmtp cimport ZX_DEALER

_ZAP_ENDPOINT = "zeromq.zap.01"


cdef zx_zap *_zap_open(Socket self, zx_iothread *io) except? NULL:
    cdef zx_link *link
    cdef zx_zap *z
    cdef Socket binder
    cdef zx_opts *o = &self.opts
    o.zap = NULL
    if not ((o.mechanism != ZX_MECH_NULL and o.as_server) or o.zap_domain_len > 0):
        return NULL
    ctx = self.context
    with ctx._lock:
        ref = ctx._inproc.get(_ZAP_ENDPOINT)
        binder = ref() if ref is not None else None
    if binder is None or binder is self or binder._closed or binder.sb == NULL \
            or not zx_socktype_compatible(ZX_DEALER, binder.socket_type):
        return NULL
    link = zx_link_new(0, 0)
    if link == NULL:
        raise MemoryError()
    link.socktype[0] = ZX_DEALER
    binder._accept_inproc_link(link, self)
    z = zx_zap_new(io, link)
    if z == NULL:
        zx_link_unref(link)
        zx_link_unref(link)
        raise MemoryError()
    zx_sockbase_ref(binder.sb)
    zx_link_set_waker(link, 1, zx_sockbase_wake, binder.sb, zx_sockbase_unref)
    if zx_mailbox_post(&binder.sb.mb, ZX_CMD_ATTACH, link, 1) < 0:
        zx_store(&link.gone[1], 1)      # the handler closed meanwhile
        zx_link_unref(link)
    return z
