# SUB: XSUB (xsub.pxi) that filters what it receives by its subscriptions (SUBSCRIBE /
# UNSUBSCRIBE options) and may not send. Readiness means a message that will be delivered.

cdef zx_sockops SUB_OPS
_ops_defaults(&SUB_OPS, ZX_SUB, "SUB", ZX_T_RECV, 0)
SUB_OPS.init = _xsub_init
SUB_OPS.attach = _xsub_hiccup
SUB_OPS.hiccup = _xsub_hiccup
SUB_OPS.removed = _xsub_removed
SUB_OPS.recv = _xsub_recv
SUB_OPS.has_in = _xsub_has_in
SUB_OPS.setopt = _xsub_setopt
SUB_OPS.getopt = _xsub_getopt
_register(&SUB_OPS)
