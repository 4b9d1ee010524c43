# -*- test-case-name: tests.unit.preload.test_files -*-
"""
Read the files behind asset URLs from the site's file store, for discovery
at start-up.

Discovery must read exactly what requests are sent: a stylesheet held in
memory is sent with its references fingerprinted (L{h2site.files.fingerprint}),
and the hints must name the fingerprinted URLs the browser will request,
not the ones written on disk.  So files come from the L{FileStore}: its
in-memory bytes, or the file it streams for one on disk (the file itself,
or for a page too large for memory, the file of the cache folder holding
it rewritten).

A URL found in a page, a stylesheet or a module is attacker-shaped text as
far as this code knows (a site may include third-party CSS), so it is mapped
to a file through the same rules as a request for it: the C{/static/}
prefix, per-segment percent-decoding as Twisted does, then
L{h2site.files.safepath.safeSegments}, and only a file the store indexed (by the
same rules, through L{h2site.files.safepath.resolveStaticPath}).  Nothing outside
the static folder is ever opened, and no file is read past a bound.
"""

from __future__ import annotations

import os
import stat

from h2site.files.safepath import urlToName
from h2site.files.store import FileStore, StoredFile

__all__ = ["AnyOf", "StaticAssetFiles"]


class StaticAssetFiles:
    """
    The file store as an L{h2site.preload.graph.AssetSource}.
    """

    def __init__(self, store: FileStore) -> None:
        """
        @param store: The index of the static folder, already built; its
            C{prefix} is the URL path the folder is served at.
        """
        self._store = store

    def _stored(self, url: str) -> StoredFile | None:
        """
        The indexed file the server sends for C{url}, or L{None}.

        @param url: An absolute path, perhaps with a query (a fingerprint
            such as C{?v=1a2b}, which does not change the file).
        """
        name = urlToName(url, self._store.prefix)
        return self._store.get(name) if name is not None else None

    def exists(self, url: str) -> bool:
        """
        Whether the static folder has a file for C{url}.
        """
        return self._stored(url) is not None

    def read(self, url: str, limit: int) -> bytes | None:
        """
        The bytes sent for C{url}, or L{None} if there is no file, it cannot
        be read, or it is larger than C{limit} bytes (checked while reading,
        so a file that grows meanwhile is still cut off).
        """
        stored = self._stored(url)
        if stored is None:
            return None
        identity = stored.representation.identity
        if identity.data is not None:
            return identity.data if len(identity.data) <= limit else None
        # The file sent: the page itself, or the cache folder's file holding
        # it rewritten, with its references fingerprinted.
        path = identity.path or stored.realPath
        try:
            # Non-blocking, and checked again once open: a file swapped for
            # a FIFO since it was indexed must not hang start-up.
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


class AnyOf:
    """
    Several folders served side by side (a template site's C{static/} and
    C{public/}) as one L{h2site.preload.graph.AssetSource}: a URL is the
    first one's that has a file for it.
    """

    def __init__(self, *sources: StaticAssetFiles) -> None:
        self._sources = sources

    def exists(self, url: str) -> bool:
        return any(source.exists(url) for source in self._sources)

    def read(self, url: str, limit: int) -> bytes | None:
        for source in self._sources:
            if source.exists(url):
                return source.read(url, limit)
        return None
