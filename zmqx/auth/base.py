"""The ZAP handler's policy: which addresses, passwords and CURVE keys are let in, and
the RFC 27 reply each request gets.

This module owns the decisions and the reply format only; *when* requests are read is
left to a driver (ThreadAuthenticator, AsyncioAuthenticator, or the caller's own loop),
so one policy serves every way of running it. Two invariants every driver relies on:

- handle_zap_message sends exactly one reply per request, whatever the request holds and
  whatever a user callback does (a handler on a REP socket that skips a reply can never
  read another request, which would stall every secured connection in the process);
- configuration changes go through ``_update``, so a driver that serves requests in
  another thread can apply them between requests, never in the middle of one.

Replies match pyzmq's zmq.auth code for code and text wherever pyzmq answers at all, so a
program moving from ``import zmq`` to ``import zmqx as zmq`` sees the same outcomes.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import os
from typing import Any, Callable, Optional, Union

import zmqx
from zmqx.utils import z85

from .certs import load_certificates

__all__ = ["Authenticator", "CURVE_ALLOW_ANY", "VERSION", "ZAP_ENDPOINT"]

#: Pass as configure_curve's ``location`` to accept any client key (encryption, no
#: client authentication).
CURVE_ALLOW_ANY = "*"

#: The only ZAP version there is (RFC 27); requests naming another get a 400.
VERSION = b"1.0"

#: Where RFC 27 says the handler binds; servers of the same context connect here.
ZAP_ENDPOINT = "inproc://zeromq.zap.01"

# RFC 27 status codes
_OK, _DENIED, _INTERNAL = b"200", b"400", b"500"

# a CURVE long-term public key, raw (RFC 27: "a 32-byte long-term public key")
_CURVE_KEY_SIZE = 32


class Authenticator:
    """A ZAP handler (RFC 27) with pyzmq's policy model.

    Before any policy is set, NULL connections are accepted and PLAIN and CURVE ones are
    refused. Address filters (``allow`` or ``deny``, never both) apply to every
    mechanism; PLAIN and CURVE must then also present credentials known for the domain.

    This class binds the handler socket but does not read it: call ``start()``, then feed
    it requests yourself::

        auth = Authenticator(ctx)
        auth.start()
        while True:
            await auth.handle_zap_message(auth.zap_socket.recv_multipart())

    ThreadAuthenticator and AsyncioAuthenticator do that for you.
    """

    context: "zmqx.Context"
    encoding: str
    allow_any: bool
    credentials_providers: dict[str, Any]
    zap_socket: Any
    passwords: dict[str, dict[str, str]]
    certs: dict[str, dict[bytes, Any]]
    log: Any

    def __init__(
        self,
        context: Optional["zmqx.Context"] = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        self.context = context or zmqx.Context.instance()
        self.encoding = encoding
        self.allow_any = False
        self.credentials_providers = {}
        self.zap_socket = None
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        # domain -> {username: password}
        self.passwords = {}
        # domain -> {z85 public key (bytes): truthy}
        self.certs = {}
        self.log = log or logging.getLogger("zmqx.auth")

    # ------------------------------------------------------------------ lifecycle

    # the class of the handler socket; AsyncioAuthenticator reads it with await
    _zap_socket_class: Any = zmqx.Socket

    def start(self) -> None:
        """Bind the handler socket at inproc://zeromq.zap.01.

        Raises ZMQError(EADDRINUSE) if a handler is already bound in this context (RFC 27
        allows one per process); nothing is left open in that case.
        """
        sock = self.context.socket(zmqx.REP, socket_class=self._zap_socket_class)
        try:
            sock.linger = 1
            sock.bind(ZAP_ENDPOINT)
        except BaseException:
            sock.close(linger=0)
            raise
        self.zap_socket = sock
        self.log.debug("Starting")

    def stop(self) -> None:
        """Close the handler socket (its endpoint is free again at once)."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    # ------------------------------------------------------------------ configuration

    def _update(self, change: Callable[[], None]) -> None:
        """Apply one configuration change. Nothing else reads the policy here, so at
        once; a driver serving from another thread overrides this to apply it there."""
        change()

    def allow(self, *addresses: str) -> None:
        """Let in only these client addresses (and those allowed by earlier calls).

        NULL clients from them are accepted outright; PLAIN and CURVE ones go on to
        authenticate. Raises ValueError if ``deny`` was used: the lists are exclusive.
        """
        def change() -> None:
            if self._denied:
                raise ValueError("Only use allow or deny, not both")
            self.log.debug("Allowing %s", ",".join(addresses))
            self._allowed.update(addresses)

        self._update(change)

    def deny(self, *addresses: str) -> None:
        """Refuse these client addresses, whatever their credentials; others go on to
        authenticate. Raises ValueError if ``allow`` was used: the lists are exclusive.
        """
        def change() -> None:
            if self._allowed:
                raise ValueError("Only use a allow or deny, not both")
            self.log.debug("Denying %s", ",".join(addresses))
            self._denied.update(addresses)

        self._update(change)

    def configure_plain(
        self, domain: str = "*", passwords: Optional[dict[str, str]] = None
    ) -> None:
        """PLAIN for ``domain`` ("*" covers clients whose server set no ZAP domain):
        ``passwords`` maps user names to passwords. The dict is kept, not copied, so
        later edits to it take effect; an empty or missing dict changes nothing."""
        def change() -> None:
            if passwords:
                self.passwords[domain] = passwords
            self.log.debug("Configure plain: %s", domain)

        self._update(change)

    def configure_curve(
        self, domain: str = "*", location: Union[str, os.PathLike] = "."
    ) -> None:
        """CURVE for ``domain``: accept the client keys whose public certificates lie in
        the directory ``location``, or any key if ``location`` is CURVE_ALLOW_ANY.

        The directory is read now (call again after adding or removing certificates); a
        directory that cannot be read is logged as an error and the domain keeps the keys
        it had. As in pyzmq, allowing any key holds for every domain until configure_curve
        is called with a directory or configure_curve_callback is called.
        """
        self.log.debug("Configure curve: %s[%s]", domain, location)
        allow_any = location == CURVE_ALLOW_ANY
        keys: Optional[dict[bytes, Any]] = None
        if not allow_any:
            # read the files here, in the caller's thread, not where requests are served
            try:
                keys = load_certificates(location)
            except Exception as e:
                self.log.error("Failed to load CURVE certs from %s: %s", location, e)

        def change() -> None:
            self.allow_any = allow_any
            if keys is not None:
                self.certs[domain] = keys

        self._update(change)

    def configure_curve_callback(
        self, domain: str = "*", credentials_provider: Any = None
    ) -> None:
        """CURVE for ``domain``, decided by ``credentials_provider.callback(domain, key)``
        where ``key`` is the client's public key in Z85 (bytes). A true result lets the
        client in; the callback may also return an awaitable of that result. Once any
        provider is configured, providers decide every CURVE request (certificate
        directories are no longer consulted), as in pyzmq."""
        def change() -> None:
            self.allow_any = False
            if credentials_provider is not None:
                self.credentials_providers[domain] = credentials_provider
            else:
                self.log.error("None credentials_provider provided for domain:%s", domain)

        self._update(change)

    def configure_gssapi(self, domain: str = "*", location: Optional[str] = None) -> None:
        """Nothing to configure: GSSAPI clients were authenticated by Kerberos before
        ZAP is asked, and their principal becomes the User-Id (as in pyzmq)."""

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id given to a CURVE client that was let in: by default the Z85 text of
        its 32-byte public key. Override to map keys to your own user names."""
        return z85.encode(client_public_key).decode("ascii")

    # ------------------------------------------------------------------ requests

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Answer one ZAP request (the frames after the envelope, as REP delivers them).

        Exactly one reply is sent, always echoing the request id (empty if the request
        was too short to carry one). A request that is malformed gets 400; if deciding
        raises (a credentials callback failing, say), the error is logged and the client
        gets 500 "Internal error", as RFC 27 provides for system failures.
        """
        request_id = b""
        try:
            frames = [f if isinstance(f, bytes) else bytes(f) for f in msg]
            if len(frames) > 1:
                request_id = frames[1]
            code, text, user_id = await self._decide(frames)
        except Exception:
            self.log.exception("ZAP handler failed on request %r", request_id)
            code, text, user_id = _INTERNAL, b"Internal error", ""
        self._send_zap_reply(request_id, code, text, user_id)

    async def _decide(self, frames: list[bytes]) -> tuple[bytes, bytes, str]:
        """(status code, status text, user id) for one request."""
        if len(frames) < 6:
            self.log.error("Invalid ZAP message, not enough frames: %r", frames)
            return _DENIED, b"Not enough frames", ""
        version, request_id, raw_domain, raw_address, identity, mechanism = frames[:6]
        credentials = frames[6:]
        if version != VERSION:
            # (not the credentials: a password has no place in a log)
            self.log.error("Invalid ZAP version: %r", frames[:6])
            return _DENIED, b"Invalid version", ""
        domain = raw_domain.decode(self.encoding, "replace")
        address = raw_address.decode(self.encoding, "replace")
        self.log.debug(
            "request %r: domain %r, address %r, identity %r, mechanism %r",
            request_id, domain, address, identity, mechanism,
        )

        # the address filter first: a denied address never reaches its credentials
        allowed = denied = False
        reason = b"NO ACCESS"
        if self._allowed:
            if address in self._allowed:
                allowed = True
                self.log.debug("PASSED (allowed) address=%s", address)
            else:
                denied = True
                reason = b"Address not allowed"
                self.log.debug("DENIED (not allowed) address=%s", address)
        elif self._denied:
            if address in self._denied:
                denied = True
                reason = b"Address denied"
                self.log.debug("DENIED (denied) address=%s", address)
            else:
                allowed = True
                self.log.debug("PASSED (not denied) address=%s", address)
        if denied:
            return _DENIED, reason, ""

        user_id = "anonymous"
        if mechanism == b"NULL":
            # NULL carries no credentials: whoever the address filter let through
            allowed = True
        elif mechanism == b"PLAIN":
            # an allowed address still has to know the password
            if len(credentials) != 2:
                self.log.error("Invalid PLAIN credentials: %r frames", len(credentials))
                return _DENIED, b"Invalid credentials", ""
            user_id, password = (c.decode(self.encoding, "replace") for c in credentials)
            allowed, reason = self._authenticate_plain(domain, user_id, password)
        elif mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != _CURVE_KEY_SIZE:
                # RFC 27: exactly one frame, the 32-byte long-term public key
                self.log.error("Invalid CURVE credentials: %r", credentials)
                return _DENIED, b"Invalid credentials", ""
            key = credentials[0]
            allowed, reason = await self._authenticate_curve(domain, key)
            if allowed:
                user_id = self.curve_user_id(key)
        elif mechanism == b"GSSAPI":
            if len(credentials) != 1:
                self.log.error("Invalid GSSAPI credentials: %r", credentials)
                return _DENIED, b"Invalid credentials", ""
            principal = credentials[0]
            user_id = principal.decode(self.encoding, "replace")
            allowed, reason = self._authenticate_gssapi(domain, principal)
        # any other mechanism: the address filter's verdict stands (pyzmq's rule)

        if allowed:
            return _OK, b"OK", user_id
        return _DENIED, reason, ""

    def _authenticate_plain(
        self, domain: str, username: str, password: str
    ) -> tuple[bool, bytes]:
        """PLAIN: the user must be known in the domain ("*" when the server set none)
        and the password must match (compared in constant time)."""
        if not self.passwords:
            self.log.debug("DENIED (PLAIN) No passwords defined")
            return False, b"No passwords defined"
        domain = domain or "*"
        users = self.passwords.get(domain)
        if users is None:
            reason = b"Invalid domain"
        elif username not in users:
            reason = b"Invalid username"
        elif _same_secret(users[username], password):
            self.log.debug("ALLOWED (PLAIN) domain=%s username=%s", domain, username)
            return True, b"OK"
        else:
            reason = b"Invalid password"
        self.log.debug("DENIED (PLAIN) domain=%s username=%s: %s", domain, username, reason)
        return False, reason

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        """CURVE: any key, or the domain's provider callback, or the domain's
        certificate directory, in that order of precedence (pyzmq's)."""
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        domain = domain or "*"
        z85_key = z85.encode(client_key)
        if self.credentials_providers:
            provider = self.credentials_providers.get(domain)
            if provider is None:
                return False, b"Unknown domain"
            verdict = provider.callback(domain, z85_key)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            how = "CURVE auth_callback"
        else:
            keys = self.certs.get(domain)
            if keys is None:
                return False, b"Unknown domain"
            verdict = keys.get(z85_key)
            how = "CURVE"
        self.log.debug(
            "%s (%s) domain=%s client_key=%s",
            "ALLOWED" if verdict else "DENIED", how, domain, z85_key,
        )
        return (True, b"OK") if verdict else (False, b"Unknown key")

    def _authenticate_gssapi(self, domain: str, principal: bytes) -> tuple[bool, bytes]:
        """GSSAPI was settled by Kerberos already; ZAP only records who it was."""
        self.log.debug("ALLOWED (GSSAPI) domain=%s principal=%s", domain, principal)
        return True, b"OK"

    def _send_zap_reply(
        self,
        request_id: bytes,
        status_code: bytes,
        status_text: bytes,
        user_id: Union[str, bytes] = "anonymous",
    ) -> None:
        """Send the RFC 27 reply: version, request id, status code and text, user id
        (only on 200), metadata (none)."""
        if status_code != _OK:
            user_id = b""
        elif isinstance(user_id, str):
            user_id = user_id.encode(self.encoding, "replace")
        self.log.debug("ZAP reply code=%s text=%s", status_code, status_text)
        self._send_reply_frames([VERSION, request_id, status_code, status_text, user_id, b""])

    def _send_reply_frames(self, frames: list[bytes]) -> None:
        self.zap_socket.send_multipart(frames)


def _same_secret(expected: Union[str, bytes], given: str) -> bool:
    """Password equality without a timing side channel. Text is compared as UTF-8
    (surrogates passed through), so the result is exactly that of ``==`` on the strings."""
    if isinstance(expected, str):
        expected = expected.encode("utf-8", "surrogatepass")
    elif not isinstance(expected, bytes):
        return False
    return hmac.compare_digest(expected, given.encode("utf-8", "surrogatepass"))
