# PUB: XPUB (xpub.pxi) without the way up: subscriptions are applied, never handed to the
# app, and recv is not allowed.

cdef zx_sockops PUB_OPS
_ops_defaults(&PUB_OPS, ZX_PUB, "PUB", ZX_T_SEND, -1)
PUB_OPS.init = _xpub_init
PUB_OPS.attach = _xpub_attach
PUB_OPS.detach = _xpub_detach
PUB_OPS.removed = _xpub_removed
PUB_OPS.send = _xpub_send
PUB_OPS.has_out = _xpub_has_out
PUB_OPS.setopt = _xpub_setopt
PUB_OPS.getopt = _xpub_getopt
_register(&PUB_OPS)
