# -*- test-case-name: tests.test_http2 -*-
"""
h2site's HTTP connection layer: its own HTTP/2 connection, and graceful
shutdown for every connection, HTTP/2 or HTTP/1.1.

Stock Twisted (C{twisted.web._http2}) is not fit to face the internet: it sends
one DATA frame per reactor turn, spins on C{callLater(0)} (and keeps resetting
its idle timeout) while a peer withholds WINDOW_UPDATE, pauses a response's
producer for flow control but never for a full socket, keeps the TCP
connection open after a connection error, and lets a peer send frames that do
no useful work (PING, PRIORITY, empty DATA, ...) without limit.

L{H2Connection} keeps the C{h2} state machine and replaces the plumbing:

 - one I{pass} writes every ready frame of every ready stream, then makes one
   C{transport.write}; a pass runs at the end of each C{dataReceived}, when the
   transport asks for more, and (at most once per reactor turn) when a
   response is written from elsewhere;
 - a stream blocked by flow control leaves the pass and costs nothing until a
   WINDOW_UPDATE arrives; producers pause when their stream, the connection
   or the socket holds too much;
 - a connection error sends one GOAWAY and closes (TLS close_notify, then an
   abort after L{ConnectionLimits.closeTimeout});
 - frames that do no useful work spend a per-connection budget; an empty
   budget ends the connection with GOAWAY C{ENHANCE_YOUR_CALM}.

Where C{h2} costs most per request, this module does the work itself, and C{h2}
still holds the connection's and streams' state: request headers are checked
in one pass (L{checkRequestHeaders}), response headers are encoded without
the HPACK dynamic table (L{FieldEncoder}), and DATA frames other than a
response's last are framed here, charging C{h2}'s flow-control windows.

Requests stay ordinary C{twisted.web} requests: each stream is the
C{channel} of one L{twisted.web.server.Request}.

This is the only h2site module that reaches into Twisted's private HTTP
machinery (the ALPN protocol switch, L{HTTPChannel}'s request queue and
persistence flag, and the pull-to-push producer adapter); everything else uses
public APIs.  It also extends C{h2}'s frame buffer, whose internals it relies
on (C{h2} 4.x).
"""

from __future__ import annotations

import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from h2.config import H2Configuration
from h2.connection import ConnectionState
from h2.connection import H2Connection as H2StateMachine
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    PingAckReceived,
    PingReceived,
    PriorityUpdated,
    RemoteSettingsChanged,
    RequestReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    UnknownFrameReceived,
    WindowUpdated,
)
from h2.exceptions import DenialOfServiceError, FrameTooLargeError, ProtocolError
from h2.frame_buffer import FrameBuffer
from h2.settings import SettingCodes, Settings
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame
from twisted.internet._producer_helpers import _PullToPush
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHandshakeListener,
    IPushProducer,
    IReactorTime,
    ISSLTransport,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http_headers import Headers
from zope.interface import implementer

__all__ = [
    "ConnectionLimits",
    "ConnectionPool",
    "FieldEncoder",
    "H2Connection",
    "TokenBucket",
    "buildProtocol",
    "checkRequestHeaders",
    "validHost",
]

_log = Logger(namespace="h2site.http2")

_KIB = 1024
_MIB = 1024 * 1024

#: Connection-specific header fields: meaningless (and forbidden) in HTTP/2.
_CONNECTION_HEADERS = frozenset(
    [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
    ]
)

#: A DATA frame smaller than this that leaves data waiting was cut short by a
#: tiny flow-control window: the peer makes us pay a frame per few bytes.
_SMALL_FRAME = 1024

#: The 9-byte frame header: 24-bit length (as 8 + 16 bits), type, flags,
#: stream identifier.
_FRAME_HEADER = struct.Struct(">BHBBL")
_DATA = 0x0
_HEADERS = 0x1
_RST_STREAM = 0x3
_WINDOW_UPDATE = 0x8
_END_STREAM = 0x1
_END_HEADERS = 0x4

#: Frames a client may send on a stream that is already closed, which C{h2}
#: answers (RST_STREAM) or drops without telling us.
_LATE_FRAME_TYPES = frozenset([_DATA, _WINDOW_UPDATE, _RST_STREAM])

#: Frames on a closed stream that cost nothing, per stream closed: what was
#: in flight when it closed (DATA within the stream window, a
#: WINDOW_UPDATE).  Past that they spend the frame budget.
_LATE_FRAMES_PER_STREAM = 8

#: Reasons for the statuses the protocol layer answers by itself.
_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}

#: A WINDOW_UPDATE smaller than this opens too little to be worth a frame.
_SMALL_WINDOW_UPDATE = 1024

#: The largest DATA frame payload we send, whatever larger size the peer
#: allows: one TLS record's worth.  Bigger frames save nothing (TLS cuts them
#: into 16 KiB records anyway) and would make L{_WRITE_PIECE} overshoot.
_MAX_DATA_FRAME = 16 * _KIB

#: A pass's output goes to the transport in one piece when it is no larger
#: than this, else in pieces of about half of it.  A buffer of 128 KiB or
#: more is (by default) a fresh C{mmap} from glibc, page-faulted in and
#: unmapped again on every pass: in-process that was half the CPU time of a
#: 160 KiB response.  Pieces of 64 KiB or more also go through Twisted's TLS
#: layer at once rather than at its next turn.
_WRITE_PIECE = 126 * _KIB


@dataclass(frozen=True)
class ConnectionLimits:
    """
    Every limit of an HTTP connection, in one place.

    @ivar maxConcurrentStreams: streams a client may have open at once
        (C{SETTINGS_MAX_CONCURRENT_STREAMS}).
    @ivar maxHeaderListSize: request header fields, decoded, in bytes
        (C{SETTINGS_MAX_HEADER_LIST_SIZE}); also the limit of an encoded
        header block, HEADERS plus CONTINUATION frames.
    @ivar maxLineLength: the longest HTTP/1.1 request line (414 beyond) or
        header field line (431 beyond), and the longest HTTP/2 C{:path}
        (414 beyond).  The HTTP/1.1 head as a whole has
        C{maxHeaderListSize} (431 beyond).
    @ivar maxHeaderFields: header fields an HTTP/1.1 request may have (431
        beyond); HTTP/2 header blocks are bounded by their size.
    @ivar maxRequestBodySize: bytes of request body per request; a longer
        body is answered with 413 (and the HTTP/2 stream reset, the HTTP/1.1
        connection closed).
    @ivar streamBufferSize: response bytes held for one stream before its
        producer is paused.
    @ivar connectionBufferSize: response bytes held for all streams of a
        connection before every producer is paused.
    @ivar writeBatchSize: the most response bytes one pass hands to the
        transport.  The transport asks us to pause once it holds 64 KiB, so
        the socket's buffer never holds much more than this; bigger batches
        only make bigger copies.  With its frame and TLS record overhead a
        pass stays under the 128 KiB Twisted sends per C{send()} call: at
        128 KiB every pass took a second system call (and reactor turn) for
        its last few KiB, 2.5 calls per 160 KiB response instead of 1.33.
    @ivar idleTimeout: seconds without useful progress (a request, request
        body, or response bytes leaving) after which a connection is closed.
    @ivar headerTimeout: seconds a client has to finish the TLS handshake,
        and each request head from its first byte: an HTTP/1.1 request line
        and header fields, the HTTP/2 connection preface, an HTTP/2 header
        block.  Only progress resets the idle timeout, and a client that
        trickles a byte at a time makes none.
    @ivar closeTimeout: seconds to wait for the peer after a TLS close_notify
        before the connection is aborted.
    @ivar frameBudget: frames that do no useful work (PING, SETTINGS,
        PRIORITY, empty DATA, tiny WINDOW_UPDATE, unknown frames, DATA frames
        cut to a few bytes by a tiny window) a connection may send in a burst.
    @ivar frameBudgetRate: how many of those frames per second refill the
        budget.
    @ivar resetBudget: streams a client may reset in a burst (Rapid Reset,
        CVE-2023-44487).
    @ivar resetBudgetRate: resets per second that refill that budget.
    """

    maxConcurrentStreams: int = 100
    maxHeaderListSize: int = 32 * _KIB
    maxLineLength: int = 8 * _KIB
    maxHeaderFields: int = 100
    maxRequestBodySize: int = 1 * _MIB
    streamBufferSize: int = 256 * _KIB
    connectionBufferSize: int = 1 * _MIB
    writeBatchSize: int = 120 * _KIB
    idleTimeout: float = 60.0
    headerTimeout: float = 20.0
    closeTimeout: float = 5.0
    frameBudget: int = 1000
    frameBudgetRate: float = 100.0
    resetBudget: int = 200
    resetBudgetRate: float = 50.0


