"""
The in-memory harness of the protocol unit tests: h2site's real C{Site}
and protocol switch on one connection whose transport is a string, with a
fake clock, test resources, and a real C{h2} client.
"""

from __future__ import annotations

import re
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection as H2Client
from h2.events import (
    DataReceived,
    InformationalResponseReceived,
    ResponseReceived,
    StreamEnded,
)
from hpack import Decoder
from hyperframe.frame import (
    Frame,
    GoAwayFrame,
    HeadersFrame,
)
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IPushProducer, ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from h2site.http.limits import ConnectionLimits
from h2site.web.site import H2Site
from tests.h2client import FrameReader, requestHeaders


class Transport(StringTransport):
    """
    A TLS transport in memory: it says which protocol ALPN chose, counts
    writes, and records an abort.
    """

    def __init__(self, protocol: bytes | None) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 50000))
        self.negotiatedProtocol = protocol
        self.writes = 0
        self.largestWrite = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.largestWrite = max(self.largestWrite, len(data))
        super().write(data)

    def abortConnection(self) -> None:
        self.aborted = True
        self.disconnecting = True


@implementer(IPushProducer)
class Producer:
    """
    A push producer that writes C{total} bytes as fast as it is let.
    """

    def __init__(self, request: Request, total: int, chunk: int = 16384) -> None:
        self.request = request
        self.total = total
        self.chunk = chunk
        self.written = 0
        self.paused = False
        self.stopped = False
        self.resumed = 0

    def resumeProducing(self) -> None:
        self.resumed += 1
        self.paused = False
        while not self.paused and not self.stopped and self.written < self.total:
            size = min(self.chunk, self.total - self.written)
            self.written += size
            self.request.write(b"x" * size)
        if self.written >= self.total and not self.stopped:
            self.stopped = True
            self.request.unregisterProducer()
            self.request.finish()

    def pauseProducing(self) -> None:
        self.paused = True

    def stopProducing(self) -> None:
        self.stopped = True


class Page(Resource):
    isLeaf = True
    body = b"<!doctype html><title>t</title>" + b"x" * 1000

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/html")
        return self.body

    render_HEAD = render_GET

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        body: bytes = request.content.read()
        return b"posted:" + body


class Big(Resource):
    """
    A large response written at once, as the file store does.
    """

    isLeaf = True
    body = bytes(range(256)) * 640

    def render_GET(self, request: Request) -> bytes:
        return self.body


class Slow(Resource):
    """
    Answers only when the test says so.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[Request] = []

    def render_GET(self, request: Request) -> int:
        self.waiting.append(request)
        return NOT_DONE_YET


class Stream(Resource):
    """
    A large body from a push producer.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.producers: list[Producer] = []

    def render_GET(self, request: Request) -> int:
        producer = Producer(request, 4 * 1024 * 1024)
        self.producers.append(producer)
        request.registerProducer(producer, True)
        producer.resumeProducing()
        return NOT_DONE_YET


class Harness:
    """
    h2site's C{Site} with one connection to it, and an C{h2} client.
    """

    def __init__(
        self,
        limits: ConnectionLimits | None = None,
        protocol: bytes | None = b"h2",
        settings: dict[int, int] | None = None,
        start: bool = True,
        transport: Transport | None = None,
    ) -> None:
        """
        @param start: send the client's connection preface.
        @param transport: the connection's transport (by default a
            L{Transport} that says ALPN chose C{protocol}).
        """
        self.limits = limits or ConnectionLimits()
        self.clock = Clock()
        root = Resource()
        self.page = Page()
        self.slow = Slow()
        self.stream = Stream()
        root.putChild(b"page", self.page)
        root.putChild(b"slow", self.slow)
        root.putChild(b"stream", self.stream)
        root.putChild(b"big", Big())
        self.logged: list[http.Request] = []
        self.site = H2Site(
            root, self.logged.append, limits=self.limits, reactor=self.clock
        )
        self.protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        self.transport = transport or Transport(protocol)
        assert self.protocol is not None
        self.protocol.makeConnection(self.transport)
        self.client = H2Client(H2Configuration(client_side=True, header_encoding=None))
        self.reader = FrameReader()
        self.frames: list[Frame] = []
        if protocol == b"h2" and start:
            self.client.initiate_connection()
            if settings:
                self.client.update_settings(settings)
            self.send()
            self.receive()

    def send(self, data: bytes | None = None) -> None:
        """
        Deliver C{data} (by default, what the client has to send).
        """
        if data is None:
            data = self.client.data_to_send()
        assert self.protocol is not None
        self.protocol.dataReceived(data)

    def sendFrames(self, *frames: Frame) -> None:
        self.send(b"".join(f.serialize() for f in frames))

    def receive(self) -> list[Any]:
        """
        Hand what the server wrote to the client: its frames go to
        C{self.frames}, and the client's events are returned.
        """
        data = self.transport.value()
        self.transport.clear()
        self.frames.extend(self.reader.feed(data))
        if self.client.state_machine.state.name == "CLOSED":
            return []
        return self.client.receive_data(data)

    def request(self, path: str, method: str = "GET", end: bool = True) -> int:
        streamID = self.client.get_next_available_stream_id()
        self.client.send_headers(streamID, requestHeaders(path, method), end_stream=end)
        self.send()
        return streamID

    def goAway(self) -> GoAwayFrame:
        self.receive()
        frames = [f for f in self.frames if isinstance(f, GoAwayFrame)]
        assert frames, f"no GOAWAY in {self.frames}"
        return frames[0]

    def lose(self) -> None:
        assert self.protocol is not None
        self.protocol.connectionLost(Failure(ConnectionResetError()))


