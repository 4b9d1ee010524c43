# -*- test-case-name: tests.unit.http.test_earlyhints -*-
"""
103 Early Hints: tell the browser which assets to fetch while the final
response is still being prepared (RFC 8297).

Browsers no longer accept server push; a 103 with C{Link: rel=preload} headers
is what replaced it, and neither Twisted nor nginx can send one by
themselves.  This module is the one public way for h2site's resources to
send it, whatever the protocol of the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from h2site.http.interfaces import IInformationalChannel

__all__ = ["sendEarlyHints"]

_FORBIDDEN = (b"\r", b"\n", b"\x00")


def _encode(link: str | bytes) -> bytes:
    value = link.encode("latin-1") if isinstance(link, str) else link
    if any(byte in value for byte in _FORBIDDEN):
        raise ValueError(f"a Link value may not hold CR, LF or NUL: {value!r}")
    return value.strip(b" \t")


def sendEarlyHints(request: Any, links: Sequence[str | bytes]) -> bool:
    """
    Send a C{103 Early Hints} informational response, with one C{Link}
    header field per item of C{links}, ahead of C{request}'s final response.

    The contract:

     - Call it from a resource, before the response is written: before the
       first C{request.write} or C{request.finish} (setting the status or
       headers first is fine; they belong to the final response).
     - Over HTTP/2 (connections of h2site's C{Site}) it sends a HEADERS frame
       with C{:status 103}, over HTTP/3 a HEADERS frame on the request's
       stream; over HTTP/1.1 it writes C{HTTP/1.1 103 Early
       Hints} and the C{Link} lines, then the blank line.
     - It sends nothing and returns L{False} to HTTP/1.0 clients (1xx
       responses do not exist there), once the final headers are written,
       after the client has gone, when C{links} is empty, and on channels
       that do not provide L{IInformationalChannel} (Twisted's own, or a
       test's C{DummyRequest}).
     - It may be called more than once; each call is one more 103.
     - Clients may ignore a 103 (and some proxies drop them), so the final
       response should carry the same C{Link} headers too.
     - Whether to send hints at all (say, only to browsers navigating, or
       not over HTTP/1.1, where some old clients mishandle 1xx) is the
       caller's decision; this function only sends them correctly.

    @param request: a L{twisted.web.server.Request} being processed.
    @param links: C{Link} field values, e.g.
        C{'</static/app.css>; rel=preload; as=style'}, as text (Latin-1) or
        bytes.
    @raise ValueError: if a value holds CR, LF or NUL (which would let it
        forge headers); nothing is sent then.
    @return: whether a 103 was sent.
    """
    values = [_encode(link) for link in links]
    # getattr: stand-ins for requests (DummyRequest) lack some attributes.
    if not values or getattr(request, "startedWriting", True) or request.finished:
        return False
    if getattr(request, "clientproto", None) not in (b"HTTP/1.1", b"HTTP/2", b"HTTP/3"):
        return False
    # A request's channel is None once its client has gone.
    channel = getattr(request, "channel", None)
    if not IInformationalChannel.providedBy(channel):
        return False
    return bool(channel.writeInformational(103, [(b"link", value) for value in values]))
