# -*- test-case-name: tests.unit.files.test_walk -*-
"""
Which files of a folder may be served, found by walking it: no dot-names
(but C{.well-known} at the top of a folder served at C{/}), and symlinks
only to places inside the root unless the operator asks for them to be
followed.

A link that leaves the folder is refused, and said so: once per walk, in
one warning line with how many and the first few, because a site that
links its files out of its folder (Debian's C{python3-doc} links jQuery to
C{/usr/share/javascript}) otherwise just has 404s nobody can explain.  For
the same reason the walk tells its caller of what it passes over that is
neither a folder nor a file (a broken link, a FIFO, a socket, a device);
the file store says so, with the files it could not read
(L{describeUnservable}).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from twisted.logger import Logger

from h2site.files.safepath import WELL_KNOWN

__all__ = [
    "RefusedLink",
    "Unservable",
    "describeRefused",
    "describeUnservable",
    "walk",
]

_log = Logger(namespace="h2site.files")

#: How many refused links the warning names.
SHOWN = 3


@dataclass(frozen=True)
class RefusedLink:
    """
    A symlink that was not followed because it leaves the folder.

    @ivar name: its path below the folder, C{/}-separated.
    @ivar target: the real path it leads to.
    """

    name: str
    target: str


#: Told about the links a walk of C{root} refused, once, at its end.
Report = Callable[[str, Sequence[RefusedLink]], object]


def describeRefused(
    root: str, refused: Sequence[RefusedLink], shown: int = SHOWN
) -> str:
    """
    The warning for the links a walk of C{root} refused: how many, the
    first C{shown} as C{name -> target}, and what to do.
    """
    count = len(refused)
    first = ", ".join(f"{r.name} -> {r.target}" for r in refused[:shown])
    more = f" and {count - shown} more" if count > shown else ""
    links = "symlink" if count == 1 else "symlinks"
    lead = "leads" if count == 1 else "lead"
    return (
        f"h2site does not serve {count} {links} in {root} that {lead} out of "
        f"it ({first}{more}); copy the files in, or give --follow-symlinks"
    )


def describeUnservable(
    root: str, unservable: Sequence[tuple[str, str]], shown: int = SHOWN
) -> str:
    """
    The warning for the entries of C{root} that cannot be served: how
    many, the first C{shown} as C{name (why)}, and what to do.

    @param unservable: names below C{root} with why each is not served.
    """
    count = len(unservable)
    first = ", ".join(f"{name} ({why})" for name, why in unservable[:shown])
    more = f" and {count - shown} more" if count > shown else ""
    files = "file" if count == 1 else "files"
    return (
        f"h2site cannot serve {count} {files} in {root} ({first}{more}); make "
        f"them regular files this user can read, or remove them"
    )


def _what(entry: os.DirEntry[str]) -> str:
    """
    What an entry that is neither a folder nor a regular file is.
    """
    try:
        mode = entry.stat().st_mode
    except OSError:
        return "a broken symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


@dataclass
class Unservable:
    """
    What one build of a folder could not serve: what the walk passed over
    (L{walk}'s C{skipped}) and the files it listed that could not be read.

    @ivar found: names with why each is not served.
    """

    found: list[tuple[str, str]] = field(default_factory=list)

    def skipped(self, name: str, what: str) -> None:
        """
        The walk passed over C{name}, which is C{what}.
        """
        self.found.append((name, what))

    def unread(self, root: str, name: str) -> None:
        """
        The walk listed C{name}, but it could not be read.
        """
        try:
            # Not blocking, should it have become a FIFO since.
            flags = os.O_RDONLY | os.O_NONBLOCK
            os.close(os.open(os.path.join(root, *name.split("/")), flags))
            why = "changed while being read"
        except OSError as e:
            why = "cannot be read: " + (e.strerror or type(e).__name__).lower()
        self.found.append((name, why))

    def describe(self, root: str) -> str | None:
        """
        The warning line (L{describeUnservable}), or L{None} if all is well.
        """
        return describeUnservable(root, sorted(self.found)) if self.found else None


def _logRefused(root: str, refused: Sequence[RefusedLink]) -> None:
    _log.warn("{refused}", refused=describeRefused(root, refused))


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


def walk(
    root: str,
    followSymlinks: bool = False,
    wellKnown: bool = False,
    report: Report | None = None,
    skipped: Callable[[str, str], object] | None = None,
) -> Iterator[str]:
    """
    The names (C{/}-separated, below C{root}) of every file the safety
    rules allow serving: no dot-names, and symlinks only to places inside
    the root.  A link to a folder is entered unless it leads to a folder
    above it (a loop) or another link led there already, so the walk ends
    and costs at most one pass of the tree per link; a folder a link leads
    to is still listed under its own name too (both URLs serve it).

    @param root: a real path (through C{os.path.realpath}).
    @param followSymlinks: follow links out of the root too (to files and
        folders only; dot-names below them are still skipped).
    @param wellKnown: list the C{.well-known} folder at the top: for a
        folder served at C{/}.
    @param report: told, once the walk is done, about the links it refused
        (if any); by default they are logged in one warning line.
    @param skipped: told the name of each entry passed over for being
        neither a folder nor a file, and what it is (C{"a FIFO"}).
    """
    refused: list[RefusedLink] = []
    linked: set[str] = set()

    def visit(
        directory: str, real: str, prefix: str, above: frozenset[str]
    ) -> Iterator[str]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") and not (
                wellKnown and not prefix and entry.name == WELL_KNOWN
            ):
                continue
            try:
                isDir, isFile = entry.is_dir(), entry.is_file()
                isLink = entry.is_symlink()
            except OSError:
                continue
            if not (isDir or isFile):
                # Broken links, devices, FIFOs and sockets are never served.
                if skipped is not None:
                    skipped(prefix + entry.name, _what(entry))
                continue
            name = prefix + entry.name
            if isLink:
                target = os.path.realpath(entry.path)
                if not followSymlinks and not _inside(target, root):
                    refused.append(RefusedLink(name, target))
                    continue
            else:
                target = os.path.join(real, entry.name)
            if not isDir:
                yield name
                continue
            if target in above or (isLink and target in linked):
                continue
            if isLink:
                linked.add(target)
            yield from visit(entry.path, target, name + "/", above | {target})

    yield from visit(root, root, "", frozenset({root}))
    if refused:
        (report or _logRefused)(root, refused)
