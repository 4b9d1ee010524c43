"""
L{h2site.refs.htmltokenizer} against a direct transcription of the WHATWG
tokenizer's states, one character at a time: the regular expressions must
cut every document exactly where the states do.
"""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.charrefs import decodeAttributeValue
from h2site.refs.htmltokenizer import attributesOf, tokenize

_WS = "\t\n\f\r "
_RAW_TEXT = {"iframe", "noembed", "noframes", "noscript", "style", "xmp"}
_RCDATA = {"title", "textarea"}

#: (kind, start, end, name, attributes, selfClosing, inTemplate), attributes
#: as (name, value, valueStart, valueEnd).
Row = tuple[str, int, int, str, tuple[tuple[str, str, int, int], ...], bool, bool]


def _lower(char: str) -> str:
    if "A" <= char <= "Z":
        return char.lower()
    return "\ufffd" if char == "\0" else char


class _Reference:
    """
    The tokenizer states, transcribed from the standard as plainly as
    possible (no SVG or MathML: inputs are made without them).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[Row] = []
        self.depth = 0
        self.textStart = 0

    def char(self, index: int) -> str | None:
        return self.source[index] if index < len(self.source) else None

    def flush(self, end: int, name: str = "") -> None:
        if end > self.textStart:
            row = ("text", self.textStart, end, name, (), False, self.depth > 0)
            self.rows.append(row)

    def add(self, kind: str, start: int, end: int) -> None:
        self.flush(start)
        self.rows.append((kind, start, end, "", (), False, self.depth > 0))
        self.textStart = end

    def run(self) -> list[Row]:
        index = 0
        size = len(self.source)
        while index < size:
            if self.source[index] != "<":
                index += 1
                continue
            after = self.char(index + 1)
            if after is not None and after.isascii() and after.isalpha():
                index = self.tag(index, index + 1, False)
            elif after == "/":
                third = self.char(index + 2)
                if third is None:
                    index += 2
                elif third.isascii() and third.isalpha():
                    index = self.tag(index, index + 2, True)
                else:
                    # "</>" is dropped; "</ x>" is a bogus comment.
                    index = self.bogus(index, index + 2)
            elif after == "!":
                index = self.declaration(index)
            elif after == "?":
                index = self.bogus(index, index + 1)
            else:
                index += 1
        self.flush(size)
        return self.rows

    def bogus(self, start: int, index: int) -> int:
        end = self.source.find(">", index)
        end = len(self.source) if end < 0 else end + 1
        self.add("comment", start, end)
        return end

    def declaration(self, start: int) -> int:
        if self.source.startswith("--", start + 2):
            return self.comment(start, start + 4)
        if self.source[start + 2 : start + 9].upper() == "DOCTYPE":
            end = self.source.find(">", start + 9)
            end = len(self.source) if end < 0 else end + 1
            self.add("doctype", start, end)
            return end
        return self.bogus(start, start + 2)

    def comment(self, start: int, index: int) -> int:
        state = "start"
        while True:
            char = self.char(index)
            if state == "start":
                state = {"-": "startDash", ">": "emit"}.get(char or "", "comment")
                index += state != "comment"
            elif state == "startDash":
                if char is None:
                    break
                state = {"-": "end", ">": "emit"}.get(char, "comment")
                index += state != "comment"
            elif state == "comment":
                if char is None:
                    break
                state = {"<": "lt", "-": "endDash"}.get(char, "comment")
                index += 1
            elif state == "lt":
                if char == "!":
                    state, index = "ltBang", index + 1
                elif char == "<":
                    index += 1
                else:
                    state = "comment"
            elif state == "ltBang":
                if char == "-":
                    state, index = "ltBangDash", index + 1
                else:
                    state = "comment"
            elif state == "ltBangDash":
                if char == "-":
                    state, index = "ltBangDashDash", index + 1
                else:
                    state = "endDash"
            elif state == "ltBangDashDash":
                state = "end"
            elif state == "endDash":
                if char is None:
                    break
                if char == "-":
                    state, index = "end", index + 1
                else:
                    state = "comment"
            elif state == "end":
                if char is None:
                    break
                if char in ">!-":
                    state = {">": "emit", "!": "endBang", "-": "end"}[char]
                    index += 1
                else:
                    state = "comment"
            elif state == "endBang":
                if char is None:
                    break
                if char in "->":
                    state = {"-": "endDash", ">": "emit"}[char]
                    index += 1
                else:
                    state = "comment"
            else:
                break
        self.add("comment", start, index)
        return index

    def tag(self, start: int, index: int, isEnd: bool) -> int:
        source = self.source
        name = ""
        attributes: list[tuple[str, str, int, int]] = []
        current: str | None = None
        nameEnd = valueStart = 0
        selfClosing = False

        def finish(valueStart: int, valueEnd: int) -> None:
            nonlocal current
            if current is not None and current not in [a[0] for a in attributes]:
                value = decodeAttributeValue(source[valueStart:valueEnd])
                attributes.append((current, value, valueStart, valueEnd))
            current = None

        state = "name"
        while True:
            char = self.char(index)
            if char is None:
                self.flush(start)
                self.rows.append(
                    ("dropped", start, len(source), "", (), False, self.depth > 0)
                )
                self.textStart = len(source)
                return len(source)
            if state == "name":
                if char in _WS:
                    state = "beforeName"
                elif char == "/":
                    state = "selfClosing"
                elif char == ">":
                    break
                else:
                    name += _lower(char)
                index += 1
            elif state == "beforeName":
                if char in _WS:
                    index += 1
                elif char in "/>":
                    state = "afterName"
                elif char == "=":
                    current, state, index = "=", "attributeName", index + 1
                else:
                    current, state = "", "attributeName"
            elif state == "attributeName":
                assert current is not None
                if char in _WS or char in "/>":
                    nameEnd, state = index, "afterName"
                elif char == "=":
                    nameEnd, state, index = index, "beforeValue", index + 1
                else:
                    current += _lower(char)
                    index += 1
            elif state == "afterName":
                if char in _WS:
                    index += 1
                    continue
                if char != "=":
                    finish(nameEnd, nameEnd)
                if char == "/":
                    state, index = "selfClosing", index + 1
                elif char == "=":
                    state, index = "beforeValue", index + 1
                elif char == ">":
                    break
                else:
                    current, state = "", "attributeName"
            elif state == "beforeValue":
                if char in _WS:
                    index += 1
                elif char in "\"'":
                    state, index = "quoted" + char, index + 1
                    valueStart = index
                elif char == ">":
                    finish(index, index)
                    break
                else:
                    state, valueStart = "unquoted", index
            elif state.startswith("quoted"):
                if char == state[-1]:
                    finish(valueStart, index)
                    state = "afterQuoted"
                index += 1
            elif state == "unquoted":
                if char in _WS:
                    finish(valueStart, index)
                    state, index = "beforeName", index + 1
                elif char == ">":
                    finish(valueStart, index)
                    break
                else:
                    index += 1
            elif state == "afterQuoted":
                if char in _WS:
                    state, index = "beforeName", index + 1
                elif char == "/":
                    state, index = "selfClosing", index + 1
                elif char == ">":
                    break
                else:
                    state = "beforeName"
            else:
                if char == ">":
                    selfClosing = True
                    break
                state = "beforeName"
        end = index + 1
        self.flush(start)
        if isEnd and name == "template" and self.depth:
            self.depth -= 1
        kind = "end" if isEnd else "start"
        row = (kind, start, end, name, tuple(attributes), selfClosing, self.depth > 0)
        self.rows.append(row)
        self.textStart = end
        if isEnd:
            return end
        if name == "template":
            self.depth += 1
        if name in _RAW_TEXT or name in _RCDATA or name == "script":
            finder = self.scriptEnd if name == "script" else self.rawTextEnd
            textEnd = finder(name, end)
            self.flush(textEnd, name)
            self.textStart = textEnd
            return textEnd
        if name == "plaintext":
            self.flush(len(source), name)
            self.textStart = len(source)
            return len(source)
        return end

    def endTagAt(self, index: int, name: str) -> bool:
        """
        Whether an appropriate end tag (name followed by whitespace, C{/}
        or C{>}) starts at C{index}.
        """
        source = self.source
        if not source.startswith("</", index):
            return False
        candidate = source[index + 2 : index + 2 + len(name)]
        following = self.char(index + 2 + len(name))
        return (
            candidate.lower() == name
            and candidate.isascii()
            and following is not None
            and following in _WS + "/>"
        )

    def rawTextEnd(self, name: str, index: int) -> int:
        while index < len(self.source):
            if self.endTagAt(index, name):
                return index
            index += 1
        return index

    def scriptEnd(self, name: str, index: int) -> int:
        source = self.source
        state = "data"
        while index < len(source):
            if not state.startswith("double") and self.endTagAt(index, "script"):
                return index
            if state == "data" and source.startswith("<!--", index):
                state, index = "escapedDashDash", index + 4
                continue
            char = source[index]
            if state in ("escaped", "escapedDash", "escapedDashDash"):
                if char == "-":
                    state = {"escaped": "escapedDash"}.get(state, "escapedDashDash")
                elif char == ">" and state == "escapedDashDash":
                    state = "data"
                elif char == "<":
                    word = source[index + 1 : index + 7]
                    following = self.char(index + 7)
                    if (
                        word.lower() == "script"
                        and word.isascii()
                        and following is not None
                        and following in _WS + "/>"
                    ):
                        state, index = "double", index + 8
                        continue
                    state = "escaped"
                else:
                    state = "escaped"
            elif state.startswith("double"):
                if char == "-":
                    state = {"double": "doubleDash"}.get(state, "doubleDashDash")
                elif char == ">" and state == "doubleDashDash":
                    state = "data"
                elif char == "<":
                    if self.endTagAt(index, "script"):
                        state, index = "escaped", index + 9
                        continue
                    state = "double"
                else:
                    state = "double"
            index += 1
        return index


def _rows(source: str) -> list[Row]:
    """
    What L{tokenize} and L{attributesOf} make of C{source}, as L{Row}s.
    """
    rows: list[Row] = []
    for token in tokenize(source):
        attributes: tuple[tuple[str, str, int, int], ...] = ()
        if token.kind in ("start", "end"):
            attributes = tuple(tuple(a) for a in attributesOf(source, token))  # type: ignore[misc]
        rows.append(
            (
                token.kind,
                token.start,
                token.end,
                token.name,
                attributes,
                token.selfClosing,
                token.inTemplate,
            )
        )
    return rows


_PIECES = [
    "<",
    ">",
    "/",
    "!",
    "?",
    "-",
    "--",
    "=",
    '"',
    "'",
    " ",
    "\t",
    "\r\n",
    "\0",
    "a",
    "B",
    "&amp;",
    "&lt",
    "<a",
    "</a",
    "<!--",
    "-->",
    "--!>",
    "<!DOCTYPE",
    "<![CDATA[",
    "]]>",
    "<script",
    "</script",
    "<SCRIPT",
    "<title",
    "</title",
    "<style",
    "</style",
    "<textarea",
    "<noscript",
    "</noscript",
    "<plaintext",
    "<template",
    "</template",
    "<xmp>",
    "</xmp>",
    " x=",
    " y='",
    ' z="',
    " = ",
    "= '",
    ' ="',
    "=\t",
]

_MARKUP = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


class StatesTests(SynchronousTestCase):
    """
    The tokenizer cuts documents where the standard's states do.
    """

    def assertSameAsStates(self, source: str) -> None:
        self.assertEqual(_rows(source), _Reference(source).run(), source)

    def test_examples(self) -> None:
        """
        Documents that reach the corners of each state.
        """
        for source in [
            "<a b=c d='e' f=\"g\" h>",
            '<a b = c><a =b><a b==c><a b="c"d><a/b/><a b=c/>',
            "<a\tb\nc\fd\re>x</a foo='>'>",
            "<!--><!---><!----><!-- a --!> b --><!-- <!--> -->",
            "<!-- a <!-- b -->c<!--x--!-->y<!-->",
            "<!doctype html><!x><?x><! ><!><![CDATA[a]]>b",
            "</><//></ a></3></",
            "<script><!--<script></script>--></script>x",
            "<script><!--<script>-->x</script><script><!-- </script>",
            "<script><!--></script><script><!-- <SCRIPT/></script>",
            "<script><!--<script> <script> </script> x </script>y",
            "<script><!--<script>--!></script><script><!--<script>-></script>",
            "<title><a></title ><textarea></textarea/>",
            "<style></stylex></style\t><xmp><b></xmp>",
            "<template><a><template></template><b></template><c>",
            "<plaintext></plaintext><a>",
            "<a b='c",
            "<a b=c",
            "<a",
            "</a",
            "<a b",
            "<!--",
            "<!-",
            "<",
            "</",
        ]:
            self.assertSameAsStates(source)

    def test_short(self) -> None:
        """
        Every document of up to four characters from an alphabet of the
        characters that decide states.
        """
        alphabet = "<>/!-=\"'a "
        for size in range(5):
            for chars in itertools.product(alphabet, repeat=size):
                self.assertSameAsStates("".join(chars))

    def test_scriptStates(self) -> None:
        """
        Every sequence of up to four pieces of what the script data states
        react to, in a script.
        """
        pieces = ["<!--", "-->", "<script", "</SCRIPT", "<", "/", "-", ">", " ", "!"]
        for size in range(5):
            for chosen in itertools.product(pieces, repeat=size):
                self.assertSameAsStates("<script>" + "".join(chosen) + "</script>x")

    def test_tagStates(self) -> None:
        """
        Every tag of up to five characters after its name (six, of fewer
        kinds) of what the tag and attribute states react to, ended or cut
        short.
        """
        for size in range(6):
            for chars in itertools.product(" =\"'/>b&\t", repeat=size):
                self.assertSameAsStates("<a" + "".join(chars))
        for chars in itertools.product(" =\"'>b", repeat=6):
            self.assertSameAsStates("<a" + "".join(chars))

    def test_commentStates(self) -> None:
        """
        Every comment of up to six characters of what the comment states
        react to.
        """
        for size in range(7):
            for chars in itertools.product("-!<>x", repeat=size):
                self.assertSameAsStates("<!--" + "".join(chars) + "<a>")

    def test_rawTextStates(self) -> None:
        """
        Every sequence of up to four pieces of end tags, in a title and in
        a style.
        """
        for name in ["title", "style"]:
            pieces = [f"</{name}", f"</{name.upper()}", " ", ">", "/", "x", "<"]
            for size in range(5):
                for chosen in itertools.product(pieces, repeat=size):
                    self.assertSameAsStates(f"<{name}>" + "".join(chosen) + "<a>")

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_MARKUP)
    def test_markup(self, source: str) -> None:
        """
        Random sequences of markup pieces are cut where the states cut them.
        """
        self.assertSameAsStates(source)

    @settings(database=None, deadline=None)
    @given(st.text())
    def test_text(self, source: str) -> None:
        """
        Arbitrary text is cut where the states cut it.
        """
        lowered = source.lower()
        assume("<svg" not in lowered and "<math" not in lowered)
        self.assertSameAsStates(source)
