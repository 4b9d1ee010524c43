# -*- test-case-name: tests.unit.refs.test_html -*-
"""Find the same-origin assets a rendered page needs so they can be announced early."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from h2site.refs.asset import Asset
from h2site.refs.links import TOKEN
from h2site.refs.urls import C0_AND_SPACE, asciiLower, resolve

__all__ = ["findAssets"]


# HTML's "ASCII whitespace", which is what it strips around attribute values.
_ASCII_WHITESPACE = "\t\n\f\r "
_ASCII_WHITESPACE_RUN = re.compile("[\t\n\f\r ]+")

# Elements whose content the tokenizer reads as text, not markup (noscript
# because a browser running scripts never fetches what is inside it).
_RAW_TEXT = frozenset(
    {
        "iframe",
        "noembed",
        "noframes",
        "noscript",
        "plaintext",
        "textarea",
        "title",
        "xmp",
    }
)
_ICON_RELS = frozenset({"icon", "apple-touch-icon"})
# The "JavaScript MIME type essence match" list from the HTML standard.
_JAVASCRIPT_TYPES = frozenset(
    ["application/ecmascript", "application/javascript", "application/x-ecmascript"]
    + ["application/x-javascript", "text/ecmascript", "text/javascript"]
    + [f"text/javascript1.{minor}" for minor in range(6)]
    + ["text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript"]
)


def _tokens(value: str | None) -> frozenset[str]:
    """
    Split a space-separated, case-insensitive token list such as C{rel}.
    """
    return frozenset(_ASCII_WHITESPACE_RUN.split(asciiLower(value or ""))) - {""}


def _crossorigin(attributes: dict[str, str | None]) -> str | None:
    """
    Map a CORS settings attribute to its state; a missing value or any
    unknown one means C{"anonymous"}, as in HTML.
    """
    if "crossorigin" not in attributes:
        return None
    if asciiLower(attributes["crossorigin"] or "") == "use-credentials":
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


def _fetchpriority(attributes: dict[str, str | None]) -> str | None:
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


def _scriptKind(attributes: dict[str, str | None]) -> str | None:
    """
    Decide what a C{<script>} is by the HTML standard's rules for its C{type}
    and legacy C{language} attributes.

    @return: C{"classic"}, C{"module"}, or L{None} for data blocks and
        anything else the browser does not fetch as script.
    """
    if "type" in attributes:
        typeString = attributes["type"] or ""
    elif attributes.get("language"):
        typeString = "text/" + (attributes["language"] or "")
    else:
        typeString = ""
    typeString = asciiLower(typeString.strip(_ASCII_WHITESPACE))
    if not typeString or typeString in _JAVASCRIPT_TYPES:
        return "classic"
    if typeString == "module":
        return "module"
    return None


class _AssetParser(HTMLParser):
    """
    Collect assets in document order, as a browser's preload scanner would.
    """

    def __init__(self, pageURL: str) -> None:
        super().__init__(convert_charrefs=True)
        self.assets: list[Asset] = []
        self._seen: set[str] = set()
        self._page = resolve("/", pageURL or "/")
        self._base = self._page
        self._sawBase = False
        self._templateDepth = 0
        self._pictureDepth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """
        Look at each element that can make the page fetch something, unless
        it is in inert template content.
        """
        if tag == "template":
            self._templateDepth += 1
            return
        if tag == "picture":
            self._pictureDepth += 1
        if tag in _RAW_TEXT:
            self.set_cdata_mode(tag)
            return
        if self._templateDepth:
            return
        attributes: dict[str, str | None] = {}
        for name, value in attrs:
            # The first of duplicated attributes wins; NUL becomes U+FFFD.
            attributes.setdefault(
                name, None if value is None else value.replace("\0", "\ufffd")
            )
        if tag == "base":
            self._baseElement(attributes)
        elif tag == "link":
            self._linkElement(attributes)
        elif tag == "script":
            self._scriptElement(attributes)
        elif tag == "img":
            self._imageElement(attributes)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """
        Treat C{<tag />} as C{<tag>}: HTML ignores the slash, so
        C{<script src=x />} still opens a script whose content is text.
        """
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.set_cdata_mode(tag)

    def parse_html_declaration(self, i: int) -> int:
        """
        Read a malformed C{<![...} as HTML does, as a bogus comment ending at
        the next C{>}, instead of letting HTMLParser give up on the rest of
        the document.
        """
        try:
            return super().parse_html_declaration(i)
        except AssertionError:
            return self.parse_bogus_comment(i)

    def handle_endtag(self, tag: str) -> None:
        """
        Leave template content.
        """
        if tag == "template" and self._templateDepth:
            self._templateDepth -= 1
        elif tag == "picture" and self._pictureDepth:
            self._pictureDepth -= 1

    def _baseElement(self, attributes: dict[str, str | None]) -> None:
        """
        The first C{<base href>} sets the base for the references after it.
        """
        if self._sawBase or "href" not in attributes:
            return
        self._sawBase = True
        href = attributes["href"] or ""
        if href.strip(C0_AND_SPACE):
            # It resolves against the page itself.  A cross-origin (or
            # unusable) base makes every later reference cross-origin too.
            self._base = None if self._page is None else resolve(self._page, href)

    def _linkElement(self, attributes: dict[str, str | None]) -> None:
        """
        Stylesheets, explicit (module) preloads and icons.
        """
        href = attributes.get("href")
        if href is None:
            return
        rel = _tokens(attributes.get("rel"))
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

    def _scriptElement(self, attributes: dict[str, str | None]) -> None:
        """
        External classic and module scripts; C{nomodule} only affects classic
        ones.
        """
        src = attributes.get("src")
        if src is None:
            return
        kind = _scriptKind(attributes)
        crossorigin = _crossorigin(attributes)
        priority = _fetchpriority(attributes)
        if kind == "module":
            self._add(src, "modulepreload", None, None, crossorigin, None, priority)
        elif kind == "classic" and "nomodule" not in attributes:
            self._add(src, "preload", "script", None, crossorigin, None, priority)

    def _imageElement(self, attributes: dict[str, str | None]) -> None:
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
        url = None if self._base is None else resolve(self._base, reference)
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
    parser = _AssetParser(pageURL)
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        # HTMLParser has had crash bugs on hostile input; keep what we have.
        return list(parser.assets)
    return list(parser.assets)
