"""
Tests for L{h2site.web.hot}: what the route table answers (and what it
leaves to the general path) for a template site built from the demo site.
Its answers are compared with the general path's, byte for byte, by
L{tests.integration.test_hot_path}.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import http
from twisted.web.resource import Resource

from h2site.files.store import FileStore, MemoryLimits
from h2site.http.earlyhints import sendEarlyHints
from h2site.http.interfaces import HotRequest, HotResponse
from h2site.ops.accesslog import combinedLine, entryFor
from h2site.preload.policy import bypassesCache, isNavigation
from h2site.web.headers import buildHeaderPolicy
from h2site.web.hot import _wantsHints
from h2site.web.root import SiteRoot, buildResource
from h2site.web.site import H2Site
from tests.helpers import DEMO_SITE, makeSite

PEER = IPv4Address("TCP", "192.0.2.1", 4000)


def store(folder: Path) -> FileStore:
    return FileStore(
        str(folder), MemoryLimits(), time.monotonic, lambda work: succeed(work())
    )


def demoRoot(site: Path = DEMO_SITE) -> SiteRoot:
    return buildResource(
        str(site), Clock(), store(site / "static"), sendEarlyHints=sendEarlyHints
    )


def request(path: bytes, method: bytes = b"GET", **headers: bytes) -> HotRequest:
    fields = {b"host": [b"localhost"], b"user-agent": [b"test"]}
    for name, value in headers.items():
        fields[name.replace("_", "-").encode()] = [value]
    return HotRequest(method, path, fields, True, PEER, b"HTTP/2", time.monotonic())


class HotRoutesTests(SynchronousTestCase):
    """
    The pages and stored files of a site are answered from the route table.
    """

    def setUp(self) -> None:
        self.logged: list[http.Request] = []
        self.site = H2Site(
            demoRoot(),
            self.logged.append,
            healthPath="/health",
            headers=buildHeaderPolicy(600, None, [("X-One", "1")]),
        )

    def answer(
        self, path: bytes, method: bytes = b"GET", **headers: bytes
    ) -> HotResponse:
        response = self.site.hotResponse(request(path, method, **headers))
        assert response is not None, path
        return response

    def test_page(self) -> None:
        """
        A page: 200, its headers in the general path's order (date first,
        then the policy's, the links, caching, the body's), and the body;
        logged as the general path logs it.
        """
        response = self.answer(b"/")
        names = [name for name, _ in response.fields]
        self.assertEqual(
            names[:8],
            [
                b":status",
                b"date",
                b"x-content-type-options",
                b"referrer-policy",
                b"x-one",
                b"strict-transport-security",
                b"link",
                b"cache-control",
            ],
        )
        self.assertEqual(names[-1], b"content-length")
        fields = dict(response.fields)
        self.assertEqual(fields[b":status"], b"200")
        self.assertEqual(fields[b"content-length"], b"%d" % len(response.body))
        self.assertIn(b"<!doctype html>", bytes(response.body).lower())
        self.assertIsNone(response.informational)
        (logged,) = self.logged
        line = combinedLine(entryFor(logged, 0.0))
        self.assertEqual(
            line,
            '192.0.2.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/2" 200 '
            f'{len(response.body)} "-" "test"',
        )

    def test_navigation(self) -> None:
        """
        A navigation gets the page's 103 first; not on a hard reload, nor
        for a HEAD.
        """
        response = self.answer(b"/about", sec_fetch_mode=b"navigate")
        assert response.informational is not None
        self.assertEqual(
            list(response.informational), [(b"link", dict(response.fields)[b"link"])]
        )
        hard = self.answer(b"/about", sec_fetch_mode=b"navigate", pragma=b"no-cache")
        self.assertIsNone(hard.informational)
        head = self.answer(b"/about", b"HEAD", sec_fetch_mode=b"navigate")
        self.assertIsNone(head.informational)
        self.assertEqual(head.body, b"")

    def test_notModified(self) -> None:
        """
        A matching C{If-None-Match} gets a 304 with no body, logged as such.
        """
        etag = dict(self.answer(b"/", accept_encoding=b"gzip").fields)[b"etag"]
        response = self.answer(b"/", accept_encoding=b"gzip", if_none_match=etag)
        self.assertEqual(dict(response.fields)[b":status"], b"304")
        self.assertNotIn(b"content-length", dict(response.fields))
        self.assertEqual(response.body, b"")
        self.assertEqual(self.logged[-1].code, 304)
        self.assertEqual(self.logged[-1].sentLength, 0)

    def test_staticFile(self) -> None:
        """
        A static file, with C{?v=} of its fingerprint cached as immutable.
        """
        plain = dict(self.answer(b"/static/css/app.css").fields)
        self.assertEqual(plain[b"cache-control"], b"no-cache")
        version = demoRoot()._static._store.version("css/app.css")  # type: ignore[attr-defined]
        assert version is not None
        path = b"/static/css/app.css?v=" + version.encode()
        versioned = dict(self.answer(path).fields)
        self.assertIn(b"immutable", versioned[b"cache-control"])
        self.assertEqual(self.logged[-1].uri, path)
        self.assertEqual(self.logged[-1].path, b"/static/css/app.css")

    def test_general(self) -> None:
        """
        Whatever the hot path is not sure of takes the general path.
        """
        for path, headers in [
            (b"/", {"range": b"bytes=0-1"}),
            (b"/", {"if_modified_since": b"Sun, 06 Nov 1994 08:49:37 GMT"}),
            (b"/", {"if_match": b"*"}),
            (b"/nothing", {}),
            (b"/health", {}),
            (b"/%61bout", {}),
            (b"/static/", {}),
            (b"/static/nothing.css", {}),
            (b"/static/.hidden", {}),
            (b"*", {}),
        ]:
            self.assertIsNone(self.site.hotResponse(request(path, **headers)), path)
        self.assertEqual(self.logged, [])

    def test_reload(self) -> None:
        """
        The table follows the site's tree: after a reload swaps it, the new
        tree's pages are answered, and a tree it does not know (C{--dev}'s)
        leaves everything to the general path.
        """
        site = makeSite(
            Path(self.mktemp()),
            {"index.html": "<p>new home", "only.html": "<p>only"},
            {},
        )
        self.site.resource = demoRoot(site)
        self.assertIn(b"new home", bytes(self.answer(b"/").body))
        self.assertIsNotNone(self.site.hotResponse(request(b"/only")))
        self.assertIsNone(self.site.hotResponse(request(b"/about")))
        self.site.resource = Resource()
        self.assertIsNone(self.site.hotResponse(request(b"/")))

    def test_off(self) -> None:
        """
        Without C{hotPath}, the site answers nothing this way.
        """
        site = H2Site(demoRoot(), self.logged.append, hotPath=False)
        self.assertIsNone(site.hotResponse(request(b"/")))


_VALUES = st.sampled_from(
    [
        b"navigate",
        b"Navigate ",
        b"cors",
        b"no-cors",
        b"",
        b"text/html",
        b"*/*",
        b"text/html;q=0",
        b"no-cache",
        b"no-store",
        b"max-age=0",
        b"x, no-cache",
    ]
)
_NAMES = st.sampled_from([b"sec-fetch-mode", b"accept", b"cache-control", b"pragma"])


class WantsHintsTests(SynchronousTestCase):
    """
    L{_wantsHints} answers as L{isNavigation} and L{bypassesCache} do,
    which the general path asks.
    """

    @settings(max_examples=500, deadline=None)
    @example({b"sec-fetch-mode": [b"navigate"], b"pragma": [b"no-cache"]})
    @example({b"sec-fetch-mode": [b"navigate"], b"cache-control": [b"no-store"]})
    @example({b"sec-fetch-mode": [b"cors", b"navigate"]})
    @example({b"sec-fetch-mode": [b"navigate", b"cors"], b"accept": [b"text/html"]})
    @example({b"accept": [b"text/html"]})
    @given(st.dictionaries(_NAMES, st.lists(_VALUES, min_size=1, max_size=3)))
    def test_sameAsPolicy(self, headers: dict[bytes, list[bytes]]) -> None:
        def last(name: bytes) -> bytes | None:
            values = headers.get(name)
            return values[-1] if values else None

        expected = isNavigation(
            last(b"sec-fetch-mode"), last(b"accept")
        ) and not bypassesCache(last(b"cache-control"), last(b"pragma"))
        self.assertEqual(_wantsHints(headers), expected)
