# -*- test-case-name: tests.test_compcache -*-
"""
A disk cache of compressed bodies, so brotli at its best setting (about
1.5 MB/s) is paid once per file content, not at every start, reload and
worker.

Entries are named by the SHA-256 of the uncompressed bytes and the coding
and setting, written atomically, and checked by decompressing before use
(decompressing is a hundred times faster than compressing), so a damaged
or foreign file in the cache is never sent: it is just compressed again.
The cache is an optimisation only: any error reading or writing it falls
back to compressing in memory.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli

__all__ = [
    "BROTLI_QUALITY",
    "GZIP_LEVEL",
    "CompressionCache",
    "Compressor",
    "compress",
    "decodes",
]

#: Files are compressed once, so the slowest, smallest settings pay off.
BROTLI_QUALITY = 11
GZIP_LEVEL = 9

#: C{(coding, data, sha256 hex of data) -> compressed bytes}.
Compressor = Callable[[str, bytes, str], bytes]

_SETTING = {"br": f"br{BROTLI_QUALITY}", "gzip": f"gz{GZIP_LEVEL}"}


def compress(coding: str, data: bytes, digest: str = "") -> bytes:
    """
    Compress C{data} with C{coding} (C{br} or C{gzip}) at the best setting.
    """
    if coding == "br":
        return bytes(brotli.compress(data, quality=BROTLI_QUALITY))
    return gzip.compress(data, GZIP_LEVEL, mtime=0)


def decodes(coding: str, encoded: bytes, original: bytes) -> bool:
    """
    Whether C{encoded} is C{original} in C{coding}.
    """
    try:
        if coding == "br":
            return bool(brotli.decompress(encoded) == original)
        d = zlib.decompressobj(wbits=31)
        return d.decompress(encoded, len(original) + 1) == original and d.eof
    except (brotli.error, zlib.error):
        return False


class CompressionCache:
    """
    Compressed bodies kept in a directory between runs.

    @ivar used: the entry names looked up since the last L{prune}.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()

    def compress(self, coding: str, data: bytes, digest: str) -> bytes:
        """
        The compressed bytes, from the cache when a valid entry is there,
        else compressed now and stored.
        """
        name = f"{digest}.{_SETTING[coding]}"
        self.used.add(name)
        path = self.directory / name
        try:
            cached = path.read_bytes()
        except OSError:
            pass
        else:
            if decodes(coding, cached, data):
                return cached
        encoded = compress(coding, data)
        self._store(path, encoded)
        return encoded

    def _store(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def prune(self) -> None:
        """
        Remove the entries not looked up since the last prune (files since
        changed or removed), so the cache holds one site's worth.
        """
        used, self.used = self.used, set()
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if entry.name not in used and not entry.name.startswith("."):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
