"""
Tests for L{h2site.files.background}: what a file store with workers does
after it starts serving, run by a pool the test drives job by job, on a
fake clock.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import brotli
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from h2site.files import progress, store
from h2site.files.buildcache import BuildCache
from h2site.files.store import FileStore, MemoryLimits, StoredFile
from h2site.files.workers import WorkerFailed, WorkersStopped
from h2site.semantics.negotiation import IDENTITY
from tests.unit.ops.fakes import LogCapture

T = TypeVar("T")

BASE = b"p { margin: 0 }\n" * 50
APP = b'@import "base.css";\nbody { color: red }\n' * 60
TEXT = b"lorem ipsum dolor sit amet\n" * 800
BIG = b"consectetur adipiscing elit\n" * 12_000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ManualWorkers:
    """
    Workers that run a job only when the test says, lowest priority first.

    @ivar ran: the keys of the jobs run, in order.
    """

    processes = 2

    def __init__(self) -> None:
        self.clock = Clock()
        self.ran: list[str] = []
        self._queue: list[tuple[int, int, str, Callable[[], Any], Deferred[Any]]] = []
        self._order = itertools.count()

    def callFromThread(self, f: Callable[[], object]) -> None:
        f()

    def submit(self, key: str, priority: int, call: Callable[[], T]) -> Deferred[T]:
        d: Deferred[T] = Deferred()
        heapq.heappush(self._queue, (priority, next(self._order), key, call, d))
        return d

    @property
    def queued(self) -> list[str]:
        return [key for _, _, key, _, _ in sorted(self._queue)]

    def fail(self, error: Exception) -> None:
        """
        Every job queued fails with C{error}.
        """
        queue, self._queue = self._queue, []
        for _, _, _, _, d in sorted(queue, key=lambda entry: entry[:2]):
            d.errback(Failure(error))

    def run(self, count: int | None = None, upTo: int | None = None) -> None:
        """
        Run C{count} jobs (all, by default; those queued meanwhile too), or
        only those of priority C{upTo} or lower.
        """
        while self._queue and (count is None or count > 0):
            if upTo is not None and self._queue[0][0] > upTo:
                return
            _, _, key, call, d = heapq.heappop(self._queue)
            self.ran.append(key)
            try:
                result = call()
            except Exception:
                d.errback(Failure())
            else:
                d.callback(result)
            if count is not None:
                count -= 1


class BackgroundTestCase(SynchronousTestCase):
    laterKinds: frozenset[str] = frozenset({"css"})

    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        self.files = {
            "css/base.css": BASE,
            "css/app.css": APP,
            "text.txt": TEXT,
            "big.txt": BIG,
            "img.png": os.urandom(3000),
        }
        for name, data in self.files.items():
            self.write(name, data)
        self.workers = ManualWorkers()
        self.cache = BuildCache(Path(self.mktemp()))
        capture = LogCapture()
        self.events = capture.events
        logger = Logger(observer=capture)
        self.patch(progress, "_log", logger)
        self.patch(store, "_log", logger)
        self.now = 100.0

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def store(self, limits: MemoryLimits | None = None, **kwargs: Any) -> FileStore:
        built = FileStore(
            str(self.root),
            limits or MemoryLimits(maxFileSize=100_000),
            lambda: self.now,
            lambda work: self.fail("no re-read expected"),
            cache=self.cache,
            workers=self.workers,
            laterKinds=self.laterKinds,
            **kwargs,
        )
        built.build()
        return built

    def logged(self) -> list[str]:
        return [formatEvent(e) for e in self.events]

    def reads(self) -> list[int]:
        """
        How many files each build read.
        """
        return [e["read"] for e in self.events if "read" in e]

    def get(self, files: FileStore, name: str) -> StoredFile:
        stored = files.get(name)
        assert stored is not None
        return stored


class CompressionTests(BackgroundTestCase):
    laterKinds = frozenset()

    def test_servedBeforeCompressed(self) -> None:
        """
        A file is served as it is at once (its strong ETag, and Vary since
        codings will come), gains gzip, then brotli, each with its own
        ETag; its identity and fingerprint never change.
        """
        files = self.store()
        stored = self.get(files, "text.txt")
        rep = stored.representation
        identity = rep.identity
        self.assertEqual((rep.codings, identity.data), ((), TEXT))
        self.assertEqual(identity.etag.opaque, _sha(TEXT)[:32])
        self.assertIn((b"vary", b"Accept-Encoding"), identity.headers)
        self.assertNoResult(files.settled())
        self.workers.run(upTo=1)
        rep = self.get(files, "text.txt").representation
        self.assertEqual(rep.codings, ("gzip",))
        self.assertEqual(gzip.decompress(rep.bodies["gzip"].data or b""), TEXT)
        self.workers.run()
        rep = self.get(files, "text.txt").representation
        self.assertEqual(rep.codings, ("br", "gzip"))
        self.assertEqual(brotli.decompress(rep.bodies["br"].data), TEXT)
        self.assertEqual(rep.identity, identity)
        self.assertEqual(len({b.etag for b in rep.bodies.values()}), 3)
        self.assertIn((b"content-encoding", b"br"), rep.bodies["br"].headers)
        self.successResultOf(files.settled())

    def test_gzipFirst(self) -> None:
        """
        Every file's gzip form (fast) is made before any brotli form.
        """
        self.store()
        self.workers.run()
        codings = [key.split(":")[0] for key in self.workers.ran]
        self.assertEqual(codings, sorted(codings, key=lambda c: c != "gzip"))
        self.assertEqual(codings.count("gzip"), codings.count("br"))

    def test_notCompressible(self) -> None:
        """
        A type that does not compress is never queued, and has no Vary.
        """
        files = self.store()
        png = self.get(files, "img.png").representation
        self.assertNotIn(b"vary", dict(png.identity.headers))
        self.assertFalse(any("png" in k for k in self.workers.queued))
        self.assertEqual(len(self.workers.queued), 8)

    def test_largeFileOnDisk(self) -> None:
        """
        A file too large for memory gets its compressed forms as files of
        the cache folder, sent from there with their stamps.
        """
        files = self.store()
        stored = self.get(files, "big.txt")
        self.assertIsNone(stored.representation.identity.data)
        self.assertEqual(stored.pending, {"br", "gzip"})
        self.workers.run()
        rep = self.get(files, "big.txt").representation
        self.assertEqual(rep.codings, ("br", "gzip"))
        for coding in ("br", "gzip"):
            body = rep.bodies[coding]
            self.assertIsNone(body.data)
            assert body.path is not None
            self.assertEqual(os.path.dirname(body.path), str(self.cache.directory))
            st = os.stat(body.path)
            self.assertEqual(body.stamp, (st.st_size, st.st_mtime_ns, st.st_ino))
            encoded = Path(body.path).read_bytes()
            self.assertEqual(body.etag.opaque, _sha(encoded)[:32])
        decoded = brotli.decompress(Path(rep.bodies["br"].path or "").read_bytes())
        self.assertEqual(decoded, BIG)
        self.assertEqual(
            files.memoryLeft(),
            files.limits.maxTotalSize
            - sum(s.representation.memorySize for s in files.entries()),
        )

    def test_largeFileWithoutCache(self) -> None:
        """
        Without a cache folder a large file has nowhere to keep its
        compressed forms, so it has none.
        """
        self.cache = None  # type: ignore[assignment]
        files = FileStore(
            str(self.root),
            MemoryLimits(maxFileSize=100_000),
            lambda: self.now,
            lambda work: self.fail("no"),
            workers=self.workers,
        )
        files.build()
        self.workers.run()
        self.assertEqual(self.get(files, "big.txt").representation.codings, ())
        self.assertEqual(
            self.get(files, "text.txt").representation.codings, ("br", "gzip")
        )

    def test_memoryBudget(self) -> None:
        """
        Compressed forms past the memory budget are sent from the cache
        folder; what is held in memory stays within the budget.
        """
        budget = len(TEXT) + len(APP) + len(BASE) + 200
        files = self.store(MemoryLimits(maxFileSize=100_000, maxTotalSize=budget))
        self.workers.run()
        held = sum(s.representation.memorySize for s in files.entries())
        self.assertLessEqual(held, budget)
        onDisk = [
            b
            for s in files.entries()
            for c, b in s.representation.bodies.items()
            if c != IDENTITY and b.path is not None
        ]
        self.assertTrue(onDisk)
        text = self.get(files, "text.txt").representation
        self.assertEqual(text.codings, ("br", "gzip"))

    def test_progress(self) -> None:
        """
        The log says what is to do, how far it is every five seconds, and
        when it is done; then nothing is left scheduled.
        """
        self.store()
        self.workers.run(count=3)
        self.workers.clock.advance(5)
        self.workers.run()
        lines = self.logged()
        self.assertTrue(
            any(
                "0 pages to fingerprint and 4 files to compress, "
                "in the background with 2 processes" in line
                for line in lines
            ),
            lines,
        )
        self.assertIn(
            "h2site static files: 0 of 4 in their final form, 0 pages left "
            "to fingerprint, 0.4 MB saved so far",
            lines,
        )
        self.assertTrue(lines[-1].startswith("h2site static files ready: 0 pages"))
        self.assertIn(
            "4 files compressed in 5.0 s (0 of 8 forms from the cache)", lines[-1]
        )
        self.assertEqual(self.workers.clock.getDelayedCalls(), [])

    def test_failures(self) -> None:
        """
        The first job that fails is logged in full, the others counted;
        their files are sent as they are, and the work still ends.
        """
        files = self.store()
        self.workers.fail(WorkerFailed("no"))
        self.successResultOf(files.settled())
        lines = self.logged()
        self.assertEqual(sum("h2site static files: compressing" in x for x in lines), 1)
        self.assertIn(
            "h2site static files: 8 jobs failed; those files are sent as they "
            "are, or without the forms that failed",
            lines,
        )
        self.assertEqual(self.get(files, "text.txt").representation.codings, ())

    def test_stoppedQuietly(self) -> None:
        """
        Workers stopped (the server shutting down) end the work at once,
        with nothing logged or left scheduled, and nothing settled.
        """
        files = self.store()
        self.workers.fail(WorkersStopped())
        self.assertNoResult(files.settled())
        self.assertFalse(any("ready" in line for line in self.logged()))
        self.assertEqual(self.workers.clock.getDelayedCalls(), [])

    def test_warmFromCache(self) -> None:
        """
        A second run (a restart: a new cache object on the same folder)
        takes every form from the cache, and says so.
        """
        self.store()
        self.workers.run()
        self.cache = BuildCache(self.cache.directory)
        self.events.clear()
        self.store()
        self.workers.run()
        self.assertIn("(8 of 8 forms from the cache)", self.logged()[-1])


class PageTests(BackgroundTestCase):
    """
    Files of the kinds fingerprinted after serving starts (stylesheets
    stand in for pages here) are sent as they are until then.
    """

    def v(self, files: FileStore, name: str) -> bytes:
        version = files.version(name)
        assert version is not None
        return version.encode("ascii")

    def test_sentAsTheyAreFirst(self) -> None:
        """
        Until its references are fingerprinted, a page is sent as it is on
        disk, under the fingerprint of those bytes; then rewritten, with a
        new ETag and fingerprint, and compressed as rewritten.
        """
        files = self.store()
        app = self.get(files, "css/app.css")
        self.assertEqual(app.representation.identity.data, APP)
        self.assertEqual(files.version("css/app.css"), _sha(APP)[:16])
        fingerprinted = files.fingerprinted()
        self.assertNoResult(fingerprinted)
        self.assertTrue(self.workers.queued[0].startswith("scan:"))
        self.workers.run(upTo=0)
        self.successResultOf(fingerprinted)
        app = self.get(files, "css/app.css")
        sent = app.representation.identity.data
        self.assertEqual(
            sent,
            APP.replace(b"base.css", b"base.css?v=" + self.v(files, "css/base.css")),
        )
        assert sent is not None
        self.assertEqual(files.version("css/app.css"), _sha(sent)[:16])
        self.assertEqual(app.source and app.source.digest, _sha(APP))
        self.workers.run()
        app = self.get(files, "css/app.css")
        self.assertEqual(brotli.decompress(app.representation.bodies["br"].data), sent)
        self.assertFalse(
            any(
                k.startswith(("br", "gzip")) and _sha(APP) in k
                for k in self.workers.ran
            )
        )

    def test_pageNamingPage(self) -> None:
        """
        A page naming another waits for it, and carries its final
        fingerprint.
        """
        self.write("css/base.css", b'@import "deep.css";\n' + BASE)
        self.write("css/deep.css", BASE + b"/* deep */")
        files = self.store()
        self.workers.run(upTo=0)
        base = self.get(files, "css/base.css").representation.identity.data or b""
        self.assertIn(b"deep.css?v=" + self.v(files, "css/deep.css"), base)
        app = self.get(files, "css/app.css").representation.identity.data or b""
        self.assertIn(b"base.css?v=" + self.v(files, "css/base.css"), app)
        self.assertEqual(files.version("css/base.css"), _sha(base)[:16])

    def test_cycle(self) -> None:
        """
        Of two pages naming each other, one carries the other's final
        fingerprint and the other names it as written; both are done.
        """
        self.write("css/c.css", b'@import "d.css";\n' + BASE)
        self.write("css/d.css", b'@import "c.css";\n' + BASE)
        files = self.store()
        fingerprinted = files.fingerprinted()
        self.workers.run(upTo=0)
        self.successResultOf(fingerprinted)
        c = self.get(files, "css/c.css").representation.identity.data or b""
        d = self.get(files, "css/d.css").representation.identity.data or b""
        rewrittenOnce = [
            b"d.css?v=" + self.v(files, "css/d.css") in c,
            b"c.css?v=" + self.v(files, "css/c.css") in d,
        ]
        self.assertEqual(sorted(rewrittenOnce), [False, True])

    def test_namesItself(self) -> None:
        """
        A page naming itself leaves that reference as written (its own
        fingerprint is that of the bytes written), and is not rewritten
        again by the next build.
        """
        self.write("css/self.css", b'@import "self.css";\n' + BASE)
        files = self.store()
        self.workers.run()
        sent = self.get(files, "css/self.css").representation.identity.data
        self.assertEqual(sent, b'@import "self.css";\n' + BASE)
        self.workers.ran.clear()
        self.store()
        self.workers.run()
        self.assertEqual(self.workers.ran, [])

    def test_reindexedPage(self) -> None:
        """
        A page changed between reloads is read again, sent as it is, then
        fingerprinted.
        """
        threads: list[tuple[Callable[[], StoredFile | None], Deferred[Any]]] = []

        def inThread(work: Callable[[], StoredFile | None]) -> Deferred[Any]:
            d: Deferred[Any] = Deferred()
            threads.append((work, d))
            return d

        files = FileStore(
            str(self.root),
            MemoryLimits(),
            lambda: self.now,
            inThread,
            cache=self.cache,
            workers=self.workers,
            laterKinds=self.laterKinds,
        )
        files.build()
        self.workers.run()
        new = APP + b"/* edited */"
        self.write("css/app.css", new)
        self.now += 2
        self.assertIsInstance(files.lookup("css/app.css"), Deferred)
        [(work, done)] = threads
        stored = work()
        done.callback(stored)
        assert stored is not None
        self.assertEqual(stored.representation.identity.data, new)
        self.assertNoResult(files.fingerprinted())
        self.workers.run()
        stored = self.get(files, "css/app.css")
        self.assertIn(b"base.css?v=", stored.representation.identity.data or b"")
        self.assertEqual(stored.representation.codings, ("br", "gzip"))
        self.successResultOf(files.settled())


class ReloadTests(BackgroundTestCase):
    """
    A build after another over the same cache (a reload) reads, scans and
    compresses only what changed.
    """

    def test_onlyWhatChanged(self) -> None:
        """
        Nothing changed: nothing is read and no work is queued; the entries
        are the last build's, compressed forms and all.
        """
        first = self.store()
        self.workers.run()
        second = self.store()
        self.assertEqual(self.reads(), [5, 0])
        self.assertEqual(self.workers.queued, [])
        for name in self.files:
            old, new = self.get(first, name), self.get(second, name)
            self.assertIsNot(old, new)
            self.assertEqual(old.representation, new.representation)
        self.successResultOf(second.settled())

    def test_oneFileChanged(self) -> None:
        """
        An edited file is the only one read and compressed again.
        """
        self.store()
        self.workers.run()
        self.write("text.txt", TEXT + b"more\n")
        self.workers.ran.clear()
        files = self.store()
        self.assertEqual(self.reads(), [5, 1])
        self.workers.run()
        digest = _sha(TEXT + b"more\n")
        self.assertEqual(
            sorted(self.workers.ran), [f"br:{digest}:memory", f"gzip:{digest}:memory"]
        )
        self.assertEqual(
            self.get(files, "text.txt").representation.codings, ("br", "gzip")
        )

    def test_pageRefingerprinted(self) -> None:
        """
        When a file a page names changes, the page is read back from disk
        and fingerprinted again (sent with the old fingerprints meanwhile,
        which is correct, only not immutable), and compressed again.
        """
        first = self.store()
        self.workers.run()
        oldApp = self.get(first, "css/app.css").representation
        self.write("css/base.css", BASE + b"/* new */")
        self.workers.ran.clear()
        files = self.store()
        self.assertEqual(self.reads(), [5, 1])
        app = self.get(files, "css/app.css")
        self.assertEqual(app.representation, oldApp)
        self.workers.run()
        app = self.get(files, "css/app.css")
        sent = app.representation.identity.data or b""
        version = files.version("css/base.css")
        assert version is not None
        self.assertIn(b"base.css?v=" + version.encode(), sent)
        self.assertEqual(_sha(BASE + b"/* new */")[:16], version)
        self.assertTrue(any(k.startswith("read:css/app.css") for k in self.workers.ran))
        self.assertEqual(app.representation.codings, ("br", "gzip"))

    def test_rewrittenNowRefingerprinted(self) -> None:
        """
        A stylesheet fingerprinted while building (not a page) is rewritten
        in the build after a file it names changed: two files read.
        """
        self.laterKinds = frozenset()
        first = self.store()
        self.workers.run()
        self.write("css/base.css", BASE + b"/* new */")
        files = self.store()
        self.assertEqual(self.reads(), [5, 2])
        app = self.get(files, "css/app.css").representation
        self.assertNotEqual(
            app.version, self.get(first, "css/app.css").representation.version
        )
        self.assertIn(
            b"base.css?v=" + _sha(BASE + b"/* new */")[:16].encode(),
            app.identity.data or b"",
        )

    def test_cacheKeptForReused(self) -> None:
        """
        The cache entries of files taken from the last build are kept when
        the new build prunes.
        """
        self.store()
        self.workers.run()
        entries = set(os.listdir(self.cache.directory))
        self.store()
        self.workers.run()
        self.assertEqual(set(os.listdir(self.cache.directory)), entries)

    def test_onlyLatestPrunes(self) -> None:
        """
        A build whose work ends after a newer build started does not prune:
        the entries it did not use may be the newer one's.
        """
        self.store()
        self.write("text.txt", b"other text " * 500)
        self.cache.used.clear()
        pruned: list[bool] = []
        self.patch(self.cache, "prune", lambda: pruned.append(True))
        self.store()
        self.workers.run()
        self.assertEqual(pruned, [True])
