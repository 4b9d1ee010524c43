"""
Tests for L{h2site.semantics.conditional}: RFC 9110 conditional and range requests.
"""

from __future__ import annotations

import email.utils
import itertools

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.semantics.conditional import (
    Conditions,
    ETag,
    decide,
    parseETag,
    parseETagList,
    strongMatch,
    weakMatch,
)
from h2site.semantics.dates import formatHTTPDate, parseHTTPDate
from h2site.semantics.ranges import MAX_RANGES, ByteRange, multipartPieces, parseRange

NOW = 1_700_000_000.0
MODIFIED = 1_600_000_000
TAG = ETag("abc")
MODIFIED_DATE = formatHTTPDate(MODIFIED)
BEFORE = formatHTTPDate(MODIFIED - 10)
AFTER = formatHTTPDate(MODIFIED + 10)


def _decide(
    method: bytes = b"GET", size: int = 1000, **kw: str
) -> tuple[int, tuple[ByteRange, ...]]:
    d = decide(method, Conditions(**kw), TAG, MODIFIED, size, NOW)
    return d.status, d.ranges


class ETagTests(SynchronousTestCase):
    def test_parseStrongAndWeak(self) -> None:
        """
        A quoted opaque string is a strong tag; C{W/} makes it weak.
        """
        self.assertEqual(parseETag('"x"'), ETag("x"))
        self.assertEqual(parseETag(' W/"x" '), ETag("x", weak=True))
        self.assertEqual(parseETag('""'), ETag(""))

    def test_parseInvalid(self) -> None:
        """
        Unquoted values, a lone quote, lower-case C{w/} and characters
        outside C{etagc} are not entity tags.
        """
        for value in ["x", '"', 'w/"x"', '"a"b"', '"a b"', '"a\x7f"', ""]:
            self.assertIsNone(parseETag(value), value)

    def test_header(self) -> None:
        """
        A tag formats back to its field value.
        """
        self.assertEqual(ETag("x").header(), b'"x"')
        self.assertEqual(ETag("x", True).header(), b'W/"x"')

    @given(
        st.text(alphabet=st.characters(min_codepoint=0x23, max_codepoint=0x7E)),
        st.booleans(),
    )
    def test_roundTrip(self, opaque: str, weak: bool) -> None:
        """
        Every tag h2site could send parses back to itself.
        """
        tag = ETag(opaque, weak)
        self.assertEqual(parseETag(tag.header().decode()), tag)

    def test_list(self) -> None:
        """
        Lists split on commas outside quotes, skip empty elements, and C{*}
        stands alone; any invalid element invalidates the field.
        """
        self.assertEqual(parseETagList("*"), "*")
        self.assertEqual(parseETagList(' "a", ,W/"b" '), (ETag("a"), ETag("b", True)))
        self.assertEqual(parseETagList('"a,b"'), (ETag("a,b"),))
        self.assertIsNone(parseETagList('"a", b'))
        self.assertIsNone(parseETagList(" , "))
        self.assertIsNone(parseETagList('*, "a"'))

    def test_comparison(self) -> None:
        """
        The table of RFC 9110 section 8.8.3.2.
        """
        w1, w2, s1 = ETag("1", True), ETag("2", True), ETag("1")
        self.assertFalse(strongMatch(w1, w1))
        self.assertTrue(weakMatch(w1, w1))
        self.assertFalse(strongMatch(w1, w2))
        self.assertFalse(weakMatch(w1, w2))
        self.assertFalse(strongMatch(w1, s1))
        self.assertTrue(weakMatch(w1, s1))
        self.assertTrue(strongMatch(s1, s1))
        self.assertTrue(weakMatch(s1, s1))


class DateTests(SynchronousTestCase):
    def test_threeFormats(self) -> None:
        """
        The IMF-fixdate, RFC 850 and asctime forms of RFC 9110's example all
        read as the same moment.
        """
        expected = 784111777
        self.assertEqual(parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT", NOW), expected)
        self.assertEqual(
            parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT", 784111777.0), expected
        )
        self.assertEqual(parseHTTPDate("Sun Nov  6 08:49:37 1994", NOW), expected)

    def test_rfc850Century(self) -> None:
        """
        A two-digit year more than 50 years ahead is in the past century.
        """
        now = parseHTTPDate("Sun, 06 Nov 2023 00:00:00 GMT", 0)
        assert now is not None
        self.assertEqual(
            parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT", now), 784111777
        )
        self.assertEqual(
            time_year(parseHTTPDate("Monday, 06-Nov-30 08:49:37 GMT", now)), 2030
        )

    def test_invalid(self) -> None:
        """
        Anything else is not a date: wrong zone, bad day, lower case, a list.
        """
        for value in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "sun, 06 nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
            "1994-11-06",
            "",
        ]:
            self.assertIsNone(parseHTTPDate(value, NOW), value)

    @given(st.integers(min_value=0, max_value=253402300799))
    def test_formatRoundTrip(self, seconds: int) -> None:
        """
        Every formatted date parses back, and agrees with the standard
        library's formatting.
        """
        text = formatHTTPDate(seconds)
        self.assertEqual(parseHTTPDate(text, NOW), seconds)
        self.assertEqual(text, email.utils.formatdate(seconds, usegmt=True))


