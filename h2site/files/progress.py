# -*- test-case-name: tests.unit.files.test_background -*-
"""
What the log says of the file store's work after it starts serving
(L{h2site.files.background}): what there is to do, how far along it is
every few seconds, and when it is done, so an operator of a large site
knows when every file is in its final form, and what it saved.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

__all__ = ["PROGRESS_INTERVAL", "Progress"]

_log = Logger(namespace="h2site.static")

#: Seconds between two progress lines.
PROGRESS_INTERVAL = 5.0


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


class Progress:
    """
    The progress lines of one build's work.

    @ivar saved: for each file, how many bytes its best coding saves.
    """

    def __init__(self, clock: IReactorTime, processes: int) -> None:
        self._clock = clock
        self._processes = processes
        self._loop: LoopingCall | None = None
        self._startedAt = 0.0
        self._pages = 0
        self._files = 0
        self._forms = 0
        self._fromCache = 0
        self._failures = 0
        self._done = False
        self.saved: dict[str, int] = {}

    def begin(
        self, pages: int, files: int, state: Callable[[], tuple[int, int]]
    ) -> None:
        """
        Say what there is to do, and start saying how far along it is.

        @param pages: how many pages to fingerprint.
        @param files: how many files (those pages included) have work.
        @param state: how many of those files are in their final form, and
            how many pages are left to fingerprint, now.
        """
        self._startedAt = self._clock.seconds()
        self._pages, self._files = pages, files
        if not files:
            return
        _log.info(
            "h2site static files: {pages} pages to fingerprint and {files} "
            "files to compress, in the background with {processes} "
            "processes; until then they are sent as they are",
            pages=pages,
            files=files,
            processes=self._processes,
        )

        def report() -> None:
            done, pagesLeft = state()
            _log.info(
                "h2site static files: {done} of {files} in their final form, "
                "{pages} pages left to fingerprint, {saved} saved so far",
                done=done,
                files=files,
                pages=pagesLeft,
                saved=_megabytes(sum(self.saved.values())),
            )

        self._loop = LoopingCall(report)
        self._loop.clock = self._clock
        self._loop.start(PROGRESS_INTERVAL, now=False)

    def form(self, cached: bool) -> None:
        """
        A compressed form was made, or found in the cache.
        """
        if not self._done:
            self._forms += 1
            self._fromCache += cached

    def failed(self, what: str, name: str, reason: Failure) -> None:
        """
        Log the first job that failed; count the others, for the last line
        (when worker processes cannot start, every job fails).
        """
        self._failures += 1
        if self._failures == 1:
            _log.failure(
                "h2site static files: {what} {name!r}", reason, what=what, name=name
            )

    def end(self) -> None:
        """
        Say it is done (once).
        """
        if self._done:
            return
        self._done = True
        if self._loop is None:
            return
        self.stop()
        _log.info(
            "h2site static files ready: {pages} pages fingerprinted and "
            "{files} files compressed in {seconds:.1f} s ({cached} of "
            "{forms} forms from the cache), {saved} saved",
            pages=self._pages,
            files=self._files,
            seconds=self._clock.seconds() - self._startedAt,
            cached=self._fromCache,
            forms=self._forms,
            saved=_megabytes(sum(self.saved.values())),
        )
        if self._failures:
            _log.warn(
                "h2site static files: {count} jobs failed; those files are "
                "sent as they are, or without the forms that failed",
                count=self._failures,
            )

    @property
    def ended(self) -> bool:
        """
        Whether L{end} was called.
        """
        return self._done

    def stop(self) -> None:
        """
        Say no more (the server is shutting down, or it is done).
        """
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