class TokenBucket:
    """
    A budget that refills with time: C{capacity} tokens at most, C{rate}
    tokens per second.
    """

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self._capacity = float(capacity)
        self._rate = rate
        self._tokens = float(capacity)
        self._time = now

    def spend(self, now: float, tokens: int = 1) -> bool:
        """
        Take C{tokens} out of the bucket.

        @param now: the current time in seconds; a clock that steps back is
            treated as standing still.
        @return: L{False} if the bucket did not hold enough (nothing is
            taken then).
        """
        elapsed = now - self._time
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._time = now
        if self._tokens < tokens:
            return False
        self._tokens -= tokens
        return True


#: A regular field name (RFC 9113 section 8.2.1): no controls, space, colon,
#: uppercase letter, DEL or non-ASCII byte.
_FIELD_NAME = re.compile(rb"[!-9;-@\[-~]+")

#: What a field value may not hold: NUL, CR or LF anywhere, or whitespace at
#: either end.
_BAD_FIELD_VALUE = re.compile(rb"[\0\r\n]|\A[ \t]|[ \t]\Z")

_REQUEST_PSEUDO_FIELDS = frozenset(
    [b":method", b":scheme", b":authority", b":path", b":protocol"]
)


def checkRequestHeaders(
    headers: Iterable[tuple[bytes, bytes]], trailers: bool = False
) -> None:
    """
    Check a request's decoded header fields (or its trailers) as RFC 9113
    (sections 8.2 and 8.3) requires.

    These are the checks of C{h2}'s C{validate_inbound_headers} option, made
    in one pass instead of a chain of seven generators, which cost a third
    of C{h2}'s time to receive a request.

    @raise ProtocolError: if a field name or value holds a forbidden byte, a
        connection-specific field or a C{te} other than C{trailers} is
        present, pseudo-header fields are unknown, repeated, placed after a
        regular field, missing, or (in trailers) present at all, C{:path} is
        empty, or C{Host} is repeated, missing along with C{:authority}, or
        differs from it.
    """
    seen: set[bytes] = set()
    regular = False
    method = path = authority = host = None
    for name, value in headers:
        if name[:1] == b":":
            if (
                trailers
                or regular
                or name in seen
                or name not in _REQUEST_PSEUDO_FIELDS
            ):
                raise ProtocolError(f"misplaced or unknown pseudo-header {name!r}")
            seen.add(name)
            if name == b":method":
                method = value
            elif name == b":path":
                path = value
            elif name == b":authority":
                authority = value
        else:
            regular = True
            if not _FIELD_NAME.fullmatch(name):
                raise ProtocolError(f"invalid header field name {name!r}")
            if name in _CONNECTION_HEADERS:
                raise ProtocolError(f"connection-specific header field {name!r}")
            if name == b"te" and value.lower() != b"trailers":
                raise ProtocolError(f"te header field {value!r}")
            if name == b"host" and not trailers:
                if host is not None:
                    raise ProtocolError("more than one host header field")
                host = value
        if value and _BAD_FIELD_VALUE.search(value):
            raise ProtocolError(f"invalid value for header field {name!r}")
    if trailers:
        return
    if method is None:
        raise ProtocolError("no :method pseudo-header")
    if method == b"CONNECT" and b":protocol" not in seen:
        if b":scheme" in seen or path is not None:
            raise ProtocolError("CONNECT with :scheme or :path")
    else:
        if b":scheme" not in seen or path is None:
            raise ProtocolError("no :scheme or :path pseudo-header")
        if method != b"CONNECT" and b":protocol" in seen:
            raise ProtocolError(":protocol without CONNECT")
    if path is not None and not path:
        raise ProtocolError("empty :path pseudo-header")
    if authority is None and host is None:
        raise ProtocolError("neither :authority nor host")
    if authority is not None and host is not None and authority != host:
        raise ProtocolError(":authority and host differ")


class _HeaderBlockTooLarge(DenialOfServiceError):
    """
    A request's header block is over the limit: it is answered with 431
    (without decoding it) and the connection closed.
    """


