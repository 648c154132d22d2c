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


# SERVER/PEER: peers named by a uint32 the socket gives each (never 0), slot index <-> id
cdef class IdRoutes:
    cdef dict slot_of          # id -> slot index, for the slots one may send to
    cdef list ids              # id of each slot (0: none), parallel to slots
    cdef uint32_t next_id      # the next id to give (counts up from a random start)

    cdef uint32_t add(self, int idx) except 0
    cdef int lookup(self, uint32_t rid) except -2
    cdef uint32_t id_of(self, int idx) except? 0
    cdef int forget(self, int idx) except -1
    cdef int removed(self, int idx) except -1
