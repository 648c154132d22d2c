# The socket-type table: type number -> hooks. See socktypes.pyx.
from zmqx._core.sockcore cimport zx_sockops

cdef const zx_sockops *zx_socktype_ops(int socktype) noexcept
