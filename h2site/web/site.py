# -*- test-case-name: tests.unit.web.test_pages -*-
"""
The resource tree (pages at their paths, files under C{/static/}) and the
C{Site} that serves it.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.web import http, resource, server
from twisted.web.server import Request

from h2site.http.interfaces import HotRequest, HotResponse
from h2site.http.limits import ConnectionLimits
from h2site.http.switch import ConnectionPool, buildProtocol
from h2site.web.headers import HeaderPolicy
from h2site.web.health import HEALTH
from h2site.web.hot import HotRoutes
from h2site.web.request import TimedRequest

__all__ = ["H2Site"]


class H2Site(server.Site):
    """
    A C{Site} with no version banner, no tracebacks shown to clients, the
    access log handed to a callable of ours, and h2site's own connections
    (L{h2site.http.h2.connection}): HTTP/2 that survives hostile clients, and a graceful
    shutdown for every connection.

    @ivar connections: every open connection, for L{closeConnections}.
    @ivar altSvc: the C{Alt-Svc} value announcing HTTP/3 on HTTP/2 and
        HTTP/1.1 responses over TLS, or L{None} when HTTP/3 is off.
    """

    altSvc: bytes | None = None

    displayTracebacks = False
    noisy = False
    # Twisted types this as a protocol class; any callable of the factory works.
    protocol = buildProtocol  # type: ignore[assignment]

    def __init__(
        self,
        root: resource.Resource,
        accessLog: Callable[[http.Request], None],
        healthPath: str | None = None,
        headers: HeaderPolicy | None = None,
        limits: ConnectionLimits | None = None,
        reactor: IReactorTime | None = None,
        hotPath: bool = True,
    ) -> None:
        """
        @param healthPath: the path that answers health checks (200, not
            logged), or L{None} for none.
        @param headers: the security and operator headers for every
            response, or L{None} for none.
        @param limits: the limits of every connection.
        @param reactor: the clock for connection timeouts.
        @param hotPath: answer the HTTP/2 requests that need nothing but a
            cached response without building a request
            (L{h2site.web.hot}); the responses are the same either way.
        """
        limits = limits or ConnectionLimits()
        super().__init__(
            root,
            requestFactory=TimedRequest,
            timeout=limits.idleTimeout,
            reactor=reactor,
        )
        self._accessLog = accessLog
        self._healthPath = healthPath.encode("utf-8") if healthPath else None
        self._headers = headers
        self.connections = ConnectionPool(limits, self.reactor)
        self._hot = (
            HotRoutes(
                lambda: self.resource,
                headers,
                lambda: self.altSvc,
                self._healthPath,
                self.log,
            )
            if hotPath
            else None
        )

    def hotResponse(self, request: HotRequest) -> HotResponse | None:
        """
        The response to a request that needs nothing but a cached one, or
        L{None} for the general path (L{h2site.http.interfaces.HotResponder}).
        """
        hot = self._hot
        return None if hot is None else hot.respond(request)

    def closeConnections(self, timeout: float) -> Deferred[None]:
        """
        Close every open connection gracefully (see
        L{ConnectionPool.shutdown}), aborting what is left after C{timeout}
        seconds.
        """
        return self.connections.shutdown(timeout)

    def getResourceFor(self, request: Request) -> resource.Resource:
        # Request.process has just set "Server: TwistedWeb/x.y"; a version
        # banner only helps attackers pick exploits.
        request.responseHeaders.removeHeader(b"server")
        if self._headers is not None:
            self._headers.apply(request.responseHeaders, request.isSecure())
        altSvc = self.altSvc
        # Only over TLS: the HTTP/3 listeners are the TLS ones.
        if altSvc and request.clientproto != b"HTTP/3" and request.isSecure():
            request.responseHeaders.setRawHeaders(b"alt-svc", [altSvc])
        if self._healthPath is not None and request.path == self._healthPath:
            return HEALTH
        return super().getResourceFor(request)  # type: ignore[no-any-return]

    def log(self, request: http.Request) -> None:
        # Load balancers poll the health path every few seconds; logging each
        # poll would bury the requests that matter.
        if self._healthPath is None or request.path != self._healthPath:
            self._accessLog(request)
