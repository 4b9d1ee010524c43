"""
Tests for L{h2site.http.h2.validation}: request header fields checked as
RFC 9113 requires, and as C{h2} itself would, then read into a request.
"""

from __future__ import annotations

from h2.exceptions import ProtocolError
from h2.utilities import HeaderValidationFlags, validate_headers
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.validation import checkRequestHeaders, readRequestFields
from h2site.http.limits import ConnectionLimits
from tests.h2client import requestHeaders

_PLAIN = requestHeaders("/")


_FLAGS = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)


_TRAILER_FLAGS = _FLAGS._replace(is_trailer=True)


def _h2Accepts(
    headers: list[tuple[bytes, bytes]], flags: HeaderValidationFlags
) -> bool:
    try:
        list(validate_headers(headers, flags))
    except ProtocolError:
        return False
    return True


def _weAccept(headers: list[tuple[bytes, bytes]], trailers: bool = False) -> bool:
    try:
        checkRequestHeaders(headers, trailers=trailers)
    except ProtocolError:
        return False
    return True


_names = st.sampled_from(
    [
        b":method",
        b":path",
        b":scheme",
        b":authority",
        b":status",
        b":protocol",
        b":other",
        b":",
        b"host",
        b"te",
        b"connection",
        b"keep-alive",
        b"accept",
        b"Accept",
        b"x-a:b",
        b"",
        b"a b",
        b"\xff",
        b"content-length",
    ]
)


_values = st.sampled_from(
    [
        b"GET",
        b"CONNECT",
        b"/",
        b"",
        b"https",
        b"localhost",
        b"other",
        b"trailers",
        b"gzip",
        b" lead",
        b"trail\t",
        b"a\x00b",
        b"a\rb",
        b"a\nb",
        b"1",
    ]
)