class _Calm(DenialOfServiceError):
    """
    A frame that does no work found the budget empty.
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"too many {what}")
        self.what = what


class _FrameBuffer(FrameBuffer):
    """
    C{h2}'s frame buffer, with two limits it lacks: an oversized frame is
    refused as soon as its 9-byte header arrives (C{h2} waits for the whole
    frame, so a peer could make us buffer 16 MiB), and a header block spread
    over CONTINUATION frames may not exceed a size.  It also shows the
    connection every frame before C{h2} handles it (C{onFrame}), since
    C{h2} answers some frames without an event.

    @ivar headerStream: the stream of the last header block begun.
    """

    headerStream = 0

    def __init__(self, maxHeaderBlock: int, onFrame: Callable[[Frame], None]) -> None:
        super().__init__(server=True)
        self._maxHeaderBlock = maxHeaderBlock
        self._headerBlockSize = 0
        self._onFrame = onFrame

    @property
    def prefaceMissing(self) -> bool:
        """
        Whether some of the client's connection preface is still to come.
        """
        return self._preamble_len > 0

    @property
    def incomplete(self) -> bool:
        """
        Whether the buffer holds part of a frame or of a header block.
        """
        return bool(self._data or self._headers_buffer)

    @property
    def inHeaderBlock(self) -> bool:
        return bool(self._headers_buffer)

    def __next__(self) -> Frame:
        data = self._data
        if len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if length > self.max_frame_size:
                raise FrameTooLargeError(
                    f"frame of {length} bytes, max {self.max_frame_size}"
                )
        return super().__next__()

    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        if f is not None:
            if f.type == _HEADERS:
                self.headerStream = f.stream_id
            self._onFrame(f)
        if self._headers_buffer or (
            isinstance(f, HeadersFrame) and "END_HEADERS" not in f.flags
        ):
            self._headerBlockSize += len(getattr(f, "data", b""))
            if self._headerBlockSize > self._maxHeaderBlock:
                raise _HeaderBlockTooLarge(
                    f"header block over {self._maxHeaderBlock} bytes"
                )
        result = super()._update_header_buffer(f)
        if not self._headers_buffer:
            self._headerBlockSize = 0
        return result


class FieldEncoder:
    """
    HPACK (RFC 7541) encoding of response header fields that never uses the
    dynamic table, as nginx does: a field is an exact static-table entry (one
    byte) or a literal without indexing (naming the static table's entry for
    its name when there is one), Huffman-coded when that is shorter.

    Such an encoding does not depend on what was sent before, so each
    field's bytes are computed once and reused: a response's header block
    costs a few dictionary lookups instead of C{h2}'s encoder, which scans
    its dynamic table for every field (most of the cost of sending a
    response with a dozen headers).  The price is a few hundred bytes per
    response that the dynamic table would have saved.
    """

    def __init__(self, maxCached: int = 4096) -> None:
        self._cache: dict[tuple[bytes, bytes], bytes] = {}
        self._maxCached = maxCached
        self._huffman = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)

    def encode(self, fields: Iterable[tuple[bytes, bytes]]) -> bytes:
        """
        The header block for C{fields} (lowercase names, pseudo-fields
        first).
        """
        cache = self._cache
        parts = []
        for field in fields:
            encoded = cache.get(field)
            if encoded is None:
                encoded = self._encodeField(*field)
                if len(cache) >= self._maxCached:
                    # Values that vary (dates, lengths, validators) must not
                    # grow the cache without bound.
                    cache.clear()
                cache[field] = encoded
            parts.append(encoded)
        return b"".join(parts)

    def _encodeField(self, name: bytes, value: bytes) -> bytes:
        static = HeaderTable.STATIC_TABLE_MAPPING.get(name)
        if static is not None:
            exact = static[1].get(value)
            if exact is not None:
                return _integer(exact, 7, 0x80)
            return _integer(static[0], 4, 0x00) + self._string(value)
        return b"\x00" + self._string(name) + self._string(value)

    def _string(self, data: bytes) -> bytes:
        coded = self._huffman.encode(data)
        if len(coded) < len(data):
            return _integer(len(coded), 7, 0x80) + coded
        return _integer(len(data), 7, 0x00) + data


def _integer(value: int, prefixBits: int, flags: int) -> bytes:
    """
    An HPACK integer (RFC 7541 section 5.1) in a C{prefixBits}-bit prefix,
    with C{flags} in the bits above it.
    """
    limit = (1 << prefixBits) - 1
    if value < limit:
        return bytes([flags | value])
    out = [flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def _goAway(lastStreamID: int, errorCode: int) -> bytes:
    """
    A GOAWAY frame built without C{h2}: C{h2} refuses to send anything after
    its own GOAWAY, and a graceful shutdown must go on answering streams.
    """
    frame = GoAwayFrame(0)
    frame.last_stream_id = lastStreamID
    frame.error_code = errorCode
    return frame.serialize()


class _HasConnections(Protocol):
    connections: ConnectionPool


@implementer(IPushProducer)
class _Stream:
    """
    One HTTP/2 stream, as its L{twisted.web.server.Request} sees it: the
    request's C{channel}.

    The connection does all the work; this object holds the stream's state
    and forwards the calls a request makes to its channel.

    @ivar headers: the final response headers, waiting for the next pass
        (which can then merge END_STREAM into them when there is no body).
    @ivar chunks: response bytes not sent yet; C{buffered} is their length.
    @ivar finished: the request has finished writing its response.
    @ivar requestEnded: the client has sent all of its request.
    @ivar closed: the stream is done on our side (sent, reset, or lost).
    @ivar ready: the stream is in the connection's queue for the next pass.
    @ivar blocked: the stream waits for the peer to open its window.
    """

    #: A request copies its channel's transport; a stream has none of its own.
    transport = None

    # One per request: slots make them smaller and quicker to set up.
    __slots__ = (
        "_conn",
        "_pullProducer",
        "blocked",
        "buffered",
        "chunks",
        "closed",
        "command",
        "factory",
        "finished",
        "headers",
        "headersSent",
        "path",
        "producer",
        "producerPaused",
        "ready",
        "received",
        "request",
        "requestEnded",
        "site",
        "streamID",
    )

    def __init__(
        self,
        connection: H2Connection,
        streamID: int,
        requestFactory: Callable[..., http.Request],
        site: Any,
    ) -> None:
        self.streamID = streamID
        self.site = site
        self.factory = site
        self._conn = connection
        self.command = b""
        self.path = b""
        self.headers: list[tuple[bytes, bytes]] | None = None
        self.headersSent = False
        self.chunks: deque[bytes | memoryview] = deque()
        self.buffered = 0
        self.received = 0
        self.finished = False
        self.requestEnded = False
        self.closed = False
        self.ready = False
        self.blocked = False
        self.producer: IPushProducer | None = None
        self.producerPaused = False
        self._pullProducer: _PullToPush | None = None
        self.request = requestFactory(self, queued=False)

    def take(self, size: int) -> bytes | memoryview:
        """
        Remove and return the first C{size} buffered bytes.
        """
        chunks = self.chunks
        first = chunks[0]
        if len(first) == size:
            chunks.popleft()
            self.buffered -= size
            return first
        if len(first) > size:
            view = first if isinstance(first, memoryview) else memoryview(first)
            chunks[0] = view[size:]
            self.buffered -= size
            return view[:size]
        parts = []
        left = size
        while left:
            chunk = chunks[0]
            if len(chunk) <= left:
                parts.append(chunks.popleft())
                left -= len(chunk)
            else:
                view = chunk if isinstance(chunk, memoryview) else memoryview(chunk)
                parts.append(view[:left])
                chunks[0] = view[left:]
                left = 0
        self.buffered -= size
        return b"".join(parts)

    # What twisted.web.http.Request calls on its channel.

    def getPeer(self) -> IAddress:
        return self._conn.peer

    def getHost(self) -> IAddress:
        return self._conn.host

    def isSecure(self) -> bool:
        return self._conn.secure

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: Headers
    ) -> None:
        self._conn.writeHeaders(self, code, headers)

    def write(self, data: bytes) -> None:
        self._conn.writeData(self, data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        for data in iovec:
            self._conn.writeData(self, data)

    def writeInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """
        Send an informational (1xx) response before the final one.

        @return: L{False} if it is too late (the final headers are written).
        """
        return self._conn.writeInformational(self, code, headers)

    def requestDone(self, request: http.Request) -> None:
        self._conn.requestDone(self)

    def loseConnection(self) -> None:
        # A request "closing its connection" ends its own response only.
        self._conn.requestDone(self)

    def abortConnection(self) -> None:
        self._conn.resetStream(self, ErrorCodes.CANCEL)

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._conn.refuseStream(self, b"400")

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise ValueError(
                f"registering producer {producer} before previous one "
                f"({self.producer}) was unregistered"
            )
        if not streaming:
            self._pullProducer = _PullToPush(producer, self)
            producer = self._pullProducer
            self._pullProducer.startStreaming()
        # Running until its first write finds the stream or the connection
        # full: pausing it here could be undone behind our back by the
        # resource that starts it, and a pull producer's pauses must balance.
        self.producer = producer
        self.producerPaused = False

    def unregisterProducer(self) -> None:
        if self._pullProducer is not None:
            self._pullProducer.stopStreaming()
            self._pullProducer = None
        self.producer = None
        self.producerPaused = False

    # The request body is never paused: it is small and bounded.

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self._conn.resetStream(self, ErrorCodes.CANCEL)

    def lost(self, reason: Failure) -> None:
        """
        The stream ended without its response: reset, or connection lost.
        """
        if self.closed:
            return
        self.closed = True
        # The access log reports the bytes that really left: what is still
        # buffered here never will.
        self.request.sentLength -= self.buffered
        self.chunks.clear()
        self.buffered = 0
        producer = self.producer
        if producer is not None:
            self.unregisterProducer()
            producer.stopProducing()
        if not self.finished:
            self.request.connectionLost(reason)


@implementer(IPushProducer)
class H2Connection(TwistedProtocol):
    """
    An HTTP/2 connection (ALPN C{h2}) serving C{twisted.web} requests.

    Set C{requestFactory}, C{site} and C{factory} before C{makeConnection},
    as Twisted does for its own channels.
    """

    requestFactory: Callable[..., http.Request]
    site: Any = None
    factory: Any = None
    #: Ignored (Twisted's switch sets it); L{ConnectionLimits.idleTimeout} rules.
    timeOut: float | None = None
    callLater: Any = None

    def __init__(
        self,
        limits: ConnectionLimits,
        reactor: IReactorTime,
        fields: FieldEncoder | None = None,
    ) -> None:
        """
        @param fields: encodes response headers; shared by the connections
            of a site, so its cache serves them all.
        """
        self._limits = limits
        self._reactor = reactor
        self._fields = fields or FieldEncoder()
        self._h2 = H2StateMachine(
            H2Configuration(
                client_side=False,
                header_encoding=None,
                # We build response headers ourselves from Twisted's Headers
                # (which have no connection-specific fields left), so h2's
                # per-header checks would only repeat work on the hot path.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                # Checked by checkRequestHeaders, in a third of the time.
                validate_inbound_headers=False,
                # Only joins Cookie crumbs, which _requestReceived does.
                normalize_inbound_headers=False,
            )
        )
        self._streams: dict[int, _Stream] = {}
        self._ready: deque[_Stream] = deque()
        self._blocked: set[_Stream] = set()
        self._pausedStreams: dict[_Stream, None] = {}
        self._buffered = 0
        self._paused = False
        self._inReceive = False
        self._flushing = False
        self._closing = False
        self._closed = False
        self._goingAway = False
        self._lastStreamID = 0
        self._flushCall: IDelayedCall | None = None
        #: Informational responses framed but not written yet: they go
        #: first in the next pass, before any final headers.
        self._early: list[bytes] = []
        self._idleCall: IDelayedCall | None = None
        self._abortCall: IDelayedCall | None = None
        #: When the request head being read began (the connection preface, a
        #: header block, or a frame), or L{None}; see L{_checkHead}.
        self._headSince: float | None = None
        self._headCall: IDelayedCall | None = None
        self._framesArrived = 0
        #: Frames on closed streams still free (see L{_LATE_FRAMES_PER_STREAM}).
        self._lateFrames = 0
        now = reactor.seconds()
        self._lastProgress = now
        self._frameBudget = TokenBucket(limits.frameBudget, limits.frameBudgetRate, now)
        self._resetBudget = TokenBucket(limits.resetBudget, limits.resetBudgetRate, now)
        self.peer: IAddress
        self.host: IAddress
        self.secure = False

    # IProtocol

    def connectionMade(self) -> None:
        transport = self.transport
        assert transport is not None
        if ITCPTransport.providedBy(transport):
            transport.setTcpNoDelay(True)
        self.peer = transport.getPeer()
        self.host = transport.getHost()
        self.secure = ISSLTransport.providedBy(transport)
        limits = self._limits
        h2 = self._h2
        h2.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: limits.maxConcurrentStreams,
                SettingCodes.MAX_HEADER_LIST_SIZE: limits.maxHeaderListSize,
            },
        )
        h2.decoder.max_header_list_size = limits.maxHeaderListSize
        self._frames = _FrameBuffer(limits.maxHeaderListSize, self._frameArrived)
        h2.incoming_buffer = self._frames
        h2.initiate_connection()
        transport.write(h2.data_to_send())
        self._idleCall = self._reactor.callLater(limits.idleTimeout, self._checkIdle)
        self._headSince = self._reactor.seconds()
        self._headCall = self._reactor.callLater(limits.headerTimeout, self._checkHead)

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            # After our GOAWAY the peer's frames are of no interest.
            return
        arrived = self._framesArrived
        try:
            events = self._h2.receive_data(data)
        except ProtocolError as e:
            self._protocolError(e)
            return
        self._inReceive = True
        try:
            self._handleEvents(events)
        finally:
            self._inReceive = False
        if self._closing:
            return
        self._trackHead(arrived != self._framesArrived)
        self._flush()

    def _frameArrived(self, frame: Frame) -> None:
        """
        See each frame before C{h2} does: C{h2} answers DATA on a closed
        stream with RST_STREAM, and drops WINDOW_UPDATE and RST_STREAM there,
        without an event, so such frames would cost a flooding client
        nothing.  Beyond what may have been in flight when the stream closed,
        they spend the frame budget.

        @raise _Calm: if the budget is empty.
        """
        self._framesArrived += 1
        streamID = frame.stream_id
        if not streamID or frame.type not in _LATE_FRAME_TYPES:
            return
        h2 = self._h2
        state = h2.streams.get(streamID)
        if state is not None and not state.closed:
            return
        if streamID > h2.highest_inbound_stream_id:
            # Not a closed stream but an idle one: h2 makes it an error.
            return
        if self._lateFrames:
            self._lateFrames -= 1
        elif not self._frameBudget.spend(self._reactor.seconds()):
            raise _Calm("frames on closed streams")

    def _streamClosed(self) -> None:
        self._lateFrames = min(
            self._lateFrames + _LATE_FRAMES_PER_STREAM,
            _LATE_FRAMES_PER_STREAM * self._limits.maxConcurrentStreams,
        )

    def _trackHead(self, framesArrived: bool) -> None:
        """
        Note whether part of a request head is waiting: the preface, a
        header block (HEADERS without END_HEADERS, then CONTINUATION), or
        any frame begun and not complete.  Each must be complete within
        L{ConnectionLimits.headerTimeout}; a frame's clock restarts when the
        frame before it completed, a header block's and the preface's do not.
        """
        frames = self._frames
        if not (frames.prefaceMissing or frames.incomplete or not self._framesArrived):
            self._headSince = None
            return
        if self._headSince is None or (
            framesArrived and not frames.inHeaderBlock and not frames.prefaceMissing
        ):
            self._headSince = self._reactor.seconds()
        if self._headCall is None:
            self._headCall = self._reactor.callLater(
                self._limits.headerTimeout, self._checkHead
            )

    def _checkHead(self) -> None:
        self._headCall = None
        since = self._headSince
        if since is None or self._closing:
            return
        timeout = self._limits.headerTimeout
        left = since + timeout - self._reactor.seconds()
        if left > 0:
            self._headCall = self._reactor.callLater(left, self._checkHead)
            return
        _log.info(
            "closing HTTP/2 connection from {peer}: request head not complete "
            "within {timeout:g} s",
            peer=describePeer(self.peer),
            timeout=timeout,
        )
        if self._frames.inHeaderBlock:
            self._refuseHead(408, ErrorCodes.NO_ERROR, "request head timeout")
        else:
            self._close(ErrorCodes.NO_ERROR, "request head timeout")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closing = True
        self._closed = True
        for call in (self._flushCall, self._idleCall, self._abortCall, self._headCall):
            if call is not None and call.active():
                call.cancel()
        self._flushCall = self._idleCall = self._abortCall = self._headCall = None
        self._loseStreams(reason)

    # Receiving

    def _handleEvents(self, events: list[Any]) -> None:
        now = self._reactor.seconds()
        spend = self._frameBudget.spend
        useful = False
        priorityOfRequest = None
        calm = None
        for event in events:
            if self._closing:
                return
            kind = type(event)
            if kind is RequestReceived:
                useful = True
                priorityOfRequest = event.priority_updated
                try:
                    self._requestReceived(event)
                except ProtocolError as e:
                    self._protocolError(e)
                    return
            elif kind is TrailersReceived:
                try:
                    checkRequestHeaders(event.headers, trailers=True)
                except ProtocolError as e:
                    self._protocolError(e)
                    return
            elif kind is StreamEnded:
                self._requestEnded(event.stream_id)
            elif kind is DataReceived:
                if event.data:
                    useful = True
                elif not event.stream_ended and not spend(now):
                    calm = "empty DATA frames"
                    break
                self._dataReceived(event)
            elif kind is WindowUpdated:
                if event.delta < _SMALL_WINDOW_UPDATE and not spend(now):
                    calm = "tiny WINDOW_UPDATE frames"
                    break
                self._windowUpdated(event.stream_id)
            elif kind is StreamReset:
                if not self._resetBudget.spend(now):
                    calm = "stream resets"
                    break
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    self._forget(
                        stream, f"stream reset by the client ({event.error_code})"
                    )
            elif kind is PriorityUpdated:
                # Priority is not used (RFC 9113 deprecates it): frames that
                # only reprioritise are noise, those inside HEADERS are not.
                if event is not priorityOfRequest and not spend(now):
                    calm = "PRIORITY frames"
                    break
            elif kind is RemoteSettingsChanged:
                if not spend(now):
                    calm = "SETTINGS frames"
                    break
                if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                    self._windowUpdated(0)
            elif kind in (PingReceived, PingAckReceived, UnknownFrameReceived):
                if not spend(now):
                    calm = "PING or unknown frames"
                    break
            elif kind is ConnectionTerminated:
                # The client is leaving; h2 will send nothing more (not even
                # response DATA) after a GOAWAY, so neither can we.
                self._close(None, "the client sent GOAWAY")
                return
        if calm is not None:
            self._calm(calm)
        elif useful:
            self._lastProgress = now

    def _requestReceived(self, event: RequestReceived) -> None:
        streamID = event.stream_id
        checkRequestHeaders(event.headers)
        if self._goingAway and streamID > self._lastStreamID:
            # Opened after our GOAWAY: not processed, so safe to retry.
            self._h2.reset_stream(streamID, ErrorCodes.REFUSED_STREAM)
            self._streamClosed()
            return
        stream = _Stream(self, streamID, self.requestFactory, self.site)
        self._streams[streamID] = stream
        request = stream.request
        add = request.requestHeaders.addRawHeader
        authority = host = None
        length: int | None = None
        cookies = []
        for name, value in event.headers:
            if name[0] == 58:  # b":"
                if name == b":method":
                    stream.command = value
                elif name == b":path":
                    stream.path = value
                elif name == b":authority":
                    authority = value
            elif name == b"cookie":
                cookies.append(value)
            else:
                add(name, value)
                if name == b"content-length":
                    # 1*DIGIT (RFC 9110 section 8.6); anything else is a 400.
                    length = int(value) if value.isdigit() else -1
                elif name == b"host":
                    host = value
        if authority is not None and host is None:
            add(b"host", authority)
        if cookies:
            # RFC 9113 section 8.2.3: HTTP/2 may split Cookie into crumbs;
            # HTTP/1.1 semantics (a Twisted request) want one field.
            add(b"cookie", b"; ".join(cookies))
        if stream.command == b"CONNECT":
            # A proxy's method: an origin server has nothing to connect to.
            self.refuseStream(stream, b"405")
            return
        if len(stream.path) > self._limits.maxLineLength:
            self.refuseStream(stream, b"414")
            return
        if not validHost(authority if authority is not None else host or b""):
            self.refuseStream(stream, b"400")
            return
        if length is not None and length < 0:
            self.refuseStream(stream, b"400")
            return
        if length is not None and length > self._limits.maxRequestBodySize:
            self.refuseStream(stream, b"413")
            return
        # An unknown length is read into memory too: it is bounded by
        # maxRequestBodySize, and Twisted would otherwise make a temporary
        # file for every such request.
        request.gotLength(length or 0)
        request.parseCookies()

    def _dataReceived(self, event: DataReceived) -> None:
        streamID = event.stream_id
        if event.flow_controlled_length:
            self._h2.acknowledge_received_data(event.flow_controlled_length, streamID)
        stream = self._streams.get(streamID)
        if stream is None or stream.requestEnded or not event.data:
            return
        stream.received += len(event.data)
        if stream.received > self._limits.maxRequestBodySize:
            self.refuseStream(stream, b"413")
            return
        stream.request.handleContentChunk(event.data)

    def _requestEnded(self, streamID: int) -> None:
        stream = self._streams.get(streamID)
        if stream is None or stream.closed:
            return
        stream.requestEnded = True
        stream.request.requestReceived(stream.command, stream.path, b"HTTP/2")

    def _windowUpdated(self, streamID: int) -> None:
        if streamID == 0:
            blocked = list(self._blocked)
            self._blocked.clear()
            for waiting in blocked:
                waiting.blocked = False
                self._markReady(waiting)
            return
        stream = self._streams.get(streamID)
        if stream is not None and stream.blocked:
            stream.blocked = False
            self._blocked.discard(stream)
            self._markReady(stream)

    # What streams (and so requests) call.

    def writeHeaders(self, stream: _Stream, code: bytes, headers: Headers) -> None:
        if stream.closed:
            return
        fields = [(b":status", code)]
        for name, values in headers.getAllRawHeaders():
            name = name.lower()
            if name not in _CONNECTION_HEADERS:
                for value in values:
                    fields.append((name, value))
        stream.headers = fields
        self._markReady(stream)

    def writeData(self, stream: _Stream, data: bytes) -> None:
        if stream.closed or not data:
            return
        stream.chunks.append(data)
        stream.buffered += len(data)
        self._buffered += len(data)
        if (
            stream.producer is not None
            and not stream.producerPaused
            and self._mustPause(stream)
        ):
            self._pauseStream(stream)
        self._markReady(stream)

    def writeInformational(
        self, stream: _Stream, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        if stream.closed or stream.headersSent or stream.headers is not None:
            return False
        fields = [(b":status", b"%d" % code)]
        fields.extend((name.lower(), value) for name, value in headers)
        block = self._fields.encode(fields)
        size = len(block)
        if size > min(self._h2.max_outbound_frame_size, _MAX_DATA_FRAME):
            self._h2.send_headers(stream.streamID, fields)
        else:
            # Framed here like final headers (h2's stream state takes no
            # notice of a 1xx), and from the shared encoder's cache: a page's
            # hints are the same block every time.
            self._early.append(
                _FRAME_HEADER.pack(
                    size >> 16, size & 0xFFFF, _HEADERS, _END_HEADERS, stream.streamID
                )
                + block
            )
        self._scheduleFlush()
        return True

    def requestDone(self, stream: _Stream) -> None:
        if stream.closed:
            return
        stream.finished = True
        self._markReady(stream)

    def resetStream(self, stream: _Stream, code: int) -> None:
        """
        End a stream abruptly, from our side.
        """
        if stream.closed:
            return
        self._h2.reset_stream(stream.streamID, code)
        self._forget(stream, "stream reset by the server")
        self._scheduleFlush()

    def refuseStream(self, stream: _Stream, status: bytes) -> None:
        """
        Answer a request we will not process (too large, malformed) with an
        empty response, and tell the client to stop sending its body.
        """
        if stream.closed:
            return
        h2 = self._h2
        streamID = stream.streamID
        h2.send_headers(
            streamID, [(b":status", status), (b"content-length", b"0")], end_stream=True
        )
        state = h2.streams.get(streamID)
        if state is not None and not state.closed:
            # The client is still sending (its END_STREAM, when it came with
            # the headers, is an event not yet handled: look at h2's state).
            h2.reset_stream(streamID, ErrorCodes.NO_ERROR)
        if self.factory is not None:
            logRefused(
                self.factory,
                stream.request,
                stream.command or b"-",
                stream.path or b"-",
                b"HTTP/2",
                int(status),
            )
        self._forget(stream, f"request refused with {status.decode()}")
        self._scheduleFlush()

    # Sending

    def _markReady(self, stream: _Stream) -> None:
        if stream.ready or stream.closed:
            return
        if stream.blocked and stream.headers is None:
            return
        stream.ready = True
        self._ready.append(stream)
        self._scheduleFlush()

    def _scheduleFlush(self) -> None:
        if self._inReceive or self._flushing or self._flushCall is not None:
            return
        if self._closing:
            return
        self._flushCall = self._reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        """
        One pass: frame what every ready stream may send, within the windows
        and L{ConnectionLimits.writeBatchSize}, and write it all at once.
        """
        call, self._flushCall = self._flushCall, None
        if call is not None and call.active():
            call.cancel()
        if self._closed:
            return
        out: list[bytes | memoryview] = []
        if self._early:
            out.extend(self._early)
            self._early.clear()
        calm = None
        if not self._paused and self._ready:
            self._flushing = True
            try:
                calm = self._sendReady(out)
            finally:
                self._flushing = False
        pending = self._h2.data_to_send()
        if pending:
            out.append(pending)
        if out:
            self._write(out)
        if calm is not None:
            self._calm(calm)
            return
        if self._pausedStreams and not self._paused:
            self._resumeProducers()
        if self._ready and not self._paused:
            self._scheduleFlush()
        if self._goingAway and not self._streams:
            self._close(None, "graceful shutdown")

    def _write(self, out: list[bytes | memoryview]) -> None:
        """
        Hand a pass's frames to the transport: at once, or in pieces of
        about half of L{_WRITE_PIECE} when the pass is larger.
        """
        assert self.transport is not None
        write = self.transport.write
        total = sum(map(len, out))
        if total <= _WRITE_PIECE:
            # One item (the usual small response) is not copied by join.
            write(b"".join(out))
            return
        piece: list[bytes | memoryview] = []
        size = 0
        for part in out:
            piece.append(part)
            size += len(part)
            total -= len(part)
            if size >= _WRITE_PIECE // 2 and total >= _WRITE_PIECE // 2:
                write(b"".join(piece))
                piece = []
                size = 0
        write(b"".join(piece))

    def _sendReady(self, out: list[bytes | memoryview]) -> str | None:
        """
        Frame the ready streams' headers and data into C{out}, in turn.

        DATA frames other than a response's last are framed here rather than
        by C{h2.send_data}, which costs more than the rest of the pass per
        frame (state machine, a frame object, three copies); C{h2} still
        checks the stream's state on its last frame, and its flow-control
        windows are charged exactly as C{send_data} would.

        @return: why the connection must be closed, if it must.
        """
        h2 = self._h2
        ready = self._ready
        budget = self._limits.writeBatchSize
        frameSize = min(h2.max_outbound_frame_size, _MAX_DATA_FRAME)
        now = self._reactor.seconds()
        progress = False
        calm = None
        while ready and budget > 0:
            stream = ready.popleft()
            stream.ready = False
            if stream.closed:
                continue
            streamID = stream.streamID
            if stream.headers is not None:
                progress = True
                fields, stream.headers = stream.headers, None
                stream.headersSent = True
                if stream.finished and not stream.buffered:
                    # No body: h2 sends HEADERS with END_STREAM and closes
                    # the stream in its state machine.
                    h2.send_headers(streamID, fields, end_stream=True)
                    self._sent(stream)
                    continue
                block = self._fields.encode(fields)
                if len(block) > frameSize:
                    h2.send_headers(streamID, fields)
                else:
                    # h2's stream state needs no news of response headers:
                    # the DATA and END_STREAM that follow go through it.
                    pending = h2.data_to_send()
                    if pending:
                        out.append(pending)
                    size = len(block)
                    out.append(
                        _FRAME_HEADER.pack(
                            size >> 16, size & 0xFFFF, _HEADERS, _END_HEADERS, streamID
                        )
                    )
                    out.append(block)
            if not stream.buffered:
                if stream.finished and stream.headersSent:
                    h2.end_stream(streamID)
                    self._sent(stream)
                continue
            window = h2.local_flow_control_window(streamID)
            if window <= 0:
                # Nothing to do until the peer opens the window: no timer,
                # no retry, so a stalled stream costs no CPU at all.
                stream.blocked = True
                self._blocked.add(stream)
                continue
            amount = min(window, stream.buffered, budget)
            progress = True
            budget -= amount
            self._buffered -= amount
            ending = stream.finished and amount == stream.buffered
            # Every frame but an ending response's last is framed here; that
            # one goes through h2, which then closes the stream.
            last = amount - (amount - 1) // frameSize * frameSize if ending else 0
            direct = amount - last
            if direct:
                pending = h2.data_to_send()
                if pending:
                    out.append(pending)
                state = h2.streams[streamID]
                h2.outbound_flow_control_window -= direct
                state.outbound_flow_control_window -= direct
                take = stream.take
                pack = _FRAME_HEADER.pack
                while direct:
                    size = frameSize if direct > frameSize else direct
                    direct -= size
                    out.append(pack(size >> 16, size & 0xFFFF, _DATA, 0, streamID))
                    out.append(take(size))
                if (
                    size < _SMALL_FRAME
                    and amount == window
                    and not ending
                    and calm is None
                    and not self._frameBudget.spend(now)
                ):
                    # The window let only a few bytes through.
                    calm = "DATA frames cut short by tiny windows"
            if last:
                h2.send_data(streamID, stream.take(last), end_stream=True)
            if stream.finished and not stream.buffered:
                self._sent(stream)
            elif stream.buffered:
                if h2.local_flow_control_window(streamID) > 0:
                    stream.ready = True
                    ready.append(stream)
                else:
                    stream.blocked = True
                    self._blocked.add(stream)
        if progress:
            self._lastProgress = now
        return calm

    def _sent(self, stream: _Stream) -> None:
        """
        The whole response is framed: the stream is done on our side.
        """
        stream.closed = True
        del self._streams[stream.streamID]
        self._blocked.discard(stream)
        self._pausedStreams.pop(stream, None)
        self._streamClosed()
        if not stream.requestEnded:
            # RFC 9113 section 8.1: the response is complete, so the rest of
            # the request body is not wanted.
            self._h2.reset_stream(stream.streamID, ErrorCodes.NO_ERROR)

    def _forget(self, stream: _Stream, why: str) -> None:
        self._streams.pop(stream.streamID, None)
        self._blocked.discard(stream)
        self._pausedStreams.pop(stream, None)
        self._buffered -= stream.buffered
        self._streamClosed()
        stream.lost(Failure(ConnectionLost(why)))

    # Backpressure

    def _mustPause(self, stream: _Stream) -> bool:
        return (
            self._paused
            or stream.buffered >= self._limits.streamBufferSize
            or self._buffered >= self._limits.connectionBufferSize
        )

    def _pauseStream(self, stream: _Stream) -> None:
        assert stream.producer is not None
        stream.producerPaused = True
        self._pausedStreams[stream] = None
        stream.producer.pauseProducing()

    def _resumeProducers(self) -> None:
        limits = self._limits
        for stream in list(self._pausedStreams):
            if self._paused or self._buffered >= limits.connectionBufferSize:
                return
            if stream.buffered >= limits.streamBufferSize:
                continue
            del self._pausedStreams[stream]
            stream.producerPaused = False
            if stream.producer is not None and not stream.closed:
                stream.producer.resumeProducing()

    def pauseProducing(self) -> None:
        """
        The socket's buffer is full: hold every stream's data in its own
        buffer and pause every producer until it drains.
        """
        self._paused = True
        for stream in self._streams.values():
            if stream.producer is not None and not stream.producerPaused:
                self._pauseStream(stream)

    def resumeProducing(self) -> None:
        self._paused = False
        if not self._closing:
            self._flush()

    def stopProducing(self) -> None:
        self._loseStreams(Failure(ConnectionLost("the transport stopped")))

    # Closing

    def _checkIdle(self) -> None:
        self._idleCall = None
        timeout = self._limits.idleTimeout
        idle = self._reactor.seconds() - self._lastProgress
        if idle < timeout:
            self._idleCall = self._reactor.callLater(timeout - idle, self._checkIdle)
            return
        _log.info("closing idle HTTP/2 connection from {peer}", peer=self.peer)
        self._close(ErrorCodes.NO_ERROR, "idle timeout")

    def _calm(self, what: str) -> None:
        _log.info(
            "closing HTTP/2 connection from {peer}: too many {what}",
            peer=describePeer(self.peer),
            what=what,
        )
        self._close(ErrorCodes.ENHANCE_YOUR_CALM, f"too many {what}")

    def _protocolError(self, error: ProtocolError) -> None:
        if isinstance(error, _Calm):
            self._calm(error.what)
            return
        if isinstance(error, _HeaderBlockTooLarge) or isinstance(
            error.__cause__, OversizedHeaderListError
        ):
            _log.info(
                "closing HTTP/2 connection from {peer}: request header block "
                "over {limit} bytes",
                peer=describePeer(self.peer),
                limit=self._limits.maxHeaderListSize,
            )
            self._refuseHead(431, ErrorCodes.ENHANCE_YOUR_CALM, str(error))
            return
        code = getattr(error, "error_code", ErrorCodes.PROTOCOL_ERROR)
        if isinstance(error.__cause__, HPACKError) and not isinstance(
            error, DenialOfServiceError
        ):
            # RFC 9113 section 4.3: a field block that does not decode is a
            # COMPRESSION_ERROR; h2 reports it as a PROTOCOL_ERROR.
            self._h2.clear_outbound_data_buffer()
            assert self.transport is not None
            self.transport.write(
                _goAway(
                    self._h2.highest_inbound_stream_id, ErrorCodes.COMPRESSION_ERROR
                )
            )
            self._close(None, f"HTTP/2 compression error: {error}")
            return
        self._close(code, f"HTTP/2 protocol error: {error}")

    def _refuseHead(self, status: int, errorCode: int, why: str) -> None:
        """
        Answer the request whose header block could not be read (too large,
        or not complete in time) with C{status}, then close with GOAWAY
        C{errorCode}.

        The block was not decoded, so this connection's HPACK state is lost
        and the connection must end.  The response itself needs no HPACK
        state, since L{FieldEncoder} never uses the dynamic table, so the
        client still learns why.
        """
        streamID = self._frames.headerStream
        transport = self.transport
        assert transport is not None
        block = self._fields.encode(
            [(b":status", b"%d" % status), (b"content-length", b"0")]
        )
        # What h2 queued (its own GOAWAY, after an error) is replaced by ours.
        self._h2.clear_outbound_data_buffer()
        out = []
        if streamID:
            out.append(
                _FRAME_HEADER.pack(
                    len(block) >> 16,
                    len(block) & 0xFFFF,
                    _HEADERS,
                    _END_HEADERS | _END_STREAM,
                    streamID,
                )
                + block
            )
            if self.factory is not None:
                stream = _Stream(self, streamID, self.requestFactory, self.site)
                request = stream.request
                logRefused(self.factory, request, b"-", b"-", b"HTTP/2", status)
        out.append(_goAway(streamID, errorCode))
        transport.write(b"".join(out))
        self._close(None, why)

    def _close(self, errorCode: int | None, why: str) -> None:
        """
        Send GOAWAY (unless C{errorCode} is L{None}) and close: TLS
        close_notify, then abort if the peer does not answer in time.
        """
        if self._closing:
            return
        self._closing = True
        transport: Any = self.transport
        assert transport is not None
        h2 = self._h2
        if (
            errorCode is not None
            and not self._goingAway
            and h2.state_machine.state is not ConnectionState.CLOSED
        ):
            h2.close_connection(errorCode)
        data = h2.data_to_send()
        if data:
            transport.write(data)
        for name in ("_flushCall", "_idleCall"):
            call = getattr(self, name)
            if call is not None and call.active():
                call.cancel()
            setattr(self, name, None)
        self._loseStreams(Failure(ConnectionLost(why)))
        # A TLS transport only sends close_notify once no producer is
        # registered with it.
        transport.unregisterProducer()
        transport.loseConnection()
        self._abortCall = self._reactor.callLater(
            self._limits.closeTimeout, self._abort
        )

    def _abort(self) -> None:
        self._abortCall = None
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def _loseStreams(self, reason: Failure) -> None:
        streams = list(self._streams.values())
        self._streams.clear()
        self._ready.clear()
        self._blocked.clear()
        self._pausedStreams.clear()
        self._buffered = 0
        for stream in streams:
            stream.lost(reason)

    def shutdownGracefully(self) -> None:
        """
        Send GOAWAY naming the last stream we process, refuse newer streams,
        finish the others, then close.
        """
        if self._closing or self._goingAway:
            return
        self._goingAway = True
        h2 = self._h2
        self._lastStreamID = h2.highest_inbound_stream_id
        assert self.transport is not None
        self.transport.write(
            h2.data_to_send() + _goAway(self._lastStreamID, ErrorCodes.NO_ERROR)
        )
        if not self._streams:
            self._close(None, "graceful shutdown")

    def abort(self) -> None:
        """
        Close now, whatever is in flight.
        """
        if not self._closing:
            self._close(ErrorCodes.NO_ERROR, "shutdown timeout")
        self._abort()


#: A valid C{Host} value (RFC 9112 section 3.2, RFC 3986 section 3.2.2): a
#: bracketed IP literal or a registered name (which covers IPv4), then an
#: optional port; empty is allowed (a target without authority).
_HOST_VALUE = re.compile(
    rb"(?:\[[0-9A-Za-z:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?"
)


def validHost(value: bytes) -> bool:
    """
    Whether C{value} may be the C{Host} of a request (or the C{:authority}
    of an HTTP/2 one): RFC 9112 requires a 400 for anything else, and a
    server that uses the value (in a redirect, in a log) must not take
    spaces, slashes or control bytes from it.
    """
    return _HOST_VALUE.fullmatch(value) is not None


def describePeer(address: object) -> str:
    """
    A client's address as a log line shows it: C{192.0.2.7:50122},
    C{[2001:db8::1]:50122}, or what a Unix socket has.
    """
    host = getattr(address, "host", None)
    if host is None:
        return str(address)
    port = getattr(address, "port", None)
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def logRefused(
    site: Any,
    request: http.Request,
    method: bytes,
    uri: bytes,
    protocol: bytes,
    status: int,
    size: int = 0,
) -> None:
    """
    Write the access-log line of a request the protocol layer answered by
    itself (400, 408, 413, 414, 431), as the site logs any other: operators
    (and fail2ban) must see them.  The request is marked finished, so it is
    not logged again when its connection is lost.
    """
    request.method = method
    request.uri = uri
    request.path = uri.split(b"?", 1)[0]
    request.clientproto = protocol
    request.code = status
    request.startedWriting = 1
    request.sentLength = size
    request.finished = 1
    site.log(request)


@implementer(IPushProducer)
class _HTTP11Channel(http.HTTPChannel):
    """
    Twisted's HTTP/1.1 channel, with the limits a public server needs, plus
    graceful shutdown and informational responses.

    What it changes, and why:

     - B{Pipelining is bounded.}  Twisted answers the next pipelined request
       as soon as the previous response is handed to the transport, whether
       or not the client reads: a client that sends 300 requests and reads
       nothing had every response buffered.  Here the next request waits
       until the transport has drained, so a connection holds one response
       in progress, and reading stops once 16 KiB of requests are waiting.
     - B{A request head has a deadline} (L{ConnectionLimits.headerTimeout})
       from its first byte; every byte resets Twisted's idle timeout, so a
       client trickling a header byte at a time was never closed.  408 then.
     - B{Oversized requests get a status}: 414 for a request line over
       L{ConnectionLimits.maxLineLength}, 431 for a longer header field
       line, too many fields or a head over
       L{ConnectionLimits.maxHeaderListSize}, 413 for a body over
       L{ConnectionLimits.maxRequestBodySize} (Twisted would spool any size
       to a temporary file).
     - B{C{Host} is required} on HTTP/1.1 (RFC 9112 section 3.2): missing,
       repeated or invalid, it gets 400.
     - B{A stalled reader is closed}: while a response waits for the client
       to read, the idle timeout runs (Twisted switches it off for the whole
       response).

    Every such rejection is a complete response with C{Connection: close},
    written to the access log like any other, and the connection closes
    (aborted if the client does not take the response within
    L{ConnectionLimits.closeTimeout}).
    """

    _host: IAddress | None = None
    #: When the request head being read began, or L{None} between heads.
    _headSince: float | None = None
    _headCall: IDelayedCall | None = None
    _closeCall: IDelayedCall | None = None
    #: A response is done, and the next pipelined request waits for the
    #: transport to drain (C{_handlingRequest} stays set meanwhile, so what
    #: arrives is buffered).
    _held = False
    #: A rejection was sent; everything that follows is ignored.
    _rejected = False
    _bodyReceived = 0

    def __init__(self, limits: ConnectionLimits, clock: IReactorTime) -> None:
        super().__init__()
        self._limits = limits
        self._clock = clock
        self.MAX_LENGTH = limits.maxLineLength
        self.totalHeadersSize = limits.maxHeaderListSize
        self.maxHeaders = limits.maxHeaderFields

    def getHost(self) -> IAddress:
        # Every request asks; for TCP each answer was a getsockname() call.
        if self._host is None:
            assert self.transport is not None
            self._host = self.transport.getHost()
        return self._host

    # Reading requests.

    def dataReceived(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._headSince is None and self.line_mode and not self._handlingRequest:
            self._headSince = self._clock.seconds()
            if self._headCall is None:
                self._headCall = self._clock.callLater(
                    self._limits.headerTimeout, self._checkHead
                )
        super().dataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        # The request line still being read: no _command yet.
        self._reject(431 if hasattr(self, "_command") else 414)

    def allHeadersReceived(self) -> None:
        self._headSince = None
        if self._rejected:
            return
        request = self.requests[-1]
        if self._version == b"HTTP/1.1":
            hosts = request.requestHeaders.getRawHeaders(b"host")
            if hosts is None or len(hosts) != 1 or not validHost(hosts[0]):
                self._reject(400)
                return
        length = self.length
        if length is not None and length > self._limits.maxRequestBodySize:
            self._reject(413)
            return
        super().allHeadersReceived()
        if length is None and self._transferDecoder is not None:
            # Chunked: the size is known only as the body arrives.
            self._bodyReceived = 0
            self._transferDecoder.dataCallback = self._countBody(
                self._transferDecoder.dataCallback
            )

    def _countBody(self, deliver: Callable[[bytes], None]) -> Callable[[bytes], None]:
        limit = self._limits.maxRequestBodySize

        def count(data: bytes) -> None:
            self._bodyReceived += len(data)
            if self._bodyReceived > limit:
                self._reject(413)
            elif not self._rejected:
                deliver(data)

        return count

    def rawDataReceived(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._handlingRequest:
            # Pipelined requests wait here.  Twisted stops reading past
            # 16 KiB only while the transport is not full itself, so a
            # client that sends requests and reads nothing could fill this
            # without end.
            self._dataBuffer.append(data)
            if sum(map(len, self._dataBuffer)) > self._optimisticEagerReadSize:
                self._networkProducer.pauseProducing()
            return
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if not self._rejected:
            super().allContentReceived()

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Twisted's one answer to everything it refuses; the head's size and
        # field count say when the trouble is a limit.
        tooLarge = (
            self._receivedHeaderSize > self.totalHeadersSize
            or self._receivedHeaderCount > self.maxHeaders
        )
        self._reject(431 if tooLarge else 400)

    def _checkHead(self) -> None:
        self._headCall = None
        since = self._headSince
        if since is None or self._rejected:
            return
        left = since + self._limits.headerTimeout - self._clock.seconds()
        if left > 0:
            self._headCall = self._clock.callLater(left, self._checkHead)
            return
        _log.info(
            "closing HTTP/1.1 connection from {peer}: request head not "
            "complete within {timeout:g} s",
            peer=describePeer(self.getPeer()),
            timeout=self._limits.headerTimeout,
        )
        self._reject(408)

    def _reject(self, status: int) -> None:
        """
        Answer a request that will not be processed with C{status}, log it,
        and close the connection.
        """
        if self._rejected:
            return
        self._rejected = True
        self._headSince = None
        self.persistent = False
        self.setTimeout(None)
        reason = _REASONS[status]
        body = b"%d %s\n" % (status, reason)
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(body), body)
        )
        self._logRejected(status, len(body))
        self.loseConnection()
        self._closeCall = self._clock.callLater(
            self._limits.closeTimeout, self.abortConnection
        )

    def _logRejected(self, status: int, size: int) -> None:
        """
        Write the access-log line of a rejected request, with what is known
        of it: its request line once read, and the header fields so far.
        """
        if self.factory is None:
            return
        logRefused(
            self.factory,
            self.requests[-1] if self.requests else self.requestFactory(self),
            getattr(self, "_command", b"-"),
            getattr(self, "_path", b"-"),
            getattr(self, "_version", b"-"),
            status,
            size,
        )

    # Writing responses.

    def requestDone(self, request: http.Request) -> None:
        if request is not self.requests[0]:
            raise TypeError(request)
        del self.requests[0]
        if not self.persistent:
            self.loseConnection()
            return
        if self._savedTimeOut:
            self.setTimeout(self._savedTimeOut)
        if self._waitingForTransport:
            # The response is still in the transport's buffer: the next one
            # waits until the client has read it.
            self._held = True
            return
        self._nextRequest()

    def _nextRequest(self) -> None:
        self._held = False
        self._handlingRequest = False
        self._networkProducer.resumeProducing()
        data = b"".join(self._dataBuffer)
        self._dataBuffer = []
        self.setLineMode(data)

    def pauseProducing(self) -> None:
        super().pauseProducing()
        if self._handlingRequest and not self._held and self.timeOut is None:
            # The client stopped reading the response: it has the idle
            # timeout to read again.
            self.setTimeout(self._limits.idleTimeout)

    def resumeProducing(self) -> None:
        super().resumeProducing()
        if self._held:
            self._nextRequest()
        elif self._handlingRequest:
            self.setTimeout(None)

    def timeoutConnection(self) -> None:
        if self._handlingRequest:
            # Nothing the client would read can close it cleanly.
            _log.info(
                "closing HTTP/1.1 connection from {peer}: the client read "
                "nothing for {timeout:g} s",
                peer=describePeer(self.getPeer()),
                timeout=self._limits.idleTimeout,
            )
            self.abortConnection()
            return
        super().timeoutConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        for call in (self._headCall, self._closeCall):
            if call is not None and call.active():
                call.cancel()
        self._headCall = self._closeCall = None
        super().connectionLost(reason)

    def abortConnection(self) -> None:
        """
        End the response in progress abruptly, as a request may on its
        channel (an HTTP/2 stream resets itself): over HTTP/1.1 only
        closing the connection tells the client the body is incomplete.
        """
        self._closeCall = None
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def shutdownGracefully(self) -> None:
        """
        Close once the response in progress is written (with
        C{Connection: close} if its headers are not out yet), or now if the
        connection is idle between requests.
        """
        if self._handlingRequest and self.requests:
            self.persistent = False
            request = self.requests[0]
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
        else:
            self.loseConnection()

    def writeInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """
        Write an informational (1xx) response before the final one, to an
        HTTP/1.1 client only (HTTP/1.0 has no 1xx).

        @return: L{False} if it cannot be sent.
        """
        if not self._handlingRequest or not self.requests:
            return False
        request = self.requests[0]
        if request.startedWriting or request.clientproto != b"HTTP/1.1":
            return False
        reason = http.RESPONSES.get(code, b"Early Hints" if code == 103 else b"")
        lines = [b"HTTP/1.1 %d %s\r\n" % (code, reason)]
        for name, value in headers:
            lines += [name.title(), b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        assert self.transport is not None
        self.transport.writeSequence(lines)
        return True


@implementer(IHandshakeListener)
class _ProtocolSwitch(http._GenericHTTPChannelProtocol):
    """
    What h2site's C{Site} builds for each connection: HTTP/1.1 at first, and
    L{H2Connection} once TLS has negotiated C{h2} (known when the first
    bytes arrive, after the handshake), like Twisted's own switch but with
    our HTTP/2 connection. It registers with the L{ConnectionPool} so a
    shutdown can reach it.

    Over TLS it is connected before the handshake, and told when the
    handshake is done: a client that has not finished it (or, behind a
    PROXY listener, sent its PROXY header) within
    L{ConnectionLimits.headerTimeout} is cut off.  Handshake bytes never
    reach a channel, so nothing else would ever close such a connection.
    """

    _channel: Any
    # Twisted types it as always None; it holds the ALPN protocol name.
    _negotiatedProtocol: bytes | None  # type: ignore[assignment]
    _handshakeCall: IDelayedCall | None = None

    def __init__(self, pool: ConnectionPool) -> None:
        super().__init__(_HTTP11Channel(pool.limits, pool.reactor))
        self._pool = pool

    def makeConnection(self, transport: Any) -> None:
        self._pool.add(self)
        if ISSLTransport.providedBy(transport):
            self._handshakeCall = self._pool.reactor.callLater(
                self._pool.limits.headerTimeout, self._handshakeTimedOut
            )
        self._channel.makeConnection(transport)

    def handshakeCompleted(self) -> None:
        call, self._handshakeCall = self._handshakeCall, None
        if call is not None and call.active():
            call.cancel()

    def _handshakeTimedOut(self) -> None:
        self._handshakeCall = None
        transport = self._channel.transport
        _log.info(
            "closing connection from {peer}: TLS handshake not complete "
            "within {timeout:g} s",
            peer=describePeer(transport.getPeer() if transport is not None else None),
            timeout=self._pool.limits.headerTimeout,
        )
        self.abort()

    def dataReceived(self, data: bytes) -> None:
        if self._negotiatedProtocol is None:
            negotiated = getattr(self._channel.transport, "negotiatedProtocol", None)
            self._negotiatedProtocol = negotiated or b"http/1.1"
            if negotiated == b"h2":
                self._switchToHTTP2()
        self._channel.dataReceived(data)

    def _switchToHTTP2(self) -> None:
        old = self._channel
        networkProducer = old._networkProducer
        networkProducer.unregisterProducer()
        old.setTimeout(None)
        connection = H2Connection(
            self._pool.limits, self._pool.reactor, self._pool.fields
        )
        connection.requestFactory = self._requestFactory
        connection.site = self._site
        connection.factory = self._factory
        self._channel = connection
        connection.makeConnection(old.transport)
        networkProducer.registerProducer(connection, True)

    def connectionLost(self, reason: Failure) -> None:
        self.handshakeCompleted()
        self._pool.discard(self)
        self._channel.connectionLost(reason)

    def shutdownGracefully(self) -> None:
        self._channel.shutdownGracefully()

    def abort(self) -> None:
        transport = self._channel.transport
        if transport is not None:
            transport.abortConnection()


class ConnectionPool:
    """
    Every open connection of a site, so that stopping can wait for them.

    @ivar limits: the limits every connection gets.
    @ivar reactor: the clock connections use for timeouts.
    @ivar fields: the response header encoder HTTP/2 connections share.
    """

    def __init__(self, limits: ConnectionLimits, reactor: IReactorTime) -> None:
        self.limits = limits
        self.reactor = reactor
        self.fields = FieldEncoder()
        self._connections: set[_ProtocolSwitch] = set()
        self._waiters: list[Deferred[None]] = []

    def __len__(self) -> int:
        return len(self._connections)

    def add(self, connection: _ProtocolSwitch) -> None:
        self._connections.add(connection)

    def discard(self, connection: _ProtocolSwitch) -> None:
        self._connections.discard(connection)
        if not self._connections:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)

    def shutdown(self, timeout: float) -> Deferred[None]:
        """
        Close every connection gracefully: HTTP/2 connections get GOAWAY and
        finish the streams they have, HTTP/1.1 connections finish their
        current response; whatever is still open after C{timeout} seconds
        is aborted.

        @return: fires when every connection is closed.
        """
        for connection in list(self._connections):
            connection.shutdownGracefully()
        if not self._connections:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._waiters.append(d)
        timer = self.reactor.callLater(timeout, self._abortAll)

        def stopTimer(result: None) -> None:
            if timer.active():
                timer.cancel()
            return result

        return d.addCallback(stopTimer)

    def _abortAll(self) -> None:
        if self._connections:
            _log.info(
                "shutdown timeout: aborting {count} connection(s)",
                count=len(self._connections),
            )
        for connection in list(self._connections):
            connection.abort()


def buildProtocol(factory: _HasConnections) -> TwistedProtocol:
    """
    The C{protocol} of h2site's C{Site}: a protocol switch registered with
    the site's L{ConnectionPool}.
    """
    return _ProtocolSwitch(factory.connections)
