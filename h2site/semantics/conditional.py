# -*- test-case-name: tests.test_conditional -*-
"""
Conditional and range requests (RFC 9110 sections 13 and 14), as pure
functions of the request's header values and the representation's
validators.

Why our own and not C{twisted.web}'s: C{Request.setETag} and
C{setLastModified} compare an C{If-None-Match} value as one opaque string
(no lists, no weak comparison, no C{*} rule for C{If-Match}), ignore
C{If-Range} and C{If-Unmodified-Since}, and C{static.File} accepts any number
of overlapping ranges, so C{bytes=0-,0-,0-,0-} multiplies the response.
Keeping the evaluation free of I/O lets every rule be tested directly.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_RANGES",
    "MONTHS",
    "ByteRange",
    "Conditions",
    "Decision",
    "ETag",
    "decide",
    "formatHTTPDate",
    "multipartPieces",
    "parseETag",
    "parseETagList",
    "parseHTTPDate",
    "parseRange",
    "strongMatch",
    "weakMatch",
]

#: More ranges than this (after coalescing) and the C{Range} header is
#: ignored: the whole file is cheaper for both sides than many tiny parts,
#: and it bounds the work one request can ask for.
MAX_RANGES = 16

#: More range-specs than this in the raw header and it is ignored unread.
_MAX_RANGE_SPECS = 256

#: Ranges closer than this are merged: a multipart part header costs about
#: this much, so sending the gap is no dearer than another part.
_COALESCE_GAP = 80


@dataclass(frozen=True)
class ETag:
    """
    An entity tag.

    @ivar opaque: the characters between the double quotes.
    @ivar weak: whether it was written with the C{W/} prefix.
    """

    opaque: str
    weak: bool = False

    def header(self) -> bytes:
        """
        The field value, e.g. C{"abc"} or C{W/"abc"}.
        """
        text = f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'
        return text.encode("ascii")


def _isETagChar(ch: str) -> bool:
    # etagc = %x21 / %x23-7E / obs-text
    code = ord(ch)
    return code == 0x21 or 0x23 <= code <= 0x7E or 0x80 <= code <= 0xFF


def parseETag(value: str) -> ETag | None:
    """
    Parse one entity-tag (surrounding whitespace allowed).

    @return: the tag, or L{None} if C{value} is not an entity-tag.
    """
    value = value.strip(" \t")
    weak = value.startswith("W/")
    if weak:
        value = value[2:]
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return None
    opaque = value[1:-1]
    if not all(_isETagChar(c) for c in opaque):
        return None
    return ETag(opaque, weak)


def parseETagList(value: str) -> tuple[ETag, ...] | Literal["*"] | None:
    """
    Parse an C{If-Match} or C{If-None-Match} field value.

    Entity tags cannot contain commas (C{etagc} excludes nothing but C{"},
    but a comma inside quotes would still split here); list elements that
    are empty are skipped, as RFC 9110 section 5.6.1 requires.

    @return: C{"*"}, the tags, or L{None} if the value is not valid (the
        caller then ignores the field).
    """
    if value.strip(" \t") == "*":
        return "*"
    tags = []
    for element in _splitList(value):
        tag = parseETag(element)
        if tag is None:
            return None
        tags.append(tag)
    if not tags:
        return None
    return tuple(tags)


def _splitList(value: str) -> list[str]:
    """
    Split a comma-separated list, honouring double quotes, dropping empty
    elements.
    """
    elements: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            elements.append("".join(current))
            current = []
        else:
            current.append(ch)
    elements.append("".join(current))
    return [e.strip(" \t") for e in elements if e.strip(" \t")]


def strongMatch(a: ETag, b: ETag) -> bool:
    """
    Strong comparison: both strong and character-for-character equal.
    """
    return not a.weak and not b.weak and a.opaque == b.opaque


def weakMatch(a: ETag, b: ETag) -> bool:
    """
    Weak comparison: the opaque parts are equal, whatever the C{W/}.
    """
    return a.opaque == b.opaque


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
#: Month abbreviations of HTTP dates (and of the Combined Log Format).
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_TIME = r"(\d\d):(\d\d):(\d\d)"
_MONTH = "(" + "|".join(MONTHS) + ")"
_IMF = re.compile(
    r"(?:" + "|".join(_DAYS) + r"), (\d\d) " + _MONTH + r" (\d{4}) " + _TIME + " GMT"
)
_RFC850 = re.compile(
    r"(?:"
    + "|".join(_LONG_DAYS)
    + r"), (\d\d)-"
    + _MONTH
    + r"-(\d\d) "
    + _TIME
    + " GMT"
)
_ASCTIME = re.compile(
    r"(?:" + "|".join(_DAYS) + r") " + _MONTH + r" ( \d|\d\d) " + _TIME + r" (\d{4})"
)


def _timestamp(
    year: int, month: str, day: int, hour: int, minute: int, second: int
) -> int | None:
    if not (hour < 24 and minute < 60 and second < 61):
        return None
    monthNumber = MONTHS.index(month) + 1
    if not 1 <= day <= calendar.monthrange(year, monthNumber)[1]:
        return None
    return calendar.timegm((year, monthNumber, day, hour, minute, min(second, 59)))


def parseHTTPDate(value: str, now: float) -> int | None:
    """
    Parse an HTTP-date in any of the three formats a recipient must accept
    (RFC 9110 section 5.6.7): IMF-fixdate, the obsolete RFC 850 form, and
    asctime.

    @param now: the current time, to place an RFC 850 two-digit year: one
        that would be more than 50 years ahead is taken as the most recent
        past year with those digits.
    @return: seconds since the epoch, or L{None} if C{value} is not an
        HTTP-date (so the caller ignores the field).
    """
    value = value.strip(" \t")
    if m := _IMF.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
        return _timestamp(int(year), month, int(day), int(hh), int(mm), int(ss))
    if m := _RFC850.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        thisYear = time.gmtime(now).tm_year
        year = thisYear - thisYear % 100 + int(yy)
        if year > thisYear + 50:
            year -= 100
        return _timestamp(year, month, int(day), int(hh), int(mm), int(ss))
    if m := _ASCTIME.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
        return _timestamp(int(year), month, int(day), int(hh), int(mm), int(ss))
    return None


def formatHTTPDate(seconds: float) -> str:
    """
    The IMF-fixdate form of a time, e.g. C{Sun, 06 Nov 1994 08:49:37 GMT}.
    """
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} "
        f"{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


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
    elements = _splitList(specs)
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


@dataclass(frozen=True)
class Conditions:
    """
    The request's conditional and range header values, each as the
    comma-joined field value or L{None} when absent.
    """

    ifMatch: str | None = None
    ifNoneMatch: str | None = None
    ifModifiedSince: str | None = None
    ifUnmodifiedSince: str | None = None
    ifRange: str | None = None
    range: str | None = None


@dataclass(frozen=True)
class Decision:
    """
    How to answer: C{status} is 200, 206, 304, 412 or 416; C{ranges} are
    the parts to send with a 206.
    """

    status: int
    ranges: tuple[ByteRange, ...] = ()


def _ifRangeHolds(value: str, etag: ETag, lastModified: int | None, now: float) -> bool:
    """
    RFC 9110 section 13.1.5: a strong entity-tag match, or a date equal to
    a Last-Modified that is itself strong (at least a second in the past).
    """
    tag = parseETag(value)
    if tag is not None:
        return strongMatch(tag, etag)
    date = parseHTTPDate(value, now)
    return (
        date is not None
        and lastModified is not None
        and date == lastModified
        and lastModified <= now - 1
    )


def decide(
    method: bytes,
    conditions: Conditions,
    etag: ETag,
    lastModified: int | None,
    size: int,
    now: float,
    maxRanges: int = MAX_RANGES,
) -> Decision:
    """
    Evaluate preconditions in the order of RFC 9110 section 13.2.2, then
    the range request (section 14).

    @param method: the request method; only C{GET} and C{HEAD} reach here.
    @param etag: the strong entity tag of the selected representation.
    @param lastModified: its modification time in whole seconds, or L{None}
        if it has none (If-Modified-Since and date If-Range then never hold).
    @param size: its length in bytes.
    @param now: the current time.
    """
    # Step 1 and 2: If-Match, else If-Unmodified-Since.
    ifMatch = (
        parseETagList(conditions.ifMatch) if conditions.ifMatch is not None else None
    )
    if ifMatch is not None:
        if ifMatch != "*" and not any(strongMatch(t, etag) for t in ifMatch):
            return Decision(412)
    elif conditions.ifUnmodifiedSince is not None and lastModified is not None:
        date = parseHTTPDate(conditions.ifUnmodifiedSince, now)
        if date is not None and lastModified > date:
            return Decision(412)
    # Step 3 and 4: If-None-Match, else If-Modified-Since.
    ifNoneMatch = (
        parseETagList(conditions.ifNoneMatch)
        if conditions.ifNoneMatch is not None
        else None
    )
    if ifNoneMatch is not None:
        if ifNoneMatch == "*" or any(weakMatch(t, etag) for t in ifNoneMatch):
            return Decision(304 if method in (b"GET", b"HEAD") else 412)
    elif (
        conditions.ifModifiedSince is not None
        and lastModified is not None
        and method in (b"GET", b"HEAD")
    ):
        date = parseHTTPDate(conditions.ifModifiedSince, now)
        # A date in the future is invalid (the client's clock is wrong).
        if date is not None and date <= now and lastModified <= date:
            return Decision(304)
    # Step 5: Range, only for GET, and only if If-Range (when sent) holds.
    if method != b"GET" or conditions.range is None:
        return Decision(200)
    if conditions.ifRange is not None and not _ifRangeHolds(
        conditions.ifRange, etag, lastModified, now
    ):
        return Decision(200)
    ranges = parseRange(conditions.range, size, maxRanges)
    if ranges is None:
        return Decision(200)
    if not ranges:
        return Decision(416)
    return Decision(206, ranges)


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
