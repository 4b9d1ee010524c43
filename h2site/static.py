# -*- test-case-name: tests.test_static -*-
"""
Static files under C{/static/}, with the safety rules C{twisted.web.static.File}
lacks: no directory listings, no dotfiles, no symlinks out of the root, no
script processors, and a fixed type table.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from typing import Any

from twisted.web import resource, static
from twisted.web.server import Request

from .mediatypes import DEFAULT_TYPE, mediaType

__all__ = ["StaticRoot", "resolveStaticPath", "safeSegments"]


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


class _File(static.File):
    """
    One regular file: no processors, no content encodings guessed from the
    name (C{x.tar.gz} is C{application/gzip}, not gzipped tar), our types.
    """

    contentEncodings: dict[str, str] = {}
    processors: dict[str, Callable[[str, Any], Any]] = {}
    indexNames: list[str] = []

    def __init__(self, path: str, notFound: resource.Resource) -> None:
        super().__init__(path, defaultType=DEFAULT_TYPE)
        self.type = mediaType(path)
        self.encoding = None
        # Twisted types this as its own NoResource; any resource renders fine.
        self.childNotFound = notFound  # type: ignore[assignment]

    def directoryListing(self) -> resource.Resource:
        return self.childNotFound


class StaticRoot(resource.Resource):
    """
    The C{/static/} tree: it takes the whole remaining path at once, so the
    safety rules see every segment together.
    """

    isLeaf = True

    def __init__(self, root: str | None, notFound: resource.Resource) -> None:
        """
        @param root: the folder to serve, or L{None} when the site has none.
        @param notFound: what to answer for anything that is not a file here.
        """
        super().__init__()
        self._root = os.path.realpath(root) if root is not None else None
        self._notFound = notFound

    def _lookup(self, request: Request) -> resource.Resource:
        segments = safeSegments(request.postpath or [])
        if self._root is None or segments is None:
            return self._notFound
        path = resolveStaticPath(self._root, segments)
        if path is None:
            return self._notFound
        return _File(path, self._notFound)

    def render(self, request: Request) -> bytes | int:
        return self._lookup(request).render(request)  # type: ignore[no-any-return]
