# Routing tables: which slot answers to which routing id. Know nothing of sockets or pipes:
# the slot index is an opaque number, which keeps them testable on their own.
# RouteTable (ROUTER): a peer is named by the id it announced (or that CONNECT_ROUTING_ID
# gave it), else by a generated 5-byte id starting with 0x00, as libzmq makes them. A peer
# that went away can no longer be sent to, but its id stays attached to its slot until the
# slot is removed, so the messages it sent before leaving are still delivered under its
# name. IdRoutes (SERVER, PEER): uint32 ids the socket gives its peers itself.
from libc.stdint cimport uint32_t
import os


cdef class RouteTable:

    def __cinit__(self):
        self.rids = []
        self.routes = {}
        self.next_rid = 0x6B8B4567      # libzmq starts from a random value too

    cdef int add(self, int idx, bytes rid, bint handover) except -3:
        # slot idx arrives (idx may be past the end: the list grows). Returns
        # ZX_ROUTE_ADDED, ZX_ROUTE_REFUSED, or the index of the slot whose id was handed
        # over to the newcomer (ROUTER_HANDOVER; that slot must be dropped).
        cdef int old
        while len(self.rids) <= idx:
            self.rids.append(None)
        if not rid:
            rid = b"\x00" + (<object>self.next_rid).to_bytes(4, "big")
            self.next_rid += 1
        old = self.routes.get(rid, -1)
        if old >= 0:
            if not handover:
                return ZX_ROUTE_REFUSED
            self.rids[old] = None
        self.rids[idx] = rid
        self.routes[rid] = idx
        return old if old >= 0 else ZX_ROUTE_ADDED

    cdef int lookup(self, object rid) except -2:
        # the slot to send to for this id, or -1
        return self.routes.get(rid, -1)

    cdef object rid_of(self, int idx):
        # the id messages from slot idx are delivered under (None: unnamed)
        if idx < len(self.rids):
            return self.rids[idx]
        return None

    cdef int forget(self, int idx) except -1:
        # the peer of slot idx went away: no more sending to it (its id stays for what it
        # already sent)
        rid = self.rid_of(idx)
        if rid is not None and self.routes.get(rid) == idx:
            del self.routes[rid]
        return 0

    cdef int removed(self, int idx) except -1:
        # slot idx is gone; the slots after it move down by one
        rid = self.rid_of(idx)
        if rid is not None and self.routes.get(rid) == idx:
            del self.routes[rid]
        if idx < len(self.rids):
            del self.rids[idx]
        for key, v in list(self.routes.items()):
            if v > idx:
                self.routes[key] = v - 1
        return 0

    # Python-level access, for tests
    def py_add(self, int idx, bytes rid, bint handover=False):
        return self.add(idx, rid, handover)

    def py_lookup(self, rid):
        return self.lookup(rid)

    def py_rid_of(self, int idx):
        return self.rid_of(idx)

    def py_forget(self, int idx):
        self.forget(idx)

    def py_removed(self, int idx):
        self.removed(idx)

    def __len__(self):
        return len(self.routes)


cdef class IdRoutes:
    """SERVER and PEER name their peers themselves, as libzmq: a uint32 per peer, counting
    up from a random start and skipping 0 (0 means "no routing id" on a message). The id
    is given when the peer's slot arrives; the peer can be sent to until it goes away,
    and what it sent before going away is still delivered under its id."""

    def __cinit__(self, start=None):
        self.slot_of = {}
        self.ids = []
        if start is None:
            start = int.from_bytes(os.urandom(4), "little")
        self.next_id = start

    cdef uint32_t add(self, int idx) except 0:
        # slot idx arrives (appended): its new id
        cdef uint32_t rid = self.next_id
        if rid == 0:
            rid = 1
        while rid in self.slot_of:        # 2**32 ids later, one may still be in use
            rid += 1
            if rid == 0:
                rid = 1
        self.next_id = rid + 1
        while len(self.ids) <= idx:
            self.ids.append(0)
        self.ids[idx] = rid
        self.slot_of[rid] = idx
        return rid

    cdef int lookup(self, uint32_t rid) except -2:
        # the slot to send to for this id, or -1
        return self.slot_of.get(rid, -1)

    cdef uint32_t id_of(self, int idx) except? 0:
        # the id messages from slot idx are delivered under
        if idx < len(self.ids):
            return self.ids[idx]
        return 0

    cdef int forget(self, int idx) except -1:
        # the peer of slot idx went away: no more sending to it
        cdef uint32_t rid = self.id_of(idx)
        if rid and self.slot_of.get(rid) == idx:
            del self.slot_of[rid]
        return 0

    cdef int removed(self, int idx) except -1:
        # slot idx is gone; the slots after it move down by one
        self.forget(idx)
        if idx < len(self.ids):
            del self.ids[idx]
        for key, v in self.slot_of.items():
            if v > idx:
                self.slot_of[key] = v - 1
        return 0

    # Python-level access, for tests
    def py_add(self, int idx):
        return self.add(idx)

    def py_lookup(self, rid):
        return self.lookup(rid)

    def py_id_of(self, int idx):
        return self.id_of(idx)

    def py_forget(self, int idx):
        self.forget(idx)

    def py_removed(self, int idx):
        self.removed(idx)

    def __len__(self):
        return len(self.slot_of)
