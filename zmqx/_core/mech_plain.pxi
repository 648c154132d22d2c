# PLAIN (24/ZMTP-PLAIN) commands, included by mechanism.pyx.
#
# The command shapes are libzmq's (plain_common.hpp), which follow the RFC's grammar, not
# its prose: HELLO = "\x05HELLO" u8 username u8 password; WELCOME = "\x07WELCOME" alone;
# INITIATE = "\x08INITIATE" + metadata; READY = "\x05READY" + metadata. The server stops
# after HELLO for ZAP (libzmq asks ZAP before WELCOME, and fails when no handler exists).

cdef int zx_mech_set_plain(zx_mech *m, const unsigned char *user, size_t ulen,
                           const unsigned char *password, size_t plen) noexcept nogil:
    if ulen > 255 or plen > 255:
        return ZX_ERR_PROTOCOL
    if ulen:
        memcpy(m.username, user, ulen)
    m.username_len = ulen
    if plen:
        memcpy(m.password, password, plen)
    m.password_len = plen
    return ZX_OK


cdef int _plain_next(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t hdr, o
    cdef int rc
    if m.state == _ST_SEND_HELLO:
        rc = _frame_begin(out, cap, 6 + 2 + m.username_len + m.password_len, n, &hdr)
        if rc != ZX_OK:
            return rc
        o = hdr
        memcpy(out + o, "\x05HELLO", 6)
        o += 6
        out[o] = <unsigned char>m.username_len
        memcpy(out + o + 1, m.username, m.username_len)
        o += 1 + m.username_len
        out[o] = <unsigned char>m.password_len
        memcpy(out + o + 1, m.password, m.password_len)
        m.state = _ST_EXPECT_WELCOME
        return ZX_OK
    if m.state == _ST_SEND_INITIATE:
        rc = _encode_simple(m, "\x08INITIATE", 9, m.meta, m.metalen, out, cap, n)
        if rc == ZX_OK:
            m.state = _ST_EXPECT_READY
        return rc
    if m.state == _ST_SEND_WELCOME:
        rc = _encode_simple(m, "\x07WELCOME", 8, NULL, 0, out, cap, n)
        if rc == ZX_OK:
            m.state = _ST_EXPECT_INITIATE
        return rc
    if m.state == _ST_SEND_READY:
        rc = _encode_simple(m, "\x05READY", 6, m.meta, m.metalen, out, cap, n)
        if rc == ZX_OK:
            m.state = _ST_DONE
        return rc
    return ZX_NEED_MORE


cdef int _plain_hello(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef size_t o = 6, ul, pl
    if o >= n:
        return _fail(m, ZX_ERR_PROTOCOL, "PLAIN HELLO: missing username", NULL)
    ul = body[o]
    o += 1
    if ul > n - o:
        return _fail(m, ZX_ERR_PROTOCOL, "PLAIN HELLO: username too long", NULL)
    memcpy(m.username, body + o, ul)
    m.username_len = ul
    o += ul
    if o >= n:
        return _fail(m, ZX_ERR_PROTOCOL, "PLAIN HELLO: missing password", NULL)
    pl = body[o]
    o += 1
    if pl > n - o:
        return _fail(m, ZX_ERR_PROTOCOL, "PLAIN HELLO: password too long", NULL)
    memcpy(m.password, body + o, pl)
    m.password_len = pl
    o += pl
    if o != n:
        return _fail(m, ZX_ERR_PROTOCOL, "PLAIN HELLO: trailing bytes", NULL)
    m.state = _ST_ZAP_HELLO
    return ZX_MECH_NEED_ZAP


cdef int _plain_feed(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef int rc
    if m.state == _ST_EXPECT_HELLO and _starts(body, n, "\x05HELLO", 6):
        return _plain_hello(m, body, n)
    if m.state == _ST_EXPECT_WELCOME and _starts(body, n, "\x07WELCOME", 8):
        if n != 8:
            return _fail(m, ZX_ERR_PROTOCOL, "PLAIN WELCOME: trailing bytes", NULL)
        m.state = _ST_SEND_INITIATE
        return ZX_OK
    if m.state == _ST_EXPECT_INITIATE and _starts(body, n, "\x08INITIATE", 9):
        rc = _accept_meta(m, body + 9, n - 9, True)
        if rc != ZX_OK:
            return rc
        m.state = _ST_SEND_READY
        return ZX_OK
    if m.state == _ST_EXPECT_READY and _starts(body, n, "\x05READY", 6):
        rc = _accept_meta(m, body + 6, n - 6, False)
        if rc != ZX_OK:
            return rc
        m.state = _ST_DONE
        return ZX_OK
    return _fail(m, ZX_ERR_PROTOCOL, "unexpected PLAIN command", NULL)
