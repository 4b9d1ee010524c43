# -*- test-case-name: tests.unit.refs.test_htmltokenizer -*-
"""
An HTML tokenizer that keeps positions: the tokens of the WHATWG HTML
tokenizer, each with its span in the source, so that what is found in a page
can also be edited in place (a fingerprint inserted into a URL, the rest of
the bytes untouched).

It follows the standard where it decides what is markup and what is not:
tags and their attributes (quoted, unquoted, without values, C{>} inside
quotes), comments with their odd endings (C{<!-->}, C{--!>}), bogus comments
(C{<!...>}, C{<?...>}, C{</ ...>}), doctypes, CDATA sections in SVG and
MathML (a bogus comment elsewhere), and the elements whose content is text:
C{script} (with its escape states, where C{<!--<script>} hides a
C{</script>}), C{style}, C{xmp}, C{iframe}, C{noembed}, C{noframes},
C{noscript} (scripting enabled, as in a browser that fetches anything),
C{plaintext}, C{title} and C{textarea}.  Which of these switches apply
depends on tree construction, so the tokenizer keeps the little of it that
matters: whether it is inside C{<template>} contents, and inside SVG or
MathML (where C{<style>} holds markup), leaving them as a browser does (an
HTML element such as C{<p>} breaks out of an unclosed C{<svg>}).  Where that
bookkeeping is approximate, it errs towards reading content as text.

Speed comes from regular expressions doing the scanning in C: one match
takes the text up to a token and the whole token, C{>} in quoted values
included; raw text is skipped by searching for its end tag.  Given the tag
names a caller wants, one match also skips every other tag, comment and
doctype, so finding a page's C{link}s and C{script}s costs little more than
one pass of the regular expression engine over the page.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Iterator
from typing import NamedTuple

from h2site.refs.charrefs import decodeAttributeValue
from h2site.refs.htmlpatterns import (
    ATTRIBUTE,
    EVERY_TOKEN,
    FOREIGN_TOKEN,
    SCRIPT_DATA,
    SCRIPT_ESCAPED,
    endTagOf,
    someTokens,
)

__all__ = [
    "CDATA",
    "COMMENT",
    "DOCTYPE",
    "DROPPED",
    "END_TAG",
    "START_TAG",
    "TEXT",
    "Attribute",
    "Token",
    "attributesOf",
    "tokenize",
]

#: Characters: data, or the content of an element whose content is text
#: (then L{Token.name} names that element).
TEXT = "text"
#: A start tag.
START_TAG = "start"
#: An end tag (its attributes, legal only in the tokenizer, are ignored by
#: browsers).
END_TAG = "end"
#: A comment, a bogus comment (C{<!x>}, C{<?x>}, C{</ x>}) or C{</>}.
COMMENT = "comment"
#: A doctype.
DOCTYPE = "doctype"
#: A CDATA section in SVG or MathML, C{<![CDATA[} to C{]]>}.
CDATA = "cdata"
#: The rest of a document that ends inside a tag: browsers drop that tag.
DROPPED = "dropped"


class Token(NamedTuple):
    """
    One token and where it is.

    @ivar kind: L{TEXT}, L{START_TAG}, L{END_TAG}, L{COMMENT}, L{DOCTYPE},
        L{CDATA} or L{DROPPED}.
    @ivar start: Where its text starts in the source.
    @ivar end: Where its text ends: C{source[start:end]} is the token.
    @ivar name: A tag's name, ASCII-lowercased (NUL as U+FFFD); for text,
        the element whose content it is if that content is not markup
        (C{"script"}, C{"title"}, ...), else empty.
    @ivar attributesStart: Where a tag's attributes start; see
        L{attributesOf}.
    @ivar attributesEnd: Where they end.
    @ivar selfClosing: Whether a tag ends with C{/>} (which HTML elements
        other than void ones ignore).
    @ivar inTemplate: Whether it is inside C{<template>} contents, which a
        browser keeps inert: nothing there is fetched.
    @ivar foreign: Whether it is SVG or MathML: a tag of an element in
        those namespaces (a C{<link>} or C{<script src>} there fetches
        nothing), or text, a comment or a CDATA section in their content
        (outside the parts that are HTML again).
    """

    kind: str
    start: int
    end: int
    name: str = ""
    attributesStart: int = 0
    attributesEnd: int = 0
    selfClosing: bool = False
    inTemplate: bool = False
    foreign: bool = False


class Attribute(NamedTuple):
    """
    One attribute of a tag.

    @ivar name: Its name, ASCII-lowercased (NUL as U+FFFD).
    @ivar value: Its value as the DOM holds it (character references
        decoded); empty when it has none.
    @ivar valueStart: Where its value is written in the source, inside any
        quotes (for an attribute without a value: right after its name).
    @ivar valueEnd: Where that ends: C{source[valueStart:valueEnd]} is the
        value as written, equal to C{value} unless it has references, NUL
        or CR characters.
    """

    name: str
    value: str
    valueStart: int
    valueEnd: int


# Elements whose content the tokenizer reads as text, not markup.
_SCRIPT = "script"
_PLAINTEXT = "plaintext"
_RAW_TEXT = frozenset(
    ["iframe", "noembed", "noframes", "noscript", "style", "title", "textarea", "xmp"]
)
_FOREIGN_ROOTS = frozenset(["svg", "math"])
# What the tokenizer itself must see, whatever the caller wants.
_WATCHED = _RAW_TEXT | _FOREIGN_ROOTS | {_SCRIPT, _PLAINTEXT, "template"}


_names: dict[str, str] = {}


def _tagName(raw: str) -> str:
    """
    A tag or attribute name as the tokenizer emits it: ASCII letters
    lowercased, NUL replaced.  Names repeat, so they are remembered.
    """
    name = _names.get(raw)
    if name is None:
        name = raw.translate(_LOWER_AND_NUL)
        if len(_names) < 4096:
            _names[raw] = name
    return name


_LOWER_AND_NUL = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_LOWER_AND_NUL[0] = 0xFFFD


def attributesOf(source: str, tag: Token) -> list[Attribute]:
    """
    The attributes of a tag, in source order; of attributes with the same
    name only the first, as in HTML.

    @param source: The text L{tokenize} read C{tag} from.
    """
    attributes: list[Attribute] = []
    seen: set[str] = set()
    for match in ATTRIBUTE.finditer(source, tag.attributesStart, tag.attributesEnd):
        name = _tagName(match.group(1))
        if name in seen:
            continue
        seen.add(name)
        group = match.lastindex or 1
        if group == 1:
            end = match.end(1)
            attributes.append(Attribute(name, "", end, end))
        else:
            start, end = match.span(group)
            value = decodeAttributeValue(source[start:end])
            attributes.append(Attribute(name, value, start, end))
    return attributes


def _scriptEnd(source: str, start: int) -> int:
    """
    Where the content of a C{<script>} starting at C{start} ends, following
    the script data states: inside C{<!--}, a C{<script>} starts a part
    where C{</script>} does not end the script, up to C{-->}.
    """
    state = 0
    position = start
    while True:
        pattern = SCRIPT_DATA if state == 0 else SCRIPT_ESCAPED
        found = pattern.search(source, position)
        if found is None:
            return len(source)
        text = found.group()
        if text == "<!--":
            # Escaped; its dashes can also end the escape, as in "<!-->".
            state = 1
            position = found.start() + 2
        elif text == "-->":
            state = 0
            position = found.end()
        elif state == 0 or (state == 1 and text[1] == "/"):
            return found.start()
        else:
            # In the escaped state <script> enters the double-escaped state,
            # where </script> leaves it and <script> does nothing; the
            # character after the name is part of what switches.
            if state == 1 or text[1] == "/":
                state = 3 - state
            position = found.end() + 1


def _textEnd(source: str, name: str, start: int) -> int:
    """
    Where the text content of a C{name} element starting at C{start} ends.
    """
    if name == _SCRIPT:
        return _scriptEnd(source, start)
    if name == _PLAINTEXT:
        return len(source)
    found = endTagOf(name).search(source, start)
    return len(source) if found is None else found.start()


def tokenize(source: str, names: Collection[str] | None = None) -> Iterator[Token]:
    """
    The tokens of an HTML document, in order.

    Never raises, whatever the input: malformed markup is read as browsers
    read it.  Without C{names}, the tokens cover the document end to end:
    joining their text gives back C{source}.

    @param source: The document's text.
    @param names: If given, only the start and end tags with these names
        (lowercase, as tokens name them) are produced, and everything else
        is skipped inside the regular expression engine, several times
        faster.
    """
    if names is None:
        return _tokens(source, EVERY_TOKEN, None)
    wanted = frozenset(names)
    searched = frozenset(filter(_TAG_NAME.fullmatch, wanted)) | _WATCHED
    return _tokens(source, someTokens(searched), wanted)


# What a tag name the tokenizer produces can be (bar NUL's U+FFFD, which
# only comes out without names).
_TAG_NAME = re.compile("[a-z][^\t\n\f\r />A-Z\ufffd]*")


#: What the groups of the patterns after the tag's (lastindex 4) are.
_KINDS = {5: COMMENT, 6: DOCTYPE, 7: CDATA, 8: COMMENT, 9: DROPPED}

_Content = Generator[Token, None, tuple[int, int]]


def _tokens(
    source: str, pattern: re.Pattern[str], wanted: frozenset[str] | None
) -> Iterator[Token]:
    """
    The tokens of HTML content: each match of C{pattern} is what it skips
    and one token; an element whose content is not plain HTML is read by
    L{_content}, after which the matching starts again.
    """
    new = tuple.__new__
    names = _names
    dropped = 9 if wanted is None else 5
    size = len(source)
    depth = 0
    position = 0
    while position <= size:
        for match in pattern.finditer(source, position):
            start, textEnd = match.span(1)
            if wanted is None and textEnd > start:
                yield new(
                    Token, (TEXT, start, textEnd, "", 0, 0, False, depth > 0, False)
                )
            last = match.lastindex or 1
            if last != 4:
                if last == 1:
                    return
                if last == dropped:
                    if wanted is None:
                        yield new(
                            Token,
                            (DROPPED, textEnd, size, "", 0, 0, False, depth > 0, False),
                        )
                    return
                end = match.end()
                kind = _KINDS[last]
                yield new(
                    Token, (kind, textEnd, end, "", 0, 0, False, depth > 0, False)
                )
                continue
            raw = match.group(3)
            name = names.get(raw) or _tagName(raw)
            attributesStart, attributesEnd = match.span(4)
            end = match.end()
            selfClosing = source[end - 2] == "/" and end - 2 >= attributesEnd
            if source[textEnd + 1] == "/":
                if name == "template" and depth:
                    depth -= 1
                if wanted is None or name in wanted:
                    yield new(
                        Token,
                        (
                            END_TAG,
                            textEnd,
                            end,
                            name,
                            attributesStart,
                            attributesEnd,
                            selfClosing,
                            depth > 0,
                            False,
                        ),
                    )
                continue
            tag = new(
                Token,
                (
                    START_TAG,
                    textEnd,
                    end,
                    name,
                    attributesStart,
                    attributesEnd,
                    selfClosing,
                    depth > 0,
                    False,
                ),
            )
            if name in _WATCHED:
                if name in _FOREIGN_ROOTS:
                    tag = tag._replace(foreign=True)
                if wanted is None or name in wanted:
                    yield tag
                position, depth = yield from _content(source, tag, depth, wanted)
                break
            if wanted is None or name in wanted:
                yield tag
        else:
            return


def _content(
    source: str, tag: Token, depth: int, wanted: frozenset[str] | None
) -> _Content:
    """
    After an HTML start tag the tokenizer watches: enter template contents,
    SVG or MathML, or read the text content of a C{<script>}, C{<style>} and
    the like.

    @return: Where HTML content resumes, and the template depth there.
    """
    name = tag.name
    if name == "template":
        return tag.end, depth + 1
    if name in _FOREIGN_ROOTS:
        if tag.selfClosing:
            return tag.end, depth
        return (yield from _foreign(source, tag.end, depth, wanted, name))
    end = _textEnd(source, name, tag.end)
    if wanted is None and end > tag.end:
        text = (TEXT, tag.end, end, name, 0, 0, False, depth > 0, False)
        yield tuple.__new__(Token, text)
    return end, depth


# Start tags that end SVG and MathML content (C{font} too, with one of the
# attributes in _FONT_BREAKOUT), and the elements inside it whose content is
# HTML again (and for the MathML ones, text).
_BREAKOUT = frozenset(
    {"b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl"}
    | {"dt", "em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i"}
    | {"img", "li", "listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby"}
    | {"s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u"}
    | {"ul", "var"}
)
_FONT_BREAKOUT = frozenset(["color", "face", "size"])
_SVG_INTEGRATION = frozenset(["foreignobject", "desc", "title"])
_MATHML_TEXT_INTEGRATION = frozenset(["mi", "mo", "mn", "ms", "mtext"])
_MATHML_NOT_TEXT = frozenset(["mglyph", "malignmark"])
_HTML_ENCODINGS = frozenset(["text/html", "application/xhtml+xml"])


class _Foreign(NamedTuple):
    """
    An open SVG or MathML element.

    @ivar integration: C{"html"} for an HTML integration point, where start
        tags are HTML again; C{"text"} for a MathML text integration point,
        where they are except C{mglyph} and C{malignmark}; else empty.
    """

    name: str
    namespace: str
    integration: str


def _integration(source: str, tag: Token, namespace: str) -> str:
    """
    What kind of integration point an element opened by C{tag} is.
    """
    if namespace == "svg":
        return "html" if tag.name in _SVG_INTEGRATION else ""
    if tag.name in _MATHML_TEXT_INTEGRATION:
        return "text"
    if tag.name == "annotation-xml":
        for attribute in attributesOf(source, tag):
            if attribute.name == "encoding":
                encoding = attribute.value.translate(_LOWER_AND_NUL)
                return "html" if encoding in _HTML_ENCODINGS else ""
    return ""


class _OpenElements:
    """
    The stack of open SVG and MathML elements, with a count of each name on
    it, so that an end tag naming nothing open costs no walk down the stack
    (a page of unmatched end tags must not cost its length squared).
    """

    def __init__(self, root: str) -> None:
        self.stack = [_Foreign(root, root, "")]
        self.counts = {root: 1}

    def push(self, element: _Foreign) -> None:
        self.stack.append(element)
        self.counts[element.name] = self.counts.get(element.name, 0) + 1

    def pop(self) -> None:
        name = self.stack.pop().name
        self.counts[name] -= 1

    def leaveForeign(self) -> None:
        """
        Close elements up to an integration point (or all of them), as an
        HTML element breaking out of SVG or MathML does.
        """
        while self.stack and not self.stack[-1].integration:
            self.pop()

    def close(self, name: str) -> bool:
        """
        Apply an end tag.

        @return: Whether the end tag is then read as HTML.
        """
        top = self.stack[-1]
        if name in ("br", "p") and not top.integration:
            self.leaveForeign()
            return True
        if self.counts.get(name):
            while self.stack[-1].name != name:
                self.pop()
            self.pop()
            return False
        if not top.integration:
            # Most likely it closes an HTML element around the foreign
            # content: leave it, which reads what follows as HTML, where
            # text stays text.
            while self.stack:
                self.pop()
        return True


def _breaksOut(source: str, tag: Token) -> bool:
    """
    Whether a start tag in SVG or MathML content ends it.
    """
    if tag.name == "font":
        return any(a.name in _FONT_BREAKOUT for a in attributesOf(source, tag))
    return tag.name in _BREAKOUT


def _foreign(
    source: str, position: int, depth: int, wanted: frozenset[str] | None, root: str
) -> _Content:
    """
    The tokens of SVG or MathML content opened by a C{root} start tag ending
    at C{position}, one by one, keeping the stack of open foreign elements
    that decides what is markup.

    @return: Where HTML content resumes, and the template depth there.
    """
    new = tuple.__new__
    elements = _OpenElements(root)
    stack = elements.stack
    size = len(source)
    while stack:
        match = FOREIGN_TOKEN.match(source, position)
        if match is None:  # pragma: no cover (the pattern matches anywhere)
            return size, depth
        last = match.lastindex or 1
        textEnd = match.end(1)
        inTemplate = depth > 0
        foreign = not stack[-1].integration
        if wanted is None and textEnd > position:
            text = (TEXT, position, textEnd, "", 0, 0, False, inTemplate, foreign)
            yield new(Token, text)
        if last == 1:
            return size, depth
        end = match.end()
        if last != 4:
            kind = _KINDS[last]
            if wanted is None:
                stop = size if kind == DROPPED else end
                other = (kind, textEnd, stop, "", 0, 0, False, inTemplate, foreign)
                yield new(Token, other)
            if kind == DROPPED:
                return size, depth
            position = end
            continue
        name = _tagName(match.group(3))
        attributesStart, attributesEnd = match.span(4)
        selfClosing = source[end - 2] == "/" and end - 2 >= attributesEnd
        fields = (textEnd, end, name, attributesStart, attributesEnd, selfClosing)
        position = end
        if source[textEnd + 1] == "/":
            html = elements.close(name)
            if html and name == "template" and depth:
                depth -= 1
            if wanted is None or name in wanted:
                yield new(Token, (END_TAG, *fields, depth > 0, not html))
            continue
        tag = new(Token, (START_TAG, *fields, inTemplate, False))
        top = stack[-1]
        html = (
            top.integration == "html"
            or (top.integration == "text" and name not in _MATHML_NOT_TEXT)
            or (top.name == "annotation-xml" and name == "svg")
        )
        if not html and _breaksOut(source, tag):
            elements.leaveForeign()
            if not stack:
                # Read the tag again, as HTML.
                return textEnd, depth
            html = True
        if not html or name in _FOREIGN_ROOTS:
            tag = tag._replace(foreign=True)
        if wanted is None or name in wanted:
            yield tag
        if not html:
            if not selfClosing:
                namespace = top.namespace
                elements.push(
                    _Foreign(name, namespace, _integration(source, tag, namespace))
                )
        elif name in _FOREIGN_ROOTS:
            if not selfClosing:
                elements.push(_Foreign(name, name, ""))
        elif name in _WATCHED:
            position, depth = yield from _content(source, tag, depth, wanted)
    return position, depth
