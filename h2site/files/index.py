# -*- test-case-name: tests.unit.files.test_store,tests.unit.files.test_ondisk -*-
"""
One file of the index: reading it (L{indexFile}), telling whether it is
still what the last build read (L{unchanged}), and fingerprinting the
references inside it (L{rewritten}).

An entry (L{StoredFile}) says what is sent and what is still to do for it:
the codings not yet tried (C{pending}, which the store's workers compress
after it is first served) and, for a file whose references are
fingerprinted, what it was made from (L{Source}), so a reload rewrites it
again only when a file it names changed, and scans it again only when it
changed itself.  A page too large for memory is sent, once fingerprinted,
from a file of the cache folder (L{fromRewritten}), which the cache keeps
as long as an entry uses it (L{cacheEntryNames}), and which a reload takes
only while it is the file written (L{liveBodies}).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from h2site.files.buildcache import (
    BuildCache,
    Compressor,
    RewrittenFile,
    decodes,
    hashFile,
)
from h2site.files.fingerprint import Kind, Target, rewrite
from h2site.files.representation import (
    SIDECARS,
    Body,
    Representation,
    Stamp,
    assemble,
    representationFromBytes,
    stampOf,
)
from h2site.files.safepath import resolveStaticPath
from h2site.semantics.conditional import ETag
from h2site.semantics.mediatypes import isCompressible, mediaType
from h2site.semantics.negotiation import IDENTITY

__all__ = [
    "CODINGS",
    "MemoryLimits",
    "Source",
    "StoredFile",
    "Transform",
    "cacheEntryNames",
    "currentStamps",
    "fromMemory",
    "fromRewritten",
    "indexFile",
    "liveBodies",
    "rewritten",
    "sidecarPaths",
    "unchanged",
]

#: The codings the store makes, fastest first: gzip at its best setting is
#: twenty times faster than brotli at its best, so a file is sent gzipped
#: soon after start-up and with brotli once that is ready.
CODINGS = ("gzip", "br")


@dataclass(frozen=True)
class MemoryLimits:
    """
    How much of the site is kept in memory.

    @ivar maxFileSize: files up to this size (bytes) are held in memory.
    @ivar maxTotalSize: all in-memory bodies (every coding) together stay
        within this many bytes; past it, files and their compressed forms
        are served from disk.
    """

    maxFileSize: int = 256 * 1024
    maxTotalSize: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """
    What a file sent with fingerprinted references was made from.

    @ivar digest: the SHA-256 (hex) of its bytes on disk.
    @ivar targets: the references in them that may be fingerprinted.
    @ivar names: the names of the files those name, each once.
    @ivar versions: for each target, the fingerprint written into the bytes
        sent (L{None} where it was left as written), or L{None} if the file
        is still sent as it is on disk.
    """

    digest: str
    targets: tuple[Target, ...]
    names: tuple[str, ...]
    versions: tuple[str | None, ...] | None = None


@dataclass
class StoredFile:
    """
    A static file as indexed: where it is, what it looked like on disk when
    read (to notice changes), and what to send.

    @ivar checkedAt: when (monotonic seconds) it was last compared with the
        disk.
    @ivar digest: the SHA-256 (hex) of the identity bytes sent, which names
        their compressed forms in the cache.
    @ivar pending: the codings not tried yet for these bytes.
    @ivar source: for a file whose references are fingerprinted, what its
        bytes were made from.
    """

    name: str
    realPath: str
    stamps: tuple[Stamp | None, ...]
    representation: Representation
    checkedAt: float = 0.0
    digest: str = ""
    pending: frozenset[str] = frozenset()
    source: Source | None = None


#: Turns the bytes of a file held in memory into the bytes to send, and
#: says what they were made from.
Transform = Callable[[bytes], tuple[bytes, Source | None]]


def sidecarPaths(
    root: str, name: str, followSymlinks: bool = False
) -> list[tuple[str, str | None]]:
    """
    The real path of each sidecar of C{name} that exists inside the root.
    """
    segments = name.split("/")
    found = []
    for coding, suffix in SIDECARS:
        path = resolveStaticPath(
            root, [*segments[:-1], segments[-1] + suffix], followSymlinks
        )
        found.append((coding, path))
    return found


def currentStamps(
    realPath: str, sidecars: Iterable[tuple[str, str | None]]
) -> tuple[Stamp | None, ...]:
    """
    The stamps of a file and of its sidecars, as they are now.
    """
    result: list[Stamp | None] = []
    for path in [realPath, *(p for _, p in sidecars)]:
        try:
            result.append(stampOf(os.stat(path)) if path is not None else None)
        except OSError:
            result.append(None)
    return tuple(result)


def unchanged(root: str, old: StoredFile, followSymlinks: bool = False) -> bool:
    """
    Whether the file C{old} was read from is still there, under the same
    name, with the same stamps (its sidecars' too): then its bytes are the
    same, by the evidence C{make} and C{rsync} go by.
    """
    realPath = resolveStaticPath(root, old.name.split("/"), followSymlinks)
    if realPath != old.realPath:
        return False
    compressible = isCompressible(old.representation.contentType)
    sidecars = sidecarPaths(root, old.name, followSymlinks) if compressible else []
    return currentStamps(realPath, sidecars) == old.stamps


def liveBodies(stored: StoredFile, root: str) -> StoredFile | None:
    """
    C{stored} without the compressed bodies on disk that are no longer the
    file they were (a cache entry pruned or replaced): their codings are
    pending again.

    @return: L{None} if what it sends as it is was such an entry (a page
        too large for memory, rewritten: L{fromRewritten}), so the file
        must be read again.
    """
    rep = stored.representation
    stale = []
    for coding, body in rep.bodies.items():
        if body.path is None or body.path == stored.realPath:
            continue
        try:
            same = stampOf(os.stat(body.path)) == body.stamp
        except OSError:
            same = False
        if not same and coding == IDENTITY:
            return None
        if not same:
            stale.append(coding)
    if not stale:
        return stored
    bodies = {c: b for c, b in rep.bodies.items() if c not in stale}
    return replace(
        stored,
        representation=assemble(rep.contentType, rep.lastModified, bodies, True),
        pending=stored.pending | frozenset(stale),
    )


def rewritten(
    url: str,
    data: bytes,
    kind: Kind,
    source: Source,
    versionOf: Callable[[str], str | None],
) -> tuple[bytes, Source]:
    """
    C{data} (the bytes C{source} was scanned from) with each reference
    fingerprinted by C{versionOf}, and the source with the versions written.
    """
    versions = tuple(versionOf(t.url) for t in source.targets)
    known = {t.url: v for t, v in zip(source.targets, versions, strict=True)}
    sent = rewrite(url, data, kind, known.get, source.targets)
    return sent, replace(source, versions=versions)


def fromMemory(
    data: bytes,
    contentType: str,
    lastModified: int | None,
    sidecars: Mapping[str, bytes] | None = None,
    compressor: Compressor | None = None,
) -> tuple[Representation, str, frozenset[str]]:
    """
    The representation of bytes held in memory, their digest and the
    codings still to make: all of them now (through C{compressor}), or, with
    none, only the sidecars that hold these bytes, the rest left pending.
    """
    digest = hashlib.sha256(data).hexdigest()
    sidecars = sidecars or {}
    if compressor is not None:
        rep = representationFromBytes(
            data, contentType, lastModified, sidecars, compressor
        )
        return rep, digest, frozenset()
    bodies = {IDENTITY: Body(IDENTITY, ETag(digest[:32]), len(data), data, None)}
    pending = set()
    if isCompressible(contentType):
        for coding in CODINGS:
            sidecar = sidecars.get(coding)
            if sidecar is None or not decodes(coding, sidecar, data):
                pending.add(coding)
            elif len(sidecar) < len(data):
                etag = ETag(hashlib.sha256(sidecar).hexdigest()[:32])
                bodies[coding] = Body(coding, etag, len(sidecar), sidecar, None)
    rep = assemble(contentType, lastModified, bodies, bool(pending))
    return rep, digest, frozenset(pending)


def fromRewritten(
    entry: RewrittenFile, contentType: str, lastModified: int | None
) -> tuple[Representation, str, frozenset[str]]:
    """
    The representation of bytes kept in a file of the cache folder (a page
    too large for memory, its references fingerprinted), their digest and
    the codings still to make: all of them, from that file (the C{.br} and
    C{.gz} files beside the page hold its bytes as written).
    """
    etag = ETag(entry.digest[:32])
    identity = Body(IDENTITY, etag, entry.size, None, entry.path, stamp=entry.stamp)
    pending = frozenset(CODINGS if isCompressible(contentType) else ())
    rep = assemble(contentType, lastModified, {IDENTITY: identity}, bool(pending))
    return rep, entry.digest, pending


def cacheEntryNames(stored: StoredFile, cache: BuildCache) -> list[str]:
    """
    The cache entries an entry uses, which the cache must keep: the hashes
    of its files on disk, the compressed forms (made or to be made) of its
    bytes and, for a page sent rewritten from the cache, that file and the
    hash of the page it was rewritten from.
    """
    names = []
    rep = stored.representation
    for body in rep.bodies.values():
        if body.path is not None and body.stamp is not None:
            names.append(cache.digestEntryName(body.path, body.stamp))
    if isCompressible(rep.contentType):
        # Made, to be made, or found no smaller (then not made again).
        names.extend(cache.entryName(c, stored.digest) for c in CODINGS)
    own = stored.stamps[0]
    if rep.identity.path not in (None, stored.realPath) and own is not None:
        names.append(cache.rewrittenEntryName(stored.digest))
        names.append(cache.digestEntryName(stored.realPath, own))
    return names


def indexFile(
    root: str,
    name: str,
    limits: MemoryLimits,
    memoryLeft: int,
    cache: BuildCache | None = None,
    transform: Transform | None = None,
    compressor: Compressor | None = None,
    followSymlinks: bool = False,
) -> StoredFile | None:
    """
    Read one file below C{root} (its real path) into a L{StoredFile}.

    Does blocking I/O (and compression, with a C{compressor}): call it
    while building, or in a thread.

    @param name: its path below the root, C{/}-separated, as in URLs.
    @param memoryLeft: how many more bytes may be held in memory.
    @param transform: turns the bytes of a file held in memory into the
        bytes to send (fingerprinting its references); a file that does not
        fit in memory once transformed is sent from disk as it is.  The
        C{.br} and C{.gz} files beside a transformed file hold the old bytes,
        so they are not used.
    @param compressor: makes every coding of a file held in memory now;
        with none, they are left pending (for the store's workers), as are
        those of a file on disk, which only workers make (into C{cache}).
    @return: L{None} if it is not (or no longer) a regular file inside the
        root.
    """
    realPath = resolveStaticPath(root, name.split("/"), followSymlinks)
    if realPath is None:
        return None
    contentType = mediaType(name)
    compressible = isCompressible(contentType)
    sidecars = sidecarPaths(root, name, followSymlinks) if compressible else []
    try:
        with open(realPath, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            small = st.st_size <= min(limits.maxFileSize, memoryLeft)
            data = f.read() if small else None
        own = stampOf(st)
        stamps = (own, *currentStamps(realPath, sidecars)[1:])
        lastModified = int(st.st_mtime)
        if data is not None:
            sent, source = transform(data) if transform is not None else (data, None)
            sideData = {}
            for coding, path in sidecars:
                if path is not None and sent is data:
                    with open(path, "rb") as f:
                        sideData[coding] = f.read(limits.maxFileSize + 1)
            rep, digest, pending = fromMemory(
                sent, contentType, lastModified, sideData, compressor
            )
            if rep.memorySize <= memoryLeft:
                return StoredFile(
                    name, realPath, stamps, rep, 0.0, digest, pending, source
                )

        def digestOf(path: str, stamp: Stamp) -> str:
            if cache is not None:
                return cache.fileDigest(path, stamp)
            return hashFile(path)

        digest = digestOf(realPath, own)
        identity = Body(
            IDENTITY, ETag(digest[:32]), st.st_size, None, realPath, stamp=own
        )
        bodies = {IDENTITY: identity}
        for (coding, path), sideStamp in zip(sidecars, stamps[1:], strict=True):
            # On disk a sidecar cannot be checked cheaply, so only one at
            # least as new as the file counts as its compressed form.
            if (
                path is not None
                and sideStamp is not None
                and sideStamp[1] >= st.st_mtime_ns
                and sideStamp[0] < st.st_size
            ):
                bodies[coding] = Body(
                    coding,
                    ETag(digestOf(path, sideStamp)[:32]),
                    sideStamp[0],
                    None,
                    path,
                    stamp=sideStamp,
                )
    except OSError:
        return None
    pending = frozenset(
        c
        for c in CODINGS
        if compressible and compressor is None and cache is not None
        if c not in bodies
    )
    rep = assemble(contentType, lastModified, bodies, bool(pending))
    return StoredFile(name, realPath, stamps, rep, 0.0, digest, pending)
