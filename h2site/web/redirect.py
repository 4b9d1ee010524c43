# -*- test-case-name: tests.unit.web.test_redirect -*-
"""
The plain-HTTP listener of C{--redirect}: every request is sent, with a 308,
to the same host and path over HTTPS, except the answers to an ACME CA's
HTTP-01 challenges (RFC 8555, section 8.3): C{/.well-known/acme-challenge/}
tokens found in a mapping that the ACME service fills (L{h2site.acme});
nothing of the protocol is here.

308 rather than 301: it keeps the method and body, and is just as permanent
for caches and search engines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from twisted.web import resource
from twisted.web.server import NOT_DONE_YET, Request

__all__ = ["CHALLENGE_PREFIX", "RedirectResource", "redirectTarget"]

#: Where an ACME CA fetches HTTP-01 answers, the token after it.
CHALLENGE_PREFIX = b"/.well-known/acme-challenge/"

#: A host name, IPv4 address or bracketed IPv6 address, then an optional
#: port: anything else could put another host or a header into Location.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{0,5})?")


def redirectTarget(host: bytes | None, target: bytes, httpsPort: int) -> bytes | None:
    """
    The C{Location} for a request.

    @param host: the request's C{Host}.
    @param target: the request-target as received (origin form C{/p?q},
        or absolute form C{http://h/p?q}, whose path and query are kept).
    @param httpsPort: the HTTPS port, left out of the URL when 443.
    @return: the URL, or L{None} if there is no usable host.
    """
    if host is None:
        return None
    try:
        text = host.decode("ascii")
    except UnicodeDecodeError:
        return None
    m = _HOST.fullmatch(text)
    if m is None:
        return None
    name = m.group(1)
    if target.startswith((b"http://", b"https://")):
        rest = target.split(b"://", 1)[1]
        slash = rest.find(b"/")
        query = rest.find(b"?")
        if slash < 0 or 0 <= query < slash:
            target = b"/" + (rest[query:] if query >= 0 else b"")
        else:
            target = rest[slash:]
    if not target.startswith(b"/"):
        target = b"/"
    port = b"" if httpsPort == 443 else b":%d" % httpsPort
    return b"https://" + name.encode("ascii") + port + target


class RedirectResource(resource.Resource):
    """
    Answer everything with a 308 to HTTPS.
    """

    isLeaf = True

    def __init__(
        self,
        httpsPort: Callable[[], int],
        challenges: Mapping[str, str] | None = None,
    ) -> None:
        """
        @param httpsPort: the port to send clients to, asked per request
            because it is known only once the HTTPS listener is up.
        @param challenges: HTTP-01 tokens to the key authorization to
            answer with, while a CA validates; L{None} for none ever.
        """
        super().__init__()
        self._httpsPort = httpsPort
        self._challenges = challenges

    def _challenge(self, request: Request) -> bytes | None:
        if self._challenges is None or not request.path.startswith(CHALLENGE_PREFIX):
            return None
        token = request.path[len(CHALLENGE_PREFIX) :].decode("ascii", "replace")
        answer = self._challenges.get(token)
        return None if answer is None else answer.encode("ascii")

    def render(self, request: Request) -> int:
        headers = request.responseHeaders
        answer = self._challenge(request)
        if answer is not None:
            headers.setRawHeaders(b"content-type", [b"application/octet-stream"])
            headers.setRawHeaders(b"content-length", [b"%d" % len(answer)])
            request.write(answer)
            request.finish()
            return NOT_DONE_YET
        location = redirectTarget(
            request.getHeader(b"host"), request.uri, self._httpsPort()
        )
        headers.setRawHeaders(b"content-type", [b"text/plain; charset=utf-8"])
        if location is None:
            body = b"This server needs a Host header with a host name.\n"
            request.setResponseCode(400)
        else:
            body = b"This site is served over HTTPS: " + location + b"\n"
            request.setResponseCode(308)
            headers.setRawHeaders(b"location", [location])
        headers.setRawHeaders(b"content-length", [b"%d" % len(body)])
        request.write(body)
        request.finish()
        return NOT_DONE_YET
