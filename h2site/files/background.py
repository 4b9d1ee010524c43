# -*- test-case-name: tests.unit.files.test_background,tests.unit.files.test_ondisk -*-
"""
What the file store does after it starts serving: the work too slow to
wait for, done by its workers (L{h2site.files.workers}), each result
installed on the reactor thread as it comes.

 1. Pages (the kinds of file no other file or template names with a
    fingerprint, and most of a site's bytes: C{FileStore.laterKinds}) are
    scanned for references, then rewritten with the fingerprints of the
    files they name, after any page they name.  Until then a page is sent
    as it is on disk, under its own C{ETag} and fingerprint, which is
    always correct, only not immutable.  A page too large for memory (or
    whose rewritten bytes do not fit in the memory left) is read, scanned
    and rewritten by a worker, which keeps the result as a file of the
    cache folder (L{jobs.rewriteFile}), sent from there as any large file;
    without a cache folder, or past L{LARGEST_PAGE}, it is sent as written.
 2. Every file gets its compressed forms (L{h2site.files.compression}).

A line in the log says how far it is every few seconds, and when it is
done (L{h2site.files.progress}); L{Background.fingerprinted} and
L{Background.settled} fire then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol, cast

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from h2site.files import jobs
from h2site.files.buildcache import BuildCache, RewrittenFile
from h2site.files.compression import PRIORITY, Compression, Entries
from h2site.files.fingerprint import Kind, kindOf
from h2site.files.index import (
    Source,
    StoredFile,
    fromMemory,
    fromRewritten,
    rewritten,
)
from h2site.files.progress import Progress
from h2site.files.safepath import nameToURL, urlToName
from h2site.files.workers import Workers, WorkersStopped

__all__ = ["LARGEST_PAGE", "Background", "Index"]

#: The largest page on disk fingerprinted: a worker holds one whole, a few
#: times over, to scan and rewrite it (larger pages are sent as written).
LARGEST_PAGE = 32 * 1024 * 1024


class Index(Entries, Protocol):
    """
    What the background work reads and changes of the file store.
    """

    prefix: str

    def entries(self) -> Iterable[StoredFile]:
        """
        Every entry, in the order they were indexed.
        """

    def versionOf(self, name: str) -> str | None:
        """
        The fingerprint of the file indexed under C{name}.
        """


@dataclass(eq=False)
class _Page:
    """
    A page on its way to being sent fingerprinted.

    @ivar disk: its bytes on disk, once known, for a page held in memory
        (one on disk is read by the worker that rewrites it).
    @ivar waiting: the pages it names that are not final yet.
    """

    stored: StoredFile
    kind: Kind
    disk: bytes | None = None
    waiting: set[str] = field(default_factory=set)
    started: bool = False


class Background:
    """
    The work left after one build of the file store, and what is re-read
    between reloads.
    """

    def __init__(
        self,
        index: Index,
        workers: Workers,
        cache: BuildCache | None,
        laterKinds: frozenset[str],
        generation: int = 0,
    ) -> None:
        """
        @param laterKinds: the kinds of file rewritten here rather than
            while building (pages).
        @param generation: the build's number in C{cache}: only the latest
            build prunes it, once done.
        """
        self._index = index
        self._workers = workers
        self._cache = cache
        self._laterKinds = laterKinds
        self._generation = generation
        self._begun = False
        #: The pages not final yet.
        self._pages: dict[str, _Page] = {}
        self._pageJobs = 0
        self._settled: list[Deferred[None]] = []
        self._fingerprinted: list[Deferred[None]] = []
        self._progress = Progress(workers.clock, workers.processes)
        self._compression = Compression(
            index,
            workers,
            cache,
            self._progress,
            self._replaced,
            self._check,
            self._stop,
        )
        #: The files with work to do when it started.
        self._todo: set[str] = set()
        self._stopped = False

    # Signals.

    def fingerprinted(self) -> Deferred[None]:
        """
        Fires once every page is sent with its references fingerprinted
        (or known not to be): from then on every fingerprint is final.
        """
        if self._begun and not self._pages:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._fingerprinted.append(d)
        return d

    def settled(self) -> Deferred[None]:
        """
        Fires once nothing is left to do: every file in its final form.
        """
        if self._begun and not self._compression.running and not self._pages:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._settled.append(d)
        return d

    # Starting.

    def start(self) -> None:
        """
        Queue the work for every entry of the index.  Called on the reactor
        thread, once.
        """
        self._begun = True
        entries = list(self._index.entries())
        self._planPages(entries)
        self._todo = {s.name for s in entries if s.pending} | set(self._pages)
        for stored in entries:
            if stored.name not in self._pages:
                self._compression.compress(stored)
        self._progress.begin(len(self._pages), len(self._todo), self._state)
        for page in list(self._pages.values()):
            if not page.started:
                self._advance(page)
        self._check()

    def track(self, name: str, stored: StoredFile | None) -> None:
        """
        Do what is left for an entry read again between reloads (L{None}:
        it is gone).
        """
        if not self._begun:
            # start() comes first on the reactor, and covers it.
            return
        kind = self._kind(stored) if stored is not None else None
        if stored is not None and kind is not None and stored.source is None:
            page = self._pages[name] = _Page(stored, kind)
            self._advance(page)
        elif name in self._pages:
            self._final(name)
        elif stored is not None:
            self._compression.compress(stored)

    def _kind(self, stored: StoredFile) -> Kind | None:
        """
        The kind of a page rewritten here, or L{None} for any other file,
        and for a page on disk when there is no cache folder to keep it
        rewritten in, or it is past L{LARGEST_PAGE} (it is then sent as
        written).
        """
        kind = kindOf(stored.name, stored.representation.contentType)
        if kind is None or kind not in self._laterKinds:
            return None
        identity = stored.representation.identity
        if identity.data is None and (
            self._cache is None or identity.size > LARGEST_PAGE
        ):
            return None
        return kind

    def _planPages(self, entries: list[StoredFile]) -> None:
        """
        Which pages need work: those never scanned or never rewritten, those
        naming a file whose fingerprint changed, and those naming any of
        these pages (whose fingerprints will change).
        """
        final: dict[str, tuple[StoredFile, Kind]] = {}
        for stored in entries:
            kind = self._kind(stored)
            if kind is None:
                continue
            source = stored.source
            if (
                source is None
                or source.versions is None
                or self._versions(source, stored.name) != source.versions
            ):
                self._pages[stored.name] = _Page(stored, kind)
            else:
                final[stored.name] = (stored, kind)
        grown = True
        while grown:
            grown = False
            for name, (stored, kind) in list(final.items()):
                assert stored.source is not None
                if any(n in self._pages for n in stored.source.names if n != name):
                    self._pages[name] = _Page(stored, kind)
                    del final[name]
                    grown = True

    # Pages.

    def _versions(self, source: Source, name: str) -> tuple[str | None, ...]:
        versionOf = self._versionOf(name)
        return tuple(versionOf(t.url) for t in source.targets)

    def _versionOf(self, page: str) -> Callable[[str], str | None]:
        """
        The fingerprints to write into C{page}: none for a page not final
        yet (the reference that closes a cycle is left as written), nor for
        the page itself (whose fingerprint is that of the bytes written),
        as in L{h2site.files.fingerprint.postOrder}.
        """
        prefix = self._index.prefix

        def versionOf(url: str) -> str | None:
            name = urlToName(url, prefix)
            if name is None or name == page or name in self._pages:
                return None
            return self._index.versionOf(name)

        return versionOf

    def _advance(self, page: _Page, force: bool = False) -> None:
        """
        Take a page one step: scan it, read its bytes on disk back (it is
        held in memory, rewritten with fingerprints since changed), or
        rewrite it once the pages it names are final (C{force}: now, to
        break a cycle).
        """
        page.started = True
        stored = page.stored
        name = stored.name
        data = stored.representation.identity.data
        source = stored.source
        if source is None:
            self._pageJob(
                page,
                "scan",
                self._scan(stored, page.kind),
                lambda found: self._scanned(page, found),
            )
            return
        if data is not None and page.disk is None and source.versions is None:
            page.disk = data
        if data is not None and page.disk is None:
            stamp = stored.stamps[0]
            assert stamp is not None
            self._pageJob(
                page,
                "read",
                partial(jobs.readSource, stored.realPath, stamp, source.digest),
                lambda disk: self._read(page, disk),
            )
            return
        page.waiting = {n for n in source.names if n in self._pages and n != name}
        if force or not page.waiting:
            self._rewrite(page)

    def _pageJob(
        self,
        page: _Page,
        what: str,
        call: Callable[[], object],
        then: Callable[[object], object],
    ) -> None:
        self._pageJobs += 1
        stored = page.stored
        key = f"{what}:{stored.name}:{stored.digest}"
        d = self._workers.submit(key, PRIORITY["page"], call)

        def done(result: object) -> None:
            self._pageJobs -= 1
            if self._pages.get(stored.name) is page:
                then(result)
            self._breakCycles()

        def failed(reason: Failure) -> None:
            if self._stop(reason):
                return
            self._progress.failed("fingerprinting", stored.name, reason)
            self._pageJobs -= 1
            if self._pages.get(stored.name) is page:
                self._final(stored.name)
            self._breakCycles()

        d.addCallbacks(done, failed)

    def _scan(self, stored: StoredFile, kind: Kind) -> Callable[[], object]:
        """
        What scans a page: its bytes held in memory, or those on disk, read
        by the worker.
        """
        prefix, name = self._index.prefix, stored.name
        data = stored.representation.identity.data
        if data is not None:
            return partial(jobs.scan, prefix, name, data, kind)
        stamp = stored.stamps[0]
        assert stamp is not None
        return partial(
            jobs.scanFile, prefix, name, stored.realPath, stamp, stored.digest, kind
        )

    def _scanned(self, page: _Page, found: object) -> None:
        stored = page.stored
        if found is None:
            # Changed since: it is read again when next asked for.
            self._final(stored.name)
            return
        targets, names = cast(jobs.Scan, found)
        source = Source(stored.digest, targets, names)
        new = self._index.install(
            stored, stored.representation, stored.digest, stored.pending, source
        )
        if new is None:
            self._final(stored.name)
            return
        page.stored = new
        self._advance(page)

    def _read(self, page: _Page, disk: object) -> None:
        if not isinstance(disk, bytes):
            # Changed since: it is read again when next asked for.
            self._final(page.stored.name)
            return
        page.disk = disk
        self._advance(page)

    def _rewrite(self, page: _Page) -> None:
        """
        Send the page with its references fingerprinted: held in memory if
        it still fits so, else from a file of the cache folder.
        """
        stored = page.stored
        assert stored.source is not None
        if page.disk is None:
            self._rewriteFile(page)
            return
        url = nameToURL(stored.name, self._index.prefix)
        sent, source = rewritten(
            url, page.disk, page.kind, stored.source, self._versionOf(stored.name)
        )
        rep = stored.representation
        new = None
        if sent != rep.identity.data:
            made = fromMemory(sent, rep.contentType, rep.lastModified)
            if made[0].memorySize - rep.memorySize <= self._index.memoryLeft():
                new = self._index.install(stored, *made, source)
            elif self._cache is not None:
                self._rewriteFile(page)
                return
            else:
                # Sent as it is on disk, correct if not immutable.
                source = Source(source.digest, source.targets, source.names)
        if new is None:
            new = self._index.install(
                stored, rep, stored.digest, stored.pending, source
            )
        if new is not None:
            page.stored = new
        self._final(stored.name)

    def _rewriteFile(self, page: _Page) -> None:
        """
        Have a worker rewrite the page from its file on disk into a file of
        the cache folder, to be sent from there: its bytes never cross the
        pipe, only where its references are and their fingerprints.
        """
        stored = page.stored
        source, stamp = stored.source, stored.stamps[0]
        assert source is not None and stamp is not None and self._cache is not None
        versions = self._versions(source, stored.name)
        written = replace(source, versions=versions)
        rep = stored.representation
        if rep.identity.path == stored.realPath and not any(versions):
            # Nothing to fingerprint: sent as it is, which is final.
            new = self._index.install(
                stored, rep, stored.digest, stored.pending, written
            )
            page.stored = new or stored
            self._final(stored.name)
            return
        call = partial(
            jobs.rewriteFile,
            str(self._cache.directory),
            nameToURL(stored.name, self._index.prefix),
            page.kind,
            stored.realPath,
            stamp,
            source.digest,
            source.targets,
            versions,
        )
        # Two builds (a reload) may want other fingerprints in it.
        key = hashlib.sha256(repr(versions).encode("ascii")).hexdigest()[:16]
        self._pageJob(
            page,
            f"rewrite-{key}",
            call,
            lambda made: self._rewroteFile(page, made, written),
        )

    def _rewroteFile(self, page: _Page, made: object, source: Source) -> None:
        stored = page.stored
        if isinstance(made, RewrittenFile):
            assert self._cache is not None
            self._cache.keep([self._cache.rewrittenEntryName(made.digest)])
            rep = stored.representation
            new = self._index.install(
                stored, *fromRewritten(made, rep.contentType, rep.lastModified), source
            )
            page.stored = new or stored
        # Else it changed since (it is read again when next asked for), or
        # the cache folder could not be written: sent as it was.
        self._final(stored.name)

    def _final(self, name: str) -> None:
        """
        The page C{name} is done: compress it, and rewrite the pages that
        waited for it.
        """
        page = self._pages.pop(name, None)
        if page is None:
            return
        if self._index.current(name) is page.stored:
            self._compression.compress(page.stored)
        for other in list(self._pages.values()):
            if name in other.waiting:
                other.waiting.discard(name)
                if not other.waiting:
                    self._advance(other)
        self._breakCycles()
        self._check()

    def _breakCycles(self) -> None:
        """
        When every page left waits for another (a cycle), rewrite one now,
        the references closing the cycle left as written; the others
        follow.
        """
        if self._pageJobs or not self._pages:
            return
        pages = list(self._pages.values())
        if all(page.started and page.waiting for page in pages):
            self._advance(pages[0], force=True)

    def _replaced(self, old: StoredFile, new: StoredFile) -> None:
        """
        An entry was replaced by one with a new compressed form.
        """
        page = self._pages.get(old.name)
        if page is not None and page.stored is old:
            page.stored = new

    # Progress.

    def _state(self) -> tuple[int, int]:
        """
        How many files with work are in their final form (or gone), and how
        many pages are left to fingerprint.
        """
        done = 0
        for name in self._todo:
            stored = self._index.current(name)
            if stored is None or (not stored.pending and name not in self._pages):
                done += 1
        return done, len(self._pages)

    def _stop(self, reason: Failure) -> bool:
        """
        Give up, quietly, if the workers were stopped (the server is
        shutting down): nothing more will be done, or waited for.
        """
        if not reason.check(WorkersStopped):
            return False
        self._stopped = True
        self._progress.stop()
        return True

    def _check(self) -> None:
        """
        Fire what waits for the pages, or for everything, once done.
        """
        if not self._begun or self._stopped:
            return
        if not self._pages:
            waiting, self._fingerprinted = self._fingerprinted, []
            for d in waiting:
                d.callback(None)
        if self._pages or self._compression.running:
            return
        if not self._progress.ended:
            self._progress.end()
            if self._cache is not None and self._cache.isLatest(self._generation):
                self._cache.prune()
        waiting, self._settled = self._settled, []
        for d in waiting:
            d.callback(None)
