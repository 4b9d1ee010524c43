# -*- test-case-name: tests.unit.files.test_walk -*-
"""
Which files of a folder may be served, found by walking it: no dot-names
(but C{.well-known} at the top of a folder served at C{/}), and symlinks
only to places inside the root unless the operator asks for them to be
followed.

A link that leaves the folder is refused, and said so: once per walk, in
one warning line with how many and the first few, because a site that
links its files out of its folder (Debian's C{python3-doc} links jQuery to
C{/usr/share/javascript}) otherwise just has 404s nobody can explain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from twisted.logger import Logger

from h2site.files.safepath import WELL_KNOWN

__all__ = ["RefusedLink", "describeRefused", "walk"]

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


def _logRefused(root: str, refused: Sequence[RefusedLink]) -> None:
    _log.warn("{refused}", refused=describeRefused(root, refused))


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


def walk(
    root: str,
    followSymlinks: bool = False,
    wellKnown: bool = False,
    report: Report | None = None,
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
