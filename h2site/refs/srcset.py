# -*- test-case-name: tests.unit.refs.test_srcset -*-
"""
Where the URLs of a C{srcset} (or C{imagesrcset}) attribute are, read with
the HTML standard's "parse a srcset attribute" algorithm, so that each
candidate's URL can get a fingerprint without touching its descriptors.

The algorithm's corners decide where a URL ends: a URL is everything up to
whitespace, so C{a.png,b.png} is one URL, but trailing commas are not part
of it (C{a.png, b.png}); a descriptor list ends at the first comma outside
parentheses.
"""

from __future__ import annotations

import re

__all__ = ["srcsetURLs"]

_SEPARATORS = re.compile("[\t\n\f\r ,]*+")
_URL = re.compile("[^\t\n\f\r ]++")
# What follows a URL: descriptors up to a comma that is not inside
# parentheses (an unclosed one runs to the end), and that comma.
_DESCRIPTORS = re.compile(r"(?:[^,(]++|\([^)]*+\)?+)*+,?+")


def _matchEnd(pattern: re.Pattern[str], value: str, position: int) -> int:
    """
    Where C{pattern}, which matches anywhere (perhaps nothing), ends when
    matched at C{position}.
    """
    match = pattern.match(value, position)
    return position if match is None else match.end()


def srcsetURLs(value: str) -> list[tuple[int, int]]:
    """
    The URLs of the image candidates of a C{srcset} value.

    Candidates whose descriptors a browser would reject are included: the
    URL is where it is either way, and a fingerprint on a URL no one
    fetches changes nothing.

    @param value: The attribute's value.
    @return: The C{(start, end)} of each candidate's URL in C{value}, in
        order.
    """
    spans: list[tuple[int, int]] = []
    size = len(value)
    position = 0
    while True:
        position = _matchEnd(_SEPARATORS, value, position)
        if position >= size:
            return spans
        start = position
        end = _matchEnd(_URL, value, start)
        if value[end - 1] == ",":
            position = end
            end = start + len(value[start:end].rstrip(","))
        else:
            position = _matchEnd(_DESCRIPTORS, value, end)
        spans.append((start, end))
