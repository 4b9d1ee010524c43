"""
Tests for L{h2site.http.h2.frames}: HPACK encoding of response fields.
"""

from __future__ import annotations

from hpack import Decoder
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.frames import FieldEncoder

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
