"""
Tests for L{h2site.ops.dev}: a burst of changes rebuilds the site in a
thread, swaps it in, tells open pages and logs one line; changes during a
rebuild are built next, together; stopping ends the event streams.
"""

from __future__ import annotations

from pathlib import Path

from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest

from h2site.ops import dev
from h2site.ops.dev import DevService, describeChanges
from h2site.ops.watch import DEBOUNCE, IN_CLOSE_WRITE
from h2site.web.livereload import LiveReload, sseEvent
from h2site.web.site import H2Site
from tests.unit.ops.fakes import FakeReactor, LogCapture
from tests.unit.ops.test_watch import FakeNotifier
from tests.unit.web.test_livereload import asRequest


class DescribeChangesTests(SynchronousTestCase):
    """
    L{describeChanges} says what changed in a few words.
    """

    def test_one(self) -> None:
        self.assertEqual(describeChanges(["a.css"]), "a.css changed")

    def test_some(self) -> None:
        self.assertEqual(describeChanges(["a", "b"]), "2 changes (a, b)")

    def test_many(self) -> None:
        self.assertEqual(
            describeChanges(["a", "b", "c", "d", "e"]),
            "5 changes (a, b, c and 2 more)",
        )


class DevServiceTests(SynchronousTestCase):
    """
    L{DevService} with a fake reactor (threads run when the test says), a
    fake notifier and a build that makes what the test asks for.
    """

    def setUp(self) -> None:
        self.root = Path(self.mktemp()).absolute()
        (self.root / "templates").mkdir(parents=True)
        self.reactor = FakeReactor()
        self.live = LiveReload(self.reactor)
        self.log = LogCapture()
        self.patch(dev, "_log", Logger(observer=self.log))
        self.built = 0
        self.errors: list[str] = []
        self.site = H2Site(Resource(), lambda request: None, reactor=self.reactor)
        self.notifier = FakeNotifier()
        self.service = DevService(
            siteDir=str(self.root),
            site=self.site,
            build=self.build,
            live=self.live,
            reactor=self.reactor,
            notifier=lambda: self.notifier,
        )
        self.service.startService()
        self.addCleanup(self.stop)
        self.stream = DummyRequest([b".h2site", b"events"])
        self.live.open(asRequest(self.stream), "none")

    def stop(self) -> None:
        if self.service.running:
            self.service.stopService()

    def build(self) -> Resource:
        self.built += 1
        pages = self.live.begin()
        pages.errors.extend(self.errors)
        return self.live.wrap(Resource(), pages)

    def save(self, name: str) -> None:
        """
        A file of C{templates/} is written, and the burst settles.
        """
        folder = self.root / "templates"
        self.notifier.event(folder, name, IN_CLOSE_WRITE)
        self.reactor.advance(DEBOUNCE)

    def lines(self) -> list[str]:
        return [line for line in self.log.lines() if "served in" in line]

    def test_rebuild(self) -> None:
        """
        A change rebuilds in a thread; once built, the new tree is served,
        open pages are told its build, and one line says what changed and
        how long it took.
        """
        old = self.site.resource
        self.save("index.html")
        self.assertEqual(self.built, 0)
        self.assertIs(self.site.resource, old)
        self.reactor.advance(0.04)
        self.reactor.finishThreads()
        self.assertEqual(self.built, 1)
        new = self.site.resource
        self.assertIsNot(new, old)
        build = getattr(new, "build", None)
        assert build is not None
        self.assertTrue(
            b"".join(self.stream.written).endswith(sseEvent("reload", build))
        )
        self.assertEqual(
            self.lines(), ["templates/index.html changed; served in 0.040 s"]
        )

    def test_changesDuringRebuild(self) -> None:
        """
        Changes that come while a rebuild runs are built after it, in one
        rebuild.
        """
        self.save("a.html")
        self.save("b.html")
        self.save("c.html")
        self.reactor.finishThreads()
        self.assertEqual(self.built, 1)
        self.reactor.finishThreads()
        self.assertEqual(self.built, 2)
        self.reactor.finishThreads()
        self.assertEqual(self.built, 2)
        self.assertEqual(
            self.lines(),
            [
                "templates/a.html changed; served in 0.100 s",
                "2 changes (templates/b.html, templates/c.html); served in 0.000 s",
            ],
        )

    def test_errors(self) -> None:
        """
        A build with error pages says so in its one line, at error level.
        """
        self.errors = ["template 'x.html' line 2: oops"]
        self.save("x.html")
        self.reactor.finishThreads()
        (line,) = self.lines()
        self.assertIn("with error pages: template 'x.html' line 2: oops", line)
        self.assertEqual(self.log.events[-1]["log_level"].name, "error")

    def test_buildFails(self) -> None:
        """
        A build that raises leaves the previous version served, and says so.
        """
        old = self.site.resource

        def broken() -> Resource:
            raise OSError("disk gone")

        self.service._build = broken
        self.save("index.html")
        self.reactor.finishThreads()
        self.assertIs(self.site.resource, old)
        self.assertIn("still serving the previous version", self.log.lines()[-1])
        self.flushLoggedErrors(OSError)

    def test_stop(self) -> None:
        """
        Stopping stops the watching and ends every open event stream.
        """
        self.service.stopService()
        self.assertTrue(self.notifier.closed)
        self.assertEqual(self.stream.finished, 1)

    def test_startLine(self) -> None:
        """
        Starting says what is watched.
        """
        self.assertIn(f"watching {self.service.watcher.root}", self.log.lines()[0])
