# The socket-type rooms, and the ONE table that maps a socket type number to its hooks.
# Each type lives in its own file, patterns/<type>.pxi, included below: it defines a state
# class (its routing strategies and options), its hooks, and one zx_sockops value that
# it registers under its type number (so adding a type is one file plus one include). The
# files are compiled into this one module so hook calls between helpers stay direct C
# calls and the build stays one extension; they talk to the socket only through
# sockcore.pxd (zx_sock, the slots) and to the strategies through lb/fq/dist/routes/trie.
from libc.string cimport memcpy, memcmp
from libc.stdint cimport uint32_t

from zmqx._core.atomic cimport zx_store
from zmqx._core.mailbox cimport zx_sockbase, zx_mailbox_post, ZX_CMD_TERM
from zmqx._core.pipe cimport zx_pipe, zx_link_out
from zmqx._core.io_thread cimport (ZX_WAKE_REFUSED, ZX_PEER_UDP, ZX_WIRE_RAW, ZX_WIRE_JOIN_OUT,
                                   ZX_WIRE_JOIN_IN)
from zmqx._core.msg cimport (zx_msg, zx_msg_init, zx_msg_close, zx_msg_copy, zx_msg_data,
                             zx_msg_init_copy, zx_msg_init_size, ZX_MSG_MORE, ZX_MSG_SUBSCRIPTION,
                             ZX_GROUP_MAX)
from zmqx._core.slots cimport (zx_slot, zx_slot_write, zx_slot_read, zx_slot_readable,
                               zx_slot_can_write)
from zmqx._core.sockcore cimport (zx_sock, zx_sockops, ZX_T_SEND, ZX_T_RECV, ZX_T_ATTACH_LATE,
                                  ZX_T_THREADSAFE, ZX_T_SINGLEPART, ZX_T_CONNECT_PEER,
                                  ZX_T_GROUPS, ZX_T_UDP, ZX_OPT_JOIN, ZX_OPT_LEAVE)
from zmqx._core.lb cimport (zx_lb, zx_lb_init, zx_lb_send, zx_lb_has_out, zx_lb_begin,
                            zx_lb_removed)
from zmqx._core.fq cimport zx_fq, zx_fq_init, zx_fq_recv, zx_fq_has_in, zx_fq_removed, zx_fq_skip_rest
from zmqx._core.dist cimport (zx_dist, zx_dist_init, zx_dist_mark_all, zx_dist_drop_full,
                              zx_dist_send)
from zmqx._core.routes cimport RouteTable, IdRoutes, ZX_ROUTE_ADDED, ZX_ROUTE_REFUSED
from zmqx._core.trie cimport (zx_trie, zx_trie_new, zx_trie_free, zx_trie_add, zx_trie_rm,
                              zx_trie_match, zx_trie_foreach, zx_trie_cb)
from zmqx._core.zmtp cimport (ZX_PAIR, ZX_PUB, ZX_SUB, ZX_REQ, ZX_REP, ZX_DEALER, ZX_ROUTER,
                              ZX_PULL, ZX_PUSH, ZX_XPUB, ZX_XSUB, ZX_SERVER, ZX_CLIENT,
                              ZX_RADIO, ZX_DISH, ZX_GATHER, ZX_SCATTER, ZX_PEER, ZX_CHANNEL,
                              ZX_STREAM)

import errno as _errno
from zmqx.error import ZMQError
from zmqx.constants import EFSM as _EFSM, SocketOption as _O

cdef int EINVAL_ = _errno.EINVAL
cdef int ENOTSUP_ = _errno.ENOTSUP
cdef int EHOSTUNREACH_ = _errno.EHOSTUNREACH
cdef int EFSM_ = _EFSM

cdef enum:
    F_SNDMORE = 2

# option numbers the rooms handle (from the options table, via constants)
cdef int O_SUBSCRIBE = _O.SUBSCRIBE
cdef int O_UNSUBSCRIBE = _O.UNSUBSCRIBE
cdef int O_ROUTER_MANDATORY = _O.ROUTER_MANDATORY
cdef int O_ROUTER_HANDOVER = _O.ROUTER_HANDOVER
cdef int O_REQ_CORRELATE = _O.REQ_CORRELATE
cdef int O_REQ_RELAXED = _O.REQ_RELAXED
cdef int O_XPUB_VERBOSE = _O.XPUB_VERBOSE
cdef int O_XPUB_VERBOSER = _O.XPUB_VERBOSER
cdef int O_XPUB_NODROP = _O.XPUB_NODROP
cdef int O_XPUB_MANUAL = _O.XPUB_MANUAL
cdef int O_XPUB_WELCOME_MSG = _O.XPUB_WELCOME_MSG
cdef int O_TOPICS_COUNT = _O.TOPICS_COUNT


# ---------------------------------------------------------------- shared by the rooms

cdef int _no_send(zx_sock *s, zx_msg *m, int flags) except -1:
    raise ZMQError(ENOTSUP_)


cdef int _no_recv(zx_sock *s, zx_msg *m) except -1:
    raise ZMQError(ENOTSUP_)


cdef int _never(zx_sock *s) except -1:
    return 0


cdef int _always(zx_sock *s) except -1:
    return 1


cdef int _slot_noop(zx_sock *s, int idx) except -1:
    return 0


cdef int _no_setopt(zx_sock *s, int option, object value) except -1:
    raise ZMQError(EINVAL_)


cdef object _no_getopt(zx_sock *s, int option):
    raise ZMQError(EINVAL_)