class CheckRequestHeadersTests(SynchronousTestCase):
    """
    L{checkRequestHeaders} makes the checks of C{h2}'s
    C{validate_inbound_headers}, which h2site turns off for speed.
    """

    def test_plainRequest(self) -> None:
        """
        An ordinary request passes.
        """
        checkRequestHeaders([*_PLAIN, (b"accept", b"*/*"), (b"te", b"trailers")])

    def test_malformed(self) -> None:
        """
        Each kind of malformed request is refused.
        """
        cases = [
            [*_PLAIN, (b"Accept", b"x")],
            [*_PLAIN, (b"connection", b"close")],
            [*_PLAIN, (b"te", b"gzip")],
            [*_PLAIN, (b"", b"x")],
            [*_PLAIN, (b"x", b" padded")],
            [*_PLAIN, (b"x", b"new\nline")],
            [(b"accept", b"x"), *_PLAIN],
            [*_PLAIN, (b":path", b"/again")],
            [*_PLAIN[:3]],
            [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a")],
            [(b":method", b"GET"), (b":path", b""), (b":scheme", b"https")],
            [*_PLAIN, (b"host", b"elsewhere")],
            [*_PLAIN, (b"host", b"localhost"), (b"host", b"localhost")],
            [*_PLAIN, (b":status", b"200")],
        ]
        for headers in cases:
            self.assertFalse(_weAccept(headers), headers)
            self.assertFalse(_h2Accepts(headers, _FLAGS), headers)

    def test_remembered(self) -> None:
        """
        A field found valid once is not looked at again, but a request is
        still judged whole: a field valid before does not excuse a repeated
        C{Host}, a misplaced pseudo-header or an invalid field beside it.
        """
        base = [*requestHeaders("/"), (b"accept", b"*/*")]
        checkRequestHeaders(base)
        checkRequestHeaders(base)
        for bad in [
            [*base, (b"host", b"localhost"), (b"host", b"localhost")],
            [*base, (b":path", b"/")],
            [*base, (b"accept", b" x")],
            [*base, (b"Accept", b"*/*")],
        ]:
            with self.assertRaises(ProtocolError):
                checkRequestHeaders(bad)

    def test_trailers(self) -> None:
        """
        Trailers may hold no pseudo-header field.
        """
        self.assertTrue(_weAccept([(b"x-checksum", b"1")], trailers=True))
        self.assertFalse(_weAccept([(b":path", b"/")], trailers=True))

    @given(st.lists(st.tuples(_names, _values), max_size=8))
    def test_agreesWithH2(self, headers: list[tuple[bytes, bytes]]) -> None:
        """
        For any header list, ours and C{h2}'s checks give the same verdict,
        for requests and for trailers.
        """
        self.assertEqual(_weAccept(headers), _h2Accepts(headers, _FLAGS))
        self.assertEqual(
            _weAccept(headers, trailers=True), _h2Accepts(headers, _TRAILER_FLAGS)
        )


def _read(
    fields: list[tuple[bytes, bytes]], limits: ConnectionLimits | None = None
) -> tuple[list[tuple[bytes, bytes]], tuple[bytes, bytes, int | None, bytes | None]]:
    added: list[tuple[bytes, bytes]] = []
    result = readRequestFields(
        fields, lambda name, value: added.append((name, value)), limits or _LIMITS
    )
    return added, result


_LIMITS = ConnectionLimits(maxLineLength=20, maxRequestBodySize=1000)


class ReadRequestFieldsTests(SynchronousTestCase):
    """
    L{readRequestFields} gives a C{twisted.web} request the fields an
    HTTP/1.1 request would have, and names the status of a request h2site
    does not serve.
    """

    def test_plain(self) -> None:
        """
        Pseudo-header fields become the method and path, C{:authority}
        becomes C{Host}, the other fields are kept in order.
        """
        added, result = _read([*_PLAIN, (b"accept", b"*/*")])
        self.assertEqual(result, (b"GET", b"/", None, None))
        self.assertEqual(added, [(b"accept", b"*/*"), (b"host", b"localhost")])

    def test_hostKept(self) -> None:
        """
        A C{Host} field is kept as it is, and no second one is added.
        """
        fields = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/")]
        added, result = _read([*fields, (b"host", b"example.org")])
        self.assertEqual(added, [(b"host", b"example.org")])
        self.assertIsNone(result[3])

    def test_cookieCrumbs(self) -> None:
        """
        C{Cookie} crumbs are joined into one field, after the others.
        """
        fields = [*_PLAIN, (b"cookie", b"a=1"), (b"x", b"y"), (b"cookie", b"b=2")]
        added, _ = _read(fields)
        self.assertEqual(
            added, [(b"x", b"y"), (b"host", b"localhost"), (b"cookie", b"a=1; b=2")]
        )

    def test_length(self) -> None:
        """
        C{Content-Length} is read as a number, and is a 400 when it is not
        one, a 413 when it is over the limit.
        """
        for value, length, status in [
            (b"10", 10, None),
            (b"1000", 1000, None),
            (b"1001", 1001, b"413"),
            (b"-1", -1, b"400"),
            (b"1e3", -1, b"400"),
            (b"", -1, b"400"),
        ]:
            added, result = _read([*_PLAIN, (b"content-length", value)])
            self.assertEqual(result[2:], (length, status), value)
            self.assertIn((b"content-length", value), added)

    def test_refused(self) -> None:
        """
        CONNECT gets 405, a path over the line limit 414, an authority or
        host that is not a host 400; the first reason found is given.
        """
        cases: list[tuple[list[tuple[bytes, bytes]], bytes]] = [
            ([(b":method", b"CONNECT"), (b":authority", b"example.org:443")], b"405"),
            ([*requestHeaders("/" + "a" * 20)], b"414"),
            ([*requestHeaders("/", authority="exa mple.org")], b"400"),
            (
                [
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":path", b"/"),
                    (b"host", b"a/b"),
                ],
                b"400",
            ),
            ([*requestHeaders("/" + "a" * 20, authority="a b")], b"414"),
        ]
        for fields, status in cases:
            self.assertEqual(_read(fields)[1][3], status, fields)
