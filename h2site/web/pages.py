# -*- test-case-name: tests.unit.web.test_pages -*-
"""
A page as a resource: its rendered bytes sent with validators, encodings
and its C{Link} header, after a C{103 Early Hints} when a browser navigates
to it.  How a page announces its assets (L{announceLinks}) is shared with
the HTML files of a plain site (L{h2site.web.plain}).
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

__all__ = [
    "DEFAULT_NOT_FOUND",
    "PageResource",
    "SendEarlyHints",
    "announceLinks",
    "linkField",
]

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


def linkField(links: Sequence[str | bytes]) -> list[bytes]:
    """
    C{Link} values as the one header field a page carries: the values
    joined by commas (RFC 8288 allows either), because each field costs
    HPACK and h2 work per response (nine of them cost as much as the rest
    of the response) and browsers read the joined form the same.

    @return: the field's value in a list, or an empty list for no links.
    """
    if not links:
        return []
    return [b", ".join(v.encode("ascii") if isinstance(v, str) else v for v in links)]


def announceLinks(
    request: Request,
    links: Sequence[bytes],
    earlyHints: EarlyHintsMode,
    sendEarlyHints: SendEarlyHints | None,
) -> None:
    """
    Announce a page's assets before its response is written: a C{103 Early
    Hints} first if this is a navigation over an allowed protocol that may
    use the browser's cache, then the C{Link} header of the response.

    The header is set here rather than passed to
    L{h2site.web.delivery.respond}, which adds its extra headers to full
    responses only: a 304 carries the links too (RFC 9110 15.4.5 lets it,
    and browsers act on them).

    @param links: the C{Link} field values (see L{linkField}); nothing is
        announced when empty.
    @param sendEarlyHints: what sends a C{103}; none is sent without it.
    """
    if not links:
        return
    if (
        sendEarlyHints is not None
        and request.method == b"GET"
        and earlyHintsAllowed(earlyHints, request.clientproto)
        and isNavigation(
            request.getHeader(b"sec-fetch-mode"), request.getHeader(b"accept")
        )
        and not bypassesCache(
            request.getHeader(b"cache-control"), request.getHeader(b"pragma")
        )
    ):
        sendEarlyHints(request, links)
    request.responseHeaders.setRawHeaders(b"link", links)


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
        representation: Representation | None = None,
    ) -> None:
        """
        @param earlyHints: when to send a C{103}; C{"off"} unless
            C{sendEarlyHints} is given.
        @param sendEarlyHints: what sends it.
        @param representation: what to send for the page, if not its body
            compressed in every coding (C{--dev} sends it with a script
            added, uncompressed).
        """
        super().__init__()
        self._page = page
        self._code = code
        self._clock = clock
        if representation is None:
            representation = representationFromBytes(page.body, _HTML, None)
        self._representation: Representation = representation
        self._links = linkField(page.links)
        self._earlyHints = earlyHints
        self._sendEarlyHints = sendEarlyHints

    def render_GET(self, request: Request) -> int:
        announceLinks(request, self._links, self._earlyHints, self._sendEarlyHints)
        return respond(
            request,
            self._representation,
            REVALIDATE,
            self._clock,
            (),
            self._code,
        )

    render_HEAD = render_GET
