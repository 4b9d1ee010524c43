# -*- test-case-name: tests.unit.files.test_safepath -*-
"""
The path safety rules of every served folder, apart from serving so the
file store (which indexes by the same rules) and the resources can share
them: no directory listings, no dotfiles (but a C{.well-known} folder at
the top of a folder served at C{/}), no symlinks out of the root unless the
operator asks for them to be followed (C{--follow-symlinks}).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "WELL_KNOWN",
    "nameToURL",
    "resolveStaticPath",
    "safeSegments",
    "urlToName",
]

#: The one dot-name served, and only as the first segment of a URL path
#: (RFC 8615: C{security.txt}, ACME challenges, C{assetlinks.json}).
WELL_KNOWN = ".well-known"


def safeSegments(
    segments: Sequence[bytes], wellKnown: bool = False
) -> tuple[str, ...] | None:
    """
    Check the decoded path segments of a request below a served folder.

    Twisted has already percent-decoded each segment, so an encoded C{%2f} or
    C{%2e%2e} arrives here as a segment containing C{/} or equal to C{..}.

    @param wellKnown: let the first segment be L{WELL_KNOWN}: for a folder
        served at C{/}, whose first segment is the URL's.  Below it the
        rules are the same as anywhere.
    @return: the segments as text, or L{None} if any is empty (a directory),
        starts with a dot (dotfiles, dot-directories, C{.} and C{..}), holds a
        slash, backslash or NUL, or is not UTF-8.
    """
    if not segments:
        return None
    result = []
    for index, raw in enumerate(segments):
        try:
            segment = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if (
            not segment
            or (
                segment.startswith(".")
                and not (wellKnown and index == 0 and segment == WELL_KNOWN)
            )
            or "/" in segment
            or "\\" in segment
            or "\x00" in segment
        ):
            return None
        result.append(segment)
    return tuple(result)


def resolveStaticPath(
    realRoot: str, segments: Sequence[str], followSymlinks: bool = False
) -> str | None:
    """
    The real path of a regular file below C{realRoot}, or L{None}.

    Symlinks are followed, but the result must still lie inside the root:
    a link to C{/etc/passwd} (or to a directory outside) is refused.

    @param realRoot: the root folder, already passed through
        C{os.path.realpath}.
    @param followSymlinks: let the result lie outside the root, for an
        operator who serves links out of the folder on purpose
        (C{--follow-symlinks}); it must still be a regular file, reached
        by segments that passed L{safeSegments}, so only what a link points
        to (the file, or what lies below the folder) is reachable.
    """
    real = os.path.realpath(os.path.join(realRoot, *segments))
    if not followSymlinks and not real.startswith(realRoot + os.sep):
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
        both ends; a folder served at C{/} has its L{WELL_KNOWN} folder
        served too.
    @return: The name, or L{None} if no file there could be served.
    """
    path = url.split("#", 1)[0].split("?", 1)[0]
    if not path.startswith(prefix):
        return None
    try:
        raw = [unquote_to_bytes(s) for s in path[len(prefix) :].split("/")]
    except ValueError:
        return None
    segments = safeSegments(raw, wellKnown=prefix == "/")
    if segments is None:
        return None
    return "/".join(segments)


def nameToURL(name: str, prefix: str) -> str:
    """
    The URL of the file called C{name} below the static folder served at
    C{prefix}: the inverse of L{urlToName}.
    """
    return prefix + quote(name, safe="/")
