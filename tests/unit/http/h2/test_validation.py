"""
Tests for L{h2site.http.h2.validation}: request header fields checked as
RFC 9113 requires, and as C{h2} itself would.
"""

from __future__ import annotations

from h2.exceptions import ProtocolError
from h2.utilities import HeaderValidationFlags, validate_headers
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.validation import checkRequestHeaders
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
