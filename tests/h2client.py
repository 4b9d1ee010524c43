"""
A raw HTTP/2 client for tests: frames built with C{h2} and C{hyperframe}, sent
over real TLS to the real server, so a test can behave like a hostile client
(which no polite client library would let it do) and see every frame the
server answers with.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Sequence

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

__all__ = [
    "FLOODS",
    "FLOOD_FRAMES",
    "FrameReader",
    "RawClient",
    "answers",
    "dataBytes",
    "requestHeaders",
]


def requestHeaders(
    path: str, method: str = "GET", authority: str = "localhost"
) -> list[tuple[bytes, bytes]]:
    """
    The header fields of a plain request.
    """
    return [
        (b":method", method.encode()),
        (b":path", path.encode()),
        (b":scheme", b"https"),
        (b":authority", authority.encode()),
    ]


class FrameReader:
    """
    Bytes in, complete frames out.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._buffer[:9]))
            if len(self._buffer) < 9 + length:
                break
            frame.parse_body(memoryview(self._buffer[9 : 9 + length]))
            del self._buffer[: 9 + length]
            frames.append(frame)
        return frames


def dataBytes(frames: Sequence[Frame], streamID: int | None = None) -> int:
    """
    How many body bytes the DATA frames (of one stream, if given) carry.
    """
    return sum(
        len(f.data)
        for f in frames
        if isinstance(f, DataFrame) and streamID in (None, f.stream_id)
    )


