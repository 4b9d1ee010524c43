# -*- test-case-name: tests.test_assetfiles -*-
"""
Read the files behind asset URLs from the site's static folder, for
discovery at start-up.

A URL found in a page, a stylesheet or a module is attacker-shaped text as
far as this code knows (a site may include third-party CSS), so it is mapped
to a file through the same rules as a request for it: the C{/static/}
prefix, per-segment percent-decoding as Twisted does, then
L{h2site.safepath.safeSegments} and L{h2site.safepath.resolveStaticPath}.  Nothing
outside the static folder is ever opened, and no file is read past a bound.
"""

from __future__ import annotations

import os
import stat
from urllib.parse import unquote_to_bytes

from .safepath import resolveStaticPath, safeSegments

__all__ = ["StaticAssetFiles"]


class StaticAssetFiles:
    """
    The static folder as an L{h2site.assetgraph.AssetSource}.
    """

    def __init__(self, staticDir: str | None, prefix: str = "/static/") -> None:
        """
        @param staticDir: The folder served at C{prefix}, or L{None} when the
            site has none (then no URL has a file).
        @param prefix: The URL path the folder is served at, with slashes at
            both ends.
        """
        self._root = os.path.realpath(staticDir) if staticDir is not None else None
        self._prefix = prefix

    def path(self, url: str) -> str | None:
        """
        The real path of the regular file the server sends for C{url}, or
        L{None} if it sends none from the static folder.

        @param url: An absolute path, perhaps with a query (a fingerprint
            such as C{?v=1a2b}, which does not change the file).
        """
        if self._root is None:
            return None
        path = url.split("#", 1)[0].split("?", 1)[0]
        if not path.startswith(self._prefix):
            return None
        try:
            raw = [unquote_to_bytes(s) for s in path[len(self._prefix) :].split("/")]
        except ValueError:
            return None
        segments = safeSegments(raw)
        if segments is None:
            return None
        return resolveStaticPath(self._root, segments)

    def exists(self, url: str) -> bool:
        """
        Whether the static folder has a file for C{url}.
        """
        return self.path(url) is not None

    def read(self, url: str, limit: int) -> bytes | None:
        """
        The file's bytes, or L{None} if there is no file, it cannot be read,
        or it is larger than C{limit} bytes (checked while reading, so a file
        that grows meanwhile is still cut off).
        """
        path = self.path(url)
        if path is None:
            return None
        try:
            # Non-blocking, and checked again once open: a file swapped for
            # a FIFO since the path was resolved must not hang start-up.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    return None
                data = f.read(limit + 1)
        except OSError:
            return None
        if len(data) > limit:
            return None
        return data
