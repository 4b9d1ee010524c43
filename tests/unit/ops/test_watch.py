"""
Tests for L{h2site.ops.watch}: the debounce, the names left out, and the
watcher's folders (new ones watched, moved ones dropped), with a fake clock
and a fake notifier; and once with Linux's own inotify, that deleting a
watched folder does not stop the watching.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from h2site.ops.watch import (
    DEBOUNCE,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE_SELF,
    IN_ISDIR,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    LONGEST_WAIT,
    Debouncer,
    FolderWatcher,
    isIgnored,
    isIgnoredFolder,
    linuxNotifier,
)

Callback = Callable[[object, FilePath[Any], int], object]


class FakeNotifier:
    """
    Stands in for Twisted's L{INotify}: records the folders watched, and
    delivers the events a test makes up.
    """

    def __init__(self) -> None:
        self.watches: dict[str, list[Callback]] = {}
        self.reading = False
        self.closed = False

    def startReading(self) -> None:
        self.reading = True

    def loseConnection(self) -> None:
        self.closed = True

    def watch(
        self,
        path: FilePath[Any],
        mask: int = 0,
        autoAdd: bool = False,
        callbacks: list[Callback] | None = None,
        recursive: bool = False,
    ) -> object:
        self.watches[os.fsdecode(path.path)] = list(callbacks or [])
        return len(self.watches)

    def ignore(self, path: FilePath[Any]) -> None:
        del self.watches[os.fsdecode(path.path)]

    def event(self, folder: Path, name: str | None, mask: int) -> None:
        """
        inotify reports C{mask} for C{name} in the watched C{folder} (for
        the folder itself with no C{name}).
        """
        full = folder / name if name else folder
        for callback in self.watches[str(folder)]:
            callback(None, FilePath(os.fsencode(str(full))), mask)


class IgnoredTests(SynchronousTestCase):
    """
    L{isIgnored} and L{isIgnoredFolder}: editors' files and folders that
    serve nothing.
    """

    def test_editorFiles(self) -> None:
        """
        Swap, lock, backup and temporary files of common editors, dot-names
        and logs are left out.
        """
        for name in [
            ".index.html.swp",
            ".index.html.swx",
            "index.html.swp",
            "4913",
            "index.html~",
            ".#index.html",
            "#index.html#",
            "app.css___jb_tmp___",
            "app.css___jb_old___",
            "sedAb12Cd",
            ".goutputstream-X1Y2Z3",
            "access.log",
        ]:
            self.assertTrue(isIgnored(name), name)

    def test_siteFiles(self) -> None:
        """
        What a site is made of is not left out, nor is C{.well-known}.
        """
        for name in [
            "index.html",
            "app.css",
            "main.mjs",
            "swap.html",
            "movie.swf",
            "49130",
            "sed.txt",
            "logo.svg",
            ".well-known",
        ]:
            self.assertFalse(isIgnored(name), name)

    def test_folders(self) -> None:
        """
        Version control and dependency folders are not watched.
        """
        for name in [".git", ".hg", "node_modules", "__pycache__"]:
            self.assertTrue(isIgnoredFolder(name), name)
        for name in ["static", "templates", ".well-known", "css"]:
            self.assertFalse(isIgnoredFolder(name), name)


class DebouncerTests(SynchronousTestCase):
    """
    L{Debouncer} hands over a burst of names once it has settled.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.fired: list[list[str]] = []
        self.debouncer = Debouncer(self.clock, self.fired.append)

    def test_burst(self) -> None:
        """
        Names that come less than L{DEBOUNCE} apart are one burst, handed
        over L{DEBOUNCE} after the last, each once, in the order first seen.
        """
        for name in ["b", "a", "b"]:
            self.debouncer.add(name)
            self.clock.advance(DEBOUNCE * 0.8)
        self.assertEqual(self.fired, [])
        self.clock.advance(DEBOUNCE * 0.2)
        self.assertEqual(self.fired, [["b", "a"]])
        self.clock.advance(10)
        self.assertEqual(self.fired, [["b", "a"]])

    def test_separateBursts(self) -> None:
        """
        A quiet time ends a burst; what comes after is the next one.
        """
        self.debouncer.add("a")
        self.clock.advance(DEBOUNCE)
        self.debouncer.add("b")
        self.clock.advance(DEBOUNCE)
        self.assertEqual(self.fired, [["a"], ["b"]])

    def test_longestWait(self) -> None:
        """
        Events that never pause are handed over L{LONGEST_WAIT} after the
        first of them.
        """
        step = DEBOUNCE / 2
        elapsed = 0.0
        while elapsed < LONGEST_WAIT + step:
            self.debouncer.add(f"n{len(self.fired)}")
            self.clock.advance(step)
            elapsed += step
        self.assertEqual(len(self.fired), 1)
        self.assertEqual(self.fired[0], ["n0"])

    def test_cancel(self) -> None:
        """
        A cancelled burst is never handed over.
        """
        self.debouncer.add("a")
        self.debouncer.cancel()
        self.clock.advance(1)
        self.assertEqual(self.fired, [])


