"""
Tests for L{h2site.files.buildcache}: compressed bodies kept between runs.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import replace
from pathlib import Path

import brotli
from twisted.trial.unittest import SynchronousTestCase

from h2site.files import buildcache
from h2site.files.buildcache import BuildCache, compress, decodes

DATA = b"h1 { font-weight: bold }\n" * 500
DIGEST = hashlib.sha256(DATA).hexdigest()


class CodecTests(SynchronousTestCase):
    def test_roundTrip(self) -> None:
        """
        Both codings decode back, and C{decodes} says so.
        """
        br, gz = compress("br", DATA), compress("gzip", DATA)
        self.assertEqual(brotli.decompress(br), DATA)
        self.assertEqual(gzip.decompress(gz), DATA)
        self.assertTrue(decodes("br", br, DATA))
        self.assertTrue(decodes("gzip", gz, DATA))

    def test_decodesRefuses(self) -> None:
        """
        Garbage, other content, and a gzip stream with trailing junk or cut
        short do not count.
        """
        gz = compress("gzip", DATA)
        self.assertFalse(decodes("br", b"junk", DATA))
        self.assertFalse(decodes("gzip", b"junk", DATA))
        self.assertFalse(decodes("gzip", compress("gzip", b"other"), DATA))
        self.assertFalse(decodes("gzip", gz[:-5], DATA))
        self.assertFalse(decodes("br", compress("br", DATA + b"x"), DATA))


class CacheTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = Path(self.mktemp()) / "cache"
        self.calls: list[str] = []
        real = buildcache.compress

        def counting(coding: str, data: bytes, digest: str = "") -> bytes:
            self.calls.append(coding)
            return real(coding, data)

        self.patch(buildcache, "compress", counting)

    def test_storedAndReused(self) -> None:
        """
        The first run compresses and stores; a second cache (a new run)
        reuses the entry without compressing.
        """
        first = BuildCache(self.directory).compress("br", DATA, DIGEST)
        self.assertEqual(self.calls, ["br"])
        again = BuildCache(self.directory).compress("br", DATA, DIGEST)
        self.assertEqual(self.calls, ["br"])
        self.assertEqual(first, again)
        self.assertEqual(brotli.decompress(again), DATA)

    def test_damagedEntryRecompressed(self) -> None:
        """
        An entry that does not decode to the data is compressed again and
        replaced, never returned.
        """
        cache = BuildCache(self.directory)
        cache.compress("gzip", DATA, DIGEST)
        [entry] = [p for p in self.directory.iterdir()]
        entry.write_bytes(gzip.compress(b"something else"))
        result = BuildCache(self.directory).compress("gzip", DATA, DIGEST)
        self.assertEqual(gzip.decompress(result), DATA)
        self.assertEqual(self.calls, ["gzip", "gzip"])
        self.assertEqual(gzip.decompress(entry.read_bytes()), DATA)

    def test_unwritable(self) -> None:
        """
        A cache that cannot be written still compresses.
        """
        blocker = Path(self.mktemp())
        blocker.write_bytes(b"a file, not a folder")
        result = BuildCache(blocker / "cache").compress("br", DATA, DIGEST)
        self.assertEqual(brotli.decompress(result), DATA)

    def test_prune(self) -> None:
        """
        Pruning removes what was not used since the last prune.
        """
        cache = BuildCache(self.directory)
        cache.compress("br", DATA, DIGEST)
        other = b"other" * 100
        cache.compress("br", other, hashlib.sha256(other).hexdigest())
        cache.prune()
        self.assertEqual(len(os.listdir(self.directory)), 2)
        cache.compress("br", DATA, DIGEST)
        cache.prune()
        self.assertEqual([p.name for p in self.directory.iterdir()], [f"{DIGEST}.br11"])


class FileStoreCacheTests(SynchronousTestCase):
    def test_secondBuildCompressesNothing(self) -> None:
        """
        A file store built again over the same files (a restart, a reload,
        another worker) takes every compressed body, and the hash of every
        large file, from the cache.
        """
        from twisted.internet.defer import succeed

        from h2site.files.store import FileStore, MemoryLimits

        calls: list[str] = []
        real = buildcache.compress

        def counting(coding: str, data: bytes, digest: str = "") -> bytes:
            calls.append(coding)
            return real(coding, data)

        self.patch(buildcache, "compress", counting)
        hashed: list[str] = []
        realHash = buildcache.hashFile

        def countingHash(path: str) -> str:
            hashed.append(path)
            return realHash(path)

        self.patch(buildcache, "hashFile", countingHash)
        root = Path(self.mktemp())
        (root / "css").mkdir(parents=True)
        (root / "css" / "a.css").write_bytes(DATA)
        (root / "b.js").write_bytes(DATA + b"//")
        (root / "big.bin").write_bytes(os.urandom(300 * 1024))
        directory = Path(self.mktemp())

        def build() -> FileStore:
            store = FileStore(
                str(root),
                MemoryLimits(),
                lambda: 0.0,
                lambda f: succeed(f()),
                cache=BuildCache(directory),
            )
            store.build()
            return store

        build()
        self.assertEqual(sorted(calls), ["br", "br", "gzip", "gzip"])
        self.assertEqual(len(hashed), 1)
        store = build()
        self.assertEqual(len(calls), 4)
        self.assertEqual(len(hashed), 1)
        self.assertEqual(len(os.listdir(directory)), 5)
        self.assertIsNotNone(store.version("css/a.css"))


class FileDigestTests(SynchronousTestCase):
    def test_cachedByStamp(self) -> None:
        """
        A file's hash is read from the cache while its size, time and inode
        are unchanged, and computed again when they change.
        """
        directory = Path(self.mktemp())
        path = Path(self.mktemp())
        path.write_bytes(b"one")
        hashed: list[str] = []
        real = buildcache.hashFile

        def counting(p: str) -> str:
            hashed.append(p)
            return real(p)

        self.patch(buildcache, "hashFile", counting)

        def stamp() -> tuple[int, int, int]:
            st = path.stat()
            return (st.st_size, st.st_mtime_ns, st.st_ino)

        first = BuildCache(directory).fileDigest(str(path), stamp())
        self.assertEqual(first, hashlib.sha256(b"one").hexdigest())
        again = BuildCache(directory).fileDigest(str(path), stamp())
        self.assertEqual((again, len(hashed)), (first, 1))
        path.write_bytes(b"two")
        os.utime(path, ns=(1, 1))
        changed = BuildCache(directory).fileDigest(str(path), stamp())
        self.assertEqual(changed, hashlib.sha256(b"two").hexdigest())
        self.assertEqual(len(hashed), 2)

    def test_damagedEntry(self) -> None:
        """
        An entry that is not a digest is ignored.
        """
        directory = Path(self.mktemp())
        path = Path(self.mktemp())
        path.write_bytes(b"data")
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        cache = BuildCache(directory)
        cache.fileDigest(str(path), stamp)
        for entry in directory.iterdir():
            entry.write_bytes(b"not a digest")
        self.assertEqual(
            BuildCache(directory).fileDigest(str(path), stamp),
            hashlib.sha256(b"data").hexdigest(),
        )


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class CompressFileTests(SynchronousTestCase):
    """
    L{BuildCache.compressFile}: the compressed forms of files too large for
    memory, made as a stream into the cache and sent from there.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp())
        self.path = Path(self.mktemp())
        self.data = b"".join(b"line %d of a large file\n" % i for i in range(20_000))
        self.path.write_bytes(self.data)
        self.digest = hashlib.sha256(self.data).hexdigest()

    def test_madeThenFound(self) -> None:
        """
        The entry is named by the file's hash, decodes to the file, and
        carries its own hash and stamp; the second time it is found, not
        made.
        """
        cache = BuildCache(self.directory)
        for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            made = cache.compressFile(
                coding, str(self.path), _stamp(self.path), self.digest
            )
            assert made is not None
            entry = Path(made.path)
            self.assertEqual(entry, Path(cache.entryPath(coding, self.digest)))
            encoded = entry.read_bytes()
            self.assertEqual(decode(encoded), self.data)
            self.assertEqual(made.size, len(encoded))
            self.assertEqual(made.etag, hashlib.sha256(encoded).hexdigest()[:32])
            self.assertEqual(made.stamp, _stamp(entry))
            self.assertFalse(made.cached)
            found = cache.compressFile(
                coding, str(self.path), _stamp(self.path), self.digest
            )
            self.assertEqual(found, replace(made, cached=True))

    def test_changedFile(self) -> None:
        """
        A file no longer as indexed (another stamp, or other bytes under
        the same stamp) gets no entry: it would be named for other bytes.
        """
        cache = BuildCache(self.directory)
        self.assertIsNone(
            cache.compressFile("br", str(self.path), (1, 2, 3), self.digest)
        )
        self.assertIsNone(
            cache.compressFile("br", str(self.path), _stamp(self.path), "0" * 64)
        )
        self.assertEqual(list(self.directory.iterdir()), [])

    def test_notSmaller(self) -> None:
        """
        A file that does not shrink gets no entry.
        """
        self.path.write_bytes(os.urandom(100_000))
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        cache = BuildCache(self.directory)
        self.assertIsNone(
            cache.compressFile("gzip", str(self.path), _stamp(self.path), digest)
        )
        self.assertEqual(list(self.directory.iterdir()), [])

    def test_damagedEntry(self) -> None:
        """
        An entry that does not decode to the file is made again.
        """
        cache = BuildCache(self.directory)
        made = cache.compressFile(
            "gzip", str(self.path), _stamp(self.path), self.digest
        )
        assert made is not None
        Path(made.path).write_bytes(gzip.compress(b"something else"))
        again = cache.compressFile(
            "gzip", str(self.path), _stamp(self.path), self.digest
        )
        assert again is not None
        self.assertFalse(again.cached)
        self.assertEqual(gzip.decompress(Path(again.path).read_bytes()), self.data)


