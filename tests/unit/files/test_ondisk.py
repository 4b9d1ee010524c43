"""
Tests for L{h2site.files.background} with pages too large for memory (or
whose rewritten bytes do not fit in what is left of it): fingerprinted all
the same, by a worker that keeps them rewritten as files of the cache
folder, which are sent, and compressed, from there.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
from twisted.internet.defer import Deferred, succeed

from h2site.files import background
from h2site.files.buildcache import BuildCache
from h2site.files.representation import stampOf
from h2site.files.store import PAGE_KINDS, FileStore, MemoryLimits, StoredFile
from h2site.preload.pages import pageHints
from tests.unit.files.test_background import BackgroundTestCase, ManualWorkers, _sha

STYLE = b"p { margin: 0 }\n" * 50
SCRIPT = b"console.log(1);\n" * 20
HEAD = (
    b'<!doctype html><link rel="stylesheet" href="style.css">'
    b'<script src="js/app.js"></script>\n'
)
FILLER = b"<p>" + b"lorem ipsum dolor sit amet " * 20 + b"</p>\n"
#: Over the 100,000 bytes the tests' stores hold in memory.
PAGE = HEAD + FILLER * 300
#: Under them.
SMALL_PAGE = HEAD + FILLER * 30


class LargePageTests(BackgroundTestCase):
    laterKinds = PAGE_KINDS

    def setUp(self) -> None:
        super().setUp()
        self.write("style.css", STYLE)
        self.write("js/app.js", SCRIPT)
        self.write("page.html", PAGE)

    def sent(self, files: FileStore, page: bytes = PAGE) -> bytes:
        """
        C{page} as it is sent once fingerprinted.
        """
        for name in ("style.css", "js/app.js"):
            version = files.version(name)
            assert version is not None
            quoted = b'"' + name.encode() + b'"'
            named = b'"' + name.encode() + b"?v=" + version.encode() + b'"'
            page = page.replace(quoted, named)
        return page

    def identityFile(self, stored: StoredFile) -> Path:
        """
        The file of the cache folder C{stored} is sent from.
        """
        identity = stored.representation.identity
        self.assertIsNone(identity.data)
        assert identity.path is not None
        self.assertEqual(os.path.dirname(identity.path), str(self.cache.directory))
        self.assertEqual(identity.stamp, stampOf(os.stat(identity.path)))
        return Path(identity.path)

    def pageJobs(self) -> list[str]:
        """
        The page jobs run for C{page.html}, by their step.
        """
        steps = (k.split(":")[0] for k in self.workers.ran if ":page.html:" in k)
        return [step.split("-")[0] for step in steps]

    def test_fingerprintedOnDisk(self) -> None:
        """
        A page too large for memory is sent as written at first; then a
        worker scans it and rewrites it into a file of the cache folder,
        sent from there under the hash of its bytes (its ETag and
        fingerprint), and compressed from it.  The page's bytes are never
        read back into the server.
        """
        files = self.store()
        page = self.get(files, "page.html")
        self.assertEqual(page.representation.identity.path, page.realPath)
        self.assertEqual(files.version("page.html"), _sha(PAGE)[:16])
        fingerprinted = files.fingerprinted()
        self.workers.run(upTo=0)
        self.successResultOf(fingerprinted)
        sent = self.sent(files)
        self.assertIn(b"style.css?v=", sent)
        page = self.get(files, "page.html")
        self.assertEqual(self.identityFile(page).read_bytes(), sent)
        identity = page.representation.identity
        self.assertEqual(
            (identity.size, identity.etag.opaque, page.digest),
            (len(sent), _sha(sent)[:32], _sha(sent)),
        )
        self.assertEqual(files.version("page.html"), _sha(sent)[:16])
        assert page.source is not None
        self.assertEqual(page.source.digest, _sha(PAGE))
        self.assertEqual(page.stamps[0], stampOf(os.stat(page.realPath)))
        self.assertEqual(self.pageJobs(), ["scan", "rewrite"])
        self.workers.run()
        self.successResultOf(files.settled())
        rep = self.get(files, "page.html").representation
        self.assertEqual(rep.identity, identity)
        self.assertEqual(rep.codings, ("br", "gzip"))
        for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            body = rep.bodies[coding]
            assert body.path is not None
            self.assertEqual(os.path.dirname(body.path), str(self.cache.directory))
            self.assertEqual(decode(Path(body.path).read_bytes()), sent)
        self.assertFalse(
            any(
                k.startswith(("br", "gzip")) and _sha(PAGE) in k
                for k in self.workers.ran
            )
        )

    def test_hintsNameFingerprints(self) -> None:
        """
        What the page announces is read from the file sent: the
        fingerprinted URLs it names.
        """
        files = self.store()
        self.workers.run()
        version = files.version("style.css")
        assert version is not None
        links = pageHints(files).links["page.html"]
        self.assertTrue(
            any(f"</static/style.css?v={version}>" in link for link in links), links
        )

    def test_pastMemoryBudget(self) -> None:
        """
        A page held in memory whose rewritten bytes do not fit in the memory
        left is rewritten into the cache folder too, and leaves memory.
        """
        self.write("page.html", SMALL_PAGE)
        limits = MemoryLimits(maxFileSize=100_000)
        held = limits.maxTotalSize - self.store(limits).memoryLeft()
        self.workers = ManualWorkers()
        self.cache = BuildCache(Path(self.mktemp()))
        budget = MemoryLimits(maxFileSize=100_000, maxTotalSize=held + 10)
        files = self.store(budget)
        self.assertEqual(
            self.get(files, "page.html").representation.identity.data, SMALL_PAGE
        )
        self.workers.run(upTo=0)
        page = self.get(files, "page.html")
        self.assertEqual(
            self.identityFile(page).read_bytes(), self.sent(files, SMALL_PAGE)
        )
        self.assertEqual(files.memoryLeft(), 10 + len(SMALL_PAGE))
        self.workers.run()
        self.successResultOf(files.settled())
        held = sum(s.representation.memorySize for s in files.entries())
        self.assertLessEqual(held, budget.maxTotalSize)

    def test_reloadReuses(self) -> None:
        """
        A reload with nothing changed takes the page as the last build sent
        it: from the same file, with no job.
        """
        built = self.store()
        self.workers.run()
        first = self.get(built, "page.html")
        path = self.identityFile(first)
        self.workers.ran.clear()
        files = self.store()
        self.assertEqual(self.reads()[-1], 0)
        self.assertEqual(self.workers.queued, [])
        page = self.get(files, "page.html")
        self.assertEqual(page.representation, first.representation)
        self.successResultOf(files.settled())
        self.assertEqual(path.read_bytes(), self.sent(files))

    def test_restartReuses(self) -> None:
        """
        A restart (a new cache object on the same folder) scans and rewrites
        the page again, and finds its file there, left as it was; its
        compressed forms too.
        """
        built = self.store()
        self.workers.run()
        before = self.get(built, "page.html").representation
        self.cache = BuildCache(self.cache.directory)
        self.workers.ran.clear()
        self.events.clear()
        files = self.store()
        self.workers.run()
        self.assertEqual(self.pageJobs(), ["scan", "rewrite"])
        self.assertEqual(self.get(files, "page.html").representation, before)
        self.assertIn("(14 of 14 forms from the cache)", self.logged()[-1])
        self.assertTrue(self.identityFile(self.get(files, "page.html")).exists())

    def test_assetChanged(self) -> None:
        """
        When a file the page names changes, the next build rewrites the page
        into a new file carrying the new fingerprint (sending the old one
        meanwhile); the old file is pruned by the build after.
        """
        built = self.store()
        self.workers.run()
        old = self.identityFile(self.get(built, "page.html"))
        self.write("style.css", STYLE + b"/* new */")
        self.workers.ran.clear()
        files = self.store()
        self.assertEqual(self.identityFile(self.get(files, "page.html")), old)
        self.workers.run()
        self.assertEqual(self.pageJobs(), ["rewrite"])
        page = self.get(files, "page.html")
        new = self.identityFile(page)
        self.assertNotEqual(new, old)
        sent = self.sent(files)
        self.assertIn(b"style.css?v=" + _sha(STYLE + b"/* new */")[:16].encode(), sent)
        self.assertEqual(new.read_bytes(), sent)
        br = page.representation.bodies["br"].path
        assert br is not None
        self.assertEqual(brotli.decompress(Path(br).read_bytes()), sent)
        self.store()
        self.workers.run()
        self.assertFalse(old.exists())
        self.assertTrue(new.exists())

    def test_cacheFileOverwritten(self) -> None:
        """
        The file of the cache folder is sent only while it has the stamp it
        was written with: overwritten in place, the next build reads the
        page again and writes its file anew.
        """
        built = self.store()
        self.workers.run()
        page = self.get(built, "page.html")
        path = self.identityFile(page)
        with open(path, "r+b") as f:
            f.write(b"X")
        self.assertNotEqual(stampOf(os.stat(path)), page.representation.identity.stamp)
        files = self.store()
        self.assertEqual(self.reads()[-1], 1)
        self.workers.run()
        page = self.get(files, "page.html")
        self.assertEqual(self.identityFile(page).read_bytes(), self.sent(files))

    def test_changedBeforeRewritten(self) -> None:
        """
        A page changed on disk after it was scanned is not rewritten from
        the places found in its old bytes: it is sent as it was (the change
        is picked up when next asked for), and the work still ends.
        """
        files = self.store()
        self.workers.run(count=1)
        self.assertEqual(self.pageJobs(), ["scan"])
        self.write("page.html", PAGE + b"<p>edited</p>")
        fingerprinted = files.fingerprinted()
        self.workers.run()
        self.successResultOf(fingerprinted)
        self.successResultOf(files.settled())
        page = self.get(files, "page.html")
        self.assertEqual(page.representation.identity.path, page.realPath)
        self.assertEqual(files.version("page.html"), _sha(PAGE)[:16])

    def test_withoutCache(self) -> None:
        """
        Without a cache folder a page too large for memory has nowhere to be
        kept rewritten: it is sent as written, with no job for it.
        """
        files = FileStore(
            str(self.root),
            MemoryLimits(maxFileSize=100_000),
            lambda: self.now,
            lambda work: self.fail("no"),
            workers=self.workers,
            laterKinds=self.laterKinds,
        )
        files.build()
        self.workers.run()
        self.successResultOf(files.settled())
        page = self.get(files, "page.html")
        self.assertEqual(page.representation.identity.path, page.realPath)
        self.assertEqual(files.version("page.html"), _sha(PAGE)[:16])
        self.assertEqual(self.pageJobs(), [])

    def test_reindexed(self) -> None:
        """
        A page edited between reloads is read again (in a thread), sent as
        written, then fingerprinted into a new file of the cache folder.
        """
        threads: list[Callable[[], StoredFile | None]] = []

        def inThread(work: Callable[[], StoredFile | None]) -> Deferred[Any]:
            threads.append(work)
            return succeed(work())

        files = FileStore(
            str(self.root),
            MemoryLimits(maxFileSize=100_000),
            lambda: self.now,
            inThread,
            cache=self.cache,
            workers=self.workers,
        )
        files.build()
        self.workers.run()
        old = self.identityFile(self.get(files, "page.html"))
        edited = PAGE + b"<p>edited</p>"
        self.write("page.html", edited)
        self.now += 2
        files.lookup("page.html")
        self.assertEqual(len(threads), 1)
        page = self.get(files, "page.html")
        self.assertEqual(page.representation.identity.path, page.realPath)
        self.assertNoResult(files.fingerprinted())
        self.workers.run()
        self.successResultOf(files.settled())
        new = self.identityFile(self.get(files, "page.html"))
        self.assertNotEqual(new, old)
        self.assertEqual(new.read_bytes(), self.sent(files, edited))

    def test_tooLarge(self) -> None:
        """
        A page past L{background.LARGEST_PAGE} is sent as written, with no
        job for it: a worker would hold it whole to rewrite it.
        """
        self.patch(background, "LARGEST_PAGE", len(PAGE) - 1)
        files = self.store()
        self.workers.run()
        self.successResultOf(files.settled())
        page = self.get(files, "page.html")
        self.assertEqual(page.representation.identity.path, page.realPath)
        self.assertEqual(self.pageJobs(), [])
        self.assertEqual(page.representation.codings, ("br", "gzip"))


class LargePageOrderTests(BackgroundTestCase):
    """
    A page too large for memory naming other pages waits for them, as one
    in memory does (stylesheets stand in for pages here).
    """

    def test_waitsForPagesItNames(self) -> None:
        """
        It carries the final fingerprint of the page it names.
        """
        big = b'@import "app.css";\n' + b".x { margin: 0 }\n" * 8000
        self.write("css/big.css", big)
        files = self.store()
        self.workers.run(upTo=0)
        stored = self.get(files, "css/big.css")
        path = stored.representation.identity.path
        assert path is not None
        self.assertEqual(os.path.dirname(path), str(self.cache.directory))
        version = files.version("css/app.css")
        assert version is not None
        self.assertNotEqual(version, _sha(self.files["css/app.css"])[:16])
        self.assertEqual(
            Path(path).read_bytes(),
            big.replace(b'"app.css"', b'"app.css?v=' + version.encode() + b'"'),
        )
