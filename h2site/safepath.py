# -*- test-case-name: tests.test_static -*-
"""
The path safety rules for C{/static/}, apart from serving so the file store
(which indexes by the same rules) and the resource can share them: no
directory listings, no dotfiles, no symlinks out of the root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

__all__ = ["resolveStaticPath", "safeSegments"]


def safeSegments(segments: Sequence[bytes]) -> tuple[str, ...] | None:
    """
    Check the decoded path segments of a request below C{/static/}.

    Twisted has already percent-decoded each segment, so an encoded C{%2f} or
    C{%2e%2e} arrives here as a segment containing C{/} or equal to C{..}.

    @return: the segments as text, or L{None} if any is empty (a directory),
        starts with a dot (dotfiles, dot-directories, C{.} and C{..}), holds a
        slash, backslash or NUL, or is not UTF-8.
    """
    if not segments:
        return None
    result = []
    for raw in segments:
        try:
            segment = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if (
            not segment
            or segment.startswith(".")
            or "/" in segment
            or "\\" in segment
            or "\x00" in segment
        ):
            return None
        result.append(segment)
    return tuple(result)


def resolveStaticPath(realRoot: str, segments: Sequence[str]) -> str | None:
    """
    The real path of a regular file below C{realRoot}, or L{None}.

    Symlinks are followed, but the result must still lie inside the root:
    a link to C{/etc/passwd} (or to a directory outside) is refused.

    @param realRoot: the root folder, already passed through
        C{os.path.realpath}.
    """
    real = os.path.realpath(os.path.join(realRoot, *segments))
    if not real.startswith(realRoot + os.sep):
        return None
    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return real
