# -*- test-case-name: tests.unit.preload.test_graph -*-
"""
Follow a page's assets into the assets they pull in (stylesheets into
imported stylesheets, fonts and images; modules into the modules they
import), then pick, in the order the page needs them, the ones to announce.

A browser finds these one round trip per level: it must download and parse
the stylesheet before it knows the font.  Announcing the whole tree with the
page collapses those round trips into one.

Everything here is computed at start-up, once per file (several pages share
their stylesheets and modules), and bounded: by depth, by the size of each
file read, by the bytes and files read per page, and by the number and total
size of the links announced.  Cycles, missing files, huge files and input
that is not CSS or JavaScript at all only ever mean fewer hints.  The only
I/O goes through an L{AssetSource}, so this module is pure given one.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Protocol

from h2site.refs.asset import Asset
from h2site.refs.css import findStylesheetAssets
from h2site.refs.html import findAssets
from h2site.refs.js import findImportSpecifiers
from h2site.refs.links import linkHeaderValue
from h2site.refs.urls import resolveURL

__all__ = [
    "AssetGraph",
    "AssetSource",
    "PreloadLimits",
    "Scans",
    "boundAssets",
    "moduleAssets",
    "orderAssets",
]


@dataclass(frozen=True)
class PreloadLimits:
    """
    How far discovery goes and how much it announces.

    @ivar maxLinks: At most this many links per page.
    @ivar maxHeaderBytes: The links of a page together (joined as one
        C{Link} header value) stay within this many bytes, well below the
        header limits of browsers, proxies and CDNs.
    @ivar maxDepth: How many levels of references below the page's own
        assets are followed: 0 announces only what the page itself names, 1
        adds what those name (a stylesheet's imports and fonts), and so on.
    @ivar maxFileBytes: Files larger than this are announced but not read.
    @ivar maxScanBytes: Stop reading more files for one page after this many
        bytes in total.
    @ivar maxScanFiles: Stop reading more files for one page after this
        many.
    """

    maxLinks: int = 32
    maxHeaderBytes: int = 8192
    maxDepth: int = 8
    maxFileBytes: int = 1 << 20
    maxScanBytes: int = 16 << 20
    maxScanFiles: int = 256


class AssetSource(Protocol):
    """
    Where discovery gets a referenced file's bytes.
    """

    def exists(self, url: str) -> bool:
        """
        Whether the server has a file at C{url} (an absolute path plus
        query, as in L{Asset.url}).
        """

    def read(self, url: str, limit: int) -> bytes | None:
        """
        The bytes of the file at C{url}, or L{None} if there is none, it
        cannot be read, or it is larger than C{limit} bytes.
        """


def moduleAssets(source: str, moduleURL: str, crossorigin: str | None) -> list[Asset]:
    """
    The modules an ECMAScript module statically imports, as
    C{modulepreload} assets.

    Only specifiers that are URLs are followed (C{./x.mjs}, C{../x.mjs},
    C{/x.mjs}); bare ones (C{lodash}) need an import map, and full URLs are
    another origin as far as we can tell.

    @param crossorigin: The importing module's CORS setting, which its
        imports are fetched with.
    """
    assets = []
    for specifier in findImportSpecifiers(source):
        if not specifier.startswith(("/", "./", "../")):
            continue
        url = resolveURL(moduleURL, specifier)
        if url is not None and url != moduleURL:
            assets.append(Asset(url, "modulepreload", None, crossorigin=crossorigin))
    return assets


# How soon a page needs each kind of asset: render-blocking stylesheets,
# then the fonts text waits for, then scripts (classic ones block the
# parser; modules run when it is done), then anything else, then images.
_RANKS = {"style": 0, "font": 1, "script": 2}
_MODULE_RANK = 3
_OTHER_RANK = 4
_IMAGE_RANK = 5


def _rank(asset: Asset) -> int:
    if asset.rel == "modulepreload":
        return _MODULE_RANK
    if asset.as_ == "image":
        return _IMAGE_RANK
    return _RANKS.get(asset.as_ or "", _OTHER_RANK)


def orderAssets(assets: list[Asset]) -> list[Asset]:
    """
    Sort assets by how soon the page needs them: stylesheets, fonts,
    classic scripts, modules, others, images; in discovery order within a
    kind (the page's own references first, shallower before deeper).
    """
    return sorted(assets, key=_rank)


def boundAssets(
    assets: list[Asset], maxLinks: int, maxHeaderBytes: int
) -> tuple[list[Asset], int]:
    """
    Keep the first assets whose links fit: at most C{maxLinks}, together at
    most C{maxHeaderBytes} (counted as one header value, joined by
    C{", "}).  One that does not fit is skipped, so a long URL does not
    push out the shorter ones after it.

    @return: The kept assets in order, and how many were left out.
    """
    kept: list[Asset] = []
    size = 0
    for asset in assets:
        if len(kept) >= maxLinks:
            break
        length = len(linkHeaderValue(asset)) + (2 if kept else 0)
        if size + length <= maxHeaderBytes:
            kept.append(asset)
            size += length
    return kept, len(assets) - len(kept)


def _combineMedia(outer: str | None, inner: str | None) -> tuple[bool, str | None]:
    """
    The media an asset is needed under, given that of what references it.

    @return: Whether there is one, and it; there is none when both restrict
        it differently (two queries have no general single-query spelling),
        and the asset is then left out.
    """
    if outer is None:
        return True, inner
    if inner is None or inner == outer:
        return True, outer
    return False, None


@dataclass
class _Scan:
    """
    The remembered result of reading one file for references.
    """

    children: list[Asset]
    size: int


#: What reading a file found, by its URL and kind (L{AssetGraph}).
Scans = dict[tuple[str, str], _Scan | None]

#: A URL that names a file by its fingerprint (C{?v=}, L{h2site.files}).
_FINGERPRINTED = re.compile(r"[?&]v=[0-9a-f]{16}(?:&|$)")

#: At most this many scans are remembered across builds.
_MAX_REMEMBERED = 10000


class AssetGraph:
    """
    The assets of a site's pages, read from an L{AssetSource} once each,
    shared by every page that uses them.
    """

    def __init__(
        self,
        source: AssetSource,
        limits: PreloadLimits = PreloadLimits(),
        remembered: Scans | None = None,
    ) -> None:
        """
        @param remembered: scans kept from one build to the next (C{--dev},
            where a build follows every save): only those of fingerprinted
            URLs, which name the same bytes in every build.
        """
        self._source = source
        self._limits = limits
        self._scans: Scans = {}
        self._remembered = remembered
        self._exists: dict[str, bool] = {}
        #: For each page discovered, the URLs it names as its own assets
        #: that no file answers: never announced (a hint for a 404 costs a
        #: request instead of saving one), and reported at start-up, since
        #: they are broken references the site's author wants to know of.
        self.missing: dict[str, tuple[str, ...]] = {}

    def _exist(self, url: str) -> bool:
        if url not in self._exists:
            self._exists[url] = self._source.exists(url)
        return self._exists[url]

    def _scan(self, asset: Asset) -> _Scan | None:
        """
        Read a stylesheet or module for what it references (remembered per
        URL and kind), or L{None} for anything else or a file that cannot be
        read.
        """
        if asset.rel == "modulepreload":
            kind = "module"
        elif asset.as_ == "style":
            kind = "style"
        else:
            return None
        key = (asset.url, kind)
        remembered = self._remembered
        if key not in self._scans and remembered is not None and key in remembered:
            self._scans[key] = remembered[key]
        if key not in self._scans:
            data = self._source.read(asset.url, self._limits.maxFileBytes)
            scan = None
            if data is not None:
                if kind == "style":
                    children = findStylesheetAssets(data, asset.url)
                else:
                    text = data.decode("utf-8", "replace")
                    children = moduleAssets(text, asset.url, None)
                scan = _Scan(children, len(data))
            self._scans[key] = scan
            if remembered is not None and _FINGERPRINTED.search(asset.url):
                if len(remembered) >= _MAX_REMEMBERED:
                    remembered.clear()
                remembered[key] = scan
        return self._scans[key]

    def _children(self, asset: Asset, scan: _Scan) -> list[Asset]:
        """
        What C{asset} references, with its media and (for modules) its CORS
        setting carried down.
        """
        children = []
        for child in scan.children:
            if child.rel == "modulepreload":
                children.append(replace(child, crossorigin=asset.crossorigin))
                continue
            known, media = _combineMedia(asset.media, child.media)
            if known:
                children.append(replace(child, media=media))
        return children

    def discover(self, html: str, pageURL: str) -> list[Asset]:
        """
        Every asset of a page that a file answers, its own and those they
        pull in, breadth first, each URL once (its first reference decides
        its attributes).  The page's own references to missing files are
        left in L{missing}.
        """
        limits = self._limits
        found: list[Asset] = []
        missing: list[Asset] = []
        for asset in findAssets(html, pageURL):
            (found if self._exist(asset.url) else missing).append(asset)
        if missing:
            self.missing[pageURL] = tuple(asset.url for asset in missing)
        else:
            self.missing.pop(pageURL, None)
        seen = {asset.url for asset in found}
        queue = deque((asset, 0) for asset in found)
        scannedBytes = 0
        scannedFiles = 0
        while queue:
            asset, depth = queue.popleft()
            if depth >= limits.maxDepth:
                continue
            if scannedBytes >= limits.maxScanBytes:
                break
            if scannedFiles >= limits.maxScanFiles:
                break
            scan = self._scan(asset)
            if scan is None:
                continue
            scannedFiles += 1
            scannedBytes += scan.size
            for child in self._children(asset, scan):
                if child.url in seen or not self._exist(child.url):
                    continue
                seen.add(child.url)
                found.append(child)
                queue.append((child, depth + 1))
        return found

    def assets(self, html: str, pageURL: str) -> tuple[list[Asset], int]:
        """
        The assets to announce for a page: discovered, ordered by need, and
        bounded by the limits.

        @return: The assets, and how many more were found but left out.
        """
        limits = self._limits
        return boundAssets(
            orderAssets(self.discover(html, pageURL)),
            limits.maxLinks,
            limits.maxHeaderBytes,
        )
