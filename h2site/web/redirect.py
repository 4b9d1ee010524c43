# -*- test-case-name: tests.test_redirect -*-
"""
The plain-HTTP listener of C{--redirect}: every request is sent, with a 308,
to the same host and path over HTTPS.

308 rather than 301: it keeps the method and body, and is just as permanent
for caches and search engines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from .accesslog import AccessLog
from .endpoints import ListenSpec, splitDescription
from .errors import StartupError
from .service import listenNow

__all__ = ["RedirectResource", "RedirectService", "configuredPort", "redirectTarget"]

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

    def __init__(self, httpsPort: Callable[[], int]) -> None:
        """
        @param httpsPort: the port to send clients to, asked per request
            because it is known only once the HTTPS listener is up.
        """
        super().__init__()
        self._httpsPort = httpsPort

    def render(self, request: Request) -> int:
        location = redirectTarget(
            request.getHeader(b"host"), request.uri, self._httpsPort()
        )
        headers = request.responseHeaders
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


def configuredPort(spec: ListenSpec) -> int | None:
    """
    The port number a C{tcp:} listener was given, or L{None} (another kind,
    or port 0, which only the kernel's choice will tell).
    """
    args, kwargs = splitDescription(spec.plain)
    if not args or args[0].strip().lower() not in ("tcp", "tcp6"):
        return None
    port = kwargs.get("port", args[1] if len(args) > 1 else "")
    return int(port) if port.isdigit() and int(port) else None


class RedirectService(service.Service):
    """
    Listen on the C{--redirect} endpoints (in C{privilegedStartService}, so
    port 80 works when started as root).
    """

    def __init__(
        self,
        listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        site: Site,
        accessLog: AccessLog | None = None,
    ) -> None:
        """
        @param accessLog: the log to open and close here, when no other
            service in this process does.
        """
        self._listen = listen
        self._site = site
        self._accessLog = accessLog
        self._ports: list[IListeningPort] = []

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self._accessLog is not None:
            try:
                self._accessLog.open()
            except OSError as e:
                raise StartupError(f"cannot open the access log: {e}") from None
        for spec, endpoint in self._listen:
            self._ports.append(
                listenNow(spec, endpoint, self._site, "redirecting to HTTPS")
            )

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        ports, self._ports = self._ports, []
        d: Deferred[Any] = gatherResults(
            [maybeDeferred(p.stopListening) for p in ports]
        )

        def closeLog(result: object) -> object:
            if self._accessLog is not None:
                self._accessLog.close()
            return result

        d.addBoth(closeLog)
        return d
