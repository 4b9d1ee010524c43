"""
A guard on the private internals of Twisted, C{h2}, C{hpack},
C{hyperframe} and C{aioquic} that h2site's HTTP layer (L{h2site.http}, the
only package allowed to touch them) relies on.

An upgrade of any of them may rename or reshape what is not their public
API without notice; the symptom would be a server that fails on its first
request, or worse, one that quietly stops enforcing a limit.  Each test here
checks one dependency, with the shape h2site uses (an attribute present
after construction, a method that is called, a value's type), and fails
naming the dependency and the h2site module that needs it.

Checked against Twisted 26.10.0, h2 4.4.1, hpack 4.2.0, hyperframe 6.1.0
and aioquic 1.7.2, and at the low ends of the ranges in L{GUARDED}: Twisted
24.7.0, h2 4.3.0, hpack 4.1.0, hyperframe 6.1.0 (aioquic 1.7.0, its low
end, was not run).  (h2 4.1 and 4.2 keep the frame
buffer's bytes in C{data}, not C{_data}: L{h2site.http.h2.frames} cannot run
on them, and this guard fails there.)
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from h2.config import H2Configuration
from h2.connection import (
    AllowedStreamIDs,
    ConnectionInputs,
    ConnectionState,
    _decode_headers,
)
from h2.connection import H2Connection as H2StateMachine
from h2.errors import ErrorCodes
from h2.events import RequestReceived, StreamEnded
from h2.exceptions import DenialOfServiceError, ProtocolError
from h2.frame_buffer import FrameBuffer
from h2.settings import SettingCodes, Settings
from h2.stream import StreamInputs
from hpack import Decoder, Encoder
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable
from hyperframe.frame import (
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from twisted.internet._producer_helpers import _PullToPush
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import http, server

from h2site.http.h2 import frames
from h2site.http.h2.stream import Stream
from tests.h2client import FrameReader, requestHeaders

#: The range of each package this guard holds for, as (lowest, below): the
#: lowest version it was run against, and the first version it does not
#: vouch for (the next major version; Twisted's are years).  setup.cfg's
#: ranges must stay within them.  hpack and hyperframe come with h2 (4.3 and
#: later require hpack >= 4.1 and hyperframe >= 6.1).
GUARDED = {
    "aioquic": ((1, 7), (2,)),
    "twisted": ((24, 7), (27,)),
    "h2": ((4, 3), (5,)),
    "hpack": ((4, 1), (5,)),
    "hyperframe": ((6, 1), (7,)),
}


def _release(text: str) -> tuple[int, ...]:
    """
    The numeric release of a version string: C{"24.7.0rc1"} is (24, 7, 0).
    """
    numbers = re.match(r"\d+(\.\d+)*", text)
    assert numbers is not None, text
    return tuple(int(part) for part in numbers.group().split("."))


class GuardTestCase(SynchronousTestCase):
    """
    A test of one package's internals, as one h2site module uses them.

    @cvar package: the distribution that provides them.
    @cvar user: the h2site module that relies on them.
    """

    package = ""
    user = ""

    @contextmanager
    def relying(self, what: str, user: str = "") -> Iterator[None]:
        """
        Turn any failure inside into one that names the dependency, the
        h2site module that needs it, and the installed version.

        @param what: the internal, and the shape h2site relies on.
        @param user: the h2site module, if not L{user}.
        """
        user = user or self.user
        try:
            yield
        except Exception as e:
            self.fail(
                f"{user} relies on {self.package}'s {what}, which the installed "
                f"{self.package} {version(self.package)} does not provide as "
                f"the versions checked did ({GUARDED[self.package]}): {e!r}.  "
                f"Adapt {user} (and this guard), or keep {self.package} within "
                f"the checked range."
            )


class _RecordingChannel(http.HTTPChannel):
    """
    Twisted's HTTP/1.1 channel, noting what h2site's channel needs to see.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0
        self.body: list[bytes] = []
        self.commands: list[tuple[bytes, bytes, bytes]] = []

    def lineReceived(self, line: bytes) -> None:
        super().lineReceived(line)
        if hasattr(self, "_command"):
            self.commands.append((self._command, self._path, self._version))

    def allHeadersReceived(self) -> None:
        super().allHeadersReceived()
        decoder = self._transferDecoder
        if decoder is not None:
            decoder.dataCallback = self.body.append

    def _respondToBadRequestAndDisconnect(self) -> None:
        self.refused += 1


def _connected(channel: http.HTTPChannel) -> StringTransport:
    transport = StringTransport()
    channel.makeConnection(transport)
    return transport


