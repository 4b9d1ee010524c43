"""Tests for L{h2site.web.site}: pages, their C{Link} headers and Early Hints."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyRequest

from h2site.files.store import FileStore
from h2site.files.store import Limits as StoreLimits
from h2site.preload.graph import Limits
from h2site.preload.policy import EarlyHintsMode, PreloadSettings
from h2site.sites.templates import RenderedPage
from h2site.web.pages import PageResource
from h2site.web.root import buildResource
from tests.helpers import DEMO_ASSETS, DEMO_SITE, makeSite


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


class BuildResourceTests(SynchronousTestCase):
    """
    L{buildResource} works out each page's links once, from the whole asset
    graph.
    """

    def links(
        self, siteDir: Path, path: bytes, preload: PreloadSettings
    ) -> Sequence[bytes]:
        """
        The C{Link} header values of the page at C{/path}.
        """
        root = buildResource(
            str(siteDir),
            Clock(),
            FileStore(
                str(siteDir / "static"),
                StoreLimits(maxFileSize=0, maxTotalSize=0),
                time.monotonic,
                lambda work: succeed(work()),
            ),
            preload,
        )
        req = DummyRequest([])
        resource = root.getChildWithDefault(path, req)  # type: ignore[arg-type]
        self.assertIsInstance(resource, PageResource)
        resource.render(req)
        self.assertEqual(req.responseCode, 200)
        fields = req.responseHeaders.getRawHeaders(b"link") or []
        self.assertLessEqual(len(fields), 1)
        return [value for field in fields for value in splitLinks(field)]

    def test_demoSite(self) -> None:
        """
        The demo home page announces every asset of its chains, ordered:
        what the page names with its fingerprint (C{?v=}), what the files
        name as they name it.
        """
        links = self.links(DEMO_SITE, b"", PreloadSettings())
        urls = [link.split(b">")[0][1:].decode() for link in links]
        self.assertRegex(urls[0], r"^/static/css/app\.css\?v=[0-9a-f]{16}$")
        self.assertRegex(urls[3], r"^/static/js/main\.mjs\?v=[0-9a-f]{16}$")
        self.assertEqual([url.split("?")[0] for url in urls], DEMO_ASSETS)

    def test_noPreload(self) -> None:
        """
        With preload off, pages carry no C{Link} header.
        """
        self.assertEqual(self.links(DEMO_SITE, b"", PreloadSettings(enabled=False)), [])

    def test_limits(self) -> None:
        """
        The limits apply: depth 0 is the page's own assets only.
        """
        links = self.links(DEMO_SITE, b"", PreloadSettings(limits=Limits(maxDepth=0)))
        self.assertEqual(len(links), 3)
        links = self.links(DEMO_SITE, b"", PreloadSettings(limits=Limits(maxLinks=2)))
        self.assertEqual(len(links), 2)

    def test_hostileReferences(self) -> None:
        """
        References that climb out of the static folder are never read or
        announced, however they are spelled.
        """
        tmp = Path(self.mktemp()).absolute()
        site = makeSite(
            tmp,
            {
                "index.html": '<link rel=stylesheet href="/static/a.css">'
                '<script type=module src="/static/m.mjs"></script>'
            },
            {
                "a.css": b'@import "../../secret.css"; @import "%2e%2e/secret.css";'
                b'@import "..%2f..%2fsecret.css"; .x{background:url(/etc/passwd)}',
                "m.mjs": b"import '../../secret.mjs'; import '/static/%2e%2e/x.mjs';",
                # Announced only if secret.css (outside the folder) were read.
                "leak.css": b"",
            },
        )
        (tmp / "secret.css").write_bytes(b'@import "/static/leak.css";')
        (tmp / "secret.mjs").write_bytes(b"")
        links = self.links(site, b"", PreloadSettings())
        self.assertEqual(
            links,
            [
                b"</static/a.css>; rel=preload; as=style",
                b"</static/m.mjs>; rel=modulepreload",
            ],
        )
