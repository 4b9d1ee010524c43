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

Files too large to hold in memory get their compressed forms here too
(L{BuildCache.compressFile}): compressed as a stream, named like any
entry by the hash of the bytes they encode, and sent from here, as files.
So do pages too large for memory once their references are fingerprinted
(L{BuildCache.storeRewritten}): their bytes as sent, named by their hash,
so the same page with the same fingerprints finds its file again.

Entries are written atomically.  The cache is an optimisation only: any
error reading or writing it falls back to doing the work.

It also remembers, in memory, the index of the last build
(L{BuildCache.remember}), so that a reload reads, hashes, scans and
compresses only the files that changed since (L{h2site.files.store}).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import brotli

__all__ = [
    "BROTLI_QUALITY",
    "GZIP_LEVEL",
    "BuildCache",
    "CompressedFile",
    "Compressor",
    "RewrittenFile",
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

#: Bytes hashed (or compressed) per read.
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


def _encoder(coding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    """
    Compress a stream: what takes each chunk, and what ends the stream.
    """
    if coding == "br":
        compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        return compressor.process, compressor.finish
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return deflate.compress, deflate.flush


def _decodedDigest(coding: str, path: Path) -> tuple[str, str] | None:
    """
    The SHA-256 of what the file at C{path} decodes to in C{coding}, and
    of the file itself, or L{None} if it is not a whole stream.
    """
    original, encoded = hashlib.sha256(), hashlib.sha256()
    try:
        with open(path, "rb") as f:
            if coding == "br":
                brStream = brotli.Decompressor()
                while chunk := f.read(_HASH_CHUNK):
                    encoded.update(chunk)
                    original.update(brStream.process(chunk))
                finished = bool(brStream.is_finished())
            else:
                gzStream = zlib.decompressobj(wbits=31)
                while chunk := f.read(_HASH_CHUNK):
                    encoded.update(chunk)
                    original.update(gzStream.decompress(chunk))
                finished = gzStream.eof and not gzStream.unused_data
    except (OSError, brotli.error, zlib.error):
        return None
    if not finished:
        return None
    return original.hexdigest(), encoded.hexdigest()


@dataclass(frozen=True)
class CompressedFile:
    """
    A cache entry holding a large file's compressed form, to be sent as a
    file.

    @ivar etag: the SHA-256 (hex) of the entry's bytes.
    @ivar stamp: the entry's size, time and inode, which delivery checks.
    @ivar cached: whether it was there already (not compressed now).
    """

    path: str
    size: int
    etag: str
    stamp: tuple[int, int, int]
    cached: bool


@dataclass(frozen=True)
class RewrittenFile:
    """
    A cache entry holding the bytes sent for a file too large for memory
    whose references are fingerprinted (a page), to be sent as a file.

    @ivar digest: the SHA-256 (hex) of the entry's bytes: their C{ETag} and
        fingerprint, and what names their compressed forms.
    @ivar stamp: the entry's size, time and inode, which delivery checks.
    @ivar cached: whether it was there already (not written now).
    """

    path: str
    size: int
    digest: str
    stamp: tuple[int, int, int]
    cached: bool


class BuildCache:
    """
    Compressed bodies kept in a directory between runs.

    @ivar used: the entry names looked up since the last L{prune}.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()
        self._remembered: Mapping[str, object] = {}
        self._generation = 0

    @staticmethod
    def entryName(coding: str, digest: str) -> str:
        """
        The name of the entry for C{coding} of the bytes whose SHA-256 (hex)
        is C{digest}.
        """
        return f"{digest}.{_SETTING[coding]}"

    @staticmethod
    def rewrittenEntryName(digest: str) -> str:
        """
        The name of the entry holding the rewritten bytes whose SHA-256
        (hex) is C{digest} (L{storeRewritten}).
        """
        return f"{digest}.sent"

    def entryPath(self, coding: str, digest: str) -> str:
        """
        Where the entry for C{coding} of C{digest} is, if it is.
        """
        return str(self.directory / self.entryName(coding, digest))

    @staticmethod
    def digestEntryName(path: str, stamp: tuple[int, int, int]) -> str:
        """
        The name of the entry holding the hash of the file at C{path} as it
        is while its size, time and inode are C{stamp}.
        """
        key = f"{path}\0{stamp[0]}\0{stamp[1]}\0{stamp[2]}"
        name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        return name + ".sha256"

    def keep(self, names: Iterable[str]) -> None:
        """
        Count these entries as used, so the next L{prune} leaves them: what
        an index reuses from the last build without looking it up again.
        """
        self.used.update(names)

    def cached(self, coding: str, data: bytes, digest: str) -> bytes | None:
        """
        The compressed bytes if a valid entry holds them, else L{None}.
        """
        name = self.entryName(coding, digest)
        self.used.add(name)
        try:
            found = (self.directory / name).read_bytes()
        except OSError:
            return None
        return found if decodes(coding, found, data) else None

    def compress(self, coding: str, data: bytes, digest: str) -> bytes:
        """
        The compressed bytes, from the cache when a valid entry is there,
        else compressed now and stored.
        """
        found = self.cached(coding, data, digest)
        if found is not None:
            return found
        encoded = compress(coding, data)
        self._store(self.directory / self.entryName(coding, digest), encoded)
        return encoded

    def compressFile(
        self, coding: str, path: str, stamp: tuple[int, int, int], digest: str
    ) -> CompressedFile | None:
        """
        The entry holding C{coding} of the file at C{path}, compressed now
        as a stream (never whole in memory) unless a valid entry is there.

        @param stamp: the file's stamp when indexed, and C{digest} the
            SHA-256 of its bytes then: if it no longer has them, nothing is
            stored (the entry would be named for other bytes).
        @return: the entry, or L{None} if the file changed, could not be
            read or written, or does not get smaller.
        """
        name = self.entryName(coding, digest)
        self.used.add(name)
        entry = self.directory / name
        found = _decodedDigest(coding, entry)
        if found is not None and found[0] == digest:
            return self._entry(entry, found[1], cached=True)
        tmp = entry.with_name(f".{name}.{os.getpid()}.tmp")
        process, finish = _encoder(coding)
        original, encoded = hashlib.sha256(), hashlib.sha256()
        size = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(path, "rb") as source, open(tmp, "wb") as out:
                st = os.fstat(source.fileno())
                if (st.st_size, st.st_mtime_ns, st.st_ino) != stamp:
                    raise _Changed()
                while chunk := source.read(_HASH_CHUNK):
                    original.update(chunk)
                    piece = process(chunk)
                    encoded.update(piece)
                    out.write(piece)
                    size += len(piece)
                piece = finish()
                encoded.update(piece)
                out.write(piece)
                size += len(piece)
            if original.hexdigest() != digest or size >= stamp[0]:
                raise _Changed()
            os.replace(tmp, entry)
            return self._entry(entry, encoded.hexdigest(), cached=False)
        except (OSError, _Changed):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return None

    def storeRewritten(self, data: bytes) -> RewrittenFile | None:
        """
        The entry holding C{data}, the bytes sent for a file too large for
        memory: the one there if it holds them already (a restart, or
        another serving process, made it), else written now.  Left as it
        is when it holds them, so its stamp, which requests sending it
        check, stays the same.

        @return: the entry, or L{None} if it could not be written.
        """
        digest = hashlib.sha256(data).hexdigest()
        name = self.rewrittenEntryName(digest)
        self.used.add(name)
        entry = self.directory / name
        try:
            cached = os.stat(entry).st_size == len(data) and entry.read_bytes() == data
        except OSError:
            cached = False
        if not cached and not self._store(entry, data):
            return None
        try:
            st = os.stat(entry)
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        return RewrittenFile(str(entry), st.st_size, digest, stamp, cached)

    @staticmethod
    def _entry(entry: Path, etag: str, cached: bool) -> CompressedFile | None:
        try:
            st = os.stat(entry)
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        return CompressedFile(str(entry), st.st_size, etag[:32], stamp, cached)

    def fileDigest(self, path: str, stamp: tuple[int, int, int]) -> str:
        """
        The SHA-256 of the file at C{path}, from the cache when it was
        hashed before with the same C{(size, mtime_ns, inode)}.
        """
        name = self.digestEntryName(path, stamp)
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

    def _store(self, path: Path, data: bytes) -> bool:
        """
        Write an entry atomically: whether it was written.
        """
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return False
        return True

    # The last build, in memory.

    def begin(self) -> int:
        """
        Start a build: the number it is known by to L{isLatest}.
        """
        self._generation += 1
        return self._generation

    def isLatest(self, generation: int) -> bool:
        """
        Whether no build started since the one numbered C{generation}: only
        the latest may L{prune}, since the entries it did not use may be
        those a newer build needs.
        """
        return generation == self._generation

    def remember(self, index: Mapping[str, object]) -> None:
        """
        Keep the index a build made (its entries are what it read and
        compressed), for the next build to take what did not change.  It is
        kept as it is, not copied, so entries replaced in it later (with
        their compressed forms) are what the next build finds; entries must
        therefore be replaced, never changed in place.
        """
        self._remembered = index

    def recall(self) -> Mapping[str, object]:
        """
        The index the last build made, by name; empty before the first.
        """
        return self._remembered

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


class _Changed(Exception):
    """
    The file being compressed is not the one indexed, or did not shrink.
    """
