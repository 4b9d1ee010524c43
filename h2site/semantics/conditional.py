# -*- test-case-name: tests.unit.semantics.test_conditional -*-
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

from dataclasses import dataclass
from typing import Literal

from h2site.semantics.dates import parseHTTPDate
from h2site.semantics.fields import splitList
from h2site.semantics.ranges import MAX_RANGES, ByteRange, parseRange

__all__ = [
    "Conditions",
    "Decision",
    "ETag",
    "decide",
    "parseETag",
    "parseETagList",
    "strongMatch",
    "weakMatch",
]


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
    for element in splitList(value):
        tag = parseETag(element)
        if tag is None:
            return None
        tags.append(tag)
    if not tags:
        return None
    return tuple(tags)


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
