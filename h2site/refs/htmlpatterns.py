# -*- test-case-name: tests.unit.refs.test_htmltokenizer_states -*-
"""
The regular expressions of L{h2site.refs.htmltokenizer}: each reads one
piece of HTML exactly as the tokenizer's states read it, so that the regular
expression engine, not Python, walks over the characters.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

__all__ = [
    "ATTRIBUTE",
    "EVERY_TOKEN",
    "FOREIGN_TOKEN",
    "SCRIPT_DATA",
    "SCRIPT_ESCAPED",
    "endTagOf",
    "someTokens",
]

# The tokenizer's whitespace; CR counts because the input stream turns it
# into LF before tokenizing.
_WS = "\\t\\n\\f\\r "
_NAME = f"[A-Za-z][^{_WS}/>]*+"
# Possessive everywhere: each attribute is read exactly as the tokenizer's
# states read it (a quote starts a quoted value, to its end or to the end
# of the document), so a tag fails to match only when the document ends
# inside it, and no input makes the engine backtrack.
# (A value written name="value" is tried first only because it is the
# common case; the general form after it reads it the same way.)
_ATTRIBUTES = (
    f'(?:[{_WS}/]*+[^{_WS}/>][^{_WS}/=>]*+(?:="[^"]*+"?'
    f"|[{_WS}]*+=[{_WS}]*+(?:\"[^\"]*+\"?|'[^']*+'?|[^{_WS}>]*+))?+)*+"
)
_TAG_END = f"[{_WS}/]*+>"
_COMMENT = r"<!--(?:-?>|(?s:.*?)--!?>|(?s:.*))"
_DOCTYPE = r"<![Dd][Oo][Cc][Tt][Yy][Pp][Ee][^>]*+>?"
_CDATA = r"<!\[CDATA\[(?s:.*?)(?:\]\]>|\Z)"
_BOGUS = r"(?:<[!?]|</(?=[^A-Za-z]))[^>]*+>?"
# A "<" that starts no markup, and "</" at the very end, are text.
_TEXT = r"(?:[^<]++|<(?![A-Za-z/!?])|</\Z)*+"
#: One attribute, as groups: 1 name, then its value double-quoted (2),
#: single-quoted (3) or unquoted (4), if it has one.
ATTRIBUTE = re.compile(
    f"[{_WS}/]*+([^{_WS}/>][^{_WS}/=>]*+)"
    f"(?:[{_WS}]*+=[{_WS}]*+(?:\"([^\"]*+)\"?|'([^']*+)'?|([^{_WS}>]*+)))?+"
)


def _everyToken(cdata: bool) -> re.Pattern[str]:
    """
    Text, then one token, as groups: 1 text, 2 C{/} of an end tag, 3 tag
    name, 4 attributes, 5 comment, 6 doctype, 7 CDATA section, 8 bogus
    comment, 9 a tag the document ends in; none after text at the end.

    @param cdata: Whether C{<![CDATA[} starts a CDATA section (in SVG and
        MathML) rather than a bogus comment.
    """
    return re.compile(
        f"({_TEXT})(?:<(/?)({_NAME})({_ATTRIBUTES}){_TAG_END}|({_COMMENT})"
        f"|({_DOCTYPE})|({_CDATA if cdata else '(?!)'})|({_BOGUS})"
        r"|(</?[A-Za-z])|\Z)"
    )


#: Text and one token, in HTML content.
EVERY_TOKEN = _everyToken(cdata=False)
#: Text and one token, in SVG and MathML content.
FOREIGN_TOKEN = _everyToken(cdata=True)


def _inClass(char: str) -> str:
    """
    C{char} in both ASCII cases, for a character class.
    """
    return char.upper() + char if "a" <= char <= "z" else re.escape(char)


def _caseless(name: str) -> str:
    """
    A pattern matching C{name} in any ASCII case (and in ASCII case only:
    C{re.IGNORECASE} would let KELVIN SIGN match C{k}).
    """
    return "".join(
        f"[{_inClass(c)}]" if "a" <= c <= "z" else re.escape(c) for c in name
    )


@lru_cache(maxsize=64)
def endTagOf(name: str) -> re.Pattern[str]:
    """
    Where the text content of a C{name} element ends: its end tag's C{</name}
    followed by whitespace, C{/} or C{>}.
    """
    return re.compile(f"</{_caseless(name)}(?=[{_WS}/>])")


#: In a script: where the script data escape states start, and where the
#: script ends unless it is in them.
SCRIPT_DATA = re.compile(f"<!--|</{_caseless('script')}(?=[{_WS}/>])")
#: In those states: where they end, or switch to the double-escaped states
#: (C{<script>}) and back (C{</script>}).
SCRIPT_ESCAPED = re.compile(f"-->|</?{_caseless('script')}(?=[{_WS}/>])")


def _trie(names: Collection[str]) -> dict[str, Any]:
    """
    C{names} as a tree of their letters; C{""} marks where a name ends.
    """
    tree: dict[str, Any] = {}
    for name in names:
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    return tree


def _oneOf(node: dict[str, Any]) -> str:
    """
    A pattern matching exactly the tag names of a trie, in any ASCII case,
    and only as whole names.
    """
    choices = [
        _caseless(char) + _oneOf(child) if char else f"(?![^{_WS}/>])"
        for char, child in sorted(node.items(), reverse=True)
    ]
    return choices[0] if len(choices) == 1 else f"(?:{'|'.join(choices)})"


def _noneOf(node: dict[str, Any], first: bool = True) -> str:
    """
    A pattern matching any tag name but those of a trie.

    A negative lookahead on the names costs every tag a try of each name;
    this walks the trie once, choosing each branch by one character class.
    """
    letters = "".join(_inClass(char) for char in node if char)
    choices = [
        _caseless(char) + _noneOf(child, False) for char, child in node.items() if char
    ]
    if first:
        # A tag name starts with an ASCII letter.
        others = "".join(c for c in _ASCII_LETTERS if c not in letters)
        choices.append(f"[{others}][^{_WS}/>]*+")
    else:
        choices.append(f"[^{_WS}/>{letters}][^{_WS}/>]*+")
        if "" not in node:
            choices.append(f"(?![^{_WS}/>])")
    return f"(?>{'|'.join(choices)})"


_ASCII_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=64)
def someTokens(names: frozenset[str]) -> re.Pattern[str]:
    """
    Everything up to one tag named in C{names}, as groups: 1 what is
    skipped (text, other tags, comments, doctypes), 2 C{/} of an end tag, 3
    tag name, 4 attributes, 5 a tag the document ends in; none after what
    is skipped at the end.
    """
    trie = _trie(names)
    skipped = (
        f"(?:[^<]++|</?+{_noneOf(trie)}{_ATTRIBUTES}{_TAG_END}"
        f"|{_COMMENT}|{_DOCTYPE}|{_BOGUS}|<(?![A-Za-z/!?])|</\\Z)*+"
    )
    return re.compile(
        f"({skipped})(?:<(/?)({_oneOf(trie)})({_ATTRIBUTES}){_TAG_END}"
        r"|(</?[A-Za-z])|\Z)"
    )