def time_year(seconds: int | None) -> int:
    import time

    assert seconds is not None
    return time.gmtime(seconds).tm_year


class RangeTests(SynchronousTestCase):
    def test_forms(self) -> None:
        """
        First-last, open-ended and suffix ranges, clipped to the body.
        """
        self.assertEqual(parseRange("bytes=0-9", 100), (ByteRange(0, 9),))
        self.assertEqual(parseRange("bytes=90-", 100), (ByteRange(90, 99),))
        self.assertEqual(parseRange("bytes=-10", 100), (ByteRange(90, 99),))
        self.assertEqual(parseRange("bytes=-1000", 100), (ByteRange(0, 99),))
        self.assertEqual(parseRange("bytes=50-1000", 100), (ByteRange(50, 99),))
        self.assertEqual(parseRange("BYTES = 1 - 2", 100), (ByteRange(1, 2),))

    def test_ignored(self) -> None:
        """
        Other units and invalid syntax make the field ignored (L{None}).
        """
        for value in [
            "items=0-1",
            "bytes",
            "bytes=",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=0-1;x",
            "bytes=0-1,foo",
        ]:
            self.assertIsNone(parseRange(value, 100), value)

    def test_unsatisfiable(self) -> None:
        """
        Ranges that start past the end, or a zero suffix, leave nothing to
        send: an empty tuple (416).  On an empty body every range is.
        """
        self.assertEqual(parseRange("bytes=100-", 100), ())
        self.assertEqual(parseRange("bytes=-0", 100), ())
        self.assertEqual(parseRange("bytes=0-", 0), ())
        self.assertEqual(parseRange("bytes=-5", 0), ())
        self.assertEqual(parseRange("bytes=200-300,-0", 100), ())

    def test_unsatisfiableDropped(self) -> None:
        """
        Unsatisfiable ranges among satisfiable ones are dropped.
        """
        self.assertEqual(parseRange("bytes=500-,0-0", 100), (ByteRange(0, 0),))

    def test_overlapCoalesced(self) -> None:
        """
        The amplification attack: C{bytes=0-,0-,0-,0-} is one range, the
        whole body once.
        """
        self.assertEqual(
            parseRange("bytes=0-,0-,0-,0-", 100_000), (ByteRange(0, 99_999),)
        )

    def test_nearbyCoalescedDistantKept(self) -> None:
        """
        Ranges closer than a part header merge; distant ones stay separate,
        in ascending order whatever order they were asked in.
        """
        self.assertEqual(
            parseRange("bytes=5000-5009,0-9,20-29", 10_000),
            (ByteRange(0, 29), ByteRange(5000, 5009)),
        )

    def test_tooMany(self) -> None:
        """
        More than L{MAX_RANGES} separate ranges: the whole body instead.
        """
        specs = ",".join(f"{i * 1000}-{i * 1000}" for i in range(MAX_RANGES + 1))
        self.assertIsNone(parseRange("bytes=" + specs, 1_000_000))
        specs = ",".join(f"{i * 1000}-{i * 1000}" for i in range(MAX_RANGES))
        ranges = parseRange("bytes=" + specs, 1_000_000)
        assert ranges is not None
        self.assertEqual(len(ranges), MAX_RANGES)

    @given(
        st.integers(min_value=0, max_value=10_000),
        st.lists(
            st.tuples(
                st.one_of(st.none(), st.integers(0, 20_000)),
                st.one_of(st.none(), st.integers(0, 20_000)),
            ),
            min_size=1,
            max_size=40,
        ),
    )
    def test_bounded(
        self, size: int, specs: list[tuple[int | None, int | None]]
    ) -> None:
        """
        Whatever is asked, the ranges sent lie inside the body, are sorted,
        do not overlap, number at most L{MAX_RANGES}, and so add up to no
        more than the body.
        """
        text = ",".join(
            f"{'' if a is None else a}-{'' if b is None else b}" for a, b in specs
        )
        ranges = parseRange("bytes=" + text, size)
        if not ranges:
            return
        self.assertLessEqual(len(ranges), MAX_RANGES)
        self.assertLessEqual(sum(r.length for r in ranges), size)
        for r in ranges:
            self.assertTrue(0 <= r.first <= r.last < size)
        for a, b in itertools.pairwise(ranges):
            self.assertLess(a.last + 1, b.first)


