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
from h2site.preload.graph import AssetGraph, PreloadLimits, Scans
from h2site.refs.links import linkHeaderValues

__all__ = ["MAX_PAGE_BYTES", "PageHints", "PageLinks", "isPage", "pageHints"]

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


#: The links of pages held in memory, by name and digest, kept from one
#: build to the next (C{--dev}).
PageLinks = dict[tuple[str, str], tuple[str, ...]]


def pageHints(
    store: FileStore,
    limits: PreloadLimits | None = None,
    remembered: PageLinks | None = None,
    scans: Scans | None = None,
) -> PageHints:
    """
    Work out the hints of every HTML file of a built store.

    Blocking (it reads and parses every page): run it in a thread.

    @param store: the store, built, its fingerprints final.
    @param limits: how far discovery goes and how much it announces; the
        defaults when L{None}.
    @param remembered: the links of pages worked out by earlier builds
        (C{--dev}, which builds after every save), updated here.  A page
        held in memory is sent with every reference fingerprinted, and a
        fingerprint changes with everything below it, so the same bytes
        announce the same links; its C{missing} are then not reported
        again.  Pages sent from disk are always read.
    @param scans: what discovery found in fingerprinted files in earlier
        builds (L{AssetGraph}).
    """
    source = StaticAssetFiles(store)
    graph = AssetGraph(source, limits or PreloadLimits(), scans)
    links: dict[str, tuple[str, ...]] = {}
    kept: PageLinks = {}
    for name in store.names():
        stored = store.get(name)
        if stored is None or not isPage(stored.representation.contentType):
            continue
        key = (name, stored.digest)
        inMemory = stored.representation.identity.data is not None
        found: tuple[str, ...] | None = None
        if remembered is not None and inMemory:
            found = remembered.get(key)
        if found is None:
            url = nameToURL(name, store.prefix)
            data = source.read(url, MAX_PAGE_BYTES)
            if data is None:
                continue
            html = data.decode("utf-8", "replace")
            found = tuple(linkHeaderValues(graph.assets(html, url)[0]))
        if inMemory:
            kept[key] = found
        if found:
            links[name] = found
    if remembered is not None:
        remembered.clear()
        remembered.update(kept)
    return PageHints(links, dict(graph.missing))