class StoreRewrittenTests(SynchronousTestCase):
    """
    L{BuildCache.storeRewritten}: the bytes sent for a page too large for
    memory, kept as an entry named by their hash.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp())
        self.cache = BuildCache(self.directory)

    def test_writtenThenFound(self) -> None:
        """
        The entry holds the bytes under their hash, with its stamp; the
        second time (a restart) it is found and left as it is, stamp and
        all, and a prune that looked it up keeps it.
        """
        made = self.cache.storeRewritten(DATA)
        assert made is not None
        entry = Path(made.path)
        self.assertEqual(entry.name, BuildCache.rewrittenEntryName(DIGEST))
        self.assertEqual(entry.parent, self.directory)
        self.assertEqual(entry.read_bytes(), DATA)
        self.assertEqual((made.size, made.digest), (len(DATA), DIGEST))
        self.assertEqual(made.stamp, _stamp(entry))
        self.assertFalse(made.cached)
        again = BuildCache(self.directory).storeRewritten(DATA)
        self.assertEqual(again, replace(made, cached=True))
        self.cache.prune()
        self.assertEqual(list(self.directory.iterdir()), [entry])
        self.cache.prune()
        self.assertEqual(list(self.directory.iterdir()), [])

    def test_damagedEntry(self) -> None:
        """
        An entry that does not hold the bytes (the same size, other bytes)
        is written again, as a new file.
        """
        made = self.cache.storeRewritten(DATA)
        assert made is not None
        with open(made.path, "r+b") as f:
            f.write(b"X")
        again = self.cache.storeRewritten(DATA)
        assert again is not None
        self.assertFalse(again.cached)
        self.assertEqual(Path(again.path).read_bytes(), DATA)
        self.assertNotEqual(again.stamp, made.stamp)

    def test_unwritable(self) -> None:
        """
        A cache folder that cannot be made gives no entry.
        """
        blocker = Path(self.mktemp())
        blocker.write_bytes(b"a file, not a folder")
        self.assertIsNone(BuildCache(blocker / "cache").storeRewritten(DATA))


class MemoryOfBuildsTests(SynchronousTestCase):
    def test_rememberRecall(self) -> None:
        """
        The last build's index is kept in memory, for the next.
        """
        cache = BuildCache(Path(self.mktemp()))
        self.assertEqual(cache.recall(), {})
        index = {"a": object()}
        cache.remember(index)
        self.assertEqual(cache.recall(), index)

    def test_latest(self) -> None:
        """
        Each build gets a number; only the last one started is the latest.
        """
        cache = BuildCache(Path(self.mktemp()))
        first = cache.begin()
        self.assertTrue(cache.isLatest(first))
        second = cache.begin()
        self.assertFalse(cache.isLatest(first))
        self.assertTrue(cache.isLatest(second))

    def test_keep(self) -> None:
        """
        Entries an index takes from the last build, without looking them up,
        are kept by the next prune.
        """
        directory = Path(self.mktemp())
        cache = BuildCache(directory)
        cache.compress("br", DATA, DIGEST)
        cache.prune()
        cache.keep([cache.entryName("br", DIGEST)])
        cache.prune()
        self.assertEqual([p.name for p in directory.iterdir()], [f"{DIGEST}.br11"])
