# -*- test-case-name: tests.unit.files.test_store -*-
"""
Which files of a folder may be served, found by walking it: no dot-names,
and symlinks only to places inside the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["walk"]


def walk(root: str) -> Iterator[str]:
    """
    The names (C{/}-separated, below C{root}) of every file the safety
    rules allow serving: no dot-names, and symlinks only to places inside
    the root (each real directory visited once, so link loops end).

    @param root: a real path (through C{os.path.realpath}).
    """
    seen: set[str] = set()

    def visit(directory: str, prefix: str) -> Iterator[str]:
        real = os.path.realpath(directory)
        if real in seen or not (real == root or real.startswith(root + os.sep)):
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                isDir, isFile = entry.is_dir(), entry.is_file()
            except OSError:
                continue
            if isDir:
                yield from visit(entry.path, prefix + entry.name + "/")
            elif isFile:
                yield prefix + entry.name

    yield from visit(root, "")