class FolderWatcherTests(SynchronousTestCase):
    """
    L{FolderWatcher} watches a tree, follows its new and moved folders, and
    reports names relative to its root.
    """

    def setUp(self) -> None:
        self.root = Path(self.mktemp()).absolute()
        for folder in ["templates", "static/css", ".git/objects", "node_modules/x"]:
            (self.root / folder).mkdir(parents=True)
        self.root = Path(os.path.realpath(self.root))
        self.clock = Clock()
        self.changes: list[list[str]] = []
        self.notifier = FakeNotifier()
        self.watcher = FolderWatcher(
            str(self.root),
            self.changes.append,
            self.clock,
            lambda: self.notifier,
            ignorePaths=[str(self.root / "access.txt")],
        )
        self.watcher.start()

    def settle(self) -> list[list[str]]:
        self.clock.advance(DEBOUNCE)
        changes, self.changes[:] = list(self.changes), []
        return changes

    def test_watchesTree(self) -> None:
        """
        The root and every folder below it are watched, but not version
        control or dependency folders.
        """
        self.assertTrue(self.notifier.reading)
        expected = {
            str(self.root / f) for f in ["", "templates", "static", "static/css"]
        }
        expected = {p.rstrip("/") for p in expected}
        self.assertEqual(set(self.notifier.watches), expected)
        self.assertEqual(self.watcher.watched, expected)

    def test_change(self) -> None:
        """
        A file written is reported by its name below the root, once its
        burst settles.
        """
        self.notifier.event(self.root / "static/css", "app.css", IN_CLOSE_WRITE)
        self.notifier.event(self.root / "templates", "index.html", IN_CLOSE_WRITE)
        self.assertEqual(self.changes, [])
        self.assertEqual(
            self.settle(), [["static/css/app.css", "templates/index.html"]]
        )

    def test_ignored(self) -> None:
        """
        Editors' files and the paths the watcher was told to leave out
        report nothing.
        """
        for name in [".index.html.swp", "4913", "index.html~", "access.txt"]:
            folder = self.root if name == "access.txt" else self.root / "templates"
            self.notifier.event(folder, name, IN_CREATE)
        self.assertEqual(self.settle(), [])

    def test_newFolder(self) -> None:
        """
        A folder created (or moved in) is watched, with the folders already
        inside it, and reported.
        """
        (self.root / "static/img/icons").mkdir(parents=True)
        self.notifier.event(self.root / "static", "img", IN_CREATE | IN_ISDIR)
        self.assertIn(str(self.root / "static/img"), self.notifier.watches)
        self.assertIn(str(self.root / "static/img/icons"), self.notifier.watches)
        (self.root / "public").mkdir()
        self.notifier.event(self.root, "public", IN_MOVED_TO | IN_ISDIR)
        self.assertIn(str(self.root / "public"), self.notifier.watches)
        self.assertEqual(self.settle(), [["static/img", "public"]])
        # Events in the new folder are reported by its name.
        self.notifier.event(self.root / "static/img/icons", "a.svg", IN_CLOSE_WRITE)
        self.assertEqual(self.settle(), [["static/img/icons/a.svg"]])

    def test_newIgnoredFolder(self) -> None:
        """
        A new folder that is left out is neither watched nor reported.
        """
        (self.root / "static/.cache").mkdir()
        self.notifier.event(self.root / "static", ".cache", IN_CREATE | IN_ISDIR)
        self.assertNotIn(str(self.root / "static/.cache"), self.notifier.watches)
        self.assertEqual(self.settle(), [])

    def test_movedAway(self) -> None:
        """
        A folder moved away is no longer watched, nor are its subfolders:
        their events would come under the old names.
        """
        self.notifier.event(self.root, "static", IN_MOVED_FROM | IN_ISDIR)
        self.assertNotIn(str(self.root / "static"), self.notifier.watches)
        self.assertNotIn(str(self.root / "static/css"), self.notifier.watches)
        self.assertIn(str(self.root / "templates"), self.notifier.watches)
        self.assertEqual(self.settle(), [["static"]])

    def test_deleted(self) -> None:
        """
        A watched folder deleted is forgotten (inotify drops its watch).
        """
        css = self.root / "static/css"
        self.notifier.event(css, None, IN_DELETE_SELF)
        self.assertNotIn(str(css), self.watcher.watched)
        self.assertEqual(self.settle(), [["static/css"]])

    def test_stop(self) -> None:
        """
        Stopping closes the notifier and drops a burst not yet handed over.
        """
        self.notifier.event(self.root / "templates", "index.html", IN_CLOSE_WRITE)
        self.watcher.stop()
        self.assertTrue(self.notifier.closed)
        self.assertEqual(self.settle(), [])


class LinuxNotifierTests(TestCase):
    """
    L{linuxNotifier}: Linux's inotify, through Twisted, on a real folder.
    """

    def setUp(self) -> None:
        if not sys.platform.startswith("linux"):
            self.skipTest("inotify is Linux's")

    def test_deletedFolderKeepsWatching(self) -> Deferred[None]:
        """
        After a watched subfolder is deleted (on which Twisted's own
        L{INotify} closes its descriptor), changes elsewhere are still
        reported.
        """
        root = Path(self.mktemp()).absolute()
        (root / "old").mkdir(parents=True)
        (root / "kept").mkdir()
        changes: list[list[str]] = []
        seen: Deferred[None] = Deferred()

        def changed(names: list[str]) -> None:
            changes.append(names)
            if any(n == "kept/after.html" for n in names) and not seen.called:
                seen.callback(None)

        watcher = FolderWatcher(
            str(root), changed, reactor, lambda: linuxNotifier(reactor)
        )
        watcher.start()
        self.addCleanup(watcher.stop)
        shutil.rmtree(root / "old")

        def write() -> None:
            (root / "kept" / "after.html").write_text("<p>new")

        # The deletion's events are read first; then the write.
        clock: Any = reactor
        clock.callLater(0.2, write)
        seen.addCallback(lambda _: self.assertIn("old", changes[0]))
        return seen

    test_deletedFolderKeepsWatching.timeout = 10  # type: ignore[attr-defined]
