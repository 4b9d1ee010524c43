"""
Tests for L{h2site.http.h2.fielddecoder}: for the same bytes, L{FieldDecoder}
gives what C{hpack}'s decoder gives (fields, their kinds, the table left
behind, the kind of error), and C{h2} built on either turns the same bytes
into the same requests and the same connection errors.
"""

from __future__ import annotations

from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.exceptions import DenialOfServiceError, ProtocolError
from hpack import Decoder, Encoder
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2 import fielddecoder
from h2site.http.h2.fielddecoder import FieldDecoder

_names = st.one_of(
    st.sampled_from(
        [
            b":method",
            b":path",
            b":scheme",
            b":authority",
            b"accept",
            b"accept-encoding",
            b"user-agent",
            b"if-none-match",
            b"cookie",
            b"x-custom",
        ]
    ),
    st.binary(min_size=1, max_size=30),
)
_values = st.one_of(
    st.sampled_from([b"GET", b"/", b"/index.html", b"https", b"gzip, deflate", b""]),
    st.binary(max_size=200),
)
_field = st.tuples(_names, _values, st.booleans())
#: One block as an encoder writes it: its fields (name, value, sensitive),
#: whether to use Huffman, and a table size to announce first (or none).
_block = st.tuples(
    st.lists(_field, max_size=10),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 8192)),
)
#: A change to the bytes of a block: none, a flipped byte, a cut, or junk.
_mutation = st.one_of(
    st.none(),
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000)),
    st.tuples(st.just("junk"), st.binary(max_size=40)),
)


def _mutate(data: bytes, mutation: Any) -> bytes:
    if mutation is None or (not data and mutation[0] != "junk"):
        return data
    kind = mutation[0]
    if kind == "flip":
        at = mutation[1] % len(data)
        return data[:at] + bytes([data[at] ^ mutation[2]]) + data[at + 1 :]
    if kind == "cut":
        return data[: mutation[1] % len(data)]
    junk: bytes = mutation[1]
    return data + junk


def _outcome(decoder: Decoder, data: bytes) -> tuple[str, Any]:
    """
    What decoding C{data} gives, in the terms that matter to h2: the fields
    (with their kinds), or which kind of error.
    """
    try:
        fields = decoder.decode(data, raw=True)
    except OversizedHeaderListError:
        return ("oversized", None)
    except (HPACKError, IndexError, TypeError, UnicodeDecodeError):
        return ("error", None)
    return ("ok", [(type(f).__name__, f[0], f[1]) for f in fields])


def _table(decoder: Decoder) -> tuple[int, list[tuple[bytes, bytes]]]:
    table = decoder.header_table
    return table.maxsize, list(table.dynamic_entries)


class SameAsHpackTests(SynchronousTestCase):
    """
    L{FieldDecoder} and C{hpack.Decoder} agree on every block of a
    connection's sequence, valid or damaged.
    """

    @settings(max_examples=400, deadline=None)
    @given(
        st.lists(st.tuples(_block, _mutation), min_size=1, max_size=8),
        st.integers(64, 1 << 16),
        st.sampled_from([4096, 256, 0, 16384]),
    )
    def test_sameOutcomes(self, blocks: list[Any], maxList: int, maxTable: int) -> None:
        """
        The same fields, the same table afterwards, and the same kind of
        error, block after block, until the first error (after which a
        connection is over).
        """
        encoder = Encoder()
        ours, theirs = FieldDecoder(maxList), Decoder(maxList)
        ours.max_allowed_table_size = theirs.max_allowed_table_size = maxTable
        for (fields, huffman, tableSize), mutation in blocks:
            if tableSize is not None:
                encoder.header_table_size = tableSize
            data = encoder.encode([(n, v, s) for n, v, s in fields], huffman=huffman)
            data = _mutate(data, mutation)
            mine = _outcome(ours, data)
            self.assertEqual(mine, _outcome(theirs, data))
            if mine[0] != "ok":
                return
            self.assertEqual(_table(ours), _table(theirs))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.binary(max_size=60), min_size=1, max_size=4))
    def test_arbitraryBytes(self, blocks: list[bytes]) -> None:
        """
        Bytes no encoder wrote: the same outcome as C{hpack}'s.
        """
        ours, theirs = FieldDecoder(), Decoder()
        for data in blocks:
            mine = _outcome(ours, data)
            self.assertEqual(mine, _outcome(theirs, data))
            if mine[0] != "ok":
                return
            self.assertEqual(_table(ours), _table(theirs))

    def test_textIsHpacks(self) -> None:
        """
        Asked for text rather than bytes, it answers as C{hpack} does.
        """
        block = Encoder().encode([(b":path", b"/caf\xc3\xa9")])
        self.assertEqual(list(FieldDecoder().decode(block)), [(":path", "/café")])

    def test_huffmanCacheBounded(self) -> None:
        """
        However many distinct strings arrive, the cache of decoded Huffman
        strings stays within its bound, and long strings are not kept.
        """
        encoder = Encoder()
        decoder = FieldDecoder()
        for i in range(fielddecoder._HUFFMAN_CACHED + 50):
            block = encoder.encode([(b"x-n", b"value-%d" % i)])
            decoder.decode(block, raw=True)
        self.assertLessEqual(len(fielddecoder._huffman), fielddecoder._HUFFMAN_CACHED)
        long = b"a" * (fielddecoder._HUFFMAN_LONGEST * 2)
        decoder.decode(Encoder().encode([(b"x-long", long)]), raw=True)
        self.assertNotIn(long, fielddecoder._huffman.values())


def _server(fast: bool) -> H2Connection:
    server = H2Connection(
        H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
    )
    server.initiate_connection()
    server.data_to_send()
    if fast:
        decoder = FieldDecoder(server.decoder.max_header_list_size)
        server.decoder = decoder
    return server


def _connectionOutcome(server: H2Connection, data: bytes) -> list[str]:
    """
    What h2 makes of C{data}: its events, or the connection error, and
    what it would send in answer.
    """
    try:
        events = server.receive_data(data)
    except DenialOfServiceError:
        return ["denial of service", repr(server.data_to_send())]
    except ProtocolError as e:
        return [f"protocol error {type(e).__name__}", repr(server.data_to_send())]
    return [repr(e) for e in events] + [repr(server.data_to_send())]


class SameRequestsThroughH2Tests(SynchronousTestCase):
    """
    An C{h2} server state machine with a L{FieldDecoder} turns the same
    client bytes into the same events and the same connection errors.
    """

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(_block, _mutation), min_size=1, max_size=5))
    def test_sameEvents(self, blocks: list[Any]) -> None:
        client = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        client.initiate_connection()
        preface = client.data_to_send()
        fast, stock = _server(True), _server(False)
        self.assertEqual(
            _connectionOutcome(fast, preface), _connectionOutcome(stock, preface)
        )
        encoder = Encoder()
        for streamID, ((fields, huffman, _), mutation) in enumerate(blocks):
            request = [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":path", b"/"),
                (b":authority", b"example"),
                *((n, v) for n, v, _ in fields),
            ]
            block = _mutate(encoder.encode(request, huffman=huffman), mutation)
            frame = (
                len(block).to_bytes(3, "big")
                + b"\x01\x05"
                + (2 * streamID + 1).to_bytes(4, "big")
                + block
            )
            mine = _connectionOutcome(fast, frame)
            self.assertEqual(mine, _connectionOutcome(stock, frame))
            if mine[0].startswith(("protocol error", "denial")):
                return
