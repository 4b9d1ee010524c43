# -*- test-case-name: tests.unit.files.test_store -*-
"""
The file store: every static file indexed once, at start-up, so a request
costs a dictionary look-up, not a C{stat}, an C{open} and a read.

For each file it keeps the size, modification time, type, a strong C{ETag}
(a hash of the bytes sent, so it changes exactly when they do) and, for
small files, the bytes themselves with their brotli and gzip forms
compressed once at the highest settings and the response headers ready to
send.  Large files (or small ones past the memory budget) stay on disk and
are streamed; they are compressed only if the site ships C{.br}/C{.gz}
files beside them, because compressing per request is the cost this module
exists to avoid.

A file changed, added or removed on disk is picked up by L{FileStore.build}
(on reload) and, between reloads, by a C{stat} at most once a second per
file when it is requested, so editing a stylesheet during development just
works.  Re-indexing a changed file reads and compresses it in a thread
(C{runInThread}), never on the reactor.

Stylesheets and JavaScript files held in memory are sent with the
references inside them fingerprinted (L{h2site.files.fingerprint}), so what they
pull in is cached as immutable too.  A file's fingerprint is the hash of
the bytes actually sent, so L{FileStore.build} rewrites them in post-order
of their references: a file after the files it names, whose fingerprints it
then carries.  A reference back into a file still being rewritten (a cycle,
where no order exists) stays as written; so does every reference of a file
kept on disk, which is sent as it is.  Between reloads, a file re-read
because it changed is rewritten with the fingerprints current then; the
files naming it keep its old fingerprint until the next reload, and a
request for that is simply not immutable (C{no-cache}, current bytes).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.files.buildcache import BuildCache, compress, hashFile
from h2site.files.fingerprint import Target, kindOf, postOrder, rewrite, targets
from h2site.files.representation import (
    SIDECARS,
    Body,
    Representation,
    Stamp,
    representationFromBytes,
    stampOf,
    withHeaders,
)
from h2site.files.safepath import nameToURL, resolveStaticPath, urlToName
from h2site.files.walk import walk
from h2site.semantics.conditional import ETag
from h2site.semantics.mediatypes import isCompressible, mediaType
from h2site.semantics.negotiation import IDENTITY

__all__ = ["FileStore", "MemoryLimits", "StoredFile", "indexFile"]

_log = Logger(namespace="h2site.static")

T = TypeVar("T")


@dataclass(frozen=True)
class MemoryLimits:
    """
    How much of the site is kept in memory.

    @ivar maxFileSize: files up to this size (bytes) are held in memory.
    @ivar maxTotalSize: all in-memory bodies (every coding) together stay
        within this many bytes; files past it are served from disk.
    """

    maxFileSize: int = 256 * 1024
    maxTotalSize: int = 64 * 1024 * 1024


@dataclass
class StoredFile:
    """
    A static file as indexed: where it is, what it looked like on disk when
    read (to notice changes), and what to send.

    @ivar checkedAt: when (monotonic seconds) it was last compared with the
        disk.
    """

    name: str
    realPath: str
    stamps: tuple[Stamp | None, ...]
    representation: Representation
    checkedAt: float = 0.0


@dataclass(frozen=True)
class _Scanned:
    """
    A stylesheet or script as read before the build rewrites it: its bytes,
    the references in them that may be fingerprinted, and the names of the
    files those name (each once).
    """

    data: bytes
    targets: list[Target]
    dependencies: list[str]


def _sidecarPaths(root: str, name: str) -> list[tuple[str, str | None]]:
    """
    The real path of each sidecar of C{name} that exists inside the root.
    """
    segments = name.split("/")
    found = []
    for coding, suffix in SIDECARS:
        path = resolveStaticPath(root, [*segments[:-1], segments[-1] + suffix])
        found.append((coding, path))
    return found


def _stamps(
    realPath: str, sidecars: list[tuple[str, str | None]]
) -> tuple[Stamp | None, ...]:
    result: list[Stamp | None] = []
    for path in [realPath, *(p for _, p in sidecars)]:
        try:
            result.append(stampOf(os.stat(path)) if path is not None else None)
        except OSError:
            result.append(None)
    return tuple(result)


def indexFile(
    root: str,
    name: str,
    limits: MemoryLimits,
    memoryLeft: int,
    cache: BuildCache | None = None,
    transform: Callable[[bytes], bytes] | None = None,
) -> StoredFile | None:
    """
    Read one file below C{root} (its real path) into a L{StoredFile}.

    Does blocking I/O and compression: call it at start-up or in a thread.

    @param name: its path below the root, C{/}-separated, as in URLs.
    @param memoryLeft: how many more bytes may be held in memory.
    @param transform: turns the bytes of a file held in memory into the
        bytes to send (fingerprinting its references); a file that does not
        fit in memory once transformed is sent from disk as it is.  The
        C{.br} and C{.gz} files beside a transformed file hold the old bytes,
        so they are not used.
    @return: L{None} if it is not (or no longer) a regular file inside the
        root.
    """
    realPath = resolveStaticPath(root, name.split("/"))
    if realPath is None:
        return None
    contentType = mediaType(name)
    compressible = isCompressible(contentType)
    sidecars = _sidecarPaths(root, name) if compressible else []
    try:
        with open(realPath, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            small = st.st_size <= min(limits.maxFileSize, memoryLeft)
            data = f.read() if small else None
        own = stampOf(st)
        stamps = (own, *_stamps(realPath, sidecars)[1:])
        lastModified = int(st.st_mtime)
        if data is not None:
            sent = transform(data) if transform is not None else data
            sideData = {}
            for coding, path in sidecars:
                if path is not None and sent is data:
                    with open(path, "rb") as f:
                        sideData[coding] = f.read(limits.maxFileSize + 1)
            rep = representationFromBytes(
                sent,
                contentType,
                lastModified,
                sideData,
                cache.compress if cache is not None else compress,
            )
            if rep.memorySize <= memoryLeft:
                return StoredFile(name, realPath, stamps, rep)

        def digestOf(path: str, stamp: Stamp) -> str:
            if cache is not None:
                return cache.fileDigest(path, stamp)
            return hashFile(path)

        identity = Body(
            IDENTITY,
            ETag(digestOf(realPath, own)[:32]),
            st.st_size,
            None,
            realPath,
            stamp=own,
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
    codings = tuple(
        sorted((c for c in bodies if c != IDENTITY), key=lambda c: bodies[c].size)
    )
    rep = withHeaders(
        Representation(
            contentType, lastModified, bodies, codings, identity.etag.opaque[:16]
        )
    )
    return StoredFile(name, realPath, stamps, rep)


@dataclass
class FileStore:
    """
    The index of a site's static folder.

    @ivar root: the folder's real path, or L{None} for a site without one.
    @ivar clock: monotonic seconds, to space out checks against the disk.
    @ivar runInThread: runs a blocking call off the reactor thread.
    @ivar cache: where compressed bodies are kept between runs, or L{None}
        to compress everything at every build.
    """

    root: str | None
    limits: MemoryLimits
    clock: Callable[[], float]
    runInThread: Callable[
        [Callable[[], StoredFile | None]], Deferred[StoredFile | None]
    ]
    recheckInterval: float = 1.0
    cache: BuildCache | None = None
    prefix: str = "/static/"
    _files: dict[str, StoredFile] = field(default_factory=dict)
    _pending: dict[str, Deferred[StoredFile | None]] = field(default_factory=dict)
    _memoryUsed: int = 0

    def __post_init__(self) -> None:
        if self.root is not None:
            self.root = os.path.realpath(self.root)

    def build(self) -> None:
        """
        Index every file now, blocking: at start-up and on reload.

        Stylesheets and JavaScript files come last, in post-order of their
        references, so each is rewritten with the final fingerprints of the
        files it names (and, past the memory budget, they are the ones sent
        from disk, unrewritten).
        """
        files: dict[str, StoredFile] = {}
        used = 0
        if self.root is not None:
            root = self.root
            now = self.clock()
            names = list(walk(root))
            rewritten = [n for n in names if kindOf(n, mediaType(n)) is not None]
            plain = [n for n in names if kindOf(n, mediaType(n)) is None]
            scanned = self._references(rewritten)
            edges = {n: s.dependencies for n, s in scanned.items()}
            for name in plain + postOrder(rewritten, edges):
                stored = indexFile(
                    root,
                    name,
                    self.limits,
                    self.limits.maxTotalSize - used,
                    self.cache,
                    self._fingerprinter(name, files, scanned.pop(name, None)),
                )
                if stored is not None:
                    stored.checkedAt = now
                    files[name] = stored
                    used += stored.representation.memorySize
        self._files, self._memoryUsed = files, used
        if self.cache is not None:
            self.cache.prune()
        _log.info(
            "h2site indexed {count} static files ({memory} bytes in memory)",
            count=len(files),
            memory=used,
        )

    def _references(self, names: list[str]) -> dict[str, _Scanned]:
        """
        Read C{names} (stylesheets and scripts) for the references that may
        be fingerprinted.  Files too large to be held in memory are never
        rewritten, and are left out.
        """
        root = self.root
        assert root is not None
        scanned: dict[str, _Scanned] = {}
        for name in names:
            kind = kindOf(name, mediaType(name))
            realPath = resolveStaticPath(root, name.split("/"))
            if kind is None or realPath is None:
                continue
            try:
                with open(realPath, "rb") as f:
                    data = f.read(self.limits.maxFileSize + 1)
            except OSError:
                continue
            if len(data) > self.limits.maxFileSize:
                continue
            found = targets(nameToURL(name, self.prefix), data, kind)
            named = (urlToName(t.url, self.prefix) for t in found)
            scanned[name] = _Scanned(
                data, found, list(dict.fromkeys(n for n in named if n is not None))
            )
        return scanned

    def _fingerprinter(
        self,
        name: str,
        files: Mapping[str, StoredFile],
        scanned: _Scanned | None = None,
    ) -> Callable[[bytes], bytes] | None:
        """
        What rewrites C{name}'s references with the fingerprints of
        C{files}, or L{None} for a file whose references are not rewritten.

        @param scanned: what L{_references} found in the file, used if the
            file still has the same bytes.
        """
        kind = kindOf(name, mediaType(name))
        if kind is None:
            return None
        url = nameToURL(name, self.prefix)
        prefix = self.prefix

        def versionOf(target: str) -> str | None:
            targetName = urlToName(target, prefix)
            stored = files.get(targetName) if targetName is not None else None
            return stored.representation.version if stored is not None else None

        def fingerprint(data: bytes) -> bytes:
            found = None
            if scanned is not None and scanned.data == data:
                found = scanned.targets
            return rewrite(url, data, kind, versionOf, found)

        return fingerprint

    def get(self, name: str) -> StoredFile | None:
        """
        The file as last indexed, without looking at the disk: for
        discovery, which must see exactly the bytes requests are sent.
        """
        return self._files.get(name)

    def version(self, name: str) -> str | None:
        """
        The fingerprint of an indexed file, or L{None} if there is none by
        that name.
        """
        stored = self._files.get(name)
        return stored.representation.version if stored is not None else None

    def lookup(
        self, name: str, force: bool = False
    ) -> StoredFile | Deferred[StoredFile | None] | None:
        """
        The file for a request.

        @param name: a path below the root that passed
            L{h2site.web.static.safeSegments}, joined with C{/}.
        @param force: compare with the disk even if it was checked less than
            a second ago (the caller saw the file change).
        @return: the file, L{None} if there is none, or a L{Deferred} when it
            changed and is being read again.
        """
        if self.root is None:
            return None
        pending = self._pending.get(name)
        if pending is not None:
            return _follow(pending)
        stored = self._files.get(name)
        now = self.clock()
        if stored is None:
            if resolveStaticPath(self.root, name.split("/")) is None:
                return None
            return self._reindex(name)
        if not force and now - stored.checkedAt < self.recheckInterval:
            return stored
        stored.checkedAt = now
        realPath = resolveStaticPath(self.root, name.split("/"))
        if realPath == stored.realPath and not force:
            compressible = isCompressible(stored.representation.contentType)
            sidecars = _sidecarPaths(self.root, name) if compressible else []
            if _stamps(realPath, sidecars) == stored.stamps:
                return stored
        return self._reindex(name)

    def _reindex(self, name: str) -> Deferred[StoredFile | None]:
        old = self._files.pop(name, None)
        if old is not None:
            self._memoryUsed -= old.representation.memorySize
        root = self.root
        assert root is not None
        left = self.limits.maxTotalSize - self._memoryUsed
        cache = self.cache
        # The fingerprints as they are now: the thread must not see the
        # index change under it.
        transform = self._fingerprinter(name, dict(self._files))
        d = self.runInThread(
            lambda: indexFile(root, name, self.limits, left, cache, transform)
        )
        self._pending[name] = d

        def installed(stored: StoredFile | None) -> StoredFile | None:
            del self._pending[name]
            if stored is not None:
                stored.checkedAt = self.clock()
                self._files[name] = stored
                self._memoryUsed += stored.representation.memorySize
            return stored

        def failed(reason: Failure) -> None:
            del self._pending[name]
            _log.failure("re-reading static file {name!r}", reason, name=name)
            return None

        d.addCallbacks(installed, failed)
        return _follow(d)


def _follow(pending: Deferred[T]) -> Deferred[T]:
    """
    A new L{Deferred} with C{pending}'s result, leaving C{pending}'s own
    result untouched for its other followers.
    """
    d: Deferred[T] = Deferred()

    def passOn(result: T) -> T:
        d.callback(result)
        return result

    pending.addCallback(passOn)
    return d
