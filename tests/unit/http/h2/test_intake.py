"""
Tests for L{h2site.http.h2.intake}: for the same bytes, in the same pieces,
L{Intake} gives what C{h2.receive_data} gives: the same events (so the same
requests), the same connection errors with the same GOAWAY, and the same
state left behind (streams, HPACK table, frames counted), whatever frames
come and however the bytes are cut.
"""

from __future__ import annotations

from typing import Any

from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings
from h2.stream import StreamState
from hpack import Encoder
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.fielddecoder import FieldDecoder
from h2site.http.h2.frames import LimitedFrameBuffer
from h2site.http.h2.intake import Intake
from h2site.http.h2.machine import stateMachine

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _frame(kind: int, flags: int, streamID: int, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(3, "big")
        + bytes([kind, flags])
        + streamID.to_bytes(4, "big")
        + payload
    )


_SETTINGS = _frame(4, 0, 0, b"")
_SETTINGS_ACK = _frame(4, 1, 0, b"")

_names = st.sampled_from(
    [b"accept", b"user-agent", b"if-none-match", b"x-custom"] * 3 + [b"content-length"]
)
_values = st.one_of(
    st.sampled_from([b"*/*", b"h2load", b'"abc"', b"0", b"5"]),
    st.binary(max_size=40),
)
#: A request's header block: its method, extra fields, Huffman or not, a
#: table size update first (when the roll is under 5), and damage (a
#: flipped byte when the roll is under 2, a cut under 4).
_request = st.tuples(
    st.sampled_from([b"GET", b"HEAD", b"POST"]),
    st.lists(st.tuples(_names, _values), max_size=4),
    st.booleans(),
    st.integers(0, 99),
    st.integers(0, 8192),
    st.integers(0, 99),
    st.integers(0, 999),
    st.integers(1, 255),
)
#: A frame: a roll that picks its kind (mostly a whole request, as a
#: connection's frames are, see L{_Client.frame}), a small and a large
#: number for its details, a request's block, some bytes.
_frameSpec = st.tuples(
    st.integers(0, 99),
    st.integers(0, 15),
    st.integers(0, 1 << 24),
    _request,
    st.binary(max_size=20),
)
#: A step: frames to send (cut where the list of cuts says), or the
#: server answering (0) or resetting (1) one of its open streams.
_step = st.one_of(
    st.tuples(
        st.just("send"),
        st.lists(_frameSpec, min_size=1, max_size=10),
        st.one_of(st.just([]), st.lists(st.integers(0, 2000), max_size=3)),
    ),
    st.tuples(st.just("act"), st.integers(0, 2), st.integers(0, 9)),
)

#: HEADERS flags other than a whole request's: no END_STREAM, no
#: END_HEADERS (CONTINUATION to follow), padding, priority, stray bits.
_ODD_FLAGS = [0x04, 0x01, 0x0D, 0x25, 0x2D, 0x07, 0x45, 0xF5, 0x00, 0x24]


#: A whole GET request on a new stream.
_WHOLE_GET: Any = (0, 0, 0, (b"GET", [], False, 99, 0, 99, 0, 1), b"")
#: A GET whose block shrinks the table to 0 first and has a byte flipped.
_DAMAGED: Any = (b"GET", [], False, 0, 0, 0, 0, 1)


