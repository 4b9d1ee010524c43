# -*- test-case-name: tests.unit.refs.test_js -*-
"""
Find the static imports of an ECMAScript module, so the modules it pulls in
can be announced with C{rel=modulepreload} before the browser has fetched
and parsed the module that names them.

A full JavaScript parser would be a large dependency for a small question,
and a regular expression over the source would find C{import} in strings,
comments and template literals.  This is a conservative tokenizer instead:
it skips strings, comments, template literals (with nested substitutions)
and regular expression literals, tracks bracket depth, and only recognises
C{import}/C{export ... from} at the top level of the module, where the
language allows them.  When it cannot tell (a C{/} that might be a regular
expression or a division), a wrong guess can only make it miss imports or
skip some text, never raise: a missed hint costs a round trip, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = [
    "MAX_SPECIFIER_LENGTH",
    "ImportReference",
    "findImportReferences",
    "findImportSpecifiers",
]

#: Longer specifiers are ignored: no real module path is this long, and it
#: bounds what one hostile file can put in a header.
MAX_SPECIFIER_LENGTH = 2048

_Kind = Literal["ident", "string", "punct", "number", "template", "regex", "bad"]


class _Token(NamedTuple):
    """
    A token: its kind, its value (a string's decoded value, a name, a
    punctuator; empty for the kinds whose value is never needed), and
    where its text starts and ends in the source.
    """

    kind: _Kind
    value: str
    start: int = 0
    end: int = 0


_LINE_TERMINATORS = "\n\r\u2028\u2029"
_WHITESPACE = frozenset(" \t\v\f\u00a0\ufeff\u1680\u202f\u205f\u3000") | frozenset(
    map(chr, range(0x2000, 0x200B))
)
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$\\#")
_IDENT_PART = _IDENT_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
# After these keywords a "/" starts a regular expression, not a division.
_REGEX_AFTER_KEYWORD = frozenset(
    {
        "await",
        "case",
        "delete",
        "do",
        "else",
        "extends",
        "in",
        "instanceof",
        "new",
        "of",
        "return",
        "throw",
        "typeof",
        "void",
        "yield",
    }
)
_SIMPLE_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
}


def _isIdentChar(char: str, start: bool) -> bool:
    """
    Whether C{char} can be in an identifier; every non-ASCII character is
    taken as one, which is loose but never splits a real identifier.
    """
    if char in (_IDENT_START if start else _IDENT_PART):
        return True
    return ord(char) > 0x7F and char not in _WHITESPACE and char not in "\u2028\u2029"


def _regexAllowed(previous: _Token | None) -> bool:
    """
    Guess whether a C{/} after C{previous} starts a regular expression.

    After a value (a name, number, string, closing parenthesis or bracket)
    it is a division; after an operator, an opening bracket or a keyword
    that expects an expression it is a regular expression.  A C{/} after
    C{}} is taken as a regular expression, since at the top level of a
    module a C{}} usually ends a block or a declaration.
    """
    if previous is None:
        return True
    kind, value = previous[:2]
    if kind == "ident":
        return value in _REGEX_AFTER_KEYWORD
    if kind in ("number", "string", "template", "regex"):
        return False
    return value not in (")", "]")


def _tokens(source: str) -> Iterator[_Token]:
    """
    Split C{source} into the tokens the import finder needs, dropping
    whitespace and comments; every character is looked at a bounded number
    of times, so this is linear in the length of the source.

    Template literals come out as C{("template", "")} for each literal
    part, with their substitutions' tokens between C{("punct", "${")} and
    C{("punct", "}")}, so bracket depth stays right inside them.
    """
    length = len(source)
    index = 0
    previous: _Token | None = None
    # One entry per open "{" or "${": True for a template substitution, so
    # its "}" resumes the template literal.
    braces: list[bool] = []
    noRegexBefore = 0
    if source.startswith("#!"):
        index = _skipLine(source, 2)

    def emit(token: _Token) -> _Token:
        nonlocal previous
        previous = token
        return token

    while index < length:
        char = source[index]
        if char in _WHITESPACE or char in _LINE_TERMINATORS:
            index += 1
        elif char == "/" and source.startswith("//", index):
            index = _skipLine(source, index + 2)
        elif char == "/" and source.startswith("/*", index):
            close = source.find("*/", index + 2)
            index = length if close < 0 else close + 2
        elif char in "'\"":
            start = index
            value, index = _readString(source, index)
            if value is None:
                yield emit(_Token("bad", "", start, index))
            else:
                yield emit(_Token("string", value, start, index))
        elif char == "`" or (char == "}" and braces and braces[-1]):
            if char == "}":
                braces.pop()
                yield emit(_Token("punct", "}"))
            index, substitution = _readTemplatePart(source, index + 1)
            yield emit(_Token("template", ""))
            if substitution:
                braces.append(True)
                yield emit(_Token("punct", "${"))
        elif char == "/" and index >= noRegexBefore and _regexAllowed(previous):
            end, searched = _readRegex(source, index)
            if end is None:
                # Not a regular expression after all; nor is any other "/"
                # up to where this search gave up, or a line of such
                # slashes would be searched once per slash.
                noRegexBefore = searched
                index += 1
                yield emit(_Token("punct", "/"))
            else:
                index = end
                yield emit(_Token("regex", ""))
        elif _isIdentChar(char, True):
            start = index
            index += 1
            while index < length and _isIdentChar(source[index], False):
                index += 1
            yield emit(_Token("ident", source[start:index]))
        elif char in _DIGITS or (
            char == "." and index + 1 < length and source[index + 1] in _DIGITS
        ):
            index = _readNumber(source, index)
            yield emit(_Token("number", ""))
        elif char == "?" and source.startswith("?.", index):
            nextChar = source[index + 2 : index + 3]
            if nextChar and nextChar in _DIGITS:
                index += 1
                yield emit(_Token("punct", "?"))
            else:
                index += 2
                yield emit(_Token("punct", "?."))
        else:
            index += 1
            if char == "{":
                braces.append(False)
            elif char == "}" and braces:
                braces.pop()
            yield emit(_Token("punct", char))


def _skipLine(source: str, index: int) -> int:
    """
    The index of the line terminator ending the line C{index} is on.
    """
    length = len(source)
    while index < length and source[index] not in _LINE_TERMINATORS:
        index += 1
    return index


def _readNumber(source: str, index: int) -> int:
    """
    Skip a numeric literal (decimal, hex, octal, binary, BigInt, with
    separators and exponents); precision does not matter, only its end.
    """
    length = len(source)
    while index < length:
        char = source[index]
        exponentSign = (
            char in "+-"
            and source[index - 1] in "eE"
            and not source.startswith(("0x", "0X"), index - 3)
        )
        if not (char.isalnum() or char in "._" or exponentSign):
            break
        index += 1
    return index


def _readString(source: str, index: int) -> tuple[str | None, int]:
    """
    Read the string literal starting at C{index} (its quote).

    @return: Its value with escapes decoded, or L{None} if it is not
        terminated on its line or has an escape this cannot decode; and the
        index after it.
    """
    quote = source[index]
    length = len(source)
    index += 1
    out: list[str] = []
    valid = True
    while index < length:
        char = source[index]
        if char == quote:
            return ("".join(out) if valid else None), index + 1
        if char in "\n\r":
            return None, index
        if char == "\\":
            decoded, index = _readEscape(source, index + 1)
            if decoded is None:
                valid = False
            else:
                out.append(decoded)
            continue
        out.append(char)
        index += 1
    return None, index


def _readEscape(source: str, index: int) -> tuple[str | None, int]:
    """
    Decode the escape sequence after a backslash at C{index - 1}.

    @return: The characters it stands for (L{None} if malformed), and the
        index after it.
    """
    if index >= len(source):
        return None, index
    char = source[index]
    if char in _SIMPLE_ESCAPES and not (
        char == "0" and source[index + 1 : index + 2].isdigit()
    ):
        return _SIMPLE_ESCAPES[char], index + 1
    if char == "\r":
        return "", index + (2 if source.startswith("\r\n", index) else 1)
    if char in "\n\u2028\u2029":
        return "", index + 1
    if char == "x":
        return _hexEscape(source[index + 1 : index + 3], 2), index + 3
    if char == "u":
        if source.startswith("{", index + 1):
            end = source.find("}", index + 2, index + 10)
            if end < 0:
                return None, index + 1
            return _hexEscape(source[index + 2 : end], 0), end + 1
        return _hexEscape(source[index + 1 : index + 5], 4), index + 5
    if char in "123456789":
        # Legacy octal escapes and \8 \9: not allowed in modules (strict).
        return None, index + 1
    return char, index + 1


def _hexEscape(digits: str, width: int) -> str | None:
    """
    The character for C{digits} hex digits (exactly C{width} of them, or
    1 to 6 when C{width} is 0), or L{None}.
    """
    if not digits or (width and len(digits) != width) or len(digits) > 6:
        return None
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    code = int(digits, 16)
    if code > 0x10FFFF:
        return None
    return chr(code)


def _readTemplatePart(source: str, index: int) -> tuple[int, bool]:
    """
    Skip template literal text starting at C{index}, up to its closing
    backquote or the next C{${}.

    @return: The index after what ended the part, and whether that was a
        substitution (C{${}).
    """
    length = len(source)
    while index < length:
        char = source[index]
        if char == "\\":
            index += 2
        elif char == "`":
            return index + 1, False
        elif char == "$" and source.startswith("${", index):
            return index + 2, True
        else:
            index += 1
    return length, False


def _readRegex(source: str, index: int) -> tuple[int | None, int]:
    """
    Skip the regular expression literal starting at C{index} (its slash).

    @return: The index after its flags, or L{None} if no literal ends on
        this line (then the slash was not one after all); and how far the
        search looked.
    """
    length = len(source)
    index += 1
    inClass = False
    while index < length:
        char = source[index]
        if char in _LINE_TERMINATORS:
            return None, index
        if char == "\\":
            index += 2
            continue
        if char == "[":
            inClass = True
        elif char == "]":
            inClass = False
        elif char == "/" and not inClass:
            index += 1
            while index < length and _isIdentChar(source[index], False):
                index += 1
            return index, index
        index += 1
    return None, length


class _Reader:
    """
    A cursor over the token stream that keeps the bracket depth.
    """

    def __init__(self, source: str) -> None:
        self._tokens = _tokens(source)
        self.depth = 0
        self._peeked: list[_Token] = []

    def next(self) -> _Token | None:
        """
        The next token, or L{None} at the end.
        """
        if self._peeked:
            token: _Token | None = self._peeked.pop(0)
        else:
            token = next(self._tokens, None)
        if token is not None and token.kind == "punct":
            if token.value in _OPENERS or token.value == "${":
                self.depth += 1
            elif token.value in _CLOSERS and self.depth:
                self.depth -= 1
        return token

    def peek(self, ahead: int = 0) -> _Token | None:
        """
        Look at a coming token without taking it.
        """
        while len(self._peeked) <= ahead:
            token = next(self._tokens, None)
            if token is None:
                return None
            self._peeked.append(token)
        return self._peeked[ahead]


def _fromClause(reader: _Reader, depth: int) -> _Token | None:
    """
    Read on through an import or export clause to its C{from "specifier"}.

    @param depth: The depth the declaration started at; the clause may only
        open and close braces within it.
    @return: The specifier's string token, or L{None} if the declaration
        has none (C{export { a }}) or is not one after all.
    """
    while True:
        before = reader.depth
        token = reader.next()
        if token is None or reader.depth < depth:
            return None
        if before > depth:
            # Inside the clause's braces: names, "as", string names, commas.
            continue
        kind, value = token[:2]
        if kind == "ident" and value == "from":
            following = reader.peek()
            if following is not None and following.kind == "string":
                reader.next()
                return following
        elif kind == "ident":
            if value in ("import", "export"):
                return None
        elif token[:2] not in (("punct", ","), ("punct", "*"), ("punct", "{")):
            return None


def _hasAttributes(reader: _Reader) -> bool:
    """
    Whether import attributes (C{with { type: "json" }}) follow: such an
    import is not a JavaScript module, and C{modulepreload} would fetch it
    as one and fail.
    """
    keyword = reader.peek()
    brace = reader.peek(1)
    return (
        keyword is not None
        and keyword.kind == "ident"
        and keyword.value in ("with", "assert")
        and brace is not None
        and brace[:2] == ("punct", "{")
    )


@dataclass(frozen=True)
class ImportReference:
    """
    One module specifier in a module's source, and where it is written.

    @ivar specifier: The specifier, escapes decoded.
    @ivar start: Where the text between its quotes starts in the source.
    @ivar end: Where that text ends (at the closing quote); C{source[start:
        end]} equals C{specifier} exactly when it was written without
        escapes.
    @ivar dynamic: Whether it is the argument of a dynamic C{import("s")}
        rather than a static import or re-export.
    """

    specifier: str
    start: int
    end: int
    dynamic: bool = False


def _dynamicImport(reader: _Reader) -> _Token | None:
    """
    After an C{import} name: the string token of a literal dynamic import,
    C{import("s")} with nothing else between the parentheses, else L{None}.
    Nothing is taken from the reader, so what follows is read as usual.
    """
    opening, argument, closing = reader.peek(), reader.peek(1), reader.peek(2)
    if (
        opening is not None
        and opening[:2] == ("punct", "(")
        and argument is not None
        and argument.kind == "string"
        and closing is not None
        and closing[:2] == ("punct", ")")
    ):
        return argument
    return None


def findImportReferences(source: str) -> list[ImportReference]:
    """
    Find every module specifier written as a string in a module, with where
    it is written: those of its static imports and re-exports (as
    L{findImportSpecifiers} describes them) and of each literal dynamic
    C{import("s")}, at any depth.

    A dynamic import whose argument is not a single string literal (a
    variable, a template literal, a second options argument) is left out,
    as is anything in strings, comments and template literal text.

    Never raises; on malformed source it returns what it found.

    @param source: The module's text.
    @return: Every occurrence, in source order (the same specifier may come
        more than once).
    """
    reader = _Reader(source)
    found: list[ImportReference] = []
    previous: _Token | None = None
    while True:
        token = reader.next()
        if token is None:
            break
        kind, value = token[:2]
        atTop = reader.depth == 0
        afterDot = previous is not None and previous.value in (".", "?.")
        previous = token
        if kind != "ident" or afterDot:
            continue
        if value == "import":
            argument = _dynamicImport(reader)
            if argument is not None:
                found.append(
                    ImportReference(
                        argument.value, argument.start + 1, argument.end - 1, True
                    )
                )
                continue
        if not atTop:
            continue
        specifier = None
        if value == "import":
            following = reader.peek()
            if following is None or following[:2] in (("punct", "("), ("punct", ".")):
                continue
            if following.kind == "string":
                reader.next()
                specifier = following
            else:
                specifier = _fromClause(reader, 0)
        elif value == "export":
            following = reader.peek()
            if following is None or following[:2] not in (
                ("punct", "*"),
                ("punct", "{"),
            ):
                continue
            specifier = _fromClause(reader, 0)
        else:
            continue
        previous = None
        if specifier is None or _hasAttributes(reader):
            continue
        found.append(
            ImportReference(specifier.value, specifier.start + 1, specifier.end - 1)
        )
    return found


def findImportSpecifiers(source: str) -> list[str]:
    """
    Find the module specifiers of the static imports of an ECMAScript
    module: C{import x from "s"}, C{import {a} from "s"}, C{import * as n
    from "s"}, C{import "s"}, C{export * from "s"}, C{export {a} from "s"}.

    Dynamic C{import("s")}, C{import.meta}, imports with attributes (JSON
    and CSS modules), and anything in strings, comments, template literals
    or nested blocks are not static imports and are left out.

    Never raises; on malformed source it returns what it found.

    @param source: The module's text.
    @return: The specifiers as written (escapes decoded), in source order,
        each once, without empty or overlong ones.
    """
    found: list[str] = []
    seen: set[str] = set()
    for reference in findImportReferences(source):
        specifier = reference.specifier
        if reference.dynamic or specifier in seen:
            continue
        if 0 < len(specifier) <= MAX_SPECIFIER_LENGTH:
            seen.add(specifier)
            found.append(specifier)
    return found
