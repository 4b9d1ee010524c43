# -*- test-case-name: tests.unit.preload.test_pages -*-
"""
The preload hints of a folder's HTML pages, worked out from the files
themselves, as they are sent: a plain site's pages (and a template site's
C{public/} pages) announce what they need exactly as rendered templates do.

They are computed once the store's fingerprints are final
(L{h2site.files.store.FileStore.fingerprinted}): a hint must name the URL the
page's bytes name, C{?v=} included, or the browser fetches the asset twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from h2site.files.safepath import nameToURL
from h2site.files.store import FileStore
from h2site.preload.files import StaticAssetFiles
from h2site.preload.graph import AssetGraph, PreloadLimits
from h2site.refs.links import linkHeaderValues

__all__ = ["MAX_PAGE_BYTES", "PageHints", "isPage", "pageHints"]

#: The largest page read for hints: a page's own assets are named in its
#: head, and bigger pages are rare and costly to read.
MAX_PAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PageHints:
    """
    What each page of a folder announces, and what it names that is not
    there.

    @ivar links: for each page (by its name in the store), its C{Link}
        values, in the order they are sent.
    @ivar missing: for each page (by its URL), the URLs of its own assets
        that no file answers: left out of its hints, and worth reporting.
    """

    links: Mapping[str, tuple[str, ...]]
    missing: Mapping[str, tuple[str, ...]]


def isPage(contentType: str) -> bool:
    """
    Whether a file of this type is a page: HTML.
    """
    return contentType.split(";", 1)[0].strip() == "text/html"


def pageHints(store: FileStore, limits: PreloadLimits | None = None) -> PageHints:
    """
    Work out the hints of every HTML file of a built store.

    Blocking (it reads and parses every page): run it in a thread.

    @param store: the store, built, its fingerprints final.
    @param limits: how far discovery goes and how much it announces; the
        defaults when L{None}.
    """
    source = StaticAssetFiles(store)
    graph = AssetGraph(source, limits or PreloadLimits())
    links: dict[str, tuple[str, ...]] = {}
    for name in store.names():
        stored = store.get(name)
        if stored is None or not isPage(stored.representation.contentType):
            continue
        url = nameToURL(name, store.prefix)
        data = source.read(url, MAX_PAGE_BYTES)
        if data is None:
            continue
        found = linkHeaderValues(graph.assets(data.decode("utf-8", "replace"), url)[0])
        if found:
            links[name] = tuple(found)
    return PageHints(links, dict(graph.missing))
