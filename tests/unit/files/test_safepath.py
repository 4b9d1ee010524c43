"""
Tests for L{h2site.web.static} and L{h2site.semantics.mediatypes}: the safety rules and
the type table.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.files.safepath import (
    nameToURL,
    resolveStaticPath,
    safeSegments,
    urlToName,
)


class SafeSegmentsTests(SynchronousTestCase):
    """
    L{safeSegments} refuses every path shape that could escape or expose.
    """

    def test_plain(self) -> None:
        """
        Ordinary names pass through as text.
        """
        self.assertEqual(safeSegments([b"css", b"app.css"]), ("css", "app.css"))
        self.assertEqual(safeSegments(["é.txt".encode()]), ("é.txt",))

    def test_refused(self) -> None:
        """
        Empty segments (directories), dot-prefixed segments (dotfiles, C{.},
        C{..}), decoded slashes and backslashes, NUL and non-UTF-8 are refused.
        """
        for segments in [
            [],
            [b""],
            [b"css", b""],
            [b".."],
            [b"css", b"..", b"x"],
            [b"."],
            [b".env"],
            [b".git", b"config"],
            [b"a/../../etc"],
            [b"..\\x"],
            [b"a\x00b"],
            [b"\xff"],
        ]:
            self.assertIsNone(safeSegments(segments), segments)

    @given(st.lists(st.binary(max_size=12), max_size=5))
    def test_neverUnsafe(self, segments: list[bytes]) -> None:
        """
        Whatever comes in, what comes out has no segment that could climb,
        hide or split.
        """
        result = safeSegments(segments)
        if result is not None:
            for segment in result:
                self.assertTrue(segment)
                self.assertFalse(segment.startswith("."))
                self.assertNotIn("/", segment)
                self.assertNotIn("\\", segment)


class WellKnownTests(SynchronousTestCase):
    """
    C{.well-known} is the one dot-name served, and only as the first
    segment of a folder served at C{/}.
    """

    def test_safeSegments(self) -> None:
        """
        With C{wellKnown}, a first segment C{.well-known} passes; any other
        dot-name, anywhere, is still refused.
        """
        self.assertEqual(
            safeSegments([b".well-known", b"security.txt"], wellKnown=True),
            (".well-known", "security.txt"),
        )
        for segments in [
            [b".well-known", b"security.txt"],
            [b"a", b".well-known", b"x"],
        ]:
            self.assertIsNone(safeSegments(segments), segments)
            if segments[0] != b".well-known":
                self.assertIsNone(safeSegments(segments, wellKnown=True))
        for segments in [
            [b".well-known", b".env"],
            [b".well-known", b".."],
            [b".well-known", b""],
            [b".well-knownx", b"a"],
            [b".", b"a"],
        ]:
            self.assertIsNone(safeSegments(segments, wellKnown=True), segments)

    def test_urlToName(self) -> None:
        """
        A reference maps to a file below C{.well-known} only where the
        folder is served at C{/}.
        """
        url = "/.well-known/security.txt"
        self.assertEqual(urlToName(url, "/"), ".well-known/security.txt")
        self.assertEqual(nameToURL(".well-known/security.txt", "/"), url)
        self.assertIsNone(urlToName("/static" + url, "/static/"))
        self.assertIsNone(urlToName("/.env", "/"))


class ResolveTests(SynchronousTestCase):
    """
    L{resolveStaticPath} keeps every answer inside the root.
    """

    def setUp(self) -> None:
        base = Path(self.mktemp()).absolute()
        self.root = base / "static"
        (self.root / "css").mkdir(parents=True)
        (self.root / "css" / "app.css").write_text("a{}")
        (base / "secret.txt").write_text("no")
        (base / "outside").mkdir()
        (base / "outside" / "x.txt").write_text("no")
        os.symlink(base / "secret.txt", self.root / "leak.txt")
        os.symlink(base / "outside", self.root / "out")
        os.symlink(self.root / "css" / "app.css", self.root / "alias.css")
        self.real = os.path.realpath(self.root)

    def test_file(self) -> None:
        """
        A regular file resolves to its real path.
        """
        self.assertEqual(
            resolveStaticPath(self.real, ["css", "app.css"]),
            os.path.join(self.real, "css", "app.css"),
        )

    def test_symlinkInside(self) -> None:
        """
        A symlink to a file inside the root is followed.
        """
        self.assertEqual(
            resolveStaticPath(self.real, ["alias.css"]),
            os.path.join(self.real, "css", "app.css"),
        )

    def test_symlinkOutside(self) -> None:
        """
        Symlinks to a file or folder outside the root are refused.
        """
        self.assertIsNone(resolveStaticPath(self.real, ["leak.txt"]))
        self.assertIsNone(resolveStaticPath(self.real, ["out", "x.txt"]))

    def test_directoryAndMissing(self) -> None:
        """
        Folders and missing files are not files.
        """
        self.assertIsNone(resolveStaticPath(self.real, ["css"]))
        self.assertIsNone(resolveStaticPath(self.real, ["css", "nope.css"]))

    def test_followSymlinks(self) -> None:
        """
        With C{followSymlinks}, links out of the root resolve to the regular
        files they lead to; folders and missing files still do not.
        """
        base = os.path.dirname(self.real)
        self.assertEqual(
            resolveStaticPath(self.real, ["leak.txt"], followSymlinks=True),
            os.path.join(base, "secret.txt"),
        )
        self.assertEqual(
            resolveStaticPath(self.real, ["out", "x.txt"], followSymlinks=True),
            os.path.join(base, "outside", "x.txt"),
        )
        self.assertIsNone(resolveStaticPath(self.real, ["out"], followSymlinks=True))
        self.assertIsNone(
            resolveStaticPath(self.real, ["out", "nope"], followSymlinks=True)
        )