cdef int _write(zx_sock *s, int idx, zx_msg *m, bint more) except -1:
    if zx_slot_write(&s.slots[idx], m, more) < 0:
        raise MemoryError()
    return 0


cdef int _write_bytes(zx_sock *s, int idx, bytes data, bint more) except -1:
    cdef zx_msg m
    if zx_msg_init_copy(&m, <char *>data, len(data)) < 0:
        raise MemoryError()
    return _write(s, idx, &m, more)


cdef int _refuse(zx_sock *s, int idx) except -1:
    # never use this peer (a second PAIR peer, a duplicate ROUTER id): drop the link
    # unread and tell the other side at once: an inproc peer socket gets TERM; a session
    # is woken with ZX_WAKE_REFUSED and ends its connection (ZX_END_REFUSED)
    cdef zx_slot *sl = &s.slots[idx]
    cdef zx_pipe *p = zx_link_out(sl.link, sl.side)
    sl.dying = True
    sl.refused = True
    zx_store(&sl.link.gone[sl.side], 1)
    if not sl.io and sl.link.release_arg[1 - sl.side] != NULL:
        zx_mailbox_post(&(<zx_sockbase *>sl.link.release_arg[1 - sl.side]).mb,
                        ZX_CMD_TERM, sl.link, 0)
    elif sl.io and p.on_readable.fn != NULL:
        p.on_readable.fn(p.on_readable.arg, sl.link, ZX_WAKE_REFUSED)
    s.need_reap = True
    return 0


cdef int _slot_of(zx_sock *s, void *link) noexcept:
    cdef int i
    if link == NULL:
        return -1
    for i in range(s.nslots):
        if <void *>s.slots[i].link == link and not s.slots[i].dying:
            return i
    return -1


cdef void _collect_prefix(void *arg, const unsigned char *p, size_t n, long refcnt) noexcept with gil:
    (<list>arg).append((p[:n], refcnt))


cdef list _trie_items(zx_trie *t):
    out = []
    zx_trie_foreach(t, <zx_trie_cb>_collect_prefix, <void *>out)
    return out


cdef int _send_subscription(zx_sock *s, int idx, bint subscribe, const unsigned char *p,
                            size_t n) except -1:
    # 1/0 + topic, marked so the engine turns it into SUBSCRIBE/CANCEL for 3.1 peers
    cdef zx_msg m
    if zx_msg_init_size(&m, n + 1) < 0:
        raise MemoryError()
    zx_msg_data(&m)[0] = 1 if subscribe else 0
    if n:
        memcpy(zx_msg_data(&m) + 1, p, n)
    m.flags = ZX_MSG_SUBSCRIPTION
    return _write(s, idx, &m, False)


cdef int _recv_single(zx_fq *fq, zx_sock *s, zx_msg *m, int *idx) noexcept:
    # the single-part types' fair-queue: the next one-frame message. A multipart one (no
    # libzmq peer sends it, but a raw one may) is dropped whole, as libzmq drops it
    while zx_fq_recv(fq, s.slots, s.nslots, m, idx):
        if not (m.flags & ZX_MSG_MORE):
            return 1
        zx_fq_skip_rest(fq, s.slots, m)
    return 0


cdef void _ops_defaults(zx_sockops *o, int socktype, const char *name, int flags,
                       int linger) noexcept:
    # a room starts from "does nothing"; it then sets the hooks it implements
    o.socktype = socktype
    o.name = name
    o.flags = flags
    o.linger = linger
    o.init = NULL
    o.attach = _slot_noop
    o.detach = _slot_noop
    o.hiccup = _slot_noop
    o.removed = _slot_noop
    o.send = _no_send
    o.recv = _no_recv
    o.has_in = _never
    o.has_out = _never
    o.setopt = _no_setopt
    o.getopt = _no_getopt


# ---------------------------------------------------------------- THE table

cdef enum:
    ZX_NTYPES = 21            # libzmq's socket type numbers: PAIR (0) .. CHANNEL (20)

cdef const zx_sockops *_TABLE[ZX_NTYPES]


cdef void _register(const zx_sockops *o) noexcept:
    # the last line of every room: its hooks answer for its type number
    _TABLE[o.socktype] = o


# One line per socket type: its room, which ends with `_register(&<TYPE>_OPS)`.
include "patterns/pair.pxi"
include "patterns/push.pxi"
include "patterns/pull.pxi"
include "patterns/dealer.pxi"
include "patterns/router.pxi"
include "patterns/req.pxi"
include "patterns/rep.pxi"
include "patterns/xpub.pxi"
include "patterns/pub.pxi"
include "patterns/xsub.pxi"
include "patterns/sub.pxi"
include "patterns/client.pxi"
include "patterns/server.pxi"
include "patterns/scatter.pxi"
include "patterns/gather.pxi"
include "patterns/peer.pxi"
include "patterns/channel.pxi"
include "patterns/radio.pxi"
include "patterns/dish.pxi"
include "patterns/stream.pxi"


cdef const zx_sockops *zx_socktype_ops(int socktype) noexcept:
    # NULL for a type zmqx does not implement
    if socktype < 0 or socktype >= ZX_NTYPES:
        return NULL
    return _TABLE[socktype]


def implemented_types():
    """Socket type numbers with a room, and their names (for tests and docs)."""
    return {t: _TABLE[t].name.decode() for t in range(ZX_NTYPES) if _TABLE[t] != NULL}
