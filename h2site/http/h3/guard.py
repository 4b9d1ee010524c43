# -*- test-case-name: tests.unit.http.h3.test_guard -*-
"""
What one QUIC connection, or one stray datagram, may cost: the response
bytes a connection holds (L{SessionGuard}), how long it may go without
progress, and the Version Negotiation answer to a client of a version we
do not speak (L{versionNegotiation}).

A QUIC connection holds every response byte it was given until the client
acknowledges it, and the client decides when: it opens its flow-control
windows only as it reads.  So the producers of a connection's responses
are paused once it holds L{ConnectionLimits.streamBufferSize} bytes of one
response or L{ConnectionLimits.connectionBufferSize} of all, as over
HTTP/2; and a client that keeps the connection alive with PING and ACK
frames but lets no byte through (reads nothing, sends no request) is
closed after L{ConnectionLimits.idleTimeout}, as over HTTP/2: QUIC's own
idle timeout counts packets, not progress.  Streams the client resets are
metered as over HTTP/2 (L{ConnectionLimits.resetBudget}, Rapid Reset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aioquic.quic.connection import QuicConnection
from aioquic.quic.packet import encode_quic_version_negotiation
from twisted.internet.interfaces import IDelayedCall

from h2site.http.limits import ConnectionLimits, TokenBucket, recheckIdle

if TYPE_CHECKING:
    from h2site.http.h3.stream import H3Stream

__all__ = [
    "VERSION_NEGOTIATION_BUDGET",
    "VERSION_NEGOTIATION_RATE",
    "SessionGuard",
    "VersionNegotiator",
    "versionNegotiation",
]

#: Version Negotiation packets a listener may send in a burst, and per
#: second after it: each is smaller than the datagram it answers, but a
#: flood of spoofed ones should not turn the server into a reflector.
VERSION_NEGOTIATION_BUDGET = 100
VERSION_NEGOTIATION_RATE = 100.0

#: The datagram size below which an unknown version gets no answer (RFC
#: 9000 section 6: a client pads its first datagram to this size, so the
#: answer is never bigger than the question).
_MIN_FIRST_DATAGRAM = 1200


def versionNegotiation(datagram: bytes, versions: Iterable[int]) -> bytes | None:
    """
    The Version Negotiation packet (RFC 9000 section 17.2.1) that answers
    C{datagram}, if it is a long-header packet of a QUIC version not in
    C{versions}, in a datagram of full size; L{None} otherwise.

    Only the version-independent header is read (RFC 8999 section 5.1):
    the first byte, the version, and the two connection IDs, echoed back
    swapped.
    """
    size = len(datagram)
    if size < _MIN_FIRST_DATAGRAM or not datagram[0] & 0x80:
        return None
    version = int.from_bytes(datagram[1:5], "big")
    # Version 0 is itself a Version Negotiation packet: never answered.
    if version == 0 or version in versions:
        return None
    destinationLength = datagram[5]
    destination = datagram[6 : 6 + destinationLength]
    at = 6 + destinationLength
    sourceLength = datagram[at]
    source = datagram[at + 1 : at + 1 + sourceLength]
    return encode_quic_version_negotiation(
        source_cid=destination,
        destination_cid=source,
        supported_versions=sorted(versions),
    )


class VersionNegotiator:
    """
    Answers unknown QUIC versions (L{versionNegotiation}), at most
    L{VERSION_NEGOTIATION_BUDGET} at once and L{VERSION_NEGOTIATION_RATE}
    a second, with no state per client.
    """

    def __init__(
        self,
        versions: Iterable[int],
        now: float,
        budget: int = VERSION_NEGOTIATION_BUDGET,
        rate: float = VERSION_NEGOTIATION_RATE,
    ) -> None:
        self._versions = frozenset(versions)
        self._bucket = TokenBucket(budget, rate, now)

    def answer(self, datagram: bytes, now: float) -> bytes | None:
        """
        The Version Negotiation packet to send for C{datagram}, if any and
        if the budget allows.
        """
        packet = versionNegotiation(datagram, self._versions)
        if packet is None or not self._bucket.spend(now):
            return None
        return packet


class SessionGuard:
    """
    The response bytes one QUIC connection holds, and its idle timeout.

    @ivar queued: response bytes the connection holds (unsent, or sent and
        not acknowledged), across its streams, as last counted plus what
        was written since.
    @ivar lastProgress: when the connection last made progress: a request
        or request body arrived, or the client acknowledged response bytes.
    @ivar resetBudget: streams the client may reset (see
        L{ConnectionLimits.resetBudget}).
    """

    def __init__(
        self,
        quic: QuicConnection,
        limits: ConnectionLimits,
        reactor: Any,
        idleTimedOut: Callable[[], None],
    ) -> None:
        """
        @param idleTimedOut: called when the connection made no progress for
            L{ConnectionLimits.idleTimeout}.
        """
        self._quic = quic
        self._limits = limits
        self._reactor = reactor
        self._idleTimedOut = idleTimedOut
        self.queued = 0
        self.lastProgress: float = reactor.seconds()
        self.resetBudget = TokenBucket(
            limits.resetBudget, limits.resetBudgetRate, self.lastProgress
        )
        self._lastReset: int | None = None
        #: How far each stream's response is acknowledged, by stream ID.
        self._acked: dict[int, int] = {}
        self._idleCall: IDelayedCall | None = reactor.callLater(
            limits.idleTimeout, self._checkIdle
        )

    def stop(self) -> None:
        """
        The connection is closed: no timeout applies any more.
        """
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None

    def progress(self) -> None:
        """
        A request, or part of its body, arrived.
        """
        self.lastProgress = self._reactor.seconds()

    def streamReset(self, streamID: int) -> bool:
        """
        The client reset stream C{streamID} (RESET_STREAM), or asked us to
        (STOP_SENDING): a stream cancelled both ways, one frame right after
        the other, is charged once.

        @return: L{False} if it resets streams faster than its budget
            allows: the connection must be closed.
        """
        if streamID == self._lastReset:
            return True
        self._lastReset = streamID
        return self.resetBudget.spend(self._reactor.seconds())

    def _held(self, streamID: int) -> int:
        state = self._quic._streams.get(streamID)
        return len(state.sender._buffer) if state is not None else 0

    def wrote(self, stream: H3Stream, size: int, streams: Iterable[H3Stream]) -> None:
        """
        C{stream} handed C{size} response bytes to the connection: pause its
        producer, or every producer of the connection, if that is too much.
        """
        self.queued += size
        if self.queued > self._limits.connectionBufferSize:
            for each in streams:
                each.pauseResponse()
        elif self._held(stream.streamID) > self._limits.streamBufferSize:
            stream.pauseResponse()

    def measure(self, streams: Iterable[H3Stream]) -> None:
        """
        After a pass: count what the connection holds, note the bytes the
        client acknowledged since the last pass as progress, and pause or
        resume the producers of C{streams} (with some slack, so that a
        producer is not woken for each packet).
        """
        queued = 0
        acked = {}
        progressed = False
        previous = self._acked
        for streamID, state in self._quic._streams.items():
            sender = state.sender
            queued += len(sender._buffer)
            start = sender._buffer_start
            acked[streamID] = start
            if start > previous.get(streamID, 0):
                progressed = True
        self._acked = acked
        self.queued = queued
        if progressed:
            self.progress()
        limits = self._limits
        streamLimit = limits.streamBufferSize
        connectionLimit = limits.connectionBufferSize
        for stream in streams:
            if stream.producer is None:
                continue
            held = self._held(stream.streamID)
            if queued > connectionLimit or held > streamLimit:
                stream.pauseResponse()
            elif queued < connectionLimit // 2 and held < streamLimit // 2:
                stream.resumeResponse()

    def _checkIdle(self) -> None:
        self._idleCall = None
        self._idleCall = recheckIdle(
            self._reactor,
            self._limits.idleTimeout,
            self.lastProgress,
            self._checkIdle,
            self._idleTimedOut,
        )
