# -*- test-case-name: tests.unit.refs.test_css -*-
"""
Find what a stylesheet makes the browser fetch: the stylesheets it
C{@import}s, the web fonts its C{@font-face} rules name, and the images its
style rules name with C{url()}.

These are exactly the fetches a browser cannot start until it has
downloaded and parsed the stylesheet, one round trip per level; announcing
them with the page lets it start them all at once.

CSS is read with C{tinycss2}, a real CSS Syntax Level 3 tokenizer and
parser, because the syntax has too many corners (escapes, comments inside
values, unquoted C{url()} tokens, nested blocks, encodings) for regular
expressions to get right.  What to hint follows what browsers fetch:

  - C{@import} only counts before any other rule, as in browsers, and its
    media query (if any) goes along with the hint;
  - of an C{@font-face} C{src} list, only the first source the browser
    would use (formats it supports; C{local()} skipped), and not at all for
    a face whose C{unicode-range} leaves out Basic Latin letters, which
    browsers download only for pages that use those characters;
  - images in style rules (nested ones too) and in C{@media}, C{@supports},
    C{@layer} and C{@container} blocks, but not inside C{image-set()} (the
    browser picks one by resolution), not in properties fetched in CORS
    mode or as documents (masks, filters, clip paths, shapes), and not in
    rules that never fetch (C{@namespace}) or rarely do (C{@page},
    C{@keyframes}, C{@counter-style}).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import tinycss2

from h2site.refs.asset import Asset
from h2site.refs.urls import resolveURL

__all__ = ["URLReference", "findStylesheetAssets", "findURLReferences"]

# Group rules whose contents apply (perhaps conditionally) to the page.
_GROUP_RULES = frozenset({"media", "supports", "layer", "container", "scope"})
# At-rules after which an @import is ignored: every rule browsers know
# except @charset and @layer statements.  (Unknown ones are dropped and do
# not count; invalid style rules should not either, but telling those needs
# a selector parser, so any style rule ends the imports.)
_ENDS_IMPORTS = frozenset(
    {
        "container",
        "counter-style",
        "font-face",
        "font-feature-values",
        "font-palette-values",
        "keyframes",
        "layer",
        "media",
        "namespace",
        "page",
        "position-try",
        "property",
        "scope",
        "starting-style",
        "supports",
        "view-transition",
    }
)
# Property name prefixes whose url() is not an image fetched in no-cors mode.
_NOT_IMAGE_PROPERTIES = (
    "mask",
    "-webkit-mask",
    "filter",
    "clip-path",
    "shape-outside",
    "offset-path",
    "behavior",
)
# Functions whose url() arguments are alternatives, of which the browser
# fetches one.
_ALTERNATIVES = frozenset({"image-set", "-webkit-image-set"})
# Font formats every browser that honours preload supports, with the MIME
# type to announce (so a browser that cannot use it skips the download).
_FONT_FORMATS = {
    "woff2": "font/woff2",
    "woff": "font/woff",
    "truetype": "font/ttf",
    "opentype": "font/otf",
    "collection": "font/collection",
}
_FONT_EXTENSIONS = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".ttc": "font/collection",
}
_FONT_TECHNOLOGIES = frozenset(
    {"variations", "features-opentype", "color-colrv0", "color-colrv1", "palettes"}
)
# A face whose unicode-range covers this is used by any page in a Latin
# script; other subsets are fetched only for pages that need them.
_BASIC_LATIN_PROBE = ord("a")
# Marks a combination of two media queries that cannot be written as one.
_CONFLICT = "\0"


def _significant(tokens: Iterable[Any]) -> list[Any]:
    """
    Drop whitespace and comments.
    """
    return [t for t in tokens if t.type not in ("whitespace", "comment")]


def _urlOf(token: Any) -> str | None:
    """
    The reference of a C{url(...)} token or function, else L{None}.
    """
    if token.type == "url":
        return str(token.value)
    if token.type == "function" and token.lower_name == "url":
        arguments = _significant(token.arguments)
        if len(arguments) == 1 and arguments[0].type == "string":
            return str(arguments[0].value)
    return None


def _mediaText(tokens: Iterable[Any]) -> str | None:
    """
    Serialise a media query list, L{None} for none or C{all}, L{_CONFLICT}
    for one too deeply nested to serialise (nothing under it is hinted).
    """
    try:
        text = " ".join(tinycss2.serialize(list(tokens)).split())
    except RecursionError:
        return _CONFLICT
    if not text or text.lower() == "all":
        return None
    return text


def _combine(outer: str | None, inner: str | None) -> str | None:
    """
    The media under which something inside C{@media inner} in a stylesheet
    that applies under C{outer} is used.  Two queries are not combined
    (C{print} and C{screen} has no single-query spelling); the result is
    then L{_CONFLICT}, and whatever is inside is left out.
    """
    if outer is None:
        return inner
    if inner is None or inner == outer:
        return outer
    return _CONFLICT


class _Finder:
    """
    Collects the assets of one stylesheet in document order.
    """

    def __init__(self, cssURL: str) -> None:
        self._base = cssURL
        self.assets: list[Asset] = []
        self._seen: set[str] = set()

    def add(
        self,
        reference: str,
        as_: str,
        media: str | None,
        type: str | None = None,
        crossorigin: str | None = None,
    ) -> None:
        """
        Resolve C{reference} against the stylesheet and record it once,
        unless it is a fragment (a reference into the page itself), not
        same-origin, or the stylesheet itself.
        """
        if media == _CONFLICT:
            return
        reference = reference.strip()
        if not reference or reference.startswith("#"):
            return
        url = resolveURL(self._base, reference)
        if url is None or url == self._base or url in self._seen:
            return
        self._seen.add(url)
        self.assets.append(Asset(url, "preload", as_, type, crossorigin, media))

    def stylesheet(self, rules: list[Any]) -> None:
        """
        Walk the top level: C{@import}s first, then the rest.
        """
        importsAllowed = True
        for rule in rules:
            if rule.type == "at-rule" and rule.lower_at_keyword == "import":
                if importsAllowed:
                    self._import(rule)
                continue
            if rule.type == "qualified-rule" or (
                rule.type == "at-rule"
                and rule.lower_at_keyword in _ENDS_IMPORTS
                and not (rule.lower_at_keyword == "layer" and rule.content is None)
            ):
                importsAllowed = False
        self._rules(rules, None)

    def _import(self, rule: Any) -> None:
        """
        C{@import url(x) [layer[(name)]] [supports(...)] [media];}: the
        stylesheet, with its media query.
        """
        if rule.content is not None:
            return
        prelude = _significant(rule.prelude)
        if not prelude:
            return
        first = prelude[0]
        reference = str(first.value) if first.type == "string" else _urlOf(first)
        if reference is None:
            return
        rest = rule.prelude[rule.prelude.index(first) + 1 :]
        # Skip "layer", "layer(...)" and "supports(...)": the media query
        # list is what follows them.
        start = 0
        for position, token in enumerate(rest):
            if token.type in ("whitespace", "comment"):
                continue
            isCondition = (token.type == "ident" and token.lower_value == "layer") or (
                token.type == "function" and token.lower_name in ("layer", "supports")
            )
            if not isCondition:
                break
            start = position + 1
        rest = rest[start:]
        self.add(reference, "style", _mediaText(rest))

    def _rules(self, rules: list[Any], media: str | None) -> None:
        """
        Style rules, group rules and font faces, with an explicit stack so
        that deeply nested input cannot exhaust Python's recursion limit.
        """
        stack: list[tuple[Iterator[Any], str | None]] = [(iter(rules), media)]
        while stack:
            nodes, media = stack[-1]
            node = next(nodes, None)
            if node is None:
                stack.pop()
                continue
            if node.type == "qualified-rule":
                stack.append((_contents(node.content), media))
            elif node.type == "declaration":
                self._declaration(node, media)
            elif node.type == "at-rule" and node.content is not None:
                keyword = node.lower_at_keyword
                if keyword == "font-face":
                    self._fontFace(node.content, media)
                elif keyword in _GROUP_RULES:
                    inner = media
                    if keyword == "media":
                        inner = _combine(media, _mediaText(node.prelude))
                    stack.append((_contents(node.content), inner))

    def _declaration(self, declaration: Any, media: str | None) -> None:
        """
        Every C{url()} of a declaration is an image, unless the property
        fetches it some other way, or it is one of several alternatives.
        """
        if declaration.lower_name.startswith(_NOT_IMAGE_PROPERTIES):
            return
        stack: list[Iterator[Any]] = [iter(declaration.value)]
        while stack:
            token = next(stack[-1], None)
            if token is None:
                stack.pop()
                continue
            reference = _urlOf(token)
            if reference is not None:
                self.add(reference, "image", media)
            elif token.type == "function":
                if token.lower_name not in _ALTERNATIVES:
                    stack.append(iter(token.arguments))
            elif token.type in ("() block", "[] block", "{} block"):
                stack.append(iter(token.content))

    def _fontFace(self, content: list[Any], media: str | None) -> None:
        """
        The one source of an C{@font-face} the browser would download.
        """
        sources = None
        ranges = None
        for declaration in _contents(content):
            if declaration.type != "declaration":
                continue
            if declaration.lower_name == "src":
                sources = declaration.value
            elif declaration.lower_name == "unicode-range":
                ranges = declaration.value
        if sources is None or not _coversBasicLatin(ranges):
            return
        for source in _splitCommas(sources):
            chosen = _fontSource(source)
            if chosen is not None:
                reference, type = chosen
                self.add(reference, "font", media, type, "anonymous")
                return


def _contents(content: list[Any]) -> Iterator[Any]:
    """
    The declarations and rules of a block: a style rule's, a group rule's
    (declarations too, as when it is nested in a style rule), a font face's.
    """
    return iter(
        tinycss2.parse_blocks_contents(
            content, skip_comments=True, skip_whitespace=True
        )
    )


def _splitCommas(tokens: list[Any]) -> Iterator[list[Any]]:
    """
    Split a value on its top-level commas.
    """
    part: list[Any] = []
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            yield part
            part = []
        else:
            part.append(token)
    yield part


def _coversBasicLatin(ranges: list[Any] | None) -> bool:
    """
    Whether a C{unicode-range} (none means every character) includes the
    letters of Basic Latin.
    """
    if ranges is None:
        return True
    for part in _splitCommas(ranges):
        for token in _significant(part):
            if (
                token.type == "unicode-range"
                and token.start <= _BASIC_LATIN_PROBE <= token.end
            ):
                return True
    return False


def _fontSource(tokens: list[Any]) -> tuple[str, str | None] | None:
    """
    One entry of a C{src} list: its URL and MIME type if the browser would
    download it, else L{None} (a C{local()} font, or a format or font
    technology it does not support).
    """
    significant = _significant(tokens)
    if not significant:
        return None
    reference = _urlOf(significant[0])
    if reference is None:
        return None
    formatName = None
    for token in significant[1:]:
        if token.type != "function":
            return None
        arguments = [
            str(a.value).lower()
            for a in _significant(token.arguments)
            if a.type in ("string", "ident")
        ]
        if token.lower_name == "format":
            if len(arguments) != 1 or arguments[0] not in _FONT_FORMATS:
                return None
            formatName = arguments[0]
        elif token.lower_name == "tech":
            if not arguments or not set(arguments) <= _FONT_TECHNOLOGIES:
                return None
        else:
            return None
    if formatName is not None:
        return reference, _FONT_FORMATS[formatName]
    path = reference.split("?", 1)[0].split("#", 1)[0].lower()
    for extension, type in _FONT_EXTENSIONS.items():
        if path.endswith(extension):
            return reference, type
    return reference, None


def findStylesheetAssets(css: bytes, cssURL: str) -> list[Asset]:
    """
    Find the same-origin stylesheets, fonts and images a stylesheet makes
    the browser fetch.

    Never raises: malformed CSS is read the way browsers read it (skipping
    what is invalid), and anything unexpected just ends the search with
    what was found so far.

    @param css: The stylesheet's bytes; the encoding is found as browsers
        find it (BOM, C{@charset}, else UTF-8).
    @param cssURL: The URL the stylesheet is fetched from (absolute path
        plus query); references inside resolve against it.
    @return: In document order, each URL once: C{preload} assets with
        C{as=style} (imports, with their media query), C{as=font} (with
        C{crossorigin} and a C{type} where the format is known) and
        C{as=image}.
    """
    finder = _Finder(cssURL)
    try:
        rules, _ = tinycss2.parse_stylesheet_bytes(
            css, skip_comments=True, skip_whitespace=True
        )
        finder.stylesheet(rules)
    except Exception:
        # tinycss2 has no known crash on any input, but a hint is never
        # worth failing start-up over.
        return list(finder.assets)
    return list(finder.assets)


@dataclass(frozen=True)
class URLReference:
    """
    One URL written in a stylesheet, and where it is written.

    @ivar url: The URL, escapes decoded.
    @ivar start: Where its text starts in the stylesheet's text (inside the
        quotes, or after C{url(} and any whitespace).
    @ivar end: Where its text ends; C{text[start:end]} equals C{url} exactly
        when it was written without escapes.
    """

    url: str
    start: int
    end: int


# What the CSS tokenizer counts as one line break (it rewrites each as
# "\n" before tokenizing, so its columns count from the last of these).
_CSS_NEWLINES = ("\r\n", "\r", "\n", "\f")
_CSS_WHITESPACE = " \t\r\n\f"


def _lineStarts(text: str) -> list[int]:
    """
    The offset in C{text} where each line starts, lines ending as the CSS
    tokenizer ends them.
    """
    starts = [0]
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\r" and text.startswith("\r\n", index):
            index += 2
            starts.append(index)
        elif char in "\r\n\f":
            index += 1
            starts.append(index)
        else:
            index += 1
    return starts


def _stringSpan(text: str, index: int) -> tuple[int, int] | None:
    """
    The span of the text between the quotes of the CSS string whose opening
    quote is at C{index}, or L{None} if there is none there or it does not
    end with a quote on its line.
    """
    if index >= len(text) or text[index] not in "'\"":
        return None
    quote = text[index]
    position = index + 1
    while position < len(text):
        char = text[position]
        if char == quote:
            return index + 1, position
        if char in "\r\n\f":
            return None
        position += 2 if char == "\\" else 1
    return None


def _unquotedSpan(text: str, index: int) -> tuple[int, int] | None:
    """
    The span of the URL in the unquoted C{url(...)} that starts at C{index},
    or L{None} if there is none there.
    """
    if text[index : index + 4].lower() != "url(":
        return None
    length = len(text)
    position = index + 4
    while position < length and text[position] in _CSS_WHITESPACE:
        position += 1
    start = position
    while position < length and text[position] not in _CSS_WHITESPACE + ")":
        position += 2 if text[position] == "\\" else 1
    end = position
    while position < length and text[position] in _CSS_WHITESPACE:
        position += 1
    if position >= length or text[position] != ")" or end > length:
        return None
    return start, end


def findURLReferences(css: str) -> list[URLReference]:
    """
    Find every URL written in a stylesheet, and where: C{@import "x"},
    C{@import url(x)}, and C{url(x)}, C{url("x")} anywhere (style rules,
    C{@font-face} sources, any at-rule), unlike L{findStylesheetAssets},
    which keeps only what the browser fetches at once.

    Strings that are not URLs (C{content: "url(x)"}, C{image-set("x" 1x)})
    and comments are not references.

    Never raises; on input it cannot read it returns no references.

    @param css: The stylesheet's text (decoded).
    @return: In source order.
    """
    try:
        tokens = tinycss2.parse_component_value_list(css, skip_comments=True)
    except Exception:
        return []
    starts = _lineStarts(css)
    found: list[URLReference] = []

    def record(token: Any, spanOf: Any) -> None:
        line, column = token.source_line, token.source_column
        if not 0 < line <= len(starts):
            return
        span = spanOf(css, starts[line - 1] + column - 1)
        if span is not None:
            found.append(URLReference(str(token.value), *span))

    stack: list[Iterator[Any]] = [iter(tokens)]
    importing = False
    while stack:
        token = next(stack[-1], None)
        if token is None:
            stack.pop()
            importing = False
            continue
        if token.type in ("whitespace", "comment"):
            continue
        wasImporting, importing = importing, False
        if token.type == "url":
            record(token, _unquotedSpan)
        elif token.type == "string" and wasImporting:
            record(token, _stringSpan)
        elif token.type == "at-keyword":
            importing = token.lower_value == "import"
        elif token.type == "function":
            arguments = _significant(token.arguments)
            if token.lower_name == "url":
                if len(arguments) == 1 and arguments[0].type == "string":
                    record(arguments[0], _stringSpan)
            else:
                stack.append(iter(token.arguments))
        elif token.type in ("() block", "[] block", "{} block"):
            stack.append(iter(token.content))
    return found
