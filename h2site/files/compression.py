# -*- test-case-name: tests.unit.files.test_background -*-
"""
The compressed forms of every file, made by the file store's workers after
it starts serving (L{h2site.files.background}): gzip first for all (twenty
times faster than brotli at its best), then brotli; a file is sent in the
best coding ready, and gains the others as they come.

Files held in memory get them in memory while the budget lasts, then as
files of the cache folder; files on disk get them in the cache folder,
compressed as a stream from the file that is sent (for a page too large for
memory, the file of the cache folder holding it rewritten, not the page as
written).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Protocol

from twisted.python.failure import Failure

from h2site.files import jobs
from h2site.files.buildcache import BuildCache, CompressedFile
from h2site.files.index import CODINGS, Source, StoredFile
from h2site.files.progress import Progress
from h2site.files.representation import Body, Representation, stampOf, withBody
from h2site.files.workers import Workers
from h2site.semantics.conditional import ETag

__all__ = ["PRIORITY", "Compression", "Entries"]

#: The order jobs run in: what makes pages correct, then fast, then small.
PRIORITY = {"page": 0, "gzip": 1, "br": 2}


class Entries(Protocol):
    """
    What compressing reads and changes of the file store.
    """

    def current(self, name: str) -> StoredFile | None:
        """
        The entry now indexed under C{name}.
        """

    def memoryLeft(self) -> int:
        """
        How many more bytes may be held in memory.
        """

    def install(
        self,
        stored: StoredFile,
        rep: Representation,
        digest: str,
        pending: frozenset[str],
        source: Source | None,
    ) -> StoredFile | None:
        """
        Replace the entry C{stored}, if it is still indexed, by one with
        these bodies; the new entry, or L{None} if C{stored} was replaced.
        """


class Compression:
    """
    The compression jobs of one build's background work.

    @ivar running: how many are queued or running.
    """

    def __init__(
        self,
        index: Entries,
        workers: Workers,
        cache: BuildCache | None,
        progress: Progress,
        replaced: Callable[[StoredFile, StoredFile], object],
        finished: Callable[[], object],
        stopped: Callable[[Failure], bool],
    ) -> None:
        """
        @param replaced: told of each entry replaced by one with a new form
            (the old entry, then the new).
        @param finished: called after each job's result is installed.
        @param stopped: whether a job's failure is the workers stopping
            (then nothing more is done for it).
        """
        self._index = index
        self._workers = workers
        self._cache = cache
        self._progress = progress
        self._replaced = replaced
        self._finished = finished
        self._stopped = stopped
        self.running = 0

    def compress(self, stored: StoredFile) -> None:
        """
        Make the forms still pending of C{stored}'s bytes.
        """
        for coding in CODINGS:
            if coding in stored.pending:
                self._submit(stored, coding)

    def _submit(self, stored: StoredFile, coding: str) -> None:
        identity = stored.representation.identity
        directory = str(self._cache.directory) if self._cache is not None else None
        digest = stored.digest
        call: Callable[[], object]
        if identity.data is not None:
            key = f"{coding}:{digest}:memory"
            call = partial(jobs.compressData, directory, coding, identity.data, digest)
        else:
            assert directory is not None
            assert identity.path is not None and identity.stamp is not None
            key = f"{coding}:{digest}:file"
            call = partial(
                jobs.compressFile,
                directory,
                coding,
                identity.path,
                identity.stamp,
                digest,
            )
        if self._cache is not None:
            self._cache.keep([self._cache.entryName(coding, digest)])
        self.running += 1
        d = self._workers.submit(key, PRIORITY[coding], call)

        def done(result: object) -> None:
            self._compressed(stored, coding, digest, result)

        def failed(reason: Failure) -> None:
            if self._stopped(reason):
                return
            self._progress.failed("compressing", stored.name, reason)
            self._compressed(stored, coding, digest, None)

        d.addCallbacks(done, failed)

    def _compressed(
        self, stored: StoredFile, coding: str, digest: str, result: object
    ) -> None:
        self.running -= 1
        current = self._index.current(stored.name)
        # The same read of the same file (entries are replaced as their
        # forms come, so not the same object), and the same bytes.
        if (
            current is not None
            and current.stamps == stored.stamps
            and current.digest == digest
        ):
            body = self._body(current, coding, digest, result)
            rep = current.representation
            pending = current.pending - {coding}
            if body is not None:
                rep = withBody(rep, body, vary=True)
                best = min(b.size for b in rep.bodies.values())
                self._progress.saved[current.name] = rep.identity.size - best
            new = self._index.install(current, rep, digest, pending, current.source)
            if new is not None:
                self._replaced(current, new)
        self._finished()

    def _body(
        self, stored: StoredFile, coding: str, digest: str, result: object
    ) -> Body | None:
        """
        The body a job's result makes, if smaller than the file: in memory
        while the budget lasts, else the cache's file.
        """
        if isinstance(result, CompressedFile):
            self._progress.form(result.cached)
            return Body(
                coding,
                ETag(result.etag),
                result.size,
                None,
                result.path,
                stamp=result.stamp,
            )
        if not isinstance(result, tuple):
            return None
        encoded, etag, cached = result
        self._progress.form(cached)
        if len(encoded) >= stored.representation.identity.size:
            return None
        if len(encoded) <= self._index.memoryLeft():
            return Body(coding, ETag(etag), len(encoded), encoded, None)
        if self._cache is None:
            return None
        path = self._cache.entryPath(coding, digest)
        try:
            stamp = stampOf(os.stat(path))
        except OSError:
            return None
        return Body(coding, ETag(etag), len(encoded), None, path, stamp=stamp)
