"""
Tests for L{h2site.web.build}: building a site of either kind, the hints of
a folder's pages once fingerprints are final, the report of broken
references, and C{--check}.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from h2site.web import build
from h2site.web.build import LiveHints, SiteSettings, checkSite, siteBuilder
from h2site.web.plain import FolderResource
from h2site.web.root import SiteRoot
from tests.helpers import makeSite
from tests.unit.ops.fakes import LogCapture

T = TypeVar("T")


class ImmediateReactor(Clock):
    """
    A clock whose C{callFromThread} runs the call at once: the build runs
    on the test's thread.
    """

    def callFromThread(self, f: Callable[..., object], *args: Any) -> None:
        f(*args)


def inline(work: Callable[[], T]) -> Deferred[T]:
    return succeed(work())


def writeFiles(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


PLAIN = {
    "index.html": b"<!doctype html><link rel=stylesheet href=css/site.css>"
    b"<a href=about.html>about</a><a href=gone.html>gone</a>",
    "about.html": b"<link rel=stylesheet href=/css/site.css><img src=missing.png>",
    "css/site.css": b"@import 'base.css'; p { color: red }",
}


class LiveHintsTests(SynchronousTestCase):
    def test_update(self) -> None:
        """
        No links until they are worked out; then one field per page.
        """
        live = LiveHints()
        self.assertEqual(live.linksFor("index.html"), ())
        live.update({"index.html": ("</a.css>; rel=preload; as=style", "</b.js>")})
        self.assertEqual(
            live.linksFor("index.html"), [b"</a.css>; rel=preload; as=style, </b.js>"]
        )
        self.assertEqual(len(live), 1)


class SiteBuilderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.log = LogCapture()
        self.patch(build, "_log", Logger(observer=self.log))
        self.checked: list[bool] = []

    def builder(self, siteDir: Path) -> Callable[[], Any]:
        return siteBuilder(
            SiteSettings(str(siteDir)),
            ImmediateReactor(),
            lambda: self.checked.append(True),
            None,
            inline,
        )

    def test_plainSite(self) -> None:
        """
        A plain site is served as a folder; once its fingerprints are final
        its pages announce what they need, and its broken references are
        reported in one line.
        """
        site = writeFiles(Path(self.mktemp()), PLAIN)
        resource = self.builder(site)()
        self.assertEqual(self.checked, [True])
        self.assertIsInstance(resource, FolderResource)
        lines = self.log.lines()
        self.assertTrue(any("plain site" in line for line in lines), lines)
        self.assertTrue(any("hints ready for 2 pages" in line for line in lines))
        (broken,) = [line for line in lines if "nothing answers" in line]
        self.assertIn("3 files of the site name 3 URLs", broken)
        self.assertIn("/index.html -> /gone.html", broken)

    def test_templateSite(self) -> None:
        """
        A template site's broken references take in its rendered pages, its
        static files and its C{public/} folder, where C{/robots.txt} is.
        """
        site = makeSite(
            Path(self.mktemp()),
            {
                "index.html": "<link rel=stylesheet href=\"{{ static_url('a.css') }}\">"
                "<a href=/about>about</a><a href=/robots.txt>r</a>"
                "<a href=/nowhere>n</a>",
                "about.html": "<p>about</p>",
            },
            {"a.css": b"p { background: url(gone.png) }"},
        )
        writeFiles(site / "public", {"robots.txt": b"User-agent: *\n"})
        resource = self.builder(site)()
        self.assertIsInstance(resource, SiteRoot)
        (broken,) = [line for line in self.log.lines() if "nothing answers" in line]
        self.assertIn("2 files of the site name 2 URLs", broken)
        self.assertIn("/ -> /nowhere", broken)
        self.assertIn("/static/a.css -> /static/gone.png", broken)

    def test_checkRefuses(self) -> None:
        """
        The start-up checks run first: a build they refuse builds nothing.
        """

        def refuse() -> None:
            raise ValueError("gone")

        site = writeFiles(Path(self.mktemp()), PLAIN)
        builder = siteBuilder(SiteSettings(str(site)), ImmediateReactor(), refuse)
        self.assertRaises(ValueError, builder)


class CheckSiteTests(SynchronousTestCase):
    def test_plain(self) -> None:
        """
        C{--check} lists every broken reference and refused link, and is
        clean for a site without any.
        """
        site = writeFiles(Path(self.mktemp()), PLAIN)
        outside = Path(self.mktemp()).absolute()
        outside.mkdir()
        (outside / "x.js").write_bytes(b"")
        os.symlink(outside / "x.js", site / "linked.js")
        report = checkSite(SiteSettings(str(site)), Clock())
        self.assertFalse(report.clean)
        self.assertIn("plain site", report.kind)
        self.assertEqual([link.name for link in report.refused], ["linked.js"])
        self.assertEqual(
            dict(report.broken),
            {
                "/index.html": ("/gone.html",),
                "/about.html": ("/missing.png",),
                "/css/site.css": ("/css/base.css",),
            },
        )
        clean = writeFiles(Path(self.mktemp()), {"index.html": b"<a href=/>home</a>"})
        self.assertTrue(checkSite(SiteSettings(str(clean)), Clock()).clean)
