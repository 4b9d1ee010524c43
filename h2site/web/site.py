# -*- test-case-name: tests.test_site -*-
"""
The resource tree (pages at their paths, files under C{/static/}) and the
C{Site} that serves it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.web import http, resource, server
from twisted.web.server import Request

from .accesslog import TimedRequest
from .assetfiles import StaticAssetFiles
from .assetgraph import AssetGraph
from .delivery import respond
from .filestore import FileStore, Representation, representationFromBytes
from .headers import HeaderPolicy
from .hintpolicy import (
    EarlyHintsMode,
    PreloadSettings,
    bypassesCache,
    earlyHintsAllowed,
    isNavigation,
)
from .http2 import ConnectionLimits, ConnectionPool, buildProtocol
from .pages import RenderedPage, renderPages, staticURLFactory
from .preload import linkHeaderValues
from .static import REVALIDATE, StaticRoot

__all__ = ["H2Site", "PageResource", "SendEarlyHints", "SiteRoot", "buildResource"]

#: Sends a C{103 Early Hints} response with these C{Link} values ahead of
#: the final response to a request.
SendEarlyHints = Callable[[Request, Sequence[bytes]], object]

_HTML = "text/html; charset=utf-8"

_DEFAULT_NOT_FOUND = RenderedPage(
    url="/404",
    template="",
    body=(
        b"<!doctype html><meta charset=utf-8><title>Not found</title>"
        b"<h1>Not found</h1><p>There is nothing at this address.</p>\n"
    ),
    links=(),
)


class PageResource(resource.Resource):
    """
    A page rendered at start-up, sent as it is with its C{Link} header,
    compressed in advance, with a strong C{ETag} and C{no-cache}: a page's
    URL never changes, so browsers revalidate it and get a 304 while it is
    the same.  For a navigation, when allowed, a C{103 Early Hints} with the
    same links goes first.
    """

    isLeaf = True

    def __init__(
        self,
        page: RenderedPage,
        clock: IReactorTime,
        code: int = 200,
        earlyHints: EarlyHintsMode = "off",
        sendEarlyHints: SendEarlyHints | None = None,
    ) -> None:
        """
        @param earlyHints: when to send a C{103}; C{"off"} unless
            C{sendEarlyHints} is given.
        @param sendEarlyHints: what sends it.
        """
        super().__init__()
        self._page = page
        self._code = code
        self._clock = clock
        self._representation: Representation = representationFromBytes(
            page.body, _HTML, None
        )
        # One field, the values joined by commas (RFC 8288 allows either):
        # each header field costs HPACK and h2 work per response, nine of
        # them cost as much as the rest of the response, and browsers read
        # the joined form the same.
        self._links = [", ".join(page.links).encode("ascii")] if page.links else []
        self._earlyHints: EarlyHintsMode = (
            earlyHints if sendEarlyHints is not None else "off"
        )
        self._sendEarlyHints = sendEarlyHints

    def _hintEarly(self, request: Request) -> None:
        """
        Send the C{103} if this is a navigation over an allowed protocol
        that may use the browser's cache.
        """
        if (
            self._sendEarlyHints is None
            or request.method != b"GET"
            or not earlyHintsAllowed(self._earlyHints, request.clientproto)
            or not isNavigation(
                request.getHeader(b"sec-fetch-mode"), request.getHeader(b"accept")
            )
            or bypassesCache(
                request.getHeader(b"cache-control"), request.getHeader(b"pragma")
            )
        ):
            return
        self._sendEarlyHints(request, self._links)

    def render_GET(self, request: Request) -> int:
        if self._links:
            self._hintEarly(request)
            # Set here rather than passed to respond(), which adds its extra
            # headers to full responses only: a 304 carries the links too
            # (RFC 9110 15.4.5 lets it, and browsers act on them).
            request.responseHeaders.setRawHeaders(b"link", self._links)
        return respond(
            request,
            self._representation,
            REVALIDATE,
            self._clock,
            (),
            self._code,
        )

    render_HEAD = render_GET


class SiteRoot(resource.Resource):
    """
    The root: C{/static/...} goes to the files, every other path is looked
    up among the rendered pages as a whole.
    """

    def __init__(
        self,
        pages: Mapping[str, resource.Resource],
        static: resource.Resource,
        notFound: resource.Resource,
    ) -> None:
        super().__init__()
        self._pages = pages
        self._static = static
        self._notFound = notFound

    def getChildWithDefault(self, name: bytes, request: Request) -> resource.Resource:
        if name == b"static":
            return self._static
        segments = [name, *(request.postpath or [])]
        request.prepath = [*(request.prepath or []), *(request.postpath or [])]
        request.postpath = []
        path = "/" + "/".join(s.decode("utf-8", "replace") for s in segments)
        return self._pages.get(path, self._notFound)

    def render(self, request: Request) -> bytes:
        # Reached only for an empty path, which HTTP does not allow.
        return self._notFound.render(request)  # type: ignore[no-any-return]


def _noLinks(html: str, url: str) -> Sequence[str]:
    return ()


def buildResource(
    siteDir: str,
    clock: IReactorTime,
    store: FileStore,
    preload: PreloadSettings | None = None,
    sendEarlyHints: SendEarlyHints | None = None,
) -> SiteRoot:
    """
    Index the static files, render the site in C{siteDir}, work out each
    page's assets (reading the static files they reference, once), and
    build its resource tree.

    @param store: the (empty) index of C{siteDir}'s static folder; built
        here, before the pages, whose C{static_url()} reads it.
    @param preload: what pages announce; the defaults when L{None}.
    @param sendEarlyHints: sends C{103} responses, where the settings allow.
    @raise h2site.errors.ConfigError: if a template fails to render.
    """
    if preload is None:
        preload = PreloadSettings()
    store.build()
    staticDir = os.path.join(siteDir, "static")
    hasStatic = os.path.isdir(staticDir)
    # After the store: discovery reads the bytes it sends, references
    # fingerprinted.
    graph = AssetGraph(StaticAssetFiles(store), preload.limits)

    def findLinks(html: str, url: str) -> Sequence[str]:
        return linkHeaderValues(graph.assets(html, url)[0])

    pages, notFoundPage = renderPages(
        os.path.join(siteDir, "templates"),
        staticURLFactory(staticDir if hasStatic else None, version=store.version),
        findLinks if preload.enabled else _noLinks,
    )

    def page(rendered: RenderedPage, code: int = 200) -> PageResource:
        return PageResource(rendered, clock, code, preload.earlyHints, sendEarlyHints)

    notFound = page(notFoundPage or _DEFAULT_NOT_FOUND, code=404)
    return SiteRoot(
        {url: page(rendered) for url, rendered in pages.items()},
        StaticRoot(store, notFound, clock),
        notFound,
    )


class H2Site(server.Site):
    """
    A C{Site} with no version banner, no tracebacks shown to clients, the
    access log handed to a callable of ours, and h2site's own connections
    (L{h2site.http2}): HTTP/2 that survives hostile clients, and a graceful
    shutdown for every connection.

    @ivar connections: every open connection, for L{closeConnections}.
    """

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
    ) -> None:
        """
        @param healthPath: the path that answers health checks (200, not
            logged), or L{None} for none.
        @param headers: the security and operator headers for every
            response, or L{None} for none.
        @param limits: the limits of every connection.
        @param reactor: the clock for connection timeouts.
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
        if self._healthPath is not None and request.path == self._healthPath:
            return _HEALTH
        return super().getResourceFor(request)  # type: ignore[no-any-return]

    def log(self, request: http.Request) -> None:
        # Load balancers poll the health path every few seconds; logging each
        # poll would bury the requests that matter.
        if self._healthPath is None or request.path != self._healthPath:
            self._accessLog(request)


class _Health(resource.Resource):
    """
    The health check: 200 as long as the process serves, never cached.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.responseHeaders.setRawHeaders(
            b"content-type", [b"text/plain; charset=utf-8"]
        )
        request.responseHeaders.setRawHeaders(b"cache-control", [b"no-store"])
        return b"ok\n"

    render_HEAD = render_GET


_HEALTH = _Health()
