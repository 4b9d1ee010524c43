"""
Tests for L{h2site.compcache}: compressed bodies kept between runs.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import brotli
from twisted.trial.unittest import SynchronousTestCase

from h2site import compcache
from h2site.compcache import CompressionCache, compress, decodes

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
        real = compcache.compress

        def counting(coding: str, data: bytes, digest: str = "") -> bytes:
            self.calls.append(coding)
            return real(coding, data)

        self.patch(compcache, "compress", counting)

    def test_storedAndReused(self) -> None:
        """
        The first run compresses and stores; a second cache (a new run)
        reuses the entry without compressing.
        """
        first = CompressionCache(self.directory).compress("br", DATA, DIGEST)
        self.assertEqual(self.calls, ["br"])
        again = CompressionCache(self.directory).compress("br", DATA, DIGEST)
        self.assertEqual(self.calls, ["br"])
        self.assertEqual(first, again)
        self.assertEqual(brotli.decompress(again), DATA)

    def test_damagedEntryRecompressed(self) -> None:
        """
        An entry that does not decode to the data is compressed again and
        replaced, never returned.
        """
        cache = CompressionCache(self.directory)
        cache.compress("gzip", DATA, DIGEST)
        [entry] = [p for p in self.directory.iterdir()]
        entry.write_bytes(gzip.compress(b"something else"))
        result = CompressionCache(self.directory).compress("gzip", DATA, DIGEST)
        self.assertEqual(gzip.decompress(result), DATA)
        self.assertEqual(self.calls, ["gzip", "gzip"])
        self.assertEqual(gzip.decompress(entry.read_bytes()), DATA)

    def test_unwritable(self) -> None:
        """
        A cache that cannot be written still compresses.
        """
        blocker = Path(self.mktemp())
        blocker.write_bytes(b"a file, not a folder")
        result = CompressionCache(blocker / "cache").compress("br", DATA, DIGEST)
        self.assertEqual(brotli.decompress(result), DATA)

    def test_prune(self) -> None:
        """
        Pruning removes what was not used since the last prune.
        """
        cache = CompressionCache(self.directory)
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
        another worker) takes every compressed body from the cache.
        """
        from twisted.internet.defer import succeed

        from h2site.filestore import FileStore, Limits

        calls: list[str] = []
        real = compcache.compress

        def counting(coding: str, data: bytes, digest: str = "") -> bytes:
            calls.append(coding)
            return real(coding, data)

        self.patch(compcache, "compress", counting)
        root = Path(self.mktemp())
        (root / "css").mkdir(parents=True)
        (root / "css" / "a.css").write_bytes(DATA)
        (root / "b.js").write_bytes(DATA + b"//")
        directory = Path(self.mktemp())

        def build() -> FileStore:
            store = FileStore(
                str(root),
                Limits(),
                lambda: 0.0,
                lambda f: succeed(f()),
                cache=CompressionCache(directory),
            )
            store.build()
            return store

        build()
        self.assertEqual(sorted(calls), ["br", "br", "gzip", "gzip"])
        store = build()
        self.assertEqual(len(calls), 4)
        self.assertEqual(len(os.listdir(directory)), 4)
        self.assertIsNotNone(store.version("css/a.css"))
