"""
Tests for L{h2site.files.walk}: which files of a folder may be served, and
the one warning about the symlinks that lead out of it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from h2site.files.walk import (
    RefusedLink,
    Unservable,
    describeRefused,
    describeUnservable,
    walk,
)


class WalkTests(SynchronousTestCase):
    """
    L{walk} lists what the safety rules allow, and reports the links it
    refuses.
    """

    def setUp(self) -> None:
        base = Path(self.mktemp()).absolute()
        self.root = base / "site"
        self.outside = base / "outside"
        for folder in [
            self.root / "docs" / "api",
            self.root / ".git",
            self.root / ".well-known",
            self.outside / "lib" / ".hidden",
        ]:
            folder.mkdir(parents=True)
        for path in [
            self.root / "index.html",
            self.root / "docs" / "index.html",
            self.root / "docs" / "api" / "os.html",
            self.root / ".env",
            self.root / ".git" / "config",
            self.root / ".well-known" / "security.txt",
            self.outside / "jquery.js",
            self.outside / "lib" / "a.js",
            self.outside / "lib" / ".hidden" / "b.js",
        ]:
            path.write_text("x")
        self.real = os.path.realpath(self.root)
        self.reported: list[tuple[str, Sequence[RefusedLink]]] = []

    def walk(self, followSymlinks: bool = False, wellKnown: bool = False) -> list[str]:
        return list(
            walk(
                self.real,
                followSymlinks,
                wellKnown,
                report=lambda *a: self.reported.append(a),
            )
        )

    def test_rules(self) -> None:
        """
        Files in sorted order, no dot-names; with C{wellKnown}, the
        C{.well-known} folder at the top (only there).
        """
        (self.root / "docs" / ".well-known").mkdir()
        (self.root / "docs" / ".well-known" / "x").write_text("x")
        expected = ["docs/api/os.html", "docs/index.html", "index.html"]
        self.assertEqual(self.walk(), expected)
        self.assertEqual(
            self.walk(wellKnown=True), [".well-known/security.txt", *expected]
        )
        self.assertEqual(self.reported, [])

    def test_linksInside(self) -> None:
        """
        Links inside the folder are served under their own names too; a
        link to a folder above it (a loop) is not entered, nor a second
        link to a folder a link led to already; broken links, FIFOs and
        sockets are skipped, and none of them is reported.
        """
        (self.root / "alias").symlink_to(self.root / "docs")
        (self.root / "again").symlink_to(self.root / "docs")
        (self.root / "docs" / "up").symlink_to(self.root)
        (self.root / "same.html").symlink_to(self.root / "index.html")
        (self.root / "broken").symlink_to(self.root / "nothing")
        os.mkfifo(self.root / "fifo")
        names = self.walk()
        self.assertEqual(
            names,
            [
                "again/api/os.html",
                "again/index.html",
                "docs/api/os.html",
                "docs/index.html",
                "index.html",
                "same.html",
            ],
        )
        self.assertEqual(self.reported, [])

    def test_linksOutRefused(self) -> None:
        """
        Links out of the folder, to files and folders, are refused and
        reported once, at the end, with where they lead.
        """
        (self.root / "docs" / "jquery.js").symlink_to(
            os.path.relpath(self.outside / "jquery.js", self.root / "docs")
        )
        (self.root / "lib").symlink_to(self.outside / "lib")
        (self.root / "dead").symlink_to(self.outside / "nothing")
        names = self.walk()
        self.assertEqual(names, ["docs/api/os.html", "docs/index.html", "index.html"])
        outside = os.path.realpath(self.outside)
        self.assertEqual(
            self.reported,
            [
                (
                    self.real,
                    [
                        RefusedLink("docs/jquery.js", f"{outside}/jquery.js"),
                        RefusedLink("lib", f"{outside}/lib"),
                    ],
                )
            ],
        )

    def test_followSymlinks(self) -> None:
        """
        With C{followSymlinks}, links out are followed to files and folders,
        dot-names below them still skipped, loops still ended; nothing is
        reported.
        """
        (self.root / "jquery.js").symlink_to(self.outside / "jquery.js")
        (self.root / "lib").symlink_to(self.outside / "lib")
        (self.outside / "lib" / "back").symlink_to(self.outside)
        (self.outside / "lib" / "loop").symlink_to(self.outside / "lib")
        names = self.walk(followSymlinks=True)
        self.assertEqual(
            names,
            [
                "docs/api/os.html",
                "docs/index.html",
                "index.html",
                "jquery.js",
                "lib/a.js",
                "lib/back/jquery.js",
            ],
        )
        self.assertEqual(self.reported, [])

    def test_logged(self) -> None:
        """
        By default the refused links are one warning line.
        """
        (self.root / "lib").symlink_to(self.outside / "lib")
        with capturedLogs() as events:
            names = list(walk(self.real))
        self.assertEqual(names, ["docs/api/os.html", "docs/index.html", "index.html"])
        self.assertEqual([e["log_level"] for e in events], [LogLevel.warn])
        self.assertEqual(
            formatEvent(events[0]),
            describeRefused(
                self.real,
                [RefusedLink("lib", os.path.realpath(self.outside / "lib"))],
            ),
        )

    def test_unreadable(self) -> None:
        """
        A folder that cannot be read (or a root that does not exist) lists
        nothing.
        """
        self.assertEqual(list(walk(self.real + "-missing")), [])


class DescribeRefusedTests(SynchronousTestCase):
    """
    L{describeRefused} says how many links, the first few, and what to do.
    """

    def test_one(self) -> None:
        self.assertEqual(
            describeRefused("/srv/www", [RefusedLink("a.js", "/usr/share/a.js")]),
            "h2site does not serve 1 symlink in /srv/www that leads out of it "
            "(a.js -> /usr/share/a.js); copy the files in, or give "
            "--follow-symlinks",
        )

    def test_many(self) -> None:
        refused = [RefusedLink(f"{n}.js", f"/x/{n}.js") for n in "abcde"]
        self.assertEqual(
            describeRefused("/srv/www", refused),
            "h2site does not serve 5 symlinks in /srv/www that lead out of it "
            "(a.js -> /x/a.js, b.js -> /x/b.js, c.js -> /x/c.js and 2 more); "
            "copy the files in, or give --follow-symlinks",
        )


class UnservableTests(SynchronousTestCase):
    """
    What cannot be served is told to the walk's caller, and said in one
    line (L{Unservable}, L{describeUnservable}).
    """

    def setUp(self) -> None:
        self.root = Path(self.mktemp()).absolute()
        (self.root / "sub").mkdir(parents=True)
        (self.root / "a.css").write_text("a{}")
        (self.root / "sub" / "b.js").write_text("")

    def test_skipped(self) -> None:
        """
        A FIFO, a socket and a broken symlink are passed over and told,
        with what each is; dot-names are not told (they are never served,
        by rule).
        """
        os.mkfifo(self.root / "sub" / "pipe")
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sock.bind(str(self.root / "sock"))
        (self.root / "old.svg").symlink_to(self.root / "gone.svg")
        os.mkfifo(self.root / ".hidden")
        skipped: list[tuple[str, str]] = []

        def skip(name: str, what: str) -> None:
            skipped.append((name, what))

        names = list(walk(str(self.root), skipped=skip))
        self.assertEqual(names, ["a.css", "sub/b.js"])
        self.assertEqual(
            sorted(skipped),
            [
                ("old.svg", "a broken symlink"),
                ("sock", "a socket"),
                ("sub/pipe", "a FIFO"),
            ],
        )

    def test_unread(self) -> None:
        """
        A file listed but not read is told with the reason the system gives.
        """
        found = Unservable()
        found.unread(str(self.root), "gone.css")
        found.skipped("pipe", "a FIFO")
        self.assertEqual(
            found.describe("/srv"),
            "h2site cannot serve 2 files in /srv (gone.css (cannot be read: no "
            "such file or directory), pipe (a FIFO)); make them regular files "
            "this user can read, or remove them",
        )
        self.assertIsNone(Unservable().describe("/srv"))

    def test_many(self) -> None:
        """
        The line names the first few and counts the rest.
        """
        self.assertEqual(
            describeUnservable("/srv", [(f"{n}.css", "a FIFO") for n in "abcde"]),
            "h2site cannot serve 5 files in /srv (a.css (a FIFO), b.css (a FIFO), "
            "c.css (a FIFO) and 2 more); make them regular files this user can "
            "read, or remove them",
        )
