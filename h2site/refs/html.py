# -*- test-case-name: tests.unit.refs.test_html -*-
"""
Find the same-origin assets a rendered page needs so they can be announced
early, from the tokens of L{h2site.refs.htmltokenizer} (only the few tags
that can name an asset are looked at).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from h2site.refs.asset import Asset
from h2site.refs.htmltokenizer import START_TAG, attributesOf, tokenize
from h2site.refs.links import TOKEN
from h2site.refs.urls import C0_AND_SPACE, asciiLower, resolve

__all__ = ["directoryOf", "findAssets", "relTokens", "resolveFrom", "scriptKind"]


# HTML's "ASCII whitespace", which is what it strips around attribute values.
_ASCII_WHITESPACE = "\t\n\f\r "
_ASCII_WHITESPACE_RUN = re.compile("[\t\n\f\r ]+")

# The elements that can name an asset, and <picture>, inside which an
# image's source is chosen by the browser.
_NAMES = frozenset(["base", "img", "link", "picture", "script"])
_ICON_RELS = frozenset({"icon", "apple-touch-icon"})
# The "JavaScript MIME type essence match" list from the HTML standard.
_JAVASCRIPT_TYPES = frozenset(
    ["application/ecmascript", "application/javascript", "application/x-ecmascript"]
    + ["application/x-javascript", "text/ecmascript", "text/javascript"]
    + [f"text/javascript1.{minor}" for minor in range(6)]
    + ["text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript"]
)


def directoryOf(url: str) -> str:
    """
    The part of a resolved URL that relative paths resolve against: its
    path up to the last C{/}.
    """
    path = url.split("?", 1)[0]
    return path[: path.rfind("/") + 1]


@lru_cache(maxsize=4096)
def _resolveInDirectory(directory: str, reference: str) -> str | None:
    """
    L{resolve}, remembered.
    """
    return resolve(directory, reference)


def resolveFrom(base: str, reference: str) -> str | None:
    """
    L{resolve}, remembered for references that name a path: those resolve
    the same against any URL of the same directory, and the pages of a
    site name the same few files from the same few directories.
    """
    if reference.lstrip(C0_AND_SPACE)[:1] in ("", "?", "#"):
        return resolve(base, reference)
    return _resolveInDirectory(directoryOf(base), reference)


def relTokens(value: str | None) -> frozenset[str]:
    """
    Split a space-separated, case-insensitive token list such as C{rel}.
    """
    return frozenset(_ASCII_WHITESPACE_RUN.split(asciiLower(value or ""))) - {""}


def _crossorigin(attributes: Mapping[str, str]) -> str | None:
    """
    Map a CORS settings attribute to its state; a missing value or any
    unknown one means C{"anonymous"}, as in HTML.
    """
    if "crossorigin" not in attributes:
        return None
    if asciiLower(attributes["crossorigin"]) == "use-credentials":
        return "use-credentials"
    return "anonymous"


def _media(value: str | None) -> str | None:
    """
    Normalise a C{media} attribute; C{"all"} and empty mean no restriction.
    """
    media = _ASCII_WHITESPACE_RUN.sub(" ", value or "").strip(" ")
    if not media or asciiLower(media) == "all":
        return None
    return media


def _fetchpriority(attributes: Mapping[str, str]) -> str | None:
    """
    The C{fetchpriority} attribute's state, L{None} for C{auto} or invalid.
    """
    value = asciiLower(_text(attributes.get("fetchpriority")) or "")
    return value if value in ("high", "low") else None


def _text(value: str | None) -> str | None:
    """
    Trim an attribute value, treating empty as absent.
    """
    value = (value or "").strip(_ASCII_WHITESPACE)
    return value or None


def scriptKind(attributes: Mapping[str, str]) -> str | None:
    """
    Decide what a C{<script>} is by the HTML standard's rules for its C{type}
    and legacy C{language} attributes.

    @param attributes: The element's attributes by name.
    @return: C{"classic"}, C{"module"}, or L{None} for data blocks and
        anything else the browser does not fetch as script.
    """
    if "type" in attributes:
        typeString = attributes["type"]
    elif attributes.get("language"):
        typeString = "text/" + attributes["language"]
    else:
        typeString = ""
    typeString = asciiLower(typeString.strip(_ASCII_WHITESPACE))
    if not typeString or typeString in _JAVASCRIPT_TYPES:
        return "classic"
    if typeString == "module":
        return "module"
    return None


class _AssetFinder:
    """
    Collect assets in document order, as a browser's preload scanner would.
    """

    def __init__(self, pageURL: str) -> None:
        self.assets: list[Asset] = []
        self._seen: set[str] = set()
        self._page = resolve("/", pageURL or "/")
        self._base = self._page
        self._sawBase = False
        self._pictureDepth = 0

    def feed(self, html: str) -> None:
        """
        Look at each HTML element that can make the page fetch something,
        unless it is in inert template content.
        """
        for tag in tokenize(html, _NAMES):
            if tag.inTemplate or tag.foreign:
                continue
            name = tag.name
            if name == "picture":
                if tag.kind == START_TAG:
                    self._pictureDepth += 1
                elif self._pictureDepth:
                    self._pictureDepth -= 1
                continue
            if tag.kind != START_TAG:
                continue
            attributes = {a.name: a.value for a in attributesOf(html, tag)}
            if name == "base":
                self._baseElement(attributes)
            elif name == "link":
                self._linkElement(attributes)
            elif name == "script":
                self._scriptElement(attributes)
            elif name == "img":
                self._imageElement(attributes)

    def _baseElement(self, attributes: dict[str, str]) -> None:
        """
        The first C{<base href>} sets the base for the references after it.
        """
        if self._sawBase or "href" not in attributes:
            return
        self._sawBase = True
        href = attributes["href"]
        if href.strip(C0_AND_SPACE):
            # It resolves against the page itself.  A cross-origin (or
            # unusable) base makes every later reference cross-origin too.
            self._base = None if self._page is None else resolve(self._page, href)

    def _linkElement(self, attributes: dict[str, str]) -> None:
        """
        Stylesheets, explicit (module) preloads and icons.
        """
        href = attributes.get("href")
        if href is None:
            return
        rel = relTokens(attributes.get("rel"))
        media = _media(attributes.get("media"))
        crossorigin = _crossorigin(attributes)
        if "stylesheet" in rel:
            styleType = _text(attributes.get("type"))
            if "alternate" in rel or "disabled" in attributes:
                return
            if styleType is not None and asciiLower(styleType) != "text/css":
                return
            self._add(
                href,
                "preload",
                "style",
                None,
                crossorigin,
                media,
                _fetchpriority(attributes),
            )
        elif "modulepreload" in rel:
            self._add(
                href,
                "modulepreload",
                None,
                None,
                crossorigin,
                media,
                _fetchpriority(attributes),
            )
        elif "preload" in rel:
            as_ = asciiLower(_text(attributes.get("as")) or "")
            # Browsers ignore a preload without a valid "as", and one with
            # imagesrcset fetches a source picked from it, not href.
            if not TOKEN.fullmatch(as_) or (
                as_ == "image" and _text(attributes.get("imagesrcset"))
            ):
                return
            if as_ == "font" and crossorigin is None:
                crossorigin = "anonymous"
            self._add(
                href,
                "preload",
                as_,
                _text(attributes.get("type")),
                crossorigin,
                media,
                _fetchpriority(attributes),
            )
        elif rel & _ICON_RELS:
            self._add(
                href, "preload", "image", _text(attributes.get("type")), None, media
            )

    def _scriptElement(self, attributes: Mapping[str, str]) -> None:
        """
        External classic and module scripts; C{nomodule} only affects classic
        ones.
        """
        src = attributes.get("src")
        if src is None:
            return
        kind = scriptKind(attributes)
        crossorigin = _crossorigin(attributes)
        priority = _fetchpriority(attributes)
        if kind == "module":
            self._add(src, "modulepreload", None, None, crossorigin, None, priority)
        elif kind == "classic" and "nomodule" not in attributes:
            self._add(src, "preload", "script", None, crossorigin, None, priority)

    def _imageElement(self, attributes: Mapping[str, str]) -> None:
        """
        An image the page marks C{fetchpriority=high}, typically its largest
        one, the browser otherwise finds only once it parses that far.

        Only a plain C{src}: with C{srcset} or inside C{<picture>} the
        browser picks the source by viewport and format, and a lazy image
        is not wanted early.
        """
        src = attributes.get("src")
        if (
            src is None
            or _fetchpriority(attributes) != "high"
            or self._pictureDepth
            or "srcset" in attributes
            or asciiLower(_text(attributes.get("loading")) or "") == "lazy"
        ):
            return
        self._add(src, "preload", "image", None, _crossorigin(attributes), None, "high")

    def _add(
        self,
        reference: str,
        rel: str,
        as_: str | None,
        type: str | None,
        crossorigin: str | None,
        media: str | None,
        fetchpriority: str | None = None,
    ) -> None:
        """
        Record an asset unless it is unusable, the page itself or a repeat.
        """
        url = None if self._base is None else resolveFrom(self._base, reference)
        if url is None or url == self._page or url in self._seen:
            return
        self._seen.add(url)
        self.assets.append(
            Asset(url, rel, as_, type, crossorigin, media, fetchpriority)
        )


def findAssets(html: str, pageURL: str) -> list[Asset]:
    """
    Find the same-origin stylesheets, scripts, modules, explicit preloads,
    icons and high-priority images a page references, so they can be
    announced before the page body.

    Never raises: from malformed or truncated markup it returns whatever it
    found, since a missing hint only costs a little latency.

    @param html: The rendered page.
    @param pageURL: The absolute path the page is served at, such as
        C{"/blog/post"}; relative references resolve against it.  (It is
        itself resolved against C{"/"}; one with a scheme or host finds
        nothing, as the page's origin is then unknown.)
    @return: The assets in document order, each URL once (its first
        reference decides the attributes).
    """
    finder = _AssetFinder(pageURL)
    finder.feed(html)
    return finder.assets
