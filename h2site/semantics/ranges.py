# -*- test-case-name: tests.unit.semantics.test_conditional -*-
"""
Byte ranges (RFC 9110 section 14): reading a C{Range} header into the
ranges worth sending, and the pieces of a multipart/byteranges body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from h2site.semantics.fields import splitList

__all__ = ["MAX_RANGES", "ByteRange", "multipartPieces", "parseRange"]

#: More ranges than this (after coalescing) and the C{Range} header is
#: ignored: the whole file is cheaper for both sides than many tiny parts,
#: and it bounds the work one request can ask for.
MAX_RANGES = 16


#: More range-specs than this in the raw header and it is ignored unread.
_MAX_RANGE_SPECS = 256


#: Ranges closer than this are merged: a multipart part header costs about
#: this much, so sending the gap is no dearer than another part.
_COALESCE_GAP = 80


@dataclass(frozen=True, order=True)
class ByteRange:
    """
    Bytes C{first} to C{last} of a representation, both included.
    """

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def contentRange(self, size: int) -> bytes:
        """
        The C{Content-Range} value for this range of a C{size}-byte body.
        """
        return b"bytes %d-%d/%d" % (self.first, self.last, size)


_RANGE_SPEC = re.compile(r"(\d*)[ \t]*-[ \t]*(\d*)")


def parseRange(
    value: str, size: int, maxRanges: int = MAX_RANGES
) -> tuple[ByteRange, ...] | None:
    """
    Read a C{Range} field value for a C{size}-byte representation.

    Satisfiable ranges are clipped to the representation, sorted, and
    coalesced when they overlap or lie within a part header's size of each
    other (RFC 9110 section 14.2 allows this regardless of their order);
    the rest are dropped.

    @return: L{None} when the field must be ignored (not C{bytes}, invalid
        syntax, or more than C{maxRanges} ranges after coalescing), so the
        whole representation is sent; an empty tuple when no range is
        satisfiable (416); else the ranges to send (206).
    """
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes":
        return None
    elements = splitList(specs)
    if not elements or len(elements) > _MAX_RANGE_SPECS:
        return None
    ranges: list[ByteRange] = []
    for element in elements:
        m = _RANGE_SPEC.fullmatch(element)
        if m is None:
            return None
        first, last = m.groups()
        if first:
            start = int(first)
            if last:
                end = int(last)
                if end < start:
                    return None
            else:
                end = size - 1
            if start < size:
                ranges.append(ByteRange(start, min(end, size - 1)))
        elif last:
            suffix = int(last)
            if suffix > 0 and size > 0:
                ranges.append(ByteRange(max(size - suffix, 0), size - 1))
        else:
            return None
    merged: list[ByteRange] = []
    for r in sorted(ranges):
        if merged and r.first <= merged[-1].last + 1 + _COALESCE_GAP:
            merged[-1] = ByteRange(merged[-1].first, max(merged[-1].last, r.last))
        else:
            merged.append(r)
    if len(merged) > maxRanges:
        return None
    return tuple(merged)


def multipartPieces(
    ranges: tuple[ByteRange, ...], size: int, contentType: bytes, boundary: bytes
) -> tuple[list[bytes | ByteRange], int]:
    """
    The body of a C{multipart/byteranges} response (RFC 9110 section
    14.6), as literal pieces and ranges of the representation to copy.

    @return: the pieces in order, and the total body length (for
        C{Content-Length}).
    """
    pieces: list[bytes | ByteRange] = []
    total = 0
    for index, r in enumerate(ranges):
        head = (
            (b"\r\n" if index else b"")
            + b"--"
            + boundary
            + b"\r\nContent-Type: "
            + contentType
            + b"\r\nContent-Range: "
            + r.contentRange(size)
            + b"\r\n\r\n"
        )
        pieces += [head, r]
        total += len(head) + r.length
    tail = b"\r\n--" + boundary + b"--\r\n"
    pieces.append(tail)
    return pieces, total + len(tail)
