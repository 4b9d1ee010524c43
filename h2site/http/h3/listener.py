# -*- test-case-name: tests.unit.http.h3.test_listener -*-
"""
HTTP/3 on the UDP port of a TLS listener: a C{DatagramProtocol} that routes
datagrams to QUIC connections (L{QuicSession}) by destination connection ID
and drives C{aioquic}'s sans-IO C{QuicConnection} and C{H3Connection} with
the reactor: each datagram received, and each timer, is one pass that
handles the events and sends what the connection has to send.

A datagram that names no known connection costs one header parse: only an
Initial packet of full size (which a client must pad to 1200 bytes) may
create a connection, and only while fewer than L{MAX_HANDSHAKES}
connections are in their handshake.  Beyond L{RETRY_ABOVE} handshakes at
once, a new client must first prove its address (a Retry packet, RFC 9000
section 8.1.2): a flood from spoofed addresses then costs one small packet
each, and creates no state.  Before its address is validated, a connection
sends at most three times what it received (aioquic's amplification limit).
Version Negotiation, and what one connection may hold and how long it may
stall, are L{h2site.http.h3.guard}'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aioquic.buffer import Buffer
from aioquic.h3.connection import H3_ALPN
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.packet import (
    QuicPacketType,
    QuicProtocolVersion,
    encode_quic_retry,
    pull_quic_header,
)
from aioquic.quic.retry import QuicRetryTokenHandler
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IDelayedCall
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from h2site.http.h3.guard import VersionNegotiator
from h2site.http.h3.session import QuicSession
from h2site.http.limits import ConnectionLimits

__all__ = [
    "MAX_HANDSHAKES",
    "RETRY_ABOVE",
    "H3Listener",
    "altSvcValue",
    "quicConfiguration",
]

_log = Logger(namespace="h2site.http")

#: Connections in their handshake at once, per listener: beyond, new
#: Initial packets are dropped (the client retries), which bounds the CPU
#: and memory a flood of Initials can take.
MAX_HANDSHAKES = 256

#: Connections in their handshake at once beyond which a new client must
#: prove its address with a Retry first (one more round trip for it).
RETRY_ABOVE = 32

#: The QUIC versions served (aioquic's).
_VERSIONS = frozenset([QuicProtocolVersion.VERSION_1, QuicProtocolVersion.VERSION_2])

#: The length of the connection IDs this server issues (aioquic's).
_CID_LENGTH = 8

#: Clients must pad datagrams carrying Initial packets to this size (RFC
#: 9000 section 14.1).
_MIN_INITIAL_SIZE = 1200


def altSvcValue(port: int) -> bytes:
    """
    The C{Alt-Svc} value announcing HTTP/3 on C{port} for a day.
    """
    return b'h3=":%d"; ma=86400' % (port,)


def quicConfiguration(
    certificate: Any, chain: Any, key: Any, limits: ConnectionLimits
) -> QuicConfiguration:
    """
    A server's QUIC settings for one certificate, within C{limits}.
    """
    configuration = QuicConfiguration(
        is_client=False,
        alpn_protocols=H3_ALPN,
        idle_timeout=limits.idleTimeout,
        max_datagram_frame_size=None,
    )
    configuration.certificate = certificate
    configuration.certificate_chain = list(chain)
    configuration.private_key = key
    return configuration


class H3Listener(DatagramProtocol):
    """
    HTTP/3 on one UDP port, for the requests of C{site}.

    @ivar handshakes: connections still in their handshake.
    """

    noisy = False

    def __init__(
        self,
        site: Any,
        configuration: Callable[[], QuicConfiguration],
        limits: ConnectionLimits,
        reactor: Any,
        retryAbove: int = RETRY_ABOVE,
    ) -> None:
        """
        @param configuration: the QUIC settings for a new connection, read
            for each one so that a reload's certificate serves the next.
        @param retryAbove: see L{RETRY_ABOVE}.
        """
        self._retryAbove = retryAbove
        #: Tokens sealed with a key of this process (AES-GCM, cheap).
        self._retry = QuicRetryTokenHandler()
        self.site = site
        self.limits = limits
        self.reactor = reactor
        self._configuration = configuration
        self._routes: dict[bytes, QuicSession] = {}
        self.sessions: set[QuicSession] = set()
        self.handshakes = 0
        self._stopping: Deferred[None] | None = None
        self._deadline: IDelayedCall | None = None
        self._negotiator = VersionNegotiator(_VERSIONS, self.now())

    def now(self) -> float:
        return float(self.reactor.seconds())

    def host(self) -> IAddress:
        assert self.transport is not None
        address: IAddress = self.transport.getHost()
        return address

    def send(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        # A full socket buffer or an unreachable peer: QUIC retransmits.
        with suppress(OSError):
            self.transport.write(data, addr)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        try:
            header = pull_quic_header(Buffer(data=datagram), _CID_LENGTH)
        except ValueError:
            # Another version's packets may not parse as version 1's.
            self._negotiate(datagram, addr)
            return
        session = self._routes.get(header.destination_cid)
        if session is None:
            if header.version is not None and header.version not in _VERSIONS:
                self._negotiate(datagram, addr)
                return
            if (
                header.packet_type != QuicPacketType.INITIAL
                or len(datagram) < _MIN_INITIAL_SIZE
                or header.version not in _VERSIONS
                or self._stopping is not None
                or self.handshakes >= MAX_HANDSHAKES
            ):
                return
            original = header.destination_cid
            retrySource = None
            if header.token:
                try:
                    original = self._retry.validate_token(
                        address=addr,
                        destination_cid=header.destination_cid,
                        token=header.token,
                        now=self.now(),
                    )
                except ValueError:
                    return
                retrySource = header.destination_cid
            elif self.handshakes >= self._retryAbove:
                self._sendRetry(header, addr)
                return
            try:
                configuration = self._configuration()
            except Exception:
                _log.failure("cannot make a QUIC configuration")
                return
            quic = QuicConnection(
                configuration=configuration,
                original_destination_connection_id=original,
                retry_source_connection_id=retrySource,
            )
            session = QuicSession(self, quic, addr)
            self.sessions.add(session)
            self.handshakes += 1
            self.route(header.destination_cid, session)
            self.route(quic.host_cid, session)
        try:
            session.receive(datagram, addr)
        except Exception:
            _log.failure("HTTP/3 connection from {peer} failed", peer=addr)
            session.close("internal error")

    def _negotiate(self, datagram: bytes, addr: Any) -> None:
        answer = self._negotiator.answer(datagram, self.now())
        if answer is not None:
            self.send(answer, addr)

    def _sendRetry(self, header: Any, addr: Any) -> None:
        """
        Ask the client to come back with a token that proves its address.
        """
        source = os.urandom(_CID_LENGTH)
        token = self._retry.create_token(
            address=addr,
            original_destination_connection_id=header.destination_cid,
            retry_source_connection_id=source,
            now=self.now(),
        )
        retry = encode_quic_retry(
            version=header.version,
            source_cid=source,
            destination_cid=header.source_cid,
            original_destination_cid=header.destination_cid,
            retry_token=token,
        )
        self.send(retry, addr)

    def route(self, cid: bytes, session: QuicSession) -> None:
        session.cids.add(cid)
        self._routes[cid] = session

    def unroute(self, cid: bytes) -> None:
        self._routes.pop(cid, None)

    def forget(self, session: QuicSession) -> None:
        for cid in session.cids:
            if self._routes.get(cid) is session:
                del self._routes[cid]
        self.sessions.discard(session)
        self._checkStopped()

    def streamEnded(self, session: QuicSession) -> None:
        if self._stopping is not None and not session.streams:
            self.reactor.callLater(0, session.close, "graceful shutdown")

    # Shutdown

    def shutdown(self, timeout: float) -> Deferred[None]:
        """
        Take no new connection, close those without requests in flight at
        once and the others when their last response is sent, or after
        C{timeout} seconds.
        """
        if self._stopping is None:
            self._stopping = Deferred()
            for session in list(self.sessions):
                if session.streams:
                    session.goAway()
                else:
                    session.close("graceful shutdown")
            self._deadline = self.reactor.callLater(timeout, self._closeAll)
        if not self.sessions:
            return succeed(None)
        return self._stopping

    def _closeAll(self) -> None:
        for session in list(self.sessions):
            session.close("shutdown timeout")

    def _checkStopped(self) -> None:
        stopping = self._stopping
        if stopping is not None and not self.sessions and not stopping.called:
            if self._deadline is not None and self._deadline.active():
                self._deadline.cancel()
            stopping.callback(None)