def channelOf(request: Request) -> Any:
    """
    A request's channel, as the untyped object it is (an HTTP/2 stream or
    our HTTP/1.1 channel).
    """
    return request.channel


def headerEvents(h: Harness) -> list[Any]:
    """
    The interim and final response headers the client has received since
    it last looked, in order.
    """
    return [
        e
        for e in h.receive()
        if isinstance(e, InformationalResponseReceived | ResponseReceived)
    ]


def responses(events: list[Any]) -> dict[int, dict[str, Any]]:
    """
    The responses in C{events}, by stream: status, headers, body, ended.
    """
    result: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, ResponseReceived):
            entry = result.setdefault(event.stream_id, {"body": b"", "ended": False})
            entry["headers"] = dict(event.headers)
            entry["status"] = int(dict(event.headers)[b":status"])
        elif isinstance(event, DataReceived):
            entry = result.setdefault(event.stream_id, {"body": b"", "ended": False})
            entry["body"] += event.data
        elif isinstance(event, StreamEnded):
            result.setdefault(event.stream_id, {"body": b""})["ended"] = True
    return result


SMALL_LIMITS = ConnectionLimits(
    frameBudget=20,
    frameBudgetRate=1.0,
    resetBudget=10,
    resetBudgetRate=1.0,
    maxHeaderListSize=4096,
)


def statusOf(h: Harness, streamID: int) -> int:
    """
    The status of the response headers on C{streamID} among the frames the
    server wrote, read without the client's state machine (which cannot
    follow a connection the server ended on a broken HPACK state).
    """
    h.frames.extend(h.reader.feed(h.transport.value()))
    h.transport.clear()
    for frame in h.frames:
        if isinstance(frame, HeadersFrame) and frame.stream_id == streamID:
            return int(dict(Decoder().decode(frame.data, raw=True))[b":status"])
    raise AssertionError(f"no response on stream {streamID} in {h.frames}")


def statuses(data: bytes) -> list[int]:
    """
    The status of every response in C{data}, in order.
    """
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]


@implementer(ISSLTransport)
class TLSTransport(Transport):
    """
    A transport that is TLS: the protocol is connected before the
    handshake, and told when it is done.
    """

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def getTcpNoDelay(self) -> bool:
        return True

    def setTcpKeepAlive(self, enabled: bool) -> None:
        pass

    def getTcpKeepAlive(self) -> bool:
        return False

    def loseWriteConnection(self) -> None:
        pass

    def getPeerCertificate(self) -> None:
        return None


class FullTransport(Transport):
    """
    A transport whose buffer is full once it holds more than C{limit} bytes:
    it then pauses its producer, as Twisted's TCP transport does, until the
    test drains it.
    """

    limit = 64 * 1024

    def write(self, data: bytes) -> None:
        super().write(data)
        if len(self.value()) > self.limit and self.producer is not None:
            self.producer.pauseProducing()

    def drain(self) -> bytes:
        """
        The client reads everything: empty the buffer, resume the producer.
        """
        data: bytes = self.value()
        self.clear()
        if self.producer is not None:
            self.producer.resumeProducing()
        return data


def pipelineHarness(limits: ConnectionLimits | None = None) -> Harness:
    """
    An HTTP/1.1 harness whose transport fills up like a socket's buffer.
    """
    return Harness(limits, protocol=None, transport=FullTransport(None))