class _Client:
    """
    Builds a client's frames from specifications, keeping its HPACK
    encoder and stream numbering.
    """

    def __init__(self) -> None:
        self.encoder = Encoder()
        self.last = 0

    def _stream(self, which: int) -> int:
        """
        A new stream (0 to 11), a new one after a gap (12), the last (13),
        one before it (14), an even one (15), or stream 0 (16).
        """
        if which < 13:
            self.last += (2 if self.last else 1) + (4 if which == 12 else 0)
            return self.last
        if which == 13:
            return max(self.last, 1)
        if which == 14:
            return max(self.last - 2, 1)
        if which == 15:
            return self.last + 1
        return 0

    def _block(self, spec: Any) -> bytes:
        method, extra, huffman, sizeRoll, size, damageRoll, at, flip = spec
        if sizeRoll < 5:
            self.encoder.header_table_size = size
        fields = [
            (b":method", method),
            (b":scheme", b"https"),
            (b":path", b"/"),
            (b":authority", b"localhost"),
            *extra,
        ]
        block: bytes = self.encoder.encode(fields, huffman=huffman)
        if damageRoll < 4 and block:
            at %= len(block)
            if damageRoll < 2:
                block = block[:at] + bytes([block[at] ^ flip]) + block[at + 1 :]
            else:
                block = block[:at]
        return block

    def frame(self, spec: Any) -> bytes:
        roll, small, large, request, payload = spec
        if roll < 65:
            # A whole request, on a new stream (mostly) or another.
            return _frame(1, 0x05, self._stream(small), self._block(request))
        if roll < 72:
            flags = _ODD_FLAGS[small % len(_ODD_FLAGS)]
            block = self._block(request)
            if flags & 0x20:
                block = b"\x00\x00\x00\x00\x10" + block
            if flags & 0x08:
                block = b"\x02" + block + b"\x00\x00"
            return _frame(1, flags, self._stream(small % 12), block)
        streamID = self._stream(16 if small == 15 else 13 + small % 3)
        if roll < 75:
            block = self.encoder.encode([(b"x-more", b"1")])
            return _frame(9, 4 if small & 1 else 0, streamID, block)
        if roll < 79:
            return _frame(0, small & 1, streamID, payload)
        if roll < 83:
            return _frame(8, 0, streamID, (large % 70000).to_bytes(4, "big"))
        if roll < 86:
            return _frame(3, 0, streamID, (small % 14).to_bytes(4, "big"))
        if roll < 88:
            return _frame(2, 0, streamID, b"\x00\x00\x00\x00\x10")
        if roll < 91:
            setting = (1 + small % 6).to_bytes(2, "big")
            return _frame(4, 0, 0, setting + large.to_bytes(4, "big"))
        if roll < 93:
            return _SETTINGS_ACK
        if roll < 95:
            return _frame(6, 0, 0, b"12345678")
        if roll < 96:
            return _frame(7, 0, 0, self.last.to_bytes(4, "big") + b"\x00" * 4)
        if roll < 98:
            return _frame(0x42, 0, streamID, payload)
        # Over the frame size limit.
        return _frame(1, 0x05, self._stream(0), b"\x82" * 20000)


class _Server:
    """
    An HTTP/2 server's state machine set up as L{H2Connection} sets it up,
    reading through an L{Intake} or straight through C{h2}.
    """

    def __init__(self, throughIntake: bool, maxStreams: int, maxList: int) -> None:
        h2 = stateMachine()
        h2.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: maxStreams,
                SettingCodes.MAX_HEADER_LIST_SIZE: maxList,
            },
        )
        h2.decoder = FieldDecoder(maxList)
        self.counted = 0
        frames = LimitedFrameBuffer(maxList, self._count)
        h2.incoming_buffer = frames
        h2.initiate_connection()
        h2.data_to_send()
        self.h2 = h2
        self.frames = frames
        self.receive = (
            Intake(h2, frames, self._counted).receive
            if throughIntake
            else h2.receive_data
        )
        self.over = False

    def _count(self, frame: object) -> None:
        self.counted += 1

    def _counted(self) -> None:
        self.counted += 1

    def read(self, data: bytes) -> list[str]:
        """
        What reading C{data} gave (events, or the error), and what the
        server would send now.
        """
        try:
            outcome = [repr(event) for event in self.receive(data)]
        except ProtocolError as e:
            self.over = True
            outcome = [f"{type(e).__name__} {e.error_code!r}"]
        return [*outcome, repr(self.h2.data_to_send())]

    def act(self, what: int, index: int) -> list[str]:
        """
        Answer (or reset) the C{index}th stream that is open, as a response
        would.
        """
        h2 = self.h2
        open = sorted(
            sid
            for sid, stream in h2.streams.items()
            if stream.state_machine.state
            in (StreamState.OPEN, StreamState.HALF_CLOSED_REMOTE)
        )
        if not open:
            return ["none open"]
        streamID = open[index % len(open)]
        try:
            if what < 2:
                h2.send_headers(streamID, [(b":status", b"200")], end_stream=True)
            else:
                h2.reset_stream(streamID)
        except ProtocolError as e:
            return [f"{type(e).__name__}", repr(h2.data_to_send())]
        return [str(streamID), repr(h2.data_to_send())]

    def state(self) -> tuple[Any, ...]:
        """
        What later frames depend on: open streams and their states and
        windows, the highest stream, the HPACK table, the frames counted,
        the frame buffer.
        """
        h2 = self.h2
        streams = sorted(
            (sid, s.state_machine.state.name, s.outbound_flow_control_window)
            for sid, s in h2.streams.items()
            if not s.closed
        )
        return (
            streams,
            h2.highest_inbound_stream_id,
            h2.state_machine.state.name,
            list(h2.decoder.header_table.dynamic_entries),
            h2.decoder.header_table.maxsize,
            self.counted,
            self.frames.headerStream,
            self.frames.incomplete,
        )


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = []
    start = 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return [piece for piece in pieces if piece]


