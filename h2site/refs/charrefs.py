# -*- test-case-name: tests.unit.refs.test_charrefs -*-
"""
Decode an HTML attribute value as a browser does: character references
(C{&amp;}, C{&#x2F;}), NUL, and line breaks normalised as the input stream
normalises them.

Python's C{html.unescape} is close but not the same: it decodes C{&copy=}
in an attribute, which HTML leaves alone so that query strings written
without C{&amp;} keep working, and it drops some code points HTML keeps.
A reference that decodes differently from a browser would make h2site
announce or fingerprint a URL the page never requests.
"""

from __future__ import annotations

import re
from html.entities import html5

__all__ = ["decodeAttributeValue"]

# A numeric reference, or the longest run of letters and digits that may
# start a named one (the longest name in the table is 32 characters).
_REFERENCE = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z0-9]+;?))")

# The numeric character reference end state's replacements: code points
# 0x80 to 0x9F mean their windows-1252 characters.
_C1_REPLACEMENTS = {
    0x80: "\u20ac",
    0x82: "\u201a",
    0x83: "\u0192",
    0x84: "\u201e",
    0x85: "\u2026",
    0x86: "\u2020",
    0x87: "\u2021",
    0x88: "\u02c6",
    0x89: "\u2030",
    0x8A: "\u0160",
    0x8B: "\u2039",
    0x8C: "\u0152",
    0x8E: "\u017d",
    0x91: "\u2018",
    0x92: "\u2019",
    0x93: "\u201c",
    0x94: "\u201d",
    0x95: "\u2022",
    0x96: "\u2013",
    0x97: "\u2014",
    0x98: "\u02dc",
    0x99: "\u2122",
    0x9A: "\u0161",
    0x9B: "\u203a",
    0x9C: "\u0153",
    0x9E: "\u017e",
    0x9F: "\u0178",
}

_LONGEST_NAME = max(map(len, html5))

_ALPHANUMERIC = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)


def _numeric(digits: str, base: int) -> str:
    """
    The character a numeric reference stands for: U+FFFD for NUL,
    surrogates and what is past Unicode, windows-1252 for C1 controls.
    """
    digits = digits.lstrip("0")
    # Checking the length first keeps int() away from huge inputs (and
    # from Python's limit on the digits it converts).
    if len(digits) > 8:
        return "\ufffd"
    number = int(digits or "0", base)
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return "\ufffd"
    return _C1_REPLACEMENTS.get(number) or chr(number)


def _replace(match: re.Match[str]) -> str:
    """
    What one reference in an attribute value decodes to.
    """
    hexadecimal, decimal, name = match.groups()
    if hexadecimal is not None:
        return _numeric(hexadecimal, 16)
    if decimal is not None:
        return _numeric(decimal, 10)
    assert name is not None
    # The longest name in the table that the text starts with.
    for length in range(min(len(name), _LONGEST_NAME), 1, -1):
        replacement = html5.get(name[:length])
        if replacement is None:
            continue
        if name[length - 1] != ";":
            # Without its semicolon, a reference followed by "=" or a letter
            # or digit is left as written in attributes.
            following = name[length : length + 1]
            if not following:
                end = match.end()
                following = match.string[end : end + 1]
            if following == "=" or following in _ALPHANUMERIC:
                return match.group()
        return replacement + name[length:]
    return match.group()


def decodeAttributeValue(raw: str) -> str:
    """
    The value of an attribute written as C{raw} (what is between its
    quotes), as the DOM holds it.

    @param raw: The text as it is in the document.
    @return: C{raw} itself when there is nothing to decode, which is the
        common case and costs one scan.
    """
    if "&" not in raw and "\0" not in raw and "\r" not in raw:
        return raw
    # The input stream turns CR LF and lone CR into LF before tokenizing;
    # references are decoded after that, so "&#13;" stays a CR.
    value = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    return _REFERENCE.sub(_replace, value)
