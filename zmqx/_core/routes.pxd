# Routing table (ROUTER): routing id <-> slot index. See routes.pyx.
from libc.stdint cimport uint32_t

cdef enum:
    ZX_ROUTE_ADDED = -1        # the slot now answers to its routing id
    ZX_ROUTE_REFUSED = -2      # the id is taken and handover is off: refuse the newcomer

cdef class RouteTable:
    cdef list rids             # routing id of each slot (None: unnamed), parallel to slots
    cdef dict routes           # routing id -> slot index, for the slots one may send to
    cdef uint32_t next_rid     # generator for peers that announce no id

    cdef int add(self, int idx, bytes rid, bint handover) except -3
    cdef int lookup(self, object rid) except -2
    cdef object rid_of(self, int idx)
    cdef int forget(self, int idx) except -1
    cdef int removed(self, int idx) except -1