class HTTPChannelTests(GuardTestCase):
    """
    Twisted's L{http.HTTPChannel}, which L{h2site.http.h1.HTTP11Channel}
    extends (and L{h2site.http.switch} unhooks from its transport).
    """

    package = "twisted"
    user = "h2site.http.h1"

    def test_stateAfterConstruction(self) -> None:
        """
        The request queue's state, as an instance has it once constructed
        and connected.
        """
        channel = http.HTTPChannel()
        with self.relying("HTTPChannel._handlingRequest"):
            self.assertIs(channel._handlingRequest, False)
        with self.relying("HTTPChannel._dataBuffer (a list)"):
            self.assertEqual(channel._dataBuffer, [])
        with self.relying("HTTPChannel._transferDecoder"):
            self.assertIsNone(channel._transferDecoder)
        with self.relying("HTTPChannel._optimisticEagerReadSize (int)"):
            self.assertIsInstance(channel._optimisticEagerReadSize, int)
        with self.relying("HTTPChannel._savedTimeOut"):
            self.assertIsNone(channel._savedTimeOut)
        with self.relying("HTTPChannel._waitingForTransport"):
            self.assertIs(channel._waitingForTransport, False)
        with self.relying("HTTPChannel._receivedHeaderSize and _receivedHeaderCount"):
            self.assertEqual(
                (channel._receivedHeaderSize, channel._receivedHeaderCount), (0, 0)
            )
        with self.relying("HTTPChannel.totalHeadersSize and maxHeaders"):
            self.assertIsInstance(channel.totalHeadersSize, int)
            self.assertIsInstance(channel.maxHeaders, int)
        _connected(channel)
        with self.relying(
            "HTTPChannel._networkProducer (set by connectionMade)",
            "h2site.http.h1 and h2site.http.switch",
        ):
            self.assertTrue(IPushProducer.providedBy(channel._networkProducer))
            for name in ("registerProducer", "unregisterProducer"):
                self.assertTrue(callable(getattr(channel._networkProducer, name)))

    def test_requestLine(self) -> None:
        """
        C{_command}, C{_path} and C{_version} exist from the request line
        until the request is complete, and not before: h2site tells a long
        request line (414) from a long header line (431) by them, and logs
        them for a refused request.
        """
        channel = _RecordingChannel()
        _connected(channel)
        with self.relying(
            "HTTPChannel._command/_path/_version (set by the request line only)"
        ):
            self.assertFalse(hasattr(channel, "_command"))
            channel.dataReceived(b"GET /x HTTP/1.1\r\n")
            self.assertEqual(channel.commands, [(b"GET", b"/x", b"HTTP/1.1")])
            channel.dataReceived(b"Host: a\r\n\r\n")
            self.assertTrue(channel._handlingRequest)
            self.assertFalse(hasattr(channel, "_command"))

    def test_chunkedBody(self) -> None:
        """
        A chunked body goes through C{_transferDecoder.dataCallback}, read at
        each chunk: h2site wraps it to count the body against its limit.
        """
        channel = _RecordingChannel()
        _connected(channel)
        with self.relying("HTTPChannel._transferDecoder.dataCallback (replaceable)"):
            channel.dataReceived(
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            self.assertIsNone(channel.length)
            channel.dataReceived(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            self.assertEqual(b"".join(channel.body), b"abcde")

    def test_refusals(self) -> None:
        """
        Twisted refuses a head through C{_respondToBadRequestAndDisconnect},
        after counting its size and fields: h2site answers 431 instead of
        400 when those counts are over the limits.
        """
        with self.relying(
            "HTTPChannel._respondToBadRequestAndDisconnect, called for a bad "
            "head, after _receivedHeaderSize/_receivedHeaderCount count it"
        ):
            channel = _RecordingChannel()
            _connected(channel)
            channel.dataReceived(b"GET / HTTP/1.1\r\nno colon\r\n\r\n")
            self.assertEqual(channel.refused, 1)
            channel = _RecordingChannel()
            channel.maxHeaders = 2
            _connected(channel)
            channel.dataReceived(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n")
            self.assertGreater(channel._receivedHeaderCount, channel.maxHeaders)
            self.assertGreaterEqual(channel.refused, 1)
            channel = _RecordingChannel()
            channel.totalHeadersSize = 30
            _connected(channel)
            channel.dataReceived(b"GET / HTTP/1.1\r\nx: " + b"y" * 40 + b"\r\n")
            self.assertGreater(channel._receivedHeaderSize, channel.totalHeadersSize)
            self.assertGreaterEqual(channel.refused, 1)

    def test_waitingForTransport(self) -> None:
        """
        C{_waitingForTransport} follows the transport's pause and resume:
        h2site holds the next pipelined request while it is set.
        """
        channel = http.HTTPChannel()
        _connected(channel)
        with self.relying("HTTPChannel._waitingForTransport (set by pauseProducing)"):
            channel.pauseProducing()
            self.assertIs(channel._waitingForTransport, True)
            channel.resumeProducing()
            self.assertIs(channel._waitingForTransport, False)

    def test_savedTimeOut(self) -> None:
        """
        While a request is handled, its idle timeout is kept in
        C{_savedTimeOut}, which h2site restores when the response is done.
        """
        channel: Any = http.HTTPChannel()
        channel.timeOut = 42
        channel.callLater = Clock().callLater
        _connected(channel)
        with self.relying("HTTPChannel._savedTimeOut (the idle timeout)"):
            channel.dataReceived(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertTrue(channel._handlingRequest)
            self.assertEqual(channel._savedTimeOut, 42)


class ProtocolSwitchTests(GuardTestCase):
    """
    Twisted's C{_GenericHTTPChannelProtocol}, the ALPN switch that
    L{h2site.http.switch.ProtocolSwitch} extends.
    """

    package = "twisted"
    user = "h2site.http.switch"

    def test_switch(self) -> None:
        """
        It wraps a channel in C{_channel}, knows no protocol before the
        first bytes, and keeps what C{Site.buildProtocol} sets (request
        factory, site, factory) for the channel it switches to, while
        handing the idle timeout to the HTTP/1.1 channel.
        """
        with self.relying(
            "http._GenericHTTPChannelProtocol(channel) with _channel, "
            "_negotiatedProtocol, _requestFactory, _site, _factory"
        ):
            channel = http.HTTPChannel()
            switch = http._GenericHTTPChannelProtocol(channel)
            self.assertIs(switch._channel, channel)
            self.assertIsNone(switch._negotiatedProtocol)
            factory, site = object(), object()
            switch.requestFactory = server.Request
            switch.site = site
            switch.factory = factory
            switch.timeOut = 7
            self.assertIs(switch._requestFactory, server.Request)
            self.assertIs(switch._site, site)
            self.assertIs(switch._factory, factory)
            self.assertEqual(channel.timeOut, 7)


class RequestChannelTests(GuardTestCase):
    """
    What Twisted's requests call on their channel, which an HTTP/2
    L{Stream} must provide.
    """

    package = "twisted"
    user = "h2site.http.h2.stream"

    def test_channelAPI(self) -> None:
        """
        Every attribute C{twisted.web}'s C{Request} uses on its channel
        (including the private C{_respondToBadRequestAndDisconnect}) exists
        on a stream.
        """
        used: set[str] = set()
        for cls in (http.Request, server.Request):
            used |= set(re.findall(r"\bchannel\.(\w+)", inspect.getsource(cls)))
        with self.relying(
            "the channel API of http.Request (what it calls on its channel)"
        ):
            self.assertIn("_respondToBadRequestAndDisconnect", used)
            missing = sorted(
                name
                for name in used
                if not hasattr(Stream, name) and name not in Stream.__slots__
            )
            self.assertEqual(missing, [])

    def test_queued(self) -> None:
        """
        A request is made with C{queued=False}, as Twisted's own HTTP/2
        streams make theirs.
        """
        with self.relying("http.Request(channel, queued)"):
            parameters = inspect.signature(http.Request.__init__).parameters
            self.assertIn("queued", parameters)

    def test_pullToPush(self) -> None:
        """
        A pull producer registered on a stream is driven by Twisted's
        C{_PullToPush} adapter.
        """
        with self.relying(
            "twisted.internet._producer_helpers._PullToPush(pullProducer, "
            "consumer) with startStreaming and stopStreaming"
        ):
            parameters = list(inspect.signature(_PullToPush).parameters)
            self.assertEqual(parameters, ["pullProducer", "consumer"])
            for name in ("startStreaming", "stopStreaming"):
                self.assertTrue(callable(getattr(_PullToPush, name)))
            self.assertTrue(IPushProducer.implementedBy(_PullToPush))


class _SeeingBuffer(FrameBuffer):
    """
    C{h2}'s frame buffer, noting every frame it passes through
    C{_update_header_buffer}.
    """

    def __init__(self) -> None:
        super().__init__(server=True)
        self.seen: list[Frame | None] = []

    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        self.seen.append(f)
        return super()._update_header_buffer(f)


class _Refused(ProtocolError):
    pass


class _RefusingBuffer(FrameBuffer):
    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        raise _Refused("no")


def _server() -> H2StateMachine:
    connection = H2StateMachine(
        H2Configuration(client_side=False, header_encoding=None)
    )
    connection.initiate_connection()
    connection.data_to_send()
    return connection


def _client() -> H2StateMachine:
    connection = H2StateMachine(H2Configuration(client_side=True, header_encoding=None))
    connection.initiate_connection()
    return connection


def _serverWithRequests(*streamIDs: int) -> H2StateMachine:
    """
    A server that received a whole request on each of C{streamIDs}, the
    last of which its client then reset.
    """
    server, client = _server(), _client()
    for streamID in streamIDs:
        client.send_headers(streamID, requestHeaders("/"), end_stream=True)
    client.reset_stream(streamIDs[-1])
    server.receive_data(client.data_to_send())
    return server


class FrameBufferTests(GuardTestCase):
    """
    C{h2}'s C{FrameBuffer}, which L{h2site.http.h2.frames.LimitedFrameBuffer}
    extends and the connection installs as C{incoming_buffer}.
    """

    package = "h2"
    user = "h2site.http.h2.frames"

    def test_state(self) -> None:
        """
        The buffer keeps the bytes of a partial frame in C{_data}, what is
        left of the preface in C{_preamble_len}, and an unfinished header
        block in C{_headers_buffer}.
        """
        buffer = FrameBuffer(server=True)
        buffer.max_frame_size = 16384
        with self.relying(
            "FrameBuffer._preamble_len (bytes of the preface still to come)"
        ):
            self.assertEqual(buffer._preamble_len, 24)
            buffer.add_data(b"PRI * HTTP/2.0\r\n")
            self.assertEqual(buffer._preamble_len, 8)
            buffer.add_data(b"\r\nSM\r\n\r\n")
            self.assertEqual(buffer._preamble_len, 0)
        with self.relying("FrameBuffer._data (the unparsed bytes)"):
            ping = (b"\x00\x00\x08\x06\x00\x00\x00\x00\x00", b"12345678")
            buffer.add_data(ping[0])
            self.assertEqual(bytes(buffer._data), ping[0])
            self.assertEqual(int.from_bytes(buffer._data[:3], "big"), 8)
            buffer.add_data(ping[1])
            self.assertEqual(len(list(buffer)), 1)
            self.assertEqual(len(buffer._data), 0)
        with self.relying(
            "FrameBuffer._headers_buffer (the frames of an open header block)"
        ):
            self.assertEqual(buffer._headers_buffer, [])
            buffer.add_data(HeadersFrame(1, data=b"\x82").serialize())
            self.assertEqual(list(buffer), [])
            self.assertEqual(len(buffer._headers_buffer), 1)

    def test_everyFrameSeen(self) -> None:
        """
        C{__next__} passes every complete frame to C{_update_header_buffer}
        (h2site counts frames and sizes header blocks there), and
        C{H2Connection.receive_data} reads frames from C{incoming_buffer}.
        """
        with self.relying(
            "FrameBuffer._update_header_buffer(frame), called for each frame, "
            "and H2Connection.incoming_buffer, read by receive_data"
        ):
            server, client = _server(), _client()
            buffer = _SeeingBuffer()
            server.incoming_buffer = buffer
            client.send_headers(1, requestHeaders("/"), end_stream=True)
            client.ping(b"12345678")
            server.receive_data(client.data_to_send())
            kinds = [type(f).__name__ for f in buffer.seen]
            self.assertEqual(
                kinds, ["SettingsFrame", "HeadersFrame", "PingFrame"], buffer.seen
            )
            self.assertEqual(buffer.max_frame_size, server.max_inbound_frame_size)

    def test_errorsPropagate(self) -> None:
        """
        A L{ProtocolError} raised by the buffer leaves C{receive_data} as it
        is: h2site's limits (too many frames, a header block too large)
        reach the connection that way.
        """
        with self.relying(
            "H2Connection.receive_data letting the frame buffer's ProtocolError "
            "through",
            "h2site.http.h2.frames and h2site.http.h2.guard",
        ):
            server = _server()
            server.incoming_buffer = _RefusingBuffer(server=True)
            self.assertRaises(_Refused, server.receive_data, _client().data_to_send())


class H2ConnectionTests(GuardTestCase):
    """
    C{h2}'s L{H2StateMachine} attributes and behaviour that h2site's HTTP/2
    connection uses beyond its documented API.
    """

    package = "h2"
    user = "h2site.http.h2.connection"

    def test_attributes(self) -> None:
        """
        The attributes the connection reads or sets.
        """
        server = _server()
        with self.relying(
            "H2Connection.decoder (an hpack Decoder) with max_header_list_size"
        ):
            self.assertIsInstance(server.decoder, Decoder)
            self.assertIsInstance(server.decoder.max_header_list_size, int)
        with self.relying("H2Connection.incoming_buffer (a FrameBuffer, replaceable)"):
            self.assertIsInstance(server.incoming_buffer, FrameBuffer)
        with self.relying(
            "H2Connection.highest_inbound_stream_id, max_outbound_frame_size "
            "and outbound_flow_control_window (ints)",
            "h2site.http.h2.output and h2site.http.h2.guard",
        ):
            self.assertEqual(server.highest_inbound_stream_id, 0)
            self.assertIsInstance(server.max_outbound_frame_size, int)
            self.assertIsInstance(server.outbound_flow_control_window, int)
        with self.relying(
            "H2Connection.state_machine.state and ConnectionState.CLOSED"
        ):
            self.assertIsNot(server.state_machine.state, ConnectionState.CLOSED)
            server.close_connection()
            self.assertIs(server.state_machine.state, ConnectionState.CLOSED)
        with self.relying("H2Connection.clear_outbound_data_buffer()"):
            server.clear_outbound_data_buffer()
            self.assertEqual(server.data_to_send(), b"")
        with self.relying(
            "H2Connection.local_settings, replaced before initiate_connection"
        ):
            fresh = H2StateMachine(H2Configuration(client_side=False))
            fresh.local_settings = Settings(
                client=False,
                initial_values={SettingCodes.MAX_CONCURRENT_STREAMS: 7},
            )
            fresh.initiate_connection()
            (settings,) = FrameReader().feed(fresh.data_to_send())
            assert isinstance(settings, SettingsFrame)
            self.assertEqual(settings.settings[SettingCodes.MAX_CONCURRENT_STREAMS], 7)

    def test_streams(self) -> None:
        """
        C{streams} maps identifiers to stream states with C{closed} and
        C{outbound_flow_control_window}, and a closed stream stays there
        until h2 culls it.
        """
        server = _serverWithRequests(1, 3)
        with self.relying(
            "H2Connection.streams (by id), H2Stream.closed and "
            "H2Stream.outbound_flow_control_window",
            "h2site.http.h2.output and h2site.http.h2.guard",
        ):
            self.assertEqual(server.highest_inbound_stream_id, 3)
            self.assertIs(server.streams[1].closed, False)
            self.assertIsInstance(server.streams[1].outbound_flow_control_window, int)
            state = server.streams.get(3)
            self.assertTrue(state is None or state.closed)

    def test_windows(self) -> None:
        """
        A stream's window for sending is the smaller of the connection's and
        its own, both plain attributes that C{send_data} charges by the
        bytes sent: h2site frames DATA itself and charges them the same way.
        """
        server, client = _server(), _client()
        client.send_headers(1, requestHeaders("/"), end_stream=True)
        server.receive_data(client.data_to_send())
        with self.relying(
            "flow-control accounting: local_flow_control_window() is the "
            "smaller of H2Connection.outbound_flow_control_window and "
            "H2Stream.outbound_flow_control_window, which send_data charges",
            "h2site.http.h2.output",
        ):
            state = server.streams[1]
            connection = server.outbound_flow_control_window
            stream = state.outbound_flow_control_window
            self.assertEqual(
                server.local_flow_control_window(1), min(connection, stream)
            )
            server.send_headers(1, [(b":status", b"200")])
            server.send_data(1, b"x" * 100)
            self.assertEqual(server.outbound_flow_control_window, connection - 100)
            self.assertEqual(state.outbound_flow_control_window, stream - 100)
            server.outbound_flow_control_window -= 50
            state.outbound_flow_control_window -= 1000
            self.assertEqual(
                server.local_flow_control_window(1),
                min(connection - 150, stream - 1100),
            )

    def test_headersFramedElsewhere(self) -> None:
        """
        C{h2} lets a server send DATA, and end the stream, on a stream whose
        response headers it never saw: h2site frames them itself.
        """
        server, client = _server(), _client()
        client.send_headers(1, requestHeaders("/"), end_stream=True)
        client.send_headers(3, requestHeaders("/"), end_stream=True)
        server.receive_data(client.data_to_send())
        with self.relying(
            "send_data and end_stream on a stream without send_headers",
            "h2site.http.h2.output",
        ):
            server.send_data(1, b"body", end_stream=True)
            server.end_stream(3)
            self.assertTrue(server.streams[1].closed)
            self.assertTrue(server.streams[3].closed)

    def test_endingStateInputs(self) -> None:
        """
        Feeding C{h2}'s state machines the inputs C{send_data} feeds them for
        a last DATA frame (the connection's C{SEND_DATA}, the stream's
        C{SEND_DATA} and C{SEND_END_STREAM}) closes the stream as C{send_data}
        would, and refuses a stream that cannot send: h2site packs that frame
        itself.
        """
        server = _serverWithRequests(1, 3)
        with self.relying(
            "H2Connection.state_machine.process_input(ConnectionInputs.SEND_DATA), "
            "H2Stream.state_machine.process_input(StreamInputs.SEND_DATA and "
            "SEND_END_STREAM)",
            "h2site.http.h2.output",
        ):
            server.state_machine.process_input(ConnectionInputs.SEND_DATA)
            machine = server.streams[1].state_machine
            machine.process_input(StreamInputs.SEND_DATA)
            machine.process_input(StreamInputs.SEND_END_STREAM)
            self.assertTrue(server.streams[1].closed)
            closed = server.streams.get(3)
            if closed is not None:
                with self.assertRaises(ProtocolError):
                    closed.state_machine.process_input(StreamInputs.SEND_DATA)

    def test_errorCauses(self) -> None:
        """
        A header block over C{max_header_list_size} raises a
        L{DenialOfServiceError} caused by L{OversizedHeaderListError}; one
        that does not decode, a L{ProtocolError} caused by an L{HPACKError}.
        h2site answers the first with 431 and the second with GOAWAY
        COMPRESSION_ERROR by these causes.
        """
        with self.relying(
            "DenialOfServiceError from OversizedHeaderListError, ProtocolError "
            "from HPACKError (exception chaining)"
        ):
            server, client = _server(), _client()
            server.decoder.max_header_list_size = 100
            client.send_headers(
                1, [*requestHeaders("/"), (b"x", b"y" * 200)], end_stream=True
            )
            with self.assertRaises(DenialOfServiceError) as caught:
                server.receive_data(client.data_to_send())
            self.assertIsInstance(caught.exception.__cause__, OversizedHeaderListError)
            server, client = _server(), _client()
            bad = HeadersFrame(1, data=b"\xff\xff\xff\xff\x0f")
            bad.flags.add("END_HEADERS")
            with self.assertRaises(ProtocolError) as caught:
                server.receive_data(client.data_to_send() + bad.serialize())
            self.assertNotIsInstance(caught.exception, DenialOfServiceError)
            self.assertIsInstance(caught.exception.__cause__, HPACKError)


class IntakeTests(GuardTestCase):
    """
    The parts of C{h2}'s receiving that L{h2site.http.h2.intake} calls to
    take a whole-request HEADERS frame past C{receive_data}, and the state
    inputs with which L{h2site.http.h2.output} ends a stream with HEADERS.
    """

    package = "h2"
    user = "h2site.http.h2.intake"

    def test_wholeRequestCalls(self) -> None:
        """
        C{_decode_headers(decoder, block)} gives the fields (and raises
        C{h2}'s errors), C{_begin_new_stream(id, AllowedStreamIDs.ODD)}
        opens the stream and raises the highest inbound stream, and the
        stream's C{receive_headers(fields, True, None)} gives
        C{RequestReceived} and C{StreamEnded}.
        """
        server, client = _server(), _client()
        server.receive_data(client.data_to_send())
        client.send_headers(1, requestHeaders("/"), end_stream=True)
        server.receive_data(client.data_to_send())
        block = Encoder().encode(requestHeaders("/x"))
        with self.relying(
            "h2.connection._decode_headers, H2Connection._begin_new_stream, "
            "AllowedStreamIDs.ODD, H2Stream.receive_headers -> (frames, events)"
        ):
            self.assertIs(server.state_machine.state, ConnectionState.SERVER_OPEN)
            self.assertIsInstance(server.max_inbound_frame_size, int)
            fields = _decode_headers(server.decoder, block)
            self.assertIn((b":path", b"/x"), list(fields))
            stream = server._begin_new_stream(3, AllowedStreamIDs.ODD)
            self.assertIs(server.streams[3], stream)
            self.assertEqual(server.highest_inbound_stream_id, 3)
            frames, events = stream.receive_headers(fields, True, None)
            self.assertEqual(frames, [])
            self.assertEqual([type(e) for e in events], [RequestReceived, StreamEnded])
            request = events[0]
            assert isinstance(request, RequestReceived)
            self.assertEqual(request.stream_id, 3)
            self.assertIs(request.stream_ended, events[1])
            with self.assertRaises(ProtocolError):
                _decode_headers(server.decoder, b"\xff\xff\xff\xff\x0f")

    def test_sweepAndTerminate(self) -> None:
        """
        C{open_inbound_streams} counts the open client streams and sweeps
        the closed ones out of C{streams}; C{_terminate_connection(code)}
        queues a GOAWAY with C{code} and closes the connection.
        """
        server, client = _server(), _client()
        client.send_headers(1, requestHeaders("/"), end_stream=True)
        client.send_headers(3, requestHeaders("/"), end_stream=True)
        server.receive_data(client.data_to_send())
        server.send_headers(1, [(b":status", b"204")], end_stream=True)
        with self.relying(
            "H2Connection.open_inbound_streams (sweeping closed streams) and "
            "H2Connection._terminate_connection(error_code)"
        ):
            self.assertIn(1, server.streams)
            self.assertEqual(server.open_inbound_streams, 1)
            self.assertNotIn(1, server.streams)
            server.data_to_send()
            server._terminate_connection(ErrorCodes.ENHANCE_YOUR_CALM)
            (goaway,) = FrameReader().feed(server.data_to_send())
            assert isinstance(goaway, GoAwayFrame)
            self.assertEqual(goaway.error_code, ErrorCodes.ENHANCE_YOUR_CALM)
            self.assertEqual(goaway.last_stream_id, 3)
            self.assertIs(server.state_machine.state, ConnectionState.CLOSED)

    def test_pendingBuffer(self) -> None:
        """
        C{_data_to_send} holds what C{data_to_send()} returns next, and is
        empty (false) once it is taken: L{h2site.http.h2.output} asks
        C{data_to_send()} only when it is not.
        """
        server, client = _server(), _client()
        client.send_headers(1, requestHeaders("/"), end_stream=True)
        server.receive_data(client.data_to_send())
        with self.relying(
            "H2Connection._data_to_send (false when data_to_send() has "
            "nothing to give)",
            "h2site.http.h2.output",
        ):
            server.data_to_send()
            self.assertFalse(server._data_to_send)
            server.ping(b"12345678")
            self.assertTrue(server._data_to_send)
            self.assertEqual(bytes(server._data_to_send), server.data_to_send())
            self.assertFalse(server._data_to_send)

    def test_headersEndingInputs(self) -> None:
        """
        The connection's C{SEND_HEADERS} and the stream's C{SEND_HEADERS}
        and C{SEND_END_STREAM} close a stream as C{send_headers(...,
        end_stream=True)} does, and refuse a stream that cannot send.
        """
        server = _serverWithRequests(1, 3, 5)
        with self.relying(
            "H2Connection.state_machine.process_input(ConnectionInputs."
            "SEND_HEADERS), H2Stream.state_machine.process_input(StreamInputs."
            "SEND_HEADERS and SEND_END_STREAM)",
            "h2site.http.h2.output",
        ):
            server.send_headers(1, [(b":status", b"304")], end_stream=True)
            server.state_machine.process_input(ConnectionInputs.SEND_HEADERS)
            machine = server.streams[3].state_machine
            machine.process_input(StreamInputs.SEND_HEADERS)
            machine.process_input(StreamInputs.SEND_END_STREAM)
            self.assertTrue(server.streams[3].closed)
            self.assertEqual(server.streams[3].closed_by, server.streams[1].closed_by)
            closed = server.streams.get(5)
            if closed is not None:
                with self.assertRaises(ProtocolError):
                    closed.state_machine.process_input(StreamInputs.SEND_HEADERS)


class HPACKTests(GuardTestCase):
    """
    The parts of C{hpack} that L{h2site.http.h2.frames.FieldEncoder} encodes
    response fields with, without C{hpack}'s encoder.
    """

    package = "hpack"
    user = "h2site.http.h2.frames"

    def test_staticTable(self) -> None:
        """
        C{HeaderTable.STATIC_TABLE_MAPPING} maps a name to its first index
        and to the indexes of its exact entries.
        """
        with self.relying(
            "hpack.table.HeaderTable.STATIC_TABLE_MAPPING: "
            "{name: (index, {value: index})}"
        ):
            mapping = HeaderTable.STATIC_TABLE_MAPPING
            self.assertEqual(mapping[b":status"][0], 8)
            self.assertEqual(mapping[b":status"][1][b"200"], 8)
            self.assertEqual(mapping[b":status"][1][b"404"], 13)
            self.assertEqual(mapping[b"content-length"][0], 28)
            self.assertEqual(len(HeaderTable.STATIC_TABLE), 61)
            for name, (index, values) in mapping.items():
                self.assertEqual(HeaderTable.STATIC_TABLE[index - 1][0], name)
                for value, exact in values.items():
                    self.assertEqual(HeaderTable.STATIC_TABLE[exact - 1], (name, value))

    def test_huffman(self) -> None:
        """
        C{HuffmanEncoder} with the request codes encodes what the decoder
        reads back.
        """
        with self.relying(
            "hpack.huffman.HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)"
            ".encode(bytes) -> bytes, from hpack.huffman_constants"
        ):
            encoder = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
            for data in (b"", b"text/html; charset=utf-8", bytes(range(256))):
                coded = encoder.encode(data)
                self.assertIsInstance(coded, bytes)
                self.assertEqual(decode_huffman(coded), data)

    def test_encoderAgrees(self) -> None:
        """
        What h2site encodes, hpack's own decoder reads, with nothing added
        to its dynamic table.
        """
        fields = [(b":status", b"200"), (b"content-length", b"12"), (b"x-a", b"b")]
        with self.relying("HPACK encoding as hpack decodes it"):
            block = frames.FieldEncoder().encode(fields)
            decoder = Decoder()
            self.assertEqual(decoder.decode(block, raw=True), fields)
            self.assertEqual(decoder.decode(Encoder().encode(fields), raw=True), fields)


class HyperframeTests(GuardTestCase):
    """
    The frame types L{h2site.http.h2.frames} names by number, as
    C{hyperframe} numbers them.
    """

    package = "hyperframe"
    user = "h2site.http.h2.frames"

    def test_types(self) -> None:
        """
        DATA, HEADERS, RST_STREAM and WINDOW_UPDATE have the numbers h2site
        compares C{Frame.type} with; a HEADERS frame's flags are names.
        """
        with self.relying(
            "Frame.type numbers and Frame.flags names",
            "h2site.http.h2.frames and h2site.http.h2.guard",
        ):
            self.assertEqual(DataFrame.type, frames.DATA)
            self.assertEqual(HeadersFrame.type, frames.HEADERS)
            self.assertEqual(RstStreamFrame.type, frames.RST_STREAM)
            self.assertEqual(WindowUpdateFrame.type, frames.WINDOW_UPDATE)
            self.assertIn("END_HEADERS", HeadersFrame(1, flags=["END_HEADERS"]).flags)
            goAway: Any = GoAwayFrame(0)
            goAway.last_stream_id = 5
            goAway.error_code = 0
            self.assertEqual(
                frames.goAway(5, 0), goAway.serialize(), "goAway built by hand"
            )


class AioquicTests(GuardTestCase):
    """
    The state of a C{QuicConnection} that L{h2site.http.h3.session} reads
    and sets: the limit of concurrent request streams it announces, and the
    bytes each stream holds unsent or unacknowledged.
    """

    package = "aioquic"
    user = "h2site.http.h3.session"

    def test_streamLimit(self) -> None:
        """
        The bidirectional stream limit is a C{Limit} whose C{value} and
        C{sent} a server may lower before its transport parameters go out.
        """
        with self.relying("QuicConnection._local_max_streams_bidi.value/.sent"):
            quic = QuicConnection(
                configuration=QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
            )
            limit = quic._local_max_streams_bidi
            self.assertIsInstance(limit.value, int)
            self.assertIsInstance(limit.sent, int)
            limit.value = limit.sent = 7
            self.assertEqual(quic._local_max_streams_bidi.value, 7)

    def test_controlStream(self) -> None:
        """
        C{H3Connection} opens its control stream at once and names it in
        C{_local_control_stream_id}, where h2site writes GOAWAY.
        """
        with self.relying("H3Connection._local_control_stream_id"):
            quic = QuicConnection(
                configuration=QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
            )
            self.assertIsInstance(H3Connection(quic)._local_control_stream_id, int)

    def test_sendBuffer(self) -> None:
        """
        A stream's sender keeps what it was given and not yet acknowledged
        in a C{bytearray} C{_buffer}, in C{QuicConnection._streams}.
        """
        with self.relying("QuicConnection._streams[id].sender._buffer"):
            quic = QuicConnection(
                configuration=QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
            )
            quic.send_stream_data(0, b"x" * 1000)
            buffer = quic._streams[0].sender._buffer
            self.assertIsInstance(buffer, bytearray)
            self.assertEqual(len(buffer), 1000)


class VersionTests(SynchronousTestCase):
    """
    The installed versions, and the ranges setup.cfg admits, are within
    what this guard was run against.
    """

    def test_installed(self) -> None:
        """
        Each package installed is within the range the guard holds for.
        """
        for package, (lowest, below) in GUARDED.items():
            installed = _release(version(package))
            self.assertGreaterEqual(
                installed,
                lowest,
                f"{package} {version(package)} is older than the guard checked",
            )
            self.assertLess(
                installed,
                below,
                f"{package} {version(package)} is newer than the guard vouches "
                f"for: if this guard passes, move GUARDED and setup.cfg on",
            )

    def test_setupRanges(self) -> None:
        """
        The range setup.cfg gives each package it declares is within the one
        the guard holds for.
        """
        setup = Path(__file__).parents[3] / "setup.cfg"
        if not setup.exists():
            self.skipTest("setup.cfg is not beside the tests")
        text = setup.read_text()
        for package, (lowest, below) in GUARDED.items():
            match = re.search(
                rf"^\s*{package}(\[[^]]*\])?\s*>=\s*([\d.]+)\s*,\s*<\s*([\d.]+)",
                text,
                re.MULTILINE,
            )
            if match is None:
                # Not declared: it comes with h2, whose own range is guarded.
                continue
            low, high = _release(match.group(2)), _release(match.group(3))
            self.assertGreaterEqual(
                low,
                lowest,
                f"setup.cfg admits {package} {match.group(2)}, older than the "
                f"lowest version the guard checked",
            )
            self.assertLessEqual(
                high,
                below,
                f"setup.cfg admits {package} up to {match.group(3)}, beyond what "
                f"the guard vouches for",
            )