class SameAsH2Tests(SynchronousTestCase):
    """
    Two servers, one reading through L{Intake} and one through C{h2} alone,
    fed the same bytes in the same pieces, agree at every step.
    """

    maxDiff = None

    @settings(max_examples=1000, deadline=None)
    # Two cases the search found: a whole request after a HEADERS frame
    # that began a header block, in the same read; CONTINUATION on a stream
    # closed before a whole request (C{h2} answers differently once its
    # table of streams is swept).
    @example(
        [
            (
                "send",
                [
                    _WHOLE_GET,
                    (75, 0, 0, _DAMAGED, b""),
                    (65, 1, 0, _DAMAGED, b""),
                    _WHOLE_GET,
                ],
                [],
            )
        ],
        2,
        65536,
        False,
    )
    @example(
        [
            ("send", [_WHOLE_GET], []),
            ("act", 0, 0),
            ("send", [_WHOLE_GET, (72, 1, 0, _DAMAGED, b"")], []),
        ],
        2,
        65536,
        False,
    )
    @given(
        st.lists(_step, min_size=1, max_size=12),
        st.sampled_from([1, 2, 3, 100, 100]),
        st.sampled_from([65536, 65536, 400]),
        st.booleans(),
    )
    def test_sameOutcomes(
        self, steps: list[Any], maxStreams: int, maxList: int, acknowledge: bool
    ) -> None:
        fast = _Server(True, maxStreams, maxList)
        stock = _Server(False, maxStreams, maxList)
        client = _Client()
        opening = _PREFACE + _SETTINGS + (_SETTINGS_ACK if acknowledge else b"")
        self.assertEqual(fast.read(opening), stock.read(opening))
        for step in steps:
            if step[0] == "send":
                data = b"".join(client.frame(spec) for spec in step[1])
                for piece in _cut(data, step[2]):
                    self.assertEqual(fast.read(piece), stock.read(piece))
                    if fast.over:
                        # What is left unread after an error is of no
                        # interest: the connection is over.
                        return
                    self.assertEqual(fast.state(), stock.state())
            else:
                self.assertEqual(fast.act(*step[1:]), stock.act(*step[1:]))
                self.assertEqual(fast.state(), stock.state())

    def test_wholeRequestTakesTheShortWay(self) -> None:
        """
        A whole-request HEADERS frame on an open connection is not read by
        C{h2}'s frame buffer (so this test would notice the short way
        being lost), and gives the request and its end.
        """
        server = _Server(True, 100, 65536)
        client = _Client()
        server.read(_PREFACE + _SETTINGS + _SETTINGS_ACK)
        # The first request opens the connection through h2.
        server.read(client.frame(_WHOLE_GET))
        parsed = []
        original = server.frames._update_header_buffer

        def spy(frame: Any) -> Any:
            parsed.append(frame)
            return original(frame)

        server.frames._update_header_buffer = spy  # type: ignore[method-assign,assignment]
        outcome = server.read(client.frame(_WHOLE_GET))
        self.assertEqual(parsed, [])
        self.assertIn("RequestReceived stream_id:3", outcome[0])
        self.assertIn("StreamEnded stream_id:3", outcome[1])
        self.assertEqual(server.frames.headerStream, 3)

    def test_closedStreamsSwept(self) -> None:
        """
        Streams closed after short-way requests are swept by C{h2} once
        they reach the concurrency limit, so a long connection does not
        grow C{h2}'s table of streams.
        """
        server = _Server(True, 10, 65536)
        client = _Client()
        server.read(_PREFACE + _SETTINGS + _SETTINGS_ACK)
        for _ in range(100):
            outcome = server.read(client.frame(_WHOLE_GET))
            self.assertIn("RequestReceived", outcome[0])
            self.assertEqual(server.act(0, 0)[0], str(client.last))
        self.assertLessEqual(len(server.h2.streams), 10)
