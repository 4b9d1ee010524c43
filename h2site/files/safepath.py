# -*- test-case-name: tests.unit.files.test_safepath -*-
"""
The path safety rules for C{/static/}, apart from serving so the file store
(which indexes by the same rules) and the resource can share them: no
directory listings, no dotfiles, no symlinks out of the root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes

__all__ = ["nameToURL", "resolveStaticPath", "safeSegments", "urlToName"]


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


def urlToName(url: str, prefix: str) -> str | None:
    """
    The name (path below the static folder, C{/}-separated) a request for
    C{url} is served from, by the same rules as the request: the C{prefix},
    per-segment percent-decoding as Twisted does it, then L{safeSegments}.

    @param url: An absolute path, perhaps with a query (a fingerprint such
        as C{?v=1a2b}, which does not change the file) and a fragment.
    @param prefix: The URL path the folder is served at, with slashes at
        both ends.
    @return: The name, or L{None} if no file there could be served.
    """
    path = url.split("#", 1)[0].split("?", 1)[0]
    if not path.startswith(prefix):
        return None
    try:
        raw = [unquote_to_bytes(s) for s in path[len(prefix) :].split("/")]
    except ValueError:
        return None
    segments = safeSegments(raw)
    if segments is None:
        return None
    return "/".join(segments)


def nameToURL(name: str, prefix: str) -> str:
    """
    The URL of the file called C{name} below the static folder served at
    C{prefix}: the inverse of L{urlToName}.
    """
    return prefix + quote(name, safe="/")
