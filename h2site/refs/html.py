# -*- test-case-name: tests.test_preload -*-
"""Find the same-origin assets a rendered page needs so they can be announced early."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

__all__ = [
    "Asset",
    "findAssets",
    "linkHeaderValue",
    "linkHeaderValues",
    "resolveURL",
]


@dataclass(frozen=True)
class Asset:
    """
    One resource a page will fetch, described the way a C{Link} header
    announces it, so the browser can start fetching it before it has parsed
    the page.

    @ivar url: The URL exactly as the browser will request it: an absolute
        path plus query (e.g. C{"/static/css/app.css?v=1"}), never a fragment.
    @ivar rel: C{"preload"} or C{"modulepreload"}.
    @ivar as_: The request destination (C{"style"}, C{"script"}, C{"font"},
        C{"image"}, ...) for C{rel="preload"}; L{None} for modulepreload.
    @ivar type: MIME type hint, so the browser can skip formats it cannot use.
    @ivar crossorigin: L{None}, C{"anonymous"} or C{"use-credentials"}; it must
        match the page's own request or the preloaded response is not reused.
    @ivar media: Media query limiting when the asset is needed, if any.
    @ivar fetchpriority: C{"high"} or C{"low"} when the page asks for that
        priority, so the early fetch gets it too.
    """

    url: str
    rel: str
    as_: str | None
    type: str | None = None
    crossorigin: str | None = None
    media: str | None = None
    fetchpriority: str | None = None


# HTML's "ASCII whitespace", which is what it strips around attribute values.
_ASCII_WHITESPACE = "\t\n\f\r "
_ASCII_WHITESPACE_RUN = re.compile("[\t\n\f\r ]+")
# The URL parser strips leading and trailing C0 controls and spaces, and
# drops tabs and newlines wherever they are.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_REMOVED_FROM_URLS = {ord("\t"): None, ord("\n"): None, ord("\r"): None}
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_HOST = "h2site.invalid"
_ORIGIN = "http://" + _HOST
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

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


def _asciiLower(value: str) -> str:
    """
    Lowercase only ASCII letters, as HTML does for keywords; C{str.lower}
    would also fold characters such as KELVIN SIGN into ASCII.
    """
    return value.translate(_ASCII_LOWER)


def _percentEncode(url: str) -> str:
    """
    Percent-encode (as UTF-8) the characters every browser encodes anywhere in
    a path or query: controls, space, C{"}, C{<}, C{>} and non-ASCII.  Encoding
    any more would make our URL differ from the one the page's reference
    parses to, and the preloaded response would not be reused.
    """
    out = []
    for char in url:
        code = ord(char)
        if code <= 0x20 or code >= 0x7F or char in '"<>':
            if 0xD800 <= code <= 0xDFFF:
                char = "\ufffd"
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _removeDotSegments(path: str) -> str:
    """
    Resolve C{.} and C{..} segments (including their percent-encoded forms,
    which browsers treat the same) in an absolute path.
    """
    segments = path.split("/")[1:]
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lowered = _asciiLower(segment)
        if lowered in (".", "%2e"):
            if last:
                kept.append("")
        elif lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def _resolve(base: str, reference: str) -> str | None:
    """
    Resolve a reference from the document the way the browser will, keeping
    only same-origin results.

    @param base: The base URL, an absolute path.
    @param reference: An C{href} or C{src} value.
    @return: Absolute path plus query, percent-encoded, or L{None} if the
        reference is empty or does not stay on this origin.
    """
    reference = reference.strip(_C0_AND_SPACE).translate(_REMOVED_FROM_URLS)
    # Browsers read backslashes as slashes in HTTP(S) URLs before the query,
    # so "\\cdn.example/x" is as cross-origin as "//cdn.example/x".
    end = len(reference)
    for delimiter in "?#":
        found = reference.find(delimiter)
        if found >= 0:
            end = min(end, found)
    reference = reference[:end].replace("\\", "/") + reference[end:]
    if not reference or reference.startswith("//"):
        return None
    try:
        if urlsplit(reference).scheme:
            return None
        # Joined against a stand-in origin, because urljoin mishandles ".."
        # above the root of a path-only base.
        parts = urlsplit(urljoin(_ORIGIN + base, reference))
    except ValueError:
        return None
    # A path starting "//" would read as another host inside <...>.
    if parts.netloc != _HOST or parts.path.startswith("//"):
        return None
    url = _removeDotSegments(parts.path or "/")
    if parts.query:
        url += "?" + parts.query
    return _percentEncode(url)


def resolveURL(base: str, reference: str) -> str | None:
    """
    Resolve a reference (from a page, a stylesheet or a module) the way the
    browser will, keeping only same-origin results.

    @param base: The URL of the document the reference is in: an absolute
        path, perhaps with a query (which a relative reference replaces).
    @param reference: The reference as written (after the document's own
        unescaping, e.g. of HTML entities or CSS escapes).
    @return: Absolute path plus query, percent-encoded as the browser will
        request it, or L{None} if the reference is empty or does not stay on
        this origin (another host, or a scheme such as C{data:}).
    """
    return _resolve(base, reference)


def _tokens(value: str | None) -> frozenset[str]:
    """
    Split a space-separated, case-insensitive token list such as C{rel}.
    """
    return frozenset(_ASCII_WHITESPACE_RUN.split(_asciiLower(value or ""))) - {""}


def _crossorigin(attributes: dict[str, str | None]) -> str | None:
    """
    Map a CORS settings attribute to its state; a missing value or any
    unknown one means C{"anonymous"}, as in HTML.
    """
    if "crossorigin" not in attributes:
        return None
    if _asciiLower(attributes["crossorigin"] or "") == "use-credentials":
        return "use-credentials"
    return "anonymous"


def _media(value: str | None) -> str | None:
    """
    Normalise a C{media} attribute; C{"all"} and empty mean no restriction.
    """
    media = _ASCII_WHITESPACE_RUN.sub(" ", value or "").strip(" ")
    if not media or _asciiLower(media) == "all":
        return None
    return media


def _fetchpriority(attributes: dict[str, str | None]) -> str | None:
    """
    The C{fetchpriority} attribute's state, L{None} for C{auto} or invalid.
    """
    value = _asciiLower(_text(attributes.get("fetchpriority")) or "")
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
    typeString = _asciiLower(typeString.strip(_ASCII_WHITESPACE))
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
        self._page = _resolve("/", pageURL or "/")
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
        if href.strip(_C0_AND_SPACE):
            # It resolves against the page itself.  A cross-origin (or
            # unusable) base makes every later reference cross-origin too.
            self._base = None if self._page is None else _resolve(self._page, href)

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
            if styleType is not None and _asciiLower(styleType) != "text/css":
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
            as_ = _asciiLower(_text(attributes.get("as")) or "")
            # Browsers ignore a preload without a valid "as", and one with
            # imagesrcset fetches a source picked from it, not href.
            if not _TOKEN.fullmatch(as_) or (
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
            or _asciiLower(_text(attributes.get("loading")) or "") == "lazy"
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
        url = None if self._base is None else _resolve(self._base, reference)
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


def _parameter(name: str, value: str, alwaysQuote: bool = False) -> str:
    """
    Format a link-param, as a bare token when possible, otherwise as a quoted
    string in which anything but printable ASCII becomes a space, so no input
    can end the header line or smuggle in another parameter.
    """
    if not alwaysQuote and _TOKEN.fullmatch(value):
        return f"{name}={value}"
    printable = "".join(c if " " <= c <= "~" else " " for c in value)
    escaped = printable.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def linkHeaderValue(asset: Asset) -> str:
    """
    Format one RFC 8288 C{Link} header value for an asset, e.g.
    C{</static/app.css>; rel=preload; as=style}.

    The result is always printable ASCII, whatever the asset holds, so it can
    go straight into a header (and a 103 Early Hints response).

    @param asset: The asset to announce.
    @return: The header value, parameters in the order rel, as, type,
        crossorigin, media, fetchpriority.
    """
    parts = [f"<{_percentEncode(asset.url)}>", _parameter("rel", asset.rel)]
    if asset.as_:
        parts.append(_parameter("as", asset.as_))
    if asset.type:
        parts.append(_parameter("type", asset.type, alwaysQuote=True))
    if asset.crossorigin is not None:
        if _asciiLower(asset.crossorigin) == "use-credentials":
            parts.append("crossorigin=use-credentials")
        else:
            parts.append("crossorigin")
    if asset.media:
        parts.append(_parameter("media", asset.media, alwaysQuote=True))
    if asset.fetchpriority:
        parts.append(_parameter("fetchpriority", asset.fetchpriority))
    return "; ".join(parts)


def linkHeaderValues(assets: Iterable[Asset]) -> list[str]:
    """
    Format a C{Link} header value for each asset, in order, one per header
    line, so no client has to split a combined value on commas.

    @param assets: The assets to announce, typically from L{findAssets}.
    @return: One value per asset.
    """
    return [linkHeaderValue(asset) for asset in assets]
