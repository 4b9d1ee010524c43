"""Tests for L{h2site.web.site}: pages, their C{Link} headers and Early Hints."""

from __future__ import annotations

import re
from collections.abc import Sequence

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyRequest

from h2site.preload.policy import EarlyHintsMode
from h2site.sites.templates import RenderedPage
from h2site.web.pages import PageResource


def splitLinks(field: bytes) -> list[bytes]:
    """
    The link values of a C{Link} field (our URLs never hold C{<} or C{,}).
    """
    return re.split(rb", (?=<)", field)


PAGE = RenderedPage(
    url="/",
    template="index.html",
    body=b"<!doctype html><p>hi",
    links=("</a.css>; rel=preload; as=style", "</m.mjs>; rel=modulepreload"),
)
LINKS = [b"</a.css>; rel=preload; as=style, </m.mjs>; rel=modulepreload"]


def request(
    method: bytes = b"GET",
    clientproto: bytes = b"HTTP/2",
    headers: dict[bytes, bytes] | None = None,
) -> DummyRequest:
    """
    A request for C{/}, by default a browser navigating over HTTP/2.
    """
    req = DummyRequest([b""])
    req.method = method
    req.clientproto = clientproto
    if headers is None:
        headers = {b"sec-fetch-mode": b"navigate"}
    for name, value in headers.items():
        req.requestHeaders.setRawHeaders(name, [value])
    return req


class PageResourceTests(SynchronousTestCase):
    """
    L{PageResource} sends the page with its links, and a 103 before it for
    navigations when allowed.
    """

    def setUp(self) -> None:
        self.sent: list[tuple[list[bytes], bool, int | None]] = []

    def send(self, req: Request, links: Sequence[bytes]) -> None:
        """
        Record the links, and whether anything of the final response had
        been decided or written when the 103 was asked for.
        """
        assert isinstance(req, DummyRequest)
        self.sent.append((list(links), bool(req.written), req.responseCode))

    def render(
        self,
        req: DummyRequest,
        mode: EarlyHintsMode = "h2",
        page: RenderedPage = PAGE,
        code: int = 200,
    ) -> bytes:
        PageResource(page, Clock(), code, mode, self.send).render(req)
        return b"".join(req.written)

    def test_linkHeader(self) -> None:
        """
        Every page response carries one C{Link} header line listing every
        asset.
        """
        for proto in [b"HTTP/2", b"HTTP/1.1", b"HTTP/1.0"]:
            req = request(clientproto=proto, headers={})
            self.assertEqual(self.render(req), PAGE.body)
            self.assertEqual(req.responseHeaders.getRawHeaders(b"link"), LINKS)
        req = request(headers={})
        self.render(req, code=404)
        self.assertEqual(req.responseCode, 404)
        self.assertEqual(req.responseHeaders.getRawHeaders(b"link"), LINKS)

    def test_notModified(self) -> None:
        """
        A page revalidated with its C{ETag} is a 304 with the same C{Link}
        header, which the browser may act on as for a 200.
        """
        page = PageResource(PAGE, Clock(), 200, "h2", self.send)
        first = request(headers={})
        page.render(first)
        etag = first.responseHeaders.getRawHeaders(b"etag")
        assert etag is not None
        again = request(headers={b"if-none-match": etag[0]})
        page.render(again)
        self.assertEqual(again.responseCode, 304)
        self.assertEqual(again.written, [])
        self.assertEqual(again.responseHeaders.getRawHeaders(b"link"), LINKS)

    def test_earlyHintsForNavigation(self) -> None:
        """
        A navigation over HTTP/2 gets a 103 with the same links, before
        anything of the final response is written.
        """
        self.render(request())
        self.assertEqual(self.sent, [(LINKS, False, None)])

    def test_notForOtherRequests(self) -> None:
        """
        No 103 for a fetch that is not a navigation, for HEAD, or when the
        page has no links.
        """
        self.render(request(headers={b"sec-fetch-mode": b"cors"}))
        self.render(request(headers={b"accept": b"*/*"}))
        self.render(request(headers={}))
        self.render(request(method=b"HEAD"))
        self.render(request(), page=RenderedPage("/", "x", b"", ()))
        self.assertEqual(self.sent, [])

    def test_notWhenBypassingCache(self) -> None:
        """
        No 103 for a navigation that will not read the browser's cache (a
        hard reload, DevTools' "Disable cache"), where its preloads would be
        fetched for nothing; the page still carries its C{Link} header.
        """
        for headers in [
            {b"sec-fetch-mode": b"navigate", b"cache-control": b"no-cache"},
            {b"sec-fetch-mode": b"navigate", b"pragma": b"no-cache"},
        ]:
            req = request(headers=headers)
            self.render(req)
            self.assertEqual(
                req.responseHeaders.getRawHeaders(b"link"), [b", ".join(LINKS)]
            )
        self.assertEqual(self.sent, [])
        self.render(
            request(
                headers={b"sec-fetch-mode": b"navigate", b"cache-control": b"max-age=0"}
            )
        )
        self.assertEqual(len(self.sent), 1)

    def test_acceptNavigation(self) -> None:
        """
        Without C{Sec-Fetch-Mode}, an C{Accept} naming HTML is a navigation.
        """
        self.render(request(headers={b"accept": b"text/html,*/*;q=0.8"}))
        self.assertEqual(len(self.sent), 1)

    def test_modes(self) -> None:
        """
        C{h2}: HTTP/2 only; C{all}: HTTP/1.1 too; C{off}: never; never over
        HTTP/1.0.
        """
        cases: list[tuple[EarlyHintsMode, bytes, int]] = [
            ("h2", b"HTTP/1.1", 0),
            ("h2", b"HTTP/1.0", 0),
            ("all", b"HTTP/1.1", 1),
            ("all", b"HTTP/2", 1),
            ("all", b"HTTP/1.0", 0),
            ("off", b"HTTP/2", 0),
        ]
        for mode, proto, count in cases:
            del self.sent[:]
            self.render(request(clientproto=proto), mode)
            self.assertEqual(len(self.sent), count, (mode, proto))

    def test_noSender(self) -> None:
        """
        Without a sender, no mode sends anything (and nothing breaks).
        """
        req = request()
        PageResource(PAGE, Clock(), 200, "all", None).render(req)
        self.assertEqual(req.responseHeaders.getRawHeaders(b"link"), LINKS)