class DecideTests(SynchronousTestCase):
    def test_plain(self) -> None:
        """
        No conditions: 200.
        """
        self.assertEqual(_decide(), (200, ()))

    def test_ifNoneMatch(self) -> None:
        """
        A weak match anywhere in the list, or C{*}, is 304 for GET and HEAD.
        """
        self.assertEqual(_decide(ifNoneMatch='"x", W/"abc"')[0], 304)
        self.assertEqual(_decide(b"HEAD", ifNoneMatch="*")[0], 304)
        self.assertEqual(_decide(ifNoneMatch='"x"')[0], 200)
        self.assertEqual(_decide(ifNoneMatch="garbage")[0], 200)

    def test_ifNoneMatchBeatsIfModifiedSince(self) -> None:
        """
        If-Modified-Since is ignored when If-None-Match is present.
        """
        self.assertEqual(_decide(ifNoneMatch='"x"', ifModifiedSince=AFTER)[0], 200)

    def test_ifModifiedSince(self) -> None:
        """
        Not modified since the date: 304; modified after it: 200; a date in
        the future or not a date: ignored.
        """
        self.assertEqual(_decide(ifModifiedSince=MODIFIED_DATE)[0], 304)
        self.assertEqual(_decide(ifModifiedSince=AFTER)[0], 304)
        self.assertEqual(_decide(ifModifiedSince=BEFORE)[0], 200)
        self.assertEqual(_decide(ifModifiedSince=formatHTTPDate(NOW + 100))[0], 200)
        self.assertEqual(_decide(ifModifiedSince="yesterday")[0], 200)

    def test_ifMatch(self) -> None:
        """
        If-Match needs a strong match (or C{*}), else 412; it wins over
        If-Unmodified-Since.
        """
        self.assertEqual(_decide(ifMatch='"abc"')[0], 200)
        self.assertEqual(_decide(ifMatch="*")[0], 200)
        self.assertEqual(_decide(ifMatch='W/"abc"')[0], 412)
        self.assertEqual(_decide(ifMatch='"x"')[0], 412)
        self.assertEqual(_decide(ifMatch='"abc"', ifUnmodifiedSince=BEFORE)[0], 200)

    def test_ifUnmodifiedSince(self) -> None:
        """
        Modified after the date: 412.
        """
        self.assertEqual(_decide(ifUnmodifiedSince=BEFORE)[0], 412)
        self.assertEqual(_decide(ifUnmodifiedSince=MODIFIED_DATE)[0], 200)
        self.assertEqual(_decide(ifUnmodifiedSince="nonsense")[0], 200)

    def test_preconditionFailedBeforeNotModified(self) -> None:
        """
        Step 1 comes before step 3: a failed If-Match is 412 even when
        If-None-Match would give 304.
        """
        self.assertEqual(_decide(ifMatch='"x"', ifNoneMatch='"abc"')[0], 412)

    def test_range(self) -> None:
        """
        A Range on GET is 206 with the ranges, 416 when unsatisfiable; it is
        ignored on HEAD.
        """
        self.assertEqual(_decide(range="bytes=0-9"), (206, (ByteRange(0, 9),)))
        self.assertEqual(_decide(range="bytes=2000-")[0], 416)
        self.assertEqual(_decide(b"HEAD", range="bytes=0-9")[0], 200)

    def test_ifRange(self) -> None:
        """
        If-Range with the current strong tag or the exact Last-Modified date
        keeps the range; anything else (a weak tag, another tag, another
        date) means the whole body.
        """
        self.assertEqual(_decide(range="bytes=0-9", ifRange='"abc"')[0], 206)
        self.assertEqual(_decide(range="bytes=0-9", ifRange=MODIFIED_DATE)[0], 206)
        self.assertEqual(_decide(range="bytes=0-9", ifRange='W/"abc"')[0], 200)
        self.assertEqual(_decide(range="bytes=0-9", ifRange='"old"')[0], 200)
        self.assertEqual(_decide(range="bytes=0-9", ifRange=AFTER)[0], 200)

    def test_ifRangeWeakDate(self) -> None:
        """
        A Last-Modified within the last second is weak: it cannot validate
        If-Range.
        """
        d = decide(
            b"GET",
            Conditions(range="bytes=0-1", ifRange=formatHTTPDate(NOW)),
            TAG,
            int(NOW),
            10,
            NOW,
        )
        self.assertEqual(d.status, 200)

    def test_noLastModified(self) -> None:
        """
        Without a Last-Modified (pages), date conditions never hold.
        """
        d = decide(b"GET", Conditions(ifModifiedSince=AFTER), TAG, None, 10, NOW)
        self.assertEqual(d.status, 200)

    def test_notModifiedBeforeRange(self) -> None:
        """
        A matching If-None-Match answers 304 even with a Range.
        """
        self.assertEqual(_decide(ifNoneMatch='"abc"', range="bytes=0-1")[0], 304)


class MultipartTests(SynchronousTestCase):
    def test_body(self) -> None:
        """
        Each part has its Content-Type and Content-Range; the length counts
        every byte.
        """
        body = bytes(range(100))
        pieces, length = multipartPieces(
            (ByteRange(0, 1), ByteRange(50, 52)), 100, b"text/plain", b"BOUND"
        )
        data = b"".join(
            p if isinstance(p, bytes) else body[p.first : p.last + 1] for p in pieces
        )
        self.assertEqual(len(data), length)
        self.assertEqual(
            data,
            b"--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/100"
            b"\r\n\r\n\x00\x01\r\n--BOUND\r\nContent-Type: text/plain\r\n"
            b"Content-Range: bytes 50-52/100\r\n\r\n234\r\n--BOUND--\r\n",
        )