class RawClient:
    """
    One HTTP/2 connection over TLS to C{127.0.0.1:port}.

    @ivar h2: a client-side C{h2} state machine, for well-formed frames
        (its output is sent by L{flush}).
    @ivar frames: every frame received so far.
    @ivar closed: whether the server has closed the connection.
    """

    def __init__(
        self, port: int, context: ssl.SSLContext, timeout: float = 30.0
    ) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.tls = context.wrap_socket(raw, server_hostname="localhost")
        if self.tls.selected_alpn_protocol() != "h2":
            raise AssertionError("the server did not negotiate h2")
        self.h2 = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        self.reader = FrameReader()
        self.frames: list[Frame] = []
        self.closed = False

    def close(self) -> None:
        self.tls.close()

    def start(self, settings: dict[int, int] | None = None) -> None:
        """
        Send the connection preface, with C{settings} if given.
        """
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        self.flush()

    def flush(self) -> None:
        self.send(self.h2.data_to_send())

    def send(self, data: bytes) -> None:
        try:
            self.tls.sendall(data)
        except (ssl.SSLError, OSError):
            # The server may already have closed the connection on us; the
            # frames read so far say why.
            self.closed = True

    def sendFrames(self, frames: Sequence[Frame]) -> None:
        self.send(b"".join(f.serialize() for f in frames))

    def request(self, path: str, method: str = "GET", endStream: bool = True) -> int:
        """
        Open a stream with a request for C{path}.

        @return: its stream identifier.
        """
        streamID = self.h2.get_next_available_stream_id()
        self.h2.send_headers(
            streamID, requestHeaders(path, method), end_stream=endStream
        )
        self.flush()
        return streamID

    def headersFrame(self, streamID: int, path: str, endStream: bool = True) -> bytes:
        """
        The bytes of a HEADERS frame for a request, encoded with this
        connection's HPACK state but sent by the caller.
        """
        frame = HeadersFrame(streamID)
        frame.data = self.h2.encoder.encode(requestHeaders(path))
        frame.flags.add("END_HEADERS")
        if endStream:
            frame.flags.add("END_STREAM")
        return frame.serialize()

    def receive(self, limit: int = 1 << 20) -> bool:
        """
        Read what the server sent (waiting at most the socket's timeout).

        @return: L{False} once the connection is closed.
        """
        if self.closed:
            return False
        try:
            data = self.tls.recv(limit)
        except TimeoutError:
            return True
        except (ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.frames.extend(self.reader.feed(data))
        return True

    def readUntil(
        self, done: Callable[[list[Frame]], bool], timeout: float = 30.0
    ) -> list[Frame]:
        """
        Read until C{done(frames)} is true or the connection closes.

        @raise AssertionError: if neither happens within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        while not done(self.frames):
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [type(f).__name__ for f in self.frames]
                raise AssertionError(f"timed out; received {kinds[-20:]}")
            self.tls.settimeout(min(left, 1.0))
            if not self.receive():
                break
        return self.frames

    def goAway(self, timeout: float = 30.0) -> GoAwayFrame | None:
        """
        Read until the server's GOAWAY (or the end of the connection).
        """
        self.readUntil(
            lambda frames: any(isinstance(f, GoAwayFrame) for f in frames), timeout
        )
        for frame in self.frames:
            if isinstance(frame, GoAwayFrame):
                return frame
        return None

    def waitClosed(self, timeout: float = 30.0, answer: bool = False) -> bool:
        """
        Read until the server closes the connection.

        @param answer: then close our end too, as browsers and curl do on
            reading the server's close_notify (a hostile client would not).
        @return: whether it did within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.tls.settimeout(min(left, 1.0))
            self.receive()
        if answer:
            self.tls.close()
        return True


#: Floods of frames that do no useful work, by name: each sends its frames
#: on a started connection and returns how many it sent.  The tests check
#: each is cut short with GOAWAY ENHANCE_YOUR_CALM
#: (L{tests.integration.test_http2}); C{benchmarks/abuse_bench.py} measures
#: what each costs the server.
FLOODS: list[tuple[str, Callable[[RawClient], int]]] = []

#: How many frames a flood of one kind of frame sends: 20 times the frame
#: budget (L{h2site.http.limits.ConnectionLimits.frameBudget}), so a server
#: that stops when the budget is spent, at the end of the chunk it was
#: reading (32 KiB, up to 3,641 of the smallest frames), has visibly
#: answered only part of the flood.
FLOOD_FRAMES = 20_000


def _flood(
    name: str,
) -> Callable[[Callable[[RawClient], int]], Callable[[RawClient], int]]:
    def register(f: Callable[[RawClient], int]) -> Callable[[RawClient], int]:
        FLOODS.append((name, f))
        return f

    return register


def _frames(client: RawClient, frames: list[Frame]) -> int:
    client.sendFrames(frames)
    return len(frames)


@_flood("PING")
def _ping(client: RawClient) -> int:
    return _frames(client, [PingFrame(0, opaque_data=b"12345678")] * FLOOD_FRAMES)


@_flood("SETTINGS")
def _settings(client: RawClient) -> int:
    return _frames(client, [SettingsFrame(0)] * FLOOD_FRAMES)


@_flood("PRIORITY for idle streams")
def _priority(client: RawClient) -> int:
    return _frames(
        client,
        [PriorityFrame(2 * i + 1, depends_on=0) for i in range(FLOOD_FRAMES)],
    )


@_flood("empty DATA")
def _emptyData(client: RawClient) -> int:
    streamID = client.request("/", method="POST", endStream=False)
    return 1 + _frames(client, [DataFrame(streamID)] * FLOOD_FRAMES)


@_flood("tiny WINDOW_UPDATE")
def _tinyWindowUpdates(client: RawClient) -> int:
    return _frames(client, [WindowUpdateFrame(0, window_increment=1)] * FLOOD_FRAMES)


@_flood("unknown frame types")
def _unknown(client: RawClient) -> int:
    client.send(b"\x00\x00\x01\xee\x00\x00\x00\x00\x00x" * FLOOD_FRAMES)
    return FLOOD_FRAMES


@_flood("rapid reset")
def _rapidReset(client: RawClient) -> int:
    data = []
    for i in range(400):
        streamID = 2 * i + 1
        data.append(client.headersFrame(streamID, "/"))
        data.append(RstStreamFrame(streamID, error_code=ErrorCodes.CANCEL).serialize())
    client.send(b"".join(data))
    return len(data)


@_flood("CONTINUATION past the header size limit")
def _continuation(client: RawClient) -> int:
    headers = HeadersFrame(1)
    headers.data = client.h2.encoder.encode(requestHeaders("/"))
    more = [ContinuationFrame(1, data=b"\x40\x01a\x01b" * 3000) for _ in range(4)]
    return _frames(client, [headers, *more])


@_flood("one-byte window dribble")
def _dribble(client: RawClient) -> int:
    client.h2.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 1})
    client.flush()
    streamID = client.request("/static/big.bin")
    return 2 + _frames(client, [WindowUpdateFrame(streamID, window_increment=1)] * 1500)


def answers(frames: Sequence[Frame]) -> int:
    """
    How many of C{frames}, received since a flood began, answered it: every
    frame but the connection's opening SETTINGS, the acknowledgement of
    ours, and the closing GOAWAY.
    """
    acknowledged = False
    count = 0
    for frame in frames:
        if isinstance(frame, GoAwayFrame):
            continue
        if isinstance(frame, SettingsFrame):
            if "ACK" not in frame.flags:
                continue
            if not acknowledged:
                acknowledged = True
                continue
        count += 1
    return count
