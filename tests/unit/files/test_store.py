"""
Tests for L{h2site.files.store}: the index of static files.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from h2site.files import buildcache, store
from h2site.files.buildcache import BuildCache
from h2site.files.representation import representationFromBytes, stampOf
from h2site.files.store import FileStore, MemoryLimits, StoredFile
from h2site.files.walk import walk
from h2site.semantics.negotiation import IDENTITY
from tests.helpers import readsEverything
from tests.unit.ops.fakes import LogCapture

CSS = b"body { color: red; }\n" * 200
PNG = os.urandom(20_000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _sync(work: object) -> Deferred[StoredFile | None]:
    return succeed(work())  # type: ignore[operator]


def _resolved(result: object) -> StoredFile | None:
    """
    The value of a look-up, waiting for a (synchronous) re-index.
    """
    if isinstance(result, Deferred):
        out: list[StoredFile | None] = []
        result.addCallback(out.append)
        assert out, "re-index did not finish"
        return out[0]
    return result  # type: ignore[return-value]


class RepresentationTests(SynchronousTestCase):
    def test_compressible(self) -> None:
        """
        Text gets brotli and gzip bodies that decode to it, each with its
        own strong ETag, brotli (smaller) first, and Vary on every body.
        """
        rep = representationFromBytes(CSS, "text/css; charset=utf-8", 0)
        self.assertEqual(rep.codings, ("br", "gzip"))
        br, gz, plain = rep.bodies["br"], rep.bodies["gzip"], rep.identity
        self.assertEqual(brotli.decompress(br.data), CSS)
        self.assertEqual(gzip.decompress(gz.data or b""), CSS)
        self.assertEqual(len({br.etag, gz.etag, plain.etag}), 3)
        self.assertFalse(plain.etag.weak)
        for body in (br, gz, plain):
            self.assertIn((b"vary", b"Accept-Encoding"), body.headers)
        self.assertIn((b"content-encoding", b"br"), br.headers)
        self.assertNotIn(b"content-encoding", dict(plain.headers))

    def test_incompressible(self) -> None:
        """
        Already-compressed types are not compressed, and do not vary.
        """
        rep = representationFromBytes(PNG, "image/png", 0)
        self.assertEqual(rep.codings, ())
        self.assertNotIn(b"vary", dict(rep.identity.headers))

    def test_onlyWhenSmaller(self) -> None:
        """
        A coding that would not be smaller is left out.
        """
        rep = representationFromBytes(os.urandom(500), "text/plain", 0)
        self.assertEqual(rep.codings, ())

    def test_sidecarUsedWhenValidAndSmaller(self) -> None:
        """
        A sidecar that decodes to the file is used if smaller; one that does
        not (stale) is ignored.
        """
        rep = representationFromBytes(CSS, "text/css", 0, {"gzip": b"not gzip"})
        self.assertEqual(gzip.decompress(rep.bodies["gzip"].data or b""), CSS)
        stale = gzip.compress(b"old", 9)
        rep = representationFromBytes(CSS, "text/css", 0, {"gzip": stale})
        self.assertNotEqual(rep.bodies["gzip"].data, stale)

    def test_versionFollowsContent(self) -> None:
        """
        The fingerprint changes with the bytes and only with them.
        """
        a = representationFromBytes(CSS, "text/css", 0)
        b = representationFromBytes(CSS, "text/css", 99)
        c = representationFromBytes(CSS + b" ", "text/css", 0)
        self.assertEqual(a.version, b.version)
        self.assertNotEqual(a.version, c.version)


class WalkTests(SynchronousTestCase):
    def test_rules(self) -> None:
        """
        Dot-names are skipped; symlinks inside the root are followed, ones
        out of it and loops are not.
        """
        root = Path(self.mktemp()).absolute()
        (root / "sub").mkdir(parents=True)
        (root / ".git").mkdir()
        (root / ".git" / "config").write_text("x")
        (root / ".env").write_text("x")
        (root / "a.css").write_text("x")
        (root / "sub" / "b.js").write_text("x")
        outside = Path(self.mktemp()).absolute()
        outside.mkdir()
        (outside / "secret").write_text("x")
        (root / "out").symlink_to(outside)
        (root / "loop").symlink_to(root)
        (root / "broken").symlink_to(root / "nothing")
        names = set(walk(os.path.realpath(root)))
        self.assertEqual(names, {"a.css", "sub/b.js"})


class FileStoreTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        (self.root / "css").mkdir(parents=True)
        (self.root / "css" / "app.css").write_bytes(CSS)
        (self.root / "img.png").write_bytes(PNG)
        self.clock = FakeClock()

    def store(self, limits: MemoryLimits | None = None) -> FileStore:
        store = FileStore(str(self.root), limits or MemoryLimits(), self.clock, _sync)
        store.build()
        return store

    def test_memoryAndDisk(self) -> None:
        """
        Files within the per-file limit are in memory; larger ones stay on
        disk, with a strong ETag all the same.
        """
        store = self.store(MemoryLimits(maxFileSize=10_000))
        css = _resolved(store.lookup("css/app.css"))
        png = _resolved(store.lookup("img.png"))
        assert css is not None and png is not None
        self.assertEqual(css.representation.identity.data, CSS)
        self.assertIsNone(png.representation.identity.data)
        self.assertEqual(png.representation.identity.size, len(PNG))
        self.assertEqual(
            png.representation.identity.etag,
            representationFromBytes(PNG, "image/png", 0).identity.etag,
        )

    def test_totalBudget(self) -> None:
        """
        Past the total memory budget, files are served from disk.
        """
        store = self.store(
            MemoryLimits(maxFileSize=100_000, maxTotalSize=len(PNG) + 10)
        )
        stored = [_resolved(store.lookup(n)) for n in ("css/app.css", "img.png")]
        inMemory = [
            s for s in stored if s is not None and s.representation.identity.data
        ]
        self.assertEqual(len(inMemory), 1)

    def test_largeWithSidecar(self) -> None:
        """
        A file on disk uses a sidecar at least as new as itself, and
        ignores an older one.
        """
        (self.root / "css" / "app.css.br").write_bytes(brotli.compress(CSS))
        (self.root / "css" / "app.css.gz").write_bytes(gzip.compress(CSS))
        os.utime(self.root / "css" / "app.css.gz", ns=(0, 0))
        store = self.store(MemoryLimits(maxFileSize=100))
        css = _resolved(store.lookup("css/app.css"))
        assert css is not None
        self.assertEqual(css.representation.codings, ("br",))
        self.assertEqual(
            css.representation.bodies["br"].path,
            os.path.realpath(self.root / "css" / "app.css.br"),
        )
        gz = _resolved(store.lookup("css/app.css.gz"))
        assert gz is not None
        self.assertEqual(gz.representation.contentType, "application/gzip")
        self.assertEqual(gz.representation.codings, ())

    def test_diskBodiesStamped(self) -> None:
        """
        Each body on disk carries the stamp (size, time, inode) of the file
        its ETag was computed from, so delivery can tell if it changed since;
        bodies in memory need none.
        """
        (self.root / "css" / "app.css.br").write_bytes(brotli.compress(CSS))
        store = self.store(MemoryLimits(maxFileSize=100))
        css = _resolved(store.lookup("css/app.css"))
        assert css is not None
        bodies = css.representation.bodies
        self.assertEqual(
            bodies[IDENTITY].stamp, stampOf(os.stat(self.root / "css" / "app.css"))
        )
        self.assertEqual(
            bodies["br"].stamp, stampOf(os.stat(self.root / "css" / "app.css.br"))
        )
        self.assertEqual(bodies[IDENTITY].stamp, css.stamps[0])
        small = _resolved(self.store().lookup("css/app.css"))
        assert small is not None
        self.assertIsNone(small.representation.identity.stamp)

    def test_missing(self) -> None:
        """
        Unknown names, directories and dot-files are not found.
        """
        store = self.store()
        for name in ["nope.css", "css", ".hidden"]:
            self.assertIsNone(_resolved(store.lookup(name)), name)

    def test_changePickedUpAfterASecond(self) -> None:
        """
        An edited file is served as it was until a second has passed, then
        re-read: new bytes, new ETag and fingerprint.
        """
        store = self.store()
        before = _resolved(store.lookup("css/app.css"))
        assert before is not None
        (self.root / "css" / "app.css").write_bytes(b"p { }\n")
        self.clock.now += 0.5
        self.assertIs(_resolved(store.lookup("css/app.css")), before)
        self.clock.now += 0.6
        after = _resolved(store.lookup("css/app.css"))
        assert after is not None
        self.assertEqual(after.representation.identity.data, b"p { }\n")
        self.assertNotEqual(after.representation.version, before.representation.version)
        self.assertEqual(store.version("css/app.css"), after.representation.version)

    def test_unchangedNotReread(self) -> None:
        """
        An unchanged file is the same object after the check.
        """
        store = self.store()
        before = _resolved(store.lookup("css/app.css"))
        self.clock.now += 5
        self.assertIs(_resolved(store.lookup("css/app.css")), before)

    def test_addedAndRemoved(self) -> None:
        """
        A file added after start-up is found; a removed one is gone.
        """
        store = self.store()
        (self.root / "new.txt").write_bytes(b"hello")
        found = _resolved(store.lookup("new.txt"))
        assert found is not None
        self.assertEqual(found.representation.identity.data, b"hello")
        (self.root / "img.png").unlink()
        self.clock.now += 2
        self.assertIsNone(_resolved(store.lookup("img.png")))
        self.assertIsNone(store.version("img.png"))

    def test_folderGoneKeepsServing(self) -> None:
        """
        When the whole folder is gone (moved away mid-deploy), its files are
        served as indexed: a reload would be refused, and the pages still
        name them.  Back in place, a removed file is gone again.
        """
        store = self.store()
        before = _resolved(store.lookup("css/app.css"))
        assert before is not None
        moved = self.root.parent / "moved"
        self.root.rename(moved)
        self.clock.now += 2
        self.assertIs(_resolved(store.lookup("css/app.css")), before)
        moved.rename(self.root)
        (self.root / "css" / "app.css").unlink()
        self.clock.now += 2
        self.assertIsNone(_resolved(store.lookup("css/app.css")))

    def test_reindexOffThread(self) -> None:
        """
        A changed file is re-read through C{runInThread}, and every request
        arriving meanwhile waits for the same result.
        """
        calls: list[Deferred[StoredFile | None]] = []
        work: list[object] = []

        def later(f: object) -> Deferred[StoredFile | None]:
            d: Deferred[StoredFile | None] = Deferred()
            calls.append(d)
            work.append(f)
            return d

        store = FileStore(str(self.root), MemoryLimits(), self.clock, later)
        store.build()
        (self.root / "css" / "app.css").write_bytes(b"new")
        self.clock.now += 2
        first = store.lookup("css/app.css")
        second = store.lookup("css/app.css")
        self.assertIsInstance(first, Deferred)
        self.assertIsInstance(second, Deferred)
        self.assertEqual(len(calls), 1)
        calls[0].callback(work[0]())  # type: ignore[operator]
        a, b = _resolved(first), _resolved(second)
        assert a is not None
        self.assertIs(a, b)
        self.assertEqual(a.representation.identity.data, b"new")

    def test_noStaticFolder(self) -> None:
        """
        A site without a static folder finds nothing.
        """
        store = FileStore(None, MemoryLimits(), self.clock, _sync)
        store.build()
        self.assertIsNone(store.lookup("a"))
        self.assertIsNone(store.version("a"))

    def test_identityKey(self) -> None:
        """
        Every representation has an identity body.
        """
        store = self.store()
        css = _resolved(store.lookup("css/app.css"))
        assert css is not None
        self.assertIn(IDENTITY, css.representation.bodies)


class FingerprintTests(SynchronousTestCase):
    """
    Stylesheets and modules held in memory are sent with the references
    inside them fingerprinted, each with the fingerprint of the bytes sent
    for the file it names.
    """

    APP = (
        b'@import "base.css";\n'
        b"@font-face { src: url(../fonts/x.woff2) }\n"
        b"p { background: url('../img/hero.svg#top') }\n"
    )

    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        files = {
            "css/app.css": self.APP,
            "css/base.css": b'@import "deep.css"; body { margin: 0 }\n',
            "css/deep.css": b"p { color: red }\n",
            "fonts/x.woff2": os.urandom(500),
            "img/hero.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "js/main.mjs": b"import './a.mjs';\nimport('./b.mjs');\n",
            "js/a.mjs": b"export * from './b.mjs';\n",
            "js/b.mjs": b"export const b = 1;\n",
            "js/c.mjs": b"import './d.mjs';\n",
            "js/d.mjs": b"import './c.mjs';\n",
        }
        for name, data in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.clock = FakeClock()

    def store(self, limits: MemoryLimits | None = None) -> FileStore:
        store = FileStore(str(self.root), limits or MemoryLimits(), self.clock, _sync)
        store.build()
        return store

    def sent(self, store: FileStore, name: str) -> bytes:
        stored = _resolved(store.lookup(name))
        assert stored is not None
        data = stored.representation.identity.data
        assert data is not None
        return data

    def v(self, store: FileStore, name: str) -> bytes:
        version = store.version(name)
        assert version is not None
        return version.encode("ascii")

    def test_dependenciesFirst(self) -> None:
        """
        Each file carries the fingerprints of the files it names, as they
        are sent (a chain of imports three deep, a font, an image with a
        fragment; static, re-exported and dynamic imports).
        """
        store = self.store()
        self.assertEqual(
            self.sent(store, "css/app.css"),
            b'@import "base.css?v=' + self.v(store, "css/base.css") + b'";\n'
            b"@font-face { src: url(../fonts/x.woff2?v="
            + self.v(store, "fonts/x.woff2")
            + b") }\np { background: url('../img/hero.svg?v="
            + self.v(store, "img/hero.svg")
            + b"#top') }\n",
        )
        self.assertIn(
            b"deep.css?v=" + self.v(store, "css/deep.css"),
            self.sent(store, "css/base.css"),
        )
        self.assertEqual(
            self.sent(store, "js/main.mjs"),
            b"import './a.mjs?v=" + self.v(store, "js/a.mjs") + b"';\n"
            b"import('./b.mjs?v=" + self.v(store, "js/b.mjs") + b"');\n",
        )
        self.assertIn(
            b"b.mjs?v=" + self.v(store, "js/b.mjs"), self.sent(store, "js/a.mjs")
        )

    def test_fingerprintOfSentBytes(self) -> None:
        """
        A rewritten file's fingerprint, ETag and compressed forms are those
        of the bytes sent.
        """
        store = self.store()
        stored = _resolved(store.lookup("css/app.css"))
        assert stored is not None
        rep = stored.representation
        expected = representationFromBytes(
            self.sent(store, "css/app.css"), rep.contentType, 0
        )
        self.assertNotEqual(rep.identity.data, self.APP)
        self.assertEqual(rep.version, expected.version)
        self.assertEqual(rep.identity.etag, expected.identity.etag)
        self.assertEqual(brotli.decompress(rep.bodies["br"].data), rep.identity.data)

    def test_cycle(self) -> None:
        """
        Of two modules importing each other, one carries the other's final
        fingerprint, and the other names it as written.
        """
        store = self.store()
        c, d = self.sent(store, "js/c.mjs"), self.sent(store, "js/d.mjs")
        self.assertEqual(c, b"import './d.mjs?v=" + self.v(store, "js/d.mjs") + b"';\n")
        self.assertEqual(d, b"import './c.mjs';\n")

    def test_sidecarIgnored(self) -> None:
        """
        A C{.br} or C{.gz} shipped beside a rewritten stylesheet holds the
        bytes on disk, not those sent, so it is not used: the compressed
        forms decode to the rewritten bytes.
        """
        app = self.root / "css" / "app.css"
        (self.root / "css" / "app.css.br").write_bytes(brotli.compress(self.APP))
        (self.root / "css" / "app.css.gz").write_bytes(gzip.compress(self.APP))
        store = self.store()
        stored = _resolved(store.lookup("css/app.css"))
        assert stored is not None
        rep = stored.representation
        self.assertIn(b"?v=", rep.identity.data or b"")
        self.assertEqual(brotli.decompress(rep.bodies["br"].data), rep.identity.data)
        self.assertEqual(
            gzip.decompress(rep.bodies["gzip"].data or b""), rep.identity.data
        )
        self.assertEqual(app.read_bytes(), self.APP)

    def test_largeNotRewritten(self) -> None:
        """
        A stylesheet too large to be held in memory is sent from disk as it
        is, with the fingerprint of those bytes.
        """
        store = self.store(MemoryLimits(maxFileSize=len(self.APP) - 1))
        stored = _resolved(store.lookup("css/app.css"))
        assert stored is not None
        self.assertIsNone(stored.representation.identity.data)
        self.assertEqual(
            stored.representation.version,
            representationFromBytes(self.APP, "text/css", 0).version,
        )

    def test_reindexRewrites(self) -> None:
        """
        A stylesheet changed between reloads is rewritten when it is read
        again, with the fingerprints current then.
        """
        store = self.store()
        (self.root / "css" / "app.css").write_bytes(b"@import url(deep.css) print;")
        self.clock.now += 2
        self.assertEqual(
            self.sent(store, "css/app.css"),
            b"@import url(deep.css?v=" + self.v(store, "css/deep.css") + b") print;",
        )

    def test_dependencyChanged(self) -> None:
        """
        When a file a stylesheet names changes, the stylesheet keeps the old
        fingerprint until the next build, which gives it the new one, and
        with it new bytes, a new ETag and a new fingerprint of its own.
        """
        store = self.store()
        oldApp = _resolved(store.lookup("css/app.css"))
        oldBase = store.version("css/base.css")
        assert oldApp is not None and oldBase is not None
        (self.root / "css" / "base.css").write_bytes(b"body { margin: 1px }\n")
        self.clock.now += 2
        self.sent(store, "css/base.css")
        newBase = self.v(store, "css/base.css")
        self.assertNotEqual(newBase, oldBase.encode("ascii"))
        self.assertIn(
            b"base.css?v=" + oldBase.encode("ascii"), self.sent(store, "css/app.css")
        )
        store.build()
        newApp = _resolved(store.lookup("css/app.css"))
        assert newApp is not None
        self.assertIn(b"base.css?v=" + newBase, self.sent(store, "css/app.css"))
        self.assertNotEqual(
            newApp.representation.version, oldApp.representation.version
        )
        self.assertNotEqual(
            newApp.representation.identity.etag, oldApp.representation.identity.etag
        )


class RebuildTests(SynchronousTestCase):
    """
    A build after another (a reload) takes what did not change from the
    last one: not read, hashed, scanned or compressed again.
    """

    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        (self.root / "css").mkdir(parents=True)
        (self.root / "css" / "app.css").write_bytes(b'@import "base.css";\n' + CSS)
        (self.root / "css" / "base.css").write_bytes(CSS)
        (self.root / "img.png").write_bytes(PNG)
        (self.root / "big.txt").write_bytes(CSS * 20)
        self.clock = FakeClock()
        capture = LogCapture()
        self.events = capture.events
        self.patch(store, "_log", Logger(observer=capture))
        self.compressed: list[str] = []
        real = buildcache.compress

        def counting(coding: str, data: bytes, digest: str = "") -> bytes:
            self.compressed.append(coding)
            return real(coding, data)

        self.patch(buildcache, "compress", counting)

    def store(self, cache: BuildCache | None) -> FileStore:
        built = FileStore(
            str(self.root),
            MemoryLimits(maxFileSize=50_000),
            self.clock,
            _sync,
            cache=cache,
        )
        built.build()
        return built

    def reads(self) -> list[int]:
        return [e["read"] for e in self.events if "read" in e]

    def test_nothingChanged(self) -> None:
        """
        Nothing is read or compressed again; the entries are copies of the
        last build's.
        """
        cache = BuildCache(Path(self.mktemp()))
        first = self.store(cache)
        compressed = len(self.compressed)
        second = self.store(cache)
        self.assertEqual(self.reads(), [4, 0])
        self.assertEqual(len(self.compressed), compressed)
        for name in ("css/app.css", "css/base.css", "img.png", "big.txt"):
            old, new = first.get(name), second.get(name)
            assert old is not None and new is not None
            self.assertIsNot(old, new)
            self.assertEqual(old.representation, new.representation)

    def test_oneChanged(self) -> None:
        """
        An edited file is read again, and so is a stylesheet naming it (to
        carry its new fingerprint); nothing else.
        """
        cache = BuildCache(Path(self.mktemp()))
        self.store(cache)
        (self.root / "css" / "base.css").write_bytes(CSS + b"/* edited */")
        files = self.store(cache)
        self.assertEqual(self.reads(), [4, 2])
        app = files.get("css/app.css")
        version = files.version("css/base.css")
        assert app is not None and version is not None
        self.assertIn(
            b"base.css?v=" + version.encode(), app.representation.identity.data or b""
        )

    def test_sameStoreWithoutCache(self) -> None:
        """
        A store built again takes what did not change from its own last
        build, with no cache.
        """
        files = self.store(None)
        files.build()
        self.assertEqual(self.reads(), [4, 0])

    def test_doneAtOnce(self) -> None:
        """
        Without workers everything is done while building: the signals fire
        at once, and a file on disk has no compressed forms to wait for.
        """
        files = self.store(BuildCache(Path(self.mktemp())))
        self.successResultOf(files.fingerprinted())
        self.successResultOf(files.settled())
        big = files.get("big.txt")
        assert big is not None
        self.assertEqual((big.representation.codings, big.pending), ((), frozenset()))

    def test_followSymlinks(self) -> None:
        """
        A link out of the folder is served only when asked for.
        """
        outside = Path(self.mktemp()).absolute()
        outside.mkdir()
        (outside / "lib.js").write_bytes(b"export const x = 1;\n")
        (self.root / "lib.js").symlink_to(outside / "lib.js")
        self.assertIsNone(self.store(None).get("lib.js"))
        followed = FileStore(
            str(self.root), MemoryLimits(), self.clock, _sync, followSymlinks=True
        )
        followed.build()
        lib = followed.get("lib.js")
        assert lib is not None
        self.assertEqual(lib.representation.identity.data, b"export const x = 1;\n")


class UnservableTests(SynchronousTestCase):
    """
    A build names, in one warning line, the files of the folder it cannot
    serve, instead of leaving them out silently.
    """

    def setUp(self) -> None:
        self.root = Path(self.mktemp())
        self.root.mkdir()
        (self.root / "app.css").write_bytes(CSS)
        os.mkfifo(self.root / "pipe")
        (self.root / "old.png").symlink_to(self.root / "gone.png")
        capture = LogCapture()
        self.events = capture.events
        self.patch(store, "_log", Logger(observer=capture))

    def warnings(self, quiet: bool = False, served: int = 1) -> list[str]:
        """
        Build a store of the folder: what it warns, having served
        C{served} files.
        """
        built = FileStore(
            str(self.root), MemoryLimits(), FakeClock(), _sync, quiet=quiet
        )
        built.build()
        self.assertEqual(len(built.names()), served)
        return [formatEvent(e) for e in self.events if e["log_level"] == LogLevel.warn]

    def test_named(self) -> None:
        """
        The FIFO and the broken symlink are named, once per build.
        """
        self.assertEqual(
            self.warnings(),
            [
                f"h2site cannot serve 2 files in {os.path.realpath(self.root)} "
                "(old.png (a broken symlink), pipe (a FIFO)); make them regular "
                "files this user can read, or remove them"
            ],
        )

    def test_unreadable(self) -> None:
        """
        A file listed but not read is named with the system's reason.
        """
        if readsEverything(self.root):
            raise self.skipTest(
                "this process reads every file (root); "
                "tests.integration.test_bad_input runs h2site without that"
            )
        (self.root / "app.css").chmod(0)
        [warning] = self.warnings(served=0)
        self.assertIn("app.css (cannot be read: permission denied)", warning)

    def test_quiet(self) -> None:
        """
        A quiet build (each change in development) says nothing.
        """
        self.assertEqual(self.warnings(quiet=True), [])
