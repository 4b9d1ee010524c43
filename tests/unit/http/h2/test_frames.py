"""
Tests for L{h2site.http.h2.frames}: HPACK encoding of response fields, the
frames built without C{h2}, and how a pass's frames reach the transport.
"""

from __future__ import annotations

from hpack import Decoder
from hyperframe.frame import HeadersFrame
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.frames import (
    END_HEADERS,
    END_STREAM,
    WRITE_PIECE,
    FieldEncoder,
    headersFrame,
    writeInPieces,
)
from tests.h2client import FrameReader

_fieldNames = st.one_of(
    st.sampled_from([b":status", b"content-type", b"date", b"etag", b"link", b"vary"]),
    st.binary(min_size=1, max_size=40).map(lambda b: b.lower()),
)


class FieldEncoderTests(SynchronousTestCase):
    """
    L{FieldEncoder} produces HPACK that any decoder reads back, without
    touching the dynamic table.
    """

    @given(st.lists(st.tuples(_fieldNames, st.binary(max_size=300)), max_size=12))
    def test_roundTrip(self, fields: list[tuple[bytes, bytes]]) -> None:
        """
        A decoder reads the fields back in order, and its dynamic table stays
        empty (so blocks can be reused whatever was sent before).
        """
        encoder = FieldEncoder(maxCached=5)
        decoder = Decoder()
        for _ in range(2):
            block = encoder.encode(fields)
            self.assertEqual(decoder.decode(block, raw=True), fields)
        self.assertEqual(len(decoder.header_table.dynamic_entries), 0)

    def test_compact(self) -> None:
        """
        A field in the static table is one byte; a known name costs one byte
        plus its value (Huffman-coded when shorter).
        """
        encoder = FieldEncoder()
        self.assertEqual(encoder.encode([(b":status", b"200")]), b"\x88")
        # Name index 28 takes two bytes in a 4-bit prefix, then one byte of
        # length and six digits in five Huffman-coded bytes.
        self.assertEqual(len(encoder.encode([(b"content-length", b"165888")])), 8)
        self.assertEqual(encoder.encode([(b"x-a", b"\x00")]), b"\x00\x03x-a\x01\x00")


class HeadersFrameTests(SynchronousTestCase):
    """
    L{headersFrame} frames a whole header block as any HTTP/2 peer reads it.
    """

    def test_readBack(self) -> None:
        """
        The frame's type, flags, stream and block are what was asked for.
        """
        block = FieldEncoder().encode([(b":status", b"103"), (b"link", b"</a>")])
        for flags, names in [
            (END_HEADERS, {"END_HEADERS"}),
            (END_HEADERS | END_STREAM, {"END_HEADERS", "END_STREAM"}),
        ]:
            (frame,) = FrameReader().feed(headersFrame(7, block, flags))
            assert isinstance(frame, HeadersFrame)
            self.assertEqual(frame.stream_id, 7)
            self.assertEqual(set(frame.flags), names)
            self.assertEqual(frame.data, block)


class WriteInPiecesTests(SynchronousTestCase):
    """
    L{writeInPieces} hands a pass to the transport at once when it is small,
    else in pieces that stay under the size glibc would C{mmap}.
    """

    def test_small(self) -> None:
        """
        Up to L{WRITE_PIECE}, one write.
        """
        writes: list[bytes] = []
        writeInPieces(writes.append, [b"a" * 100, memoryview(b"b" * 100)])
        self.assertEqual(writes, [b"a" * 100 + b"b" * 100])

    @given(st.lists(st.integers(1, 40 * 1024), min_size=1, max_size=60))
    def test_pieces(self, sizes: list[int]) -> None:
        """
        A larger pass goes out in order, in pieces of half L{WRITE_PIECE} to
        a little over it (the last part that crossed half, up to a frame
        more), never with a last piece under half of it.
        """
        parts = [bytes([i % 256]) * size for i, size in enumerate(sizes)]
        writes: list[bytes] = []
        writeInPieces(writes.append, parts)
        self.assertEqual(b"".join(writes), b"".join(parts))
        if sum(sizes) <= WRITE_PIECE:
            self.assertEqual(len(writes), 1)
            return
        for piece in writes:
            self.assertGreaterEqual(len(piece), WRITE_PIECE // 2)
            self.assertLess(len(piece), WRITE_PIECE // 2 + 40 * 1024 + WRITE_PIECE // 2)
