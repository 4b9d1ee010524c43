# -*- test-case-name: tests.unit.web.test_pages -*-
"""
A page as a resource: its rendered bytes sent with validators, encodings
and its C{Link} header, after a C{103 Early Hints} when a browser navigates
to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.web import resource
from twisted.web.server import Request

from h2site.files.representation import Representation, representationFromBytes
from h2site.preload.policy import (
    EarlyHintsMode,
    bypassesCache,
    earlyHintsAllowed,
    isNavigation,
)
from h2site.sites.templates import RenderedPage
from h2site.web.delivery import respond
from h2site.web.static import REVALIDATE

__all__ = ["DEFAULT_NOT_FOUND", "PageResource", "SendEarlyHints"]

#: Sends a C{103 Early Hints} response with these C{Link} values ahead of
#: the final response to a request.
SendEarlyHints = Callable[[Request, Sequence[bytes]], object]


_HTML = "text/html; charset=utf-8"


DEFAULT_NOT_FOUND = RenderedPage(
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
