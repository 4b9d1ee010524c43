# -*- test-case-name: tests.unit.ops.test_watch -*-
"""
Watching a site folder for changes (C{--dev}), with inotify through
Twisted: no polling, and a save seen within milliseconds.

What it reports is names, relative to the folder, after a burst of events
has settled (L{Debouncer}): one save is often several events (an editor
writes a temporary file, renames it over the old one, sets its mode), and
a C{git checkout} is hundreds; each burst is one rebuild.  A rebuild reads
the whole folder again (by size, time and inode, reading only what
changed), so the names only say what to log: an event missed inside a
folder created a moment before it was watched changes nothing.

Left out: editors' temporary and backup files (L{isIgnored}), dot-folders
(version control) and other folders nothing is served from
(L{isIgnoredFolder}), and log files, which a server writing into its own
site folder would otherwise turn into a rebuild for every line.

Twisted's L{INotify} closes its whole descriptor when any watched folder
is deleted (C{IN_DELETE_SELF}), which would end watching for good after
an C{rm -r} of one subfolder; the notifier made here only closes when
told to (L{linuxNotifier}).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Collection
from typing import Any, Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.filepath import FilePath

from h2site.errors import StartupError

__all__ = [
    "DEBOUNCE",
    "LONGEST_WAIT",
    "WATCH_MASK",
    "Debouncer",
    "FolderWatcher",
    "Notifier",
    "isIgnored",
    "isIgnoredFolder",
    "linuxNotifier",
]

_log = Logger(namespace="h2site")

# The inotify event bits (inotify(7)); twisted.internet.inotify has the
# same values, but imports only on Linux.
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_ISDIR = 0x40000000

#: What may change what is served: contents, names, modes.
WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)

#: Seconds without events that end a burst.
DEBOUNCE = 0.05

#: The longest a burst is waited for, from its first event: a program that
#: writes without pause (a generator filling the folder) still gets
#: rebuilds.
LONGEST_WAIT = 0.5

#: Editors' temporary, swap, lock and backup files: vim (C{4913},
#: C{.name.swp}), emacs (C{.#name}, C{#name#}), backups (C{name~}),
#: JetBrains (C{name___jb_tmp___}), C{sed -i} (C{sedXXXXXX}), and log
#: files.
_IGNORED = re.compile(
    r"""
    ^4913$
    | ^sed[0-9A-Za-z]{6}$
    | ~$
    | ^\#.*\#$
    | \.sw[pon]x?$
    | \.swx$
    | ___jb_(tmp|old)___$
    | \.log$
    """,
    re.VERBOSE,
)

#: Folders nothing is served from, whose changes are not the site's.
_IGNORED_FOLDERS = frozenset({"node_modules", "__pycache__"})


def isIgnored(name: str) -> bool:
    """
    Whether a change to a file of this name (its last segment) is left
    out: an editor's temporary, a log, or a dot-name (never served; vim's
    swap files and emacs's locks are dot-names too), except
    C{.well-known}.
    """
    if name.startswith(".") and name != ".well-known":
        return True
    return _IGNORED.search(name) is not None


def isIgnoredFolder(name: str) -> bool:
    """
    Whether a folder of this name is not watched at all.
    """
    return isIgnored(name) or name in _IGNORED_FOLDERS


class Notifier(Protocol):
    """
    What L{FolderWatcher} needs of Twisted's L{INotify}.
    """

    def startReading(self) -> None: ...

    def loseConnection(self) -> None: ...

    def watch(
        self,
        path: FilePath[Any],
        mask: int = ...,
        autoAdd: bool = ...,
        callbacks: list[Callable[[object, FilePath[Any], int], object]] | None = ...,
        recursive: bool = ...,
    ) -> object: ...

    def ignore(self, path: FilePath[Any]) -> None: ...


def linuxNotifier(reactor: Any) -> Notifier:
    """
    Twisted's L{INotify}, except that a deleted folder does not close it.

    @raise StartupError: where there is no inotify (not Linux).
    """
    try:
        from twisted.internet import inotify
    except ImportError:
        raise StartupError(
            "--dev watches the site folder with inotify, which this system "
            "does not have (Linux only); run without --dev and reload with "
            "SIGHUP"
        ) from None

    class _INotify(inotify.INotify):
        _closing = False

        def loseConnection(self) -> None:
            # Twisted calls this when any watched folder is deleted.
            if self._closing:
                super().loseConnection()

        def close(self) -> None:
            self._closing = True
            self.loseConnection()

    notifier: Notifier = _INotify(reactor)
    return notifier


class Debouncer:
    """
    Names gathered until no new one comes for C{quiet} seconds (or
    C{longest} seconds have passed since the first), then handed over at
    once, in the order first seen.
    """

    def __init__(
        self,
        clock: IReactorTime,
        fire: Callable[[list[str]], object],
        quiet: float = DEBOUNCE,
        longest: float = LONGEST_WAIT,
    ) -> None:
        self._clock = clock
        self._fire = fire
        self._quiet = quiet
        self._longest = longest
        self._names: dict[str, None] = {}
        self._first = 0.0
        self._call: IDelayedCall | None = None

    def add(self, name: str) -> None:
        now = self._clock.seconds()
        if not self._names:
            self._first = now
        self._names.setdefault(name, None)
        delay = max(0.0, min(self._quiet, self._first + self._longest - now))
        if self._call is not None and self._call.active():
            self._call.reset(delay)
        else:
            self._call = self._clock.callLater(delay, self._flush)

    def _flush(self) -> None:
        self._call = None
        names, self._names = list(self._names), {}
        self._fire(names)

    def cancel(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._names = {}


class FolderWatcher:
    """
    Watches a folder and everything below it, folders created later
    included, and reports changed names in bursts (L{Debouncer}).
    """

    def __init__(
        self,
        root: str,
        changed: Callable[[list[str]], object],
        clock: IReactorTime,
        notifier: Callable[[], Notifier],
        ignorePaths: Collection[str] = (),
        quiet: float = DEBOUNCE,
    ) -> None:
        """
        @param changed: given the names (relative to C{root}, C{/}-separated)
            of a burst of changes.
        @param notifier: makes the inotify notifier (L{linuxNotifier}).
        @param ignorePaths: files whose changes are left out (the access
            log, if written inside the folder).
        """
        self.root = os.path.realpath(root)
        self._notifier = notifier
        self._inotify: Notifier | None = None
        self._ignorePaths = {os.path.realpath(p) for p in ignorePaths}
        self._watched: set[str] = set()
        self._debouncer = Debouncer(clock, changed, quiet)

    @property
    def watched(self) -> frozenset[str]:
        """
        The folders being watched, by real path.
        """
        return frozenset(self._watched)

    def start(self) -> None:
        """
        Watch the folder tree as it is now.
        """
        self._inotify = self._notifier()
        self._inotify.startReading()
        self._watchTree(self.root)

    def stop(self) -> None:
        self._debouncer.cancel()
        notifier, self._inotify = self._inotify, None
        self._watched = set()
        if notifier is not None:
            close = getattr(notifier, "close", notifier.loseConnection)
            close()

    def _watchTree(self, top: str) -> None:
        """
        Watch C{top} and every folder below it (not through symlinks, and
        not the ignored ones).
        """
        notifier = self._inotify
        if notifier is None:
            return
        for folder, subfolders, _ in os.walk(top):
            subfolders[:] = [s for s in subfolders if not isIgnoredFolder(s)]
            if folder in self._watched:
                continue
            try:
                notifier.watch(
                    FilePath(os.fsencode(folder)), WATCH_MASK, callbacks=[self._event]
                )
            except Exception as e:
                # Usually fs.inotify.max_user_watches: say so, go on.
                _log.warn(
                    "cannot watch {folder} for changes: {error}",
                    folder=folder,
                    error=str(e),
                )
                continue
            self._watched.add(folder)

    def _unwatchTree(self, top: str) -> None:
        """
        Stop watching a folder moved away, and its subfolders: their
        watches would report changes under the names they had here.
        """
        notifier = self._inotify
        below = top + os.sep
        for folder in [f for f in self._watched if f == top or f.startswith(below)]:
            self._watched.discard(folder)
            if notifier is not None:
                with contextlib.suppress(KeyError):
                    notifier.ignore(FilePath(os.fsencode(folder)))

    def _event(self, watch: object, path: FilePath[Any], mask: int) -> None:
        full = os.fsdecode(path.path)
        name = os.path.basename(full)
        if full != self.root and (
            isIgnored(name) or (mask & IN_ISDIR and isIgnoredFolder(name))
        ):
            return
        if full in self._ignorePaths:
            return
        if mask & IN_ISDIR:
            if mask & (IN_CREATE | IN_MOVED_TO):
                self._watchTree(full)
            elif mask & IN_MOVED_FROM:
                self._unwatchTree(full)
        if mask & IN_DELETE_SELF:
            # Twisted has dropped the watch itself.
            self._watched.discard(full)
        self._debouncer.add(self._relative(full))

    def _relative(self, full: str) -> str:
        relative = os.path.relpath(full, self.root)
        return "." if relative == os.curdir else relative.replace(os.sep, "/")
