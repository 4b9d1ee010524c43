"""
Tests for L{h2site.sites.check}: broken references of a site.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.sites.check import (
    brokenReferences,
    describeBroken,
    existsInFolder,
    listBroken,
)

NAMES = frozenset(
    ["index.html", "docs/index.html", "about.html", "css/site.css", "img/a.png"]
)


class ExistsTests(SynchronousTestCase):
    def test_staticHostRules(self) -> None:
        """
        A URL exists when a request for it would be answered: by a file, a
        folder's index (with or without its slash), a page without its
        C{.html}.
        """
        exists = existsInFolder(NAMES)
        for url in ("/", "/docs/", "/docs", "/about", "/about.html", "/img/a.png"):
            self.assertTrue(exists(url), url)
        for url in ("/nope.html", "/about/", "/css/", "/img/b.png", "/.hidden"):
            self.assertFalse(exists(url), url)

    def test_encoded(self) -> None:
        """
        Percent-encoded paths are decoded as Twisted decodes requests.
        """
        exists = existsInFolder(frozenset(["a b.html"]))
        self.assertTrue(exists("/a%20b.html"))
        self.assertTrue(exists("/a%20b.html?x=1"))


class BrokenReferencesTests(SynchronousTestCase):
    def test_pagesAndStylesheets(self) -> None:
        """
        Links and assets of pages, and what stylesheets name, that nothing
        answers, by file and in order.
        """
        broken = brokenReferences(
            [
                ("/", '<a href="docs/">d</a><a href="gone.html">g</a>'),
                (
                    "/about.html",
                    "<link rel=stylesheet href=css/site.css><img src=x.png>",
                ),
            ],
            [
                (
                    "/css/site.css",
                    b"@import 'base.css'; a { background: url(../img/a.png) }",
                    "css",
                )
            ],
            existsInFolder(NAMES),
        )
        self.assertEqual(
            broken,
            {
                "/": ("/gone.html",),
                "/about.html": ("/x.png",),
                "/css/site.css": ("/css/base.css",),
            },
        )

    def test_describe(self) -> None:
        """
        One line: how many files, how many URLs, the first few.
        """
        self.assertIsNone(describeBroken({}))
        line = describeBroken(
            {"/a.html": ("/x.css", "/y.png"), "/b.html": ("/x.css", "/z.js")}
        )
        self.assertEqual(
            line,
            "2 files of the site name 3 URLs that nothing answers: /a.html -> /x.css, "
            "/a.html -> /y.png, /b.html -> /x.css, and 1 more "
            "(twistd h2site --check lists them all)",
        )
        self.assertEqual(
            listBroken({"/b.html": ("/z.js",), "/a.html": ("/x.css",)}),
            ["/a.html -> /x.css", "/b.html -> /z.js"],
        )
