# -*- test-case-name: tests.unit.files.test_buildcache -*-
"""
A disk cache of what building the file store costs most, so it is paid once
per file content, not at every start, reload and worker:

 - compressed bodies (brotli at its best setting runs at about 1.5 MB/s),
   named by the SHA-256 of the uncompressed bytes and the coding and
   setting, and checked by decompressing before use (a hundred times faster
   than compressing), so a damaged or foreign entry is never sent, just
   compressed again;
 - the content hash of each large file (the strong C{ETag}; hashing reads
   the whole file), keyed by its path, size, modification time and inode,
   the same evidence C{make} and C{rsync} go by: a file rewritten in place
   with its old size and time restored (C{cp -p} over it) keeps its old
   hash until it is touched.

Entries are written atomically.  The cache is an optimisation only: any
error reading or writing it falls back to doing the work.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli

__all__ = [
    "BROTLI_QUALITY",
    "GZIP_LEVEL",
    "BuildCache",
    "Compressor",
    "compress",
    "decodes",
    "hashFile",
]

#: Files are compressed once, so the slowest, smallest settings pay off.
BROTLI_QUALITY = 11
GZIP_LEVEL = 9

#: C{(coding, data, sha256 hex of data) -> compressed bytes}.
Compressor = Callable[[str, bytes, str], bytes]

_SETTING = {"br": f"br{BROTLI_QUALITY}", "gzip": f"gz{GZIP_LEVEL}"}

#: Bytes hashed per read.
_HASH_CHUNK = 1024 * 1024

_HEX_DIGEST = re.compile(rb"[0-9a-f]{64}")


def hashFile(path: str) -> str:
    """
    The SHA-256 (hex) of a file's contents, read in bounded chunks.
    """
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


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


class BuildCache:
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

    def fileDigest(self, path: str, stamp: tuple[int, int, int]) -> str:
        """
        The SHA-256 of the file at C{path}, from the cache when it was
        hashed before with the same C{(size, mtime_ns, inode)}.
        """
        key = f"{path}\0{stamp[0]}\0{stamp[1]}\0{stamp[2]}"
        name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        name += ".sha256"
        self.used.add(name)
        entry = self.directory / name
        try:
            cached = entry.read_bytes()
        except OSError:
            pass
        else:
            if _HEX_DIGEST.fullmatch(cached):
                return cached.decode("ascii")
        digest = hashFile(path)
        self._store(entry, digest.encode("ascii"))
        return digest

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
