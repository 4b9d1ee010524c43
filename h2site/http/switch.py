# -*- test-case-name: tests.unit.http.test_switch,tests.unit.http.test_internals -*-
"""
The protocol a connection speaks, chosen by ALPN (HTTP/1.1 or HTTP/2),
and the pool of open connections a shutdown closes.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IHandshakeListener,
    IReactorTime,
    ISSLTransport,
)
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from zope.interface import implementer

from h2site.http.h1 import HTTP11Channel
from h2site.http.h2.connection import H2Connection
from h2site.http.h2.frames import FieldEncoder
from h2site.http.limits import ConnectionLimits
from h2site.http.messages import describePeer

__all__ = ["ConnectionPool", "HasConnections", "ProtocolSwitch", "buildProtocol"]

_log = Logger(namespace="h2site.http")


class HasConnections(Protocol):
    connections: ConnectionPool


@implementer(IHandshakeListener)
class ProtocolSwitch(http._GenericHTTPChannelProtocol):
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
        super().__init__(HTTP11Channel(pool.limits, pool.reactor))
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
        self._connections: set[ProtocolSwitch] = set()
        self._waiters: list[Deferred[None]] = []

    def __len__(self) -> int:
        return len(self._connections)

    def add(self, connection: ProtocolSwitch) -> None:
        self._connections.add(connection)

    def discard(self, connection: ProtocolSwitch) -> None:
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


def buildProtocol(factory: HasConnections) -> TwistedProtocol:
    """
    The C{protocol} of h2site's C{Site}: a protocol switch registered with
    the site's L{ConnectionPool}.
    """
    return ProtocolSwitch(factory.connections)
