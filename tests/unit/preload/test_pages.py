"""
Tests for L{h2site.preload.pages}: the hints of a folder's HTML pages,
worked out from the files as they are sent.
"""

from __future__ import annotations

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.files.store import FileStore, MemoryLimits
from h2site.preload.files import StaticAssetFiles
from h2site.preload.graph import PreloadLimits
from h2site.preload.pages import PageLinks, pageHints


def _unused(work: object) -> object:
    raise AssertionError("hints never re-read the disk")


def builtStore(root: Path, files: dict[str, bytes]) -> FileStore:
    """
    A plain site's store (at C{/}) of C{files}, built.
    """
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    store = FileStore(
        str(root),
        MemoryLimits(),
        lambda: 0.0,
        _unused,  # type: ignore[arg-type]
        prefix="/",
    )
    store.build()
    return store


class PageHintsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        self.store = builtStore(
            self.root,
            {
                "index.html": b"<!doctype html><link rel=stylesheet href=css/site.css>"
                b"<script type=module src=js/app.mjs></script><a href=docs/>docs</a>",
                "docs/index.html": b"<link rel=stylesheet href=../css/site.css>"
                b"<link rel=stylesheet href=../css/gone.css>"
                b'<img src="/img/missing.png" fetchpriority=high>',
                "css/site.css": b"@import 'base.css';"
                b" body { background: url(../img/bg.png) }",
                "css/base.css": b"p { margin: 0 }",
                "img/bg.png": b"\x89PNG",
                "js/app.mjs": b"import './lib.mjs';",
                "js/lib.mjs": b"export const x = 1;",
                "notes.txt": b"<link rel=stylesheet href=css/site.css>",
            },
        )

    def test_linksNameTheURLsSent(self) -> None:
        """
        Every page announces its assets and what they pull in, by the
        fingerprinted URLs its own (rewritten) bytes and stylesheets name;
        a text file is not a page.
        """
        hints = pageHints(self.store)
        self.assertEqual(sorted(hints.links), ["docs/index.html", "index.html"])
        home = hints.links["index.html"]
        urls = [re.match(r"<([^>]*)>", value).group(1) for value in home]  # type: ignore[union-attr]
        self.assertEqual(
            [url.split("?")[0] for url in urls],
            [
                "/css/site.css",
                "/css/base.css",
                "/js/app.mjs",
                "/js/lib.mjs",
                "/img/bg.png",
            ],
        )
        for url in urls:
            name = url.split("?")[0].lstrip("/")
            self.assertEqual(url, f"/{name}?v={self.store.version(name)}")
        page = self.store.get("index.html")
        assert page is not None and page.representation.identity.data is not None
        sent = page.representation.identity.data.decode()
        self.assertIn(urls[0].removeprefix("/"), sent)

    def test_missingAreLeftOutAndReported(self) -> None:
        """
        A page's own references to files that are not there are not
        announced, and are reported by the page's URL.
        """
        hints = pageHints(self.store)
        docs = hints.links["docs/index.html"]
        self.assertEqual(len(docs), 3)
        self.assertFalse(any("gone" in value or "missing" in value for value in docs))
        self.assertEqual(
            dict(hints.missing),
            {"/docs/index.html": ("/css/gone.css", "/img/missing.png")},
        )

    def test_limits(self) -> None:
        """
        The preload limits bound what each page announces.
        """
        hints = pageHints(self.store, PreloadLimits(maxLinks=1))
        self.assertEqual(len(hints.links["index.html"]), 1)


class RememberedPagesTests(SynchronousTestCase):
    """
    The links of pages kept across builds (C{--dev}).
    """

    def test_samePagesNotReadAgain(self) -> None:
        """
        A page whose bytes are the same as last build's announces what it
        did without being read again; a changed page is read.
        """
        root = Path(self.mktemp())
        files = {
            "index.html": b"<link rel=stylesheet href=css/site.css>",
            "about.html": b"<link rel=stylesheet href=css/site.css><p>about",
            "css/site.css": b"p { margin: 0 }",
        }
        remembered: PageLinks = {}
        first = pageHints(builtStore(root, files), None, remembered)
        self.assertEqual(len(remembered), 2)
        (root / "about.html").write_bytes(b"<link rel=stylesheet href=css/gone.css>")
        store = builtStore(root, {})
        reads: list[str] = []
        read = StaticAssetFiles.read

        def counting(self: StaticAssetFiles, url: str, limit: int) -> bytes | None:
            reads.append(url)
            return read(self, url, limit)

        self.patch(StaticAssetFiles, "read", counting)
        second = pageHints(store, None, remembered)
        self.assertEqual(second.links["index.html"], first.links["index.html"])
        self.assertNotIn("about.html", second.links)
        self.assertEqual(reads, ["/about.html"])
