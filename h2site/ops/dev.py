# -*- test-case-name: tests.unit.ops.test_dev -*-
"""
Development mode (C{--dev}) while it runs: each burst of changes in the
site folder (L{h2site.ops.watch}) rebuilds the site with the builder a
reload uses, in a thread, swaps the new tree in (open connections keep
going; the next request gets the new version), tells the open pages to
reload (L{h2site.web.livereload}), and logs one line: what changed and how
long until the new version was served.

One rebuild at a time: changes that come during one are gathered and
built next, together.  On stop, the watcher stops and every event stream
ends, before the listeners wait for connections to finish.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from h2site.ops.watch import FolderWatcher, Notifier, linuxNotifier
from h2site.web.livereload import DevRoot, LiveReload
from h2site.web.site import H2Site

__all__ = ["DevService", "describeChanges"]

_log = Logger(namespace="h2site")


def describeChanges(names: Sequence[str], shown: int = 3) -> str:
    """
    What changed, for the log: how many, and the first C{shown} names.
    """
    if len(names) == 1:
        return f"{names[0]} changed"
    listed = ", ".join(names[:shown])
    if len(names) > shown:
        listed += f" and {len(names) - shown} more"
    return f"{len(names)} changes ({listed})"


class DevService(service.Service):
    """
    Watch the site folder, rebuild on each change, reload open pages.

    @ivar rebuilds: how many rebuilds were served, for tests.
    """

    def __init__(
        self,
        *,
        siteDir: str,
        site: H2Site,
        build: Callable[[], Resource],
        live: LiveReload,
        reactor: Any,
        ignorePaths: Collection[str] = (),
        notifier: Callable[[], Notifier] | None = None,
    ) -> None:
        """
        @param build: the development build (L{h2site.web.build.siteBuilder}
            with C{liveReload}), which serves errors rather than raising
            them; run in a thread.
        @param reactor: provides L{IReactorTime} and L{IReactorThreads}.
        @param ignorePaths: files inside the folder whose changes are not
            the site's (the access log).
        @param notifier: makes the inotify notifier (L{linuxNotifier}).
        """
        self._site = site
        self._build = build
        self._live = live
        self._reactor = reactor
        self._watcher = FolderWatcher(
            siteDir,
            self.changed,
            reactor,
            notifier or (lambda: linuxNotifier(reactor)),
            ignorePaths,
        )
        self._pending: dict[str, None] = {}
        self._building: Deferred[None] | None = None
        self.rebuilds = 0

    @property
    def watcher(self) -> FolderWatcher:
        return self._watcher

    def startService(self) -> None:
        super().startService()
        self._watcher.start()
        self._live.start()
        _log.info(
            "h2site --dev: watching {folder} ({count} folders); open pages "
            "reload by themselves after each change",
            folder=self._watcher.root,
            count=len(self._watcher.watched),
        )

    def stopService(self) -> None:
        super().stopService()
        self._watcher.stop()
        self._pending = {}
        # Before the listeners wait for open streams to end.
        self._live.close()

    def changed(self, names: Sequence[str]) -> None:
        """
        Rebuild for these changed names, now or after the rebuild under
        way.
        """
        for name in names:
            self._pending.setdefault(name, None)
        if self._building is None and self.running:
            self._rebuild()

    def _rebuild(self) -> None:
        names, self._pending = list(self._pending), {}
        began = self._reactor.seconds()
        d: Deferred[Resource] = deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), self._build
        )
        done = d.addCallbacks(
            lambda root: self._swap(root, names, began),
            lambda failure: self._failed(failure, names),
        )
        self._building = done
        done.addBoth(self._built)

    def _swap(self, root: Resource, names: Sequence[str], began: float) -> None:
        if not self.running:
            return
        self._site.resource = root
        self.rebuilds += 1
        seconds = self._reactor.seconds() - began
        what = describeChanges(names)
        if not isinstance(root, DevRoot):
            _log.info("{what}; served in {seconds:.3f} s", what=what, seconds=seconds)
            return
        self._live.reload(root.build)
        if not root.errors:
            _log.info("{what}; served in {seconds:.3f} s", what=what, seconds=seconds)
            return
        _log.error(
            "{what}; served in {seconds:.3f} s, with error pages: {errors}",
            what=what,
            seconds=seconds,
            errors=" | ".join(root.errors),
        )

    def _failed(self, failure: Failure, names: Sequence[str]) -> None:
        _log.failure(
            "{what}; the rebuild failed, still serving the previous version",
            failure,
            what=describeChanges(names),
        )

    def _built(self, result: object) -> None:
        self._building = None
        if self._pending and self.running:
            self._rebuild()
