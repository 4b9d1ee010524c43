"""Tests for L{h2site.preload.files}."""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.files.store import FileStore, MemoryLimits
from h2site.preload.files import StaticAssetFiles


def _unused(work: object) -> object:
    raise AssertionError("discovery never re-reads the disk")


def storeFiles(
    staticDir: Path | None,
    prefix: str = "/static/",
    limits: MemoryLimits | None = None,
) -> StaticAssetFiles:
    """
    The asset source of a file store of C{staticDir}, built.
    """
    store = FileStore(
        str(staticDir) if staticDir is not None else None,
        limits or MemoryLimits(),
        lambda: 0.0,
        _unused,  # type: ignore[arg-type]
        prefix=prefix,
    )
    store.build()
    return StaticAssetFiles(store)


class StaticAssetFilesTests(SynchronousTestCase):
    """
    URLs map to files in the static folder by the rules requests follow,
    and nothing outside it is ever read.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.static = self.tmp / "static"
        (self.static / "css").mkdir(parents=True)
        (self.static / "css" / "app.css").write_bytes(b"body{}")
        (self.static / "caf\xe9.css").write_bytes(b"x")
        (self.static / "a b.css").write_bytes(b"y")
        (self.static / ".secret.css").write_bytes(b"no")
        (self.tmp / "outside.css").write_bytes(b"outside")
        os.symlink(self.tmp / "outside.css", self.static / "link.css")
        os.symlink(self.static / "css" / "app.css", self.static / "inside.css")
        self.files = storeFiles(self.static)

    def test_read(self) -> None:
        """
        A static URL gives the file's bytes; a query (a fingerprint) and a
        fragment do not change the file.
        """
        for url in [
            "/static/css/app.css",
            "/static/css/app.css?v=123",
            "/static/css/app.css#x",
        ]:
            self.assertEqual(self.files.read(url, 100), b"body{}", url)
            self.assertTrue(self.files.exists(url), url)

    def test_percentEncoded(self) -> None:
        """
        Segments are percent-decoded (as UTF-8), as for a request.
        """
        self.assertEqual(self.files.read("/static/caf%C3%A9.css", 100), b"x")
        self.assertEqual(self.files.read("/static/a%20b.css", 100), b"y")
        self.assertEqual(self.files.read("/static/%63ss/app.css", 100), b"body{}")

    def test_refused(self) -> None:
        """
        Anything a request could not get is refused: other prefixes, dot
        segments (encoded or not), encoded slashes, dotfiles, directories,
        symlinks out of the folder, NUL, invalid UTF-8.
        """
        for url in [
            "/css/app.css",
            "/static",
            "/static/",
            "/static/css",
            "/static/css/",
            "/static/../outside.css",
            "/static/%2e%2e/outside.css",
            "/static/css%2f..%2f..%2foutside.css",
            "/static/css/..%5c..%5coutside.css",
            "/static/.secret.css",
            "/static/%2esecret.css",
            "/static/link.css",
            "/static/css/app.css%00",
            "/static/%ff.css",
            "/static//css/app.css",
            "/static/nope.css",
        ]:
            self.assertFalse(self.files.exists(url), url)
            self.assertIsNone(self.files.read(url, 1 << 20), url)

    def test_symlinkInside(self) -> None:
        """
        A symlink to a file inside the folder is followed.
        """
        self.assertEqual(self.files.read("/static/inside.css", 100), b"body{}")

    def test_limit(self) -> None:
        """
        A file larger than the limit is not read (it still exists).
        """
        self.assertIsNone(self.files.read("/static/css/app.css", 5))
        self.assertEqual(self.files.read("/static/css/app.css", 6), b"body{}")
        self.assertTrue(self.files.exists("/static/css/app.css"))

    def test_fifo(self) -> None:
        """
        A FIFO is not a file: reading it neither blocks nor returns data.
        """
        os.mkfifo(self.static / "pipe.css")
        self.assertIsNone(self.files.read("/static/pipe.css", 100))

    def test_noFolder(self) -> None:
        """
        A site with no static folder has no files.
        """
        files = storeFiles(None)
        self.assertFalse(files.exists("/static/css/app.css"))
        self.assertIsNone(files.read("/static/css/app.css", 100))

    def test_otherPrefix(self) -> None:
        """
        The folder can be served under another prefix.
        """
        files = storeFiles(self.static, prefix="/assets/")
        self.assertEqual(files.read("/assets/css/app.css", 100), b"body{}")
        self.assertIsNone(files.read("/static/css/app.css", 100))

    def test_bytesSent(self) -> None:
        """
        Discovery reads what the store sends: a stylesheet's references
        fingerprinted when it is held in memory, and the file as it is when
        it is sent from disk.
        """
        (self.static / "css" / "main.css").write_bytes(b'@import "app.css";')
        store = storeFiles(self.static)
        data = store.read("/static/css/main.css", 100)
        assert data is not None
        self.assertRegex(data, rb'^@import "app\.css\?v=[0-9a-f]{16}";$')
        onDisk = storeFiles(self.static, limits=MemoryLimits(maxFileSize=0))
        self.assertEqual(
            onDisk.read("/static/css/main.css", 100), b'@import "app.css";'
        )
