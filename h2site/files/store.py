# -*- test-case-name: tests.unit.files.test_store -*-
"""
The file store: every static file indexed once, so a request costs a
dictionary look-up, not a C{stat}, an C{open} and a read.

For each file it keeps the size, modification time, type, a strong C{ETag}
(a hash of the bytes sent, so it changes exactly when they do) and, for
small files, the bytes themselves with their brotli and gzip forms and the
response headers ready to send.  Large files (or small ones past the memory
budget) stay on disk and are streamed, as are their compressed forms.

Building it comes in two phases, so a large site is served in seconds:

 1. L{FileStore.build}, before serving (and on reload, in a thread): walk
    the folder, C{stat} every file, read and hash what fits in memory (the
    hash of a large file is cached by its stamp), and fingerprint the
    stylesheets and modules.  A file whose size, time and inode are those
    the last build saw (L{BuildCache.recall}) is not read again: its entry,
    compressed forms and references are taken as they were, so a reload
    costs what changed.
 2. With C{workers} (L{h2site.files.workers}), after that, while serving
    (L{h2site.files.background}): pages are fingerprinted (those too large
    for memory into files of the cache folder) and every file compressed,
    across the cores, each file switching to its better forms as they
    come.  L{FileStore.fingerprinted} and L{FileStore.settled} say when
    that is done.  Without workers, everything that fits in memory is
    compressed in phase 1, and large files are not compressed.

A file changed, added or removed on disk is picked up by L{FileStore.build}
(on reload) and, between reloads, by a C{stat} at most once a second per
file when it is requested, so editing a stylesheet during development just
works.  Re-indexing a changed file reads it in a thread (C{runInThread}),
never on the reactor; its compressed forms follow as in phase 2.

Stylesheets and JavaScript files held in memory are sent with the
references inside them fingerprinted (L{h2site.files.fingerprint}), so what
they pull in is cached as immutable too.  A file's fingerprint is the hash
of the bytes actually sent, so they are rewritten in post-order of their
references: a file after the files it names, whose fingerprints it then
carries.  A reference back into a file still being rewritten (a cycle,
where no order exists) stays as written; so does every reference of a file
kept on disk, which is sent as it is.  Between reloads, a file re-read
because it changed is rewritten with the fingerprints current then; the
files naming it keep its old fingerprint until the next reload, and a
request for that is simply not immutable (C{no-cache}, current bytes).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.files import jobs
from h2site.files.background import Background
from h2site.files.buildcache import BuildCache, Compressor, compress
from h2site.files.fingerprint import Kind, kindOf, postOrder
from h2site.files.index import (
    MemoryLimits,
    Source,
    StoredFile,
    Transform,
    cacheEntryNames,
    currentStamps,
    indexFile,
    liveBodies,
    rewritten,
    sidecarPaths,
    unchanged,
)
from h2site.files.representation import Representation
from h2site.files.safepath import nameToURL, resolveStaticPath, urlToName
from h2site.files.walk import Unservable, walk
from h2site.files.workers import Workers
from h2site.semantics.mediatypes import isCompressible, mediaType

__all__ = ["PAGE_KINDS", "FileStore", "MemoryLimits", "StoredFile", "indexFile"]

_log = Logger(namespace="h2site.static")

T = TypeVar("T")

#: The kinds of file fingerprinted after serving starts, by the workers:
#: pages, which are most of a site's bytes and whose own fingerprints no
#: stylesheet, module or template carries.  Stylesheets and modules are
#: fingerprinted before, since templates name them with C{static_url()}.
PAGE_KINDS = frozenset({"html"})


@dataclass
class _Counts:
    read: int = 0
    reused: int = 0


@dataclass
class FileStore:
    """
    The index of a site's static folder.

    @ivar root: the folder's real path, or L{None} for a site without one.
    @ivar clock: monotonic seconds, to space out checks against the disk.
    @ivar runInThread: runs a blocking call off the reactor thread.
    @ivar cache: where compressed bodies are kept between runs, and the
        last build's index, or L{None} to do everything at every build.
    @ivar prefix: the URL path the folder is served at.
    @ivar workers: what does the work after serving starts; L{None} to do
        it all while building.
    @ivar laterKinds: the kinds of file that, with workers, are
        fingerprinted after serving starts.
    @ivar followSymlinks: serve what symlinks out of the folder lead to.
    @ivar compressor: without workers, what compresses the files held in
        memory while building, instead of the best setting (through the
        cache); C{--dev} gives one that leaves them as they are.
    @ivar quiet: log nothing about a build (C{--dev} logs one line per
        change itself).
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
    workers: Workers | None = None
    laterKinds: frozenset[str] = PAGE_KINDS
    followSymlinks: bool = False
    compressor: Compressor | None = None
    quiet: bool = False
    _files: dict[str, StoredFile] = field(default_factory=dict)
    _pending: dict[str, Deferred[StoredFile | None]] = field(default_factory=dict)
    _memoryUsed: int = 0
    _background: Background | None = None

    def __post_init__(self) -> None:
        if self.root is not None:
            self.root = os.path.realpath(self.root)

    # Building.

    def build(self) -> None:
        """
        Index every file now, blocking: at start-up and on reload (then in a
        thread).  With workers, what is left is queued for them on the
        reactor thread.

        Stylesheets and JavaScript files come last, in post-order of their
        references, so each is rewritten with the final fingerprints of the
        files it names (and, past the memory budget, they are the ones sent
        from disk, unrewritten).
        """
        began = self.clock()
        cache = self.cache
        generation = cache.begin() if cache is not None else 0
        remembered = cache.recall() if cache is not None else dict(self._files)
        files: dict[str, StoredFile] = {}
        self._files, self._memoryUsed = files, 0
        counts = _Counts()
        unservable = Unservable()
        if self.root is not None:
            names = list(
                walk(
                    self.root,
                    self.followSymlinks,
                    self.prefix == "/",
                    skipped=unservable.skipped,
                )
            )
            kinds = {n: kindOf(n, mediaType(n)) for n in names}
            now = [n for n in names if self._rewrittenNow(kinds[n])]
            nowSet = set(now)
            for name in names:
                if name not in nowSet:
                    old = remembered.get(name)
                    self._add(self._indexPlain(name, old, counts))
            self._indexRewritten(now, kinds, remembered, counts)
            for name in (n for n in names if n not in files):
                unservable.unread(self.root, name)
            line = unservable.describe(self.root)
            if line is not None and not self.quiet:
                _log.warn("{line}", line=line)
        if cache is not None:
            # The index itself, not a copy: what the workers add to it is
            # then taken by the next build too.
            cache.remember(files)
            for stored in files.values():
                cache.keep(cacheEntryNames(stored, cache))
        if not self.quiet:
            _log.info(
                "h2site indexed {count} static files ({memory} bytes in memory) "
                "in {seconds:.2f} s: {read} read, {reused} unchanged since the "
                "last build",
                count=len(files),
                memory=self._memoryUsed,
                seconds=self.clock() - began,
                read=counts.read,
                reused=counts.reused,
            )
        if self.workers is None:
            self._background = None
            if cache is not None and cache.isLatest(generation):
                cache.prune()
            return
        background = Background(self, self.workers, cache, self.laterKinds, generation)
        self._background = background
        # On reload this runs in a thread: the work starts on the reactor's.
        self.workers.callFromThread(background.start)

    def _rewrittenNow(self, kind: Kind | None) -> bool:
        """
        Whether a file of this kind is fingerprinted while building (not by
        the workers after).
        """
        if kind is None:
            return False
        return self.workers is None or kind not in self.laterKinds

    def _compressor(self) -> Compressor | None:
        """
        What compresses files held in memory while indexing them: nothing
        when workers do it later.
        """
        if self.workers is not None:
            return None
        if self.compressor is not None:
            return self.compressor
        return self.cache.compress if self.cache is not None else compress

    def _add(self, stored: StoredFile | None) -> None:
        if stored is not None:
            stored.checkedAt = self.clock()
            self._files[stored.name] = stored
            self._memoryUsed += stored.representation.memorySize

    def _reuse(self, old: object, counts: _Counts) -> StoredFile | None:
        """
        A copy of the last build's entry C{old} if the file is as it was
        then and its bodies (within the memory left) still are.
        """
        root = self.root
        assert root is not None
        if not isinstance(old, StoredFile) or (self.workers is None and old.pending):
            return None
        if not unchanged(root, old, self.followSymlinks):
            return None
        stored = liveBodies(replace(old), root)
        if stored is None or stored.representation.memorySize > self.memoryLeft():
            return None
        counts.reused += 1
        return stored

    def _indexPlain(self, name: str, old: object, counts: _Counts) -> StoredFile | None:
        reused = self._reuse(old, counts)
        if reused is not None:
            return reused
        assert self.root is not None
        counts.read += 1
        return indexFile(
            self.root,
            name,
            self.limits,
            self.memoryLeft(),
            self.cache,
            None,
            self._compressor(),
            self.followSymlinks,
        )

    def _indexRewritten(
        self,
        names: list[str],
        kinds: Mapping[str, Kind | None],
        remembered: Mapping[str, object],
        counts: _Counts,
    ) -> None:
        """
        Index the files fingerprinted while building: scan each (or take
        what the last build found, if it did not change), then read and
        rewrite each in post-order, or take the last build's entry if the
        fingerprints it carries are still current.
        """
        root = self.root
        assert root is not None
        scans: dict[str, tuple[StoredFile | None, Source | None]] = {}
        for name in names:
            old = remembered.get(name)
            if isinstance(old, StoredFile) and unchanged(
                root, old, self.followSymlinks
            ):
                scans[name] = (old, old.source)
                continue
            kind = kinds[name]
            assert kind is not None
            data = self._readSmall(name)
            scans[name] = (
                None,
                _scan(self.prefix, name, data, kind) if data is not None else None,
            )
        edges = {n: list(s.names) for n, (_, s) in scans.items() if s is not None}
        versionOf = self._fingerprints(self._files)
        for name in postOrder(names, edges):
            old, source = scans[name]
            if old is not None:
                # Sent as it is (too large to rewrite), or rewritten with
                # the fingerprints still current: as the last build had it.
                versions = None
                if old.source is not None:
                    versions = tuple(versionOf(t.url) for t in old.source.targets)
                if old.source is None or versions == old.source.versions:
                    reused = self._reuse(old, counts)
                    if reused is not None:
                        self._add(reused)
                        continue
            kind = kinds[name]
            assert kind is not None
            counts.read += 1
            transform = self._transform(name, kind, source, versionOf)
            self._add(
                indexFile(
                    root,
                    name,
                    self.limits,
                    self.memoryLeft(),
                    self.cache,
                    transform,
                    self._compressor(),
                    self.followSymlinks,
                )
            )

    def _readSmall(self, name: str) -> bytes | None:
        """
        The bytes of a file that may be held in memory, else L{None}.
        """
        assert self.root is not None
        path = resolveStaticPath(self.root, name.split("/"), self.followSymlinks)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                data = f.read(self.limits.maxFileSize + 1)
        except OSError:
            return None
        return data if len(data) <= self.limits.maxFileSize else None

    def _fingerprints(
        self, files: Mapping[str, StoredFile]
    ) -> Callable[[str], str | None]:
        """
        The fingerprint of the file at a URL, among C{files}.
        """
        prefix = self.prefix

        def versionOf(url: str) -> str | None:
            name = urlToName(url, prefix)
            stored = files.get(name) if name is not None else None
            return stored.representation.version if stored is not None else None

        return versionOf

    def _transform(
        self,
        name: str,
        kind: Kind,
        source: Source | None,
        versionOf: Callable[[str], str | None],
    ) -> Transform:
        """
        What fingerprints C{name}'s references, with C{source} (what a scan
        found) if the file still has the bytes scanned.
        """
        url = nameToURL(name, self.prefix)
        prefix = self.prefix

        def transform(data: bytes) -> tuple[bytes, Source | None]:
            found = source
            if found is None or found.digest != hashlib.sha256(data).hexdigest():
                found = _scan(prefix, name, data, kind)
            sent, done = rewritten(url, data, kind, found, versionOf)
            return sent, done

        return transform

    # What the background work reads and changes (background.Index).

    def current(self, name: str) -> StoredFile | None:
        return self._files.get(name)

    def entries(self) -> Iterable[StoredFile]:
        return list(self._files.values())

    def versionOf(self, name: str) -> str | None:
        return self.version(name)

    def memoryLeft(self) -> int:
        """
        How many more bytes may be held in memory.
        """
        return self.limits.maxTotalSize - self._memoryUsed

    def install(
        self,
        stored: StoredFile,
        rep: Representation,
        digest: str,
        pending: frozenset[str],
        source: Source | None,
    ) -> StoredFile | None:
        """
        Replace the entry C{stored}, if it is still the one indexed, by one
        with these bodies: a new object, never a change to C{stored}, which
        a reload's build (in a thread) may be copying.

        @return: the new entry, or L{None} if C{stored} was replaced since.
        """
        if self._files.get(stored.name) is not stored:
            return None
        new = replace(
            stored, representation=rep, digest=digest, pending=pending, source=source
        )
        self._memoryUsed += rep.memorySize - stored.representation.memorySize
        self._files[stored.name] = new
        return new

    # Signals.

    def fingerprinted(self) -> Deferred[None]:
        """
        Fires once every file is sent with its references fingerprinted (or
        known not to be), so every fingerprint is final: what hints that
        name fingerprinted URLs wait for.  At once without workers.
        """
        if self._background is None:
            return succeed(None)
        return self._background.fingerprinted()

    def settled(self) -> Deferred[None]:
        """
        Fires once the work after the last build is done: every file in its
        final form (fingerprinted, compressed).  At once without workers.
        """
        if self._background is None:
            return succeed(None)
        return self._background.settled()

    # Serving.

    def names(self) -> list[str]:
        """
        The name of every file as last indexed, sorted.
        """
        return sorted(self._files)

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
        segments = name.split("/")
        if stored is None:
            if resolveStaticPath(self.root, segments, self.followSymlinks) is None:
                return None
            return self._reindex(name)
        if not force and now - stored.checkedAt < self.recheckInterval:
            return stored
        stored.checkedAt = now
        realPath = resolveStaticPath(self.root, segments, self.followSymlinks)
        if realPath is None and not os.path.isdir(self.root):
            # The whole folder is gone (moved away mid-deploy, or by
            # mistake), not this file: a reload would be refused, and the
            # pages still name these files, so they are served as indexed.
            return stored
        if realPath == stored.realPath and not force:
            compressible = isCompressible(stored.representation.contentType)
            sidecars = (
                sidecarPaths(self.root, name, self.followSymlinks)
                if compressible
                else []
            )
            if currentStamps(realPath, sidecars) == stored.stamps:
                return stored
        return self._reindex(name)

    def _reindex(self, name: str) -> Deferred[StoredFile | None]:
        old = self._files.pop(name, None)
        if old is not None:
            self._memoryUsed -= old.representation.memorySize
        root = self.root
        assert root is not None
        left = self.memoryLeft()
        cache, limits, follow = self.cache, self.limits, self.followSymlinks
        compressor = self._compressor()
        kind = kindOf(name, mediaType(name))
        transform = None
        if self._rewrittenNow(kind):
            assert kind is not None
            # The fingerprints as they are now: the thread must not see the
            # index change under it.
            versionOf = self._fingerprints(dict(self._files))
            transform = self._transform(name, kind, None, versionOf)
        d = self.runInThread(
            lambda: indexFile(
                root, name, limits, left, cache, transform, compressor, follow
            )
        )
        self._pending[name] = d

        def installed(stored: StoredFile | None) -> StoredFile | None:
            del self._pending[name]
            if stored is not None:
                stored.checkedAt = self.clock()
                self._files[name] = stored
                self._memoryUsed += stored.representation.memorySize
            if self._background is not None:
                self._background.track(name, stored)
            return stored

        def failed(reason: Failure) -> None:
            del self._pending[name]
            _log.failure("re-reading static file {name!r}", reason, name=name)
            if self._background is not None:
                self._background.track(name, None)
            return None

        d.addCallbacks(installed, failed)
        return _follow(d)


def _scan(prefix: str, name: str, data: bytes, kind: Kind) -> Source:
    """
    What a file's references are, found now (not in a worker).
    """
    found, names = jobs.scan(prefix, name, data, kind)
    return Source(hashlib.sha256(data).hexdigest(), found, names)


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
