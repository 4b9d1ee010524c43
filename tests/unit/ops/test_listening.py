"""
Tests for L{h2site.ops.listening.listenNow}: listening at once, and the
PROXY layer put back around an endpoint.
"""

from __future__ import annotations

import socket
import struct

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from h2site.ops.listening import listenNow
from h2site.tls.endpoints import parseListen


class Recorded(Protocol):
    """
    The protocol the factory given to L{listenNow} builds, beneath any
    wrappers.
    """


class _RecordingEndpoint:
    """
    An endpoint that listens at once on nothing, keeping the factory.
    """

    def __init__(self) -> None:
        self.factories: list[IProtocolFactory] = []

    def listen(self, factory: IProtocolFactory) -> Deferred[_NoPort]:
        self.factories.append(factory)
        return succeed(_NoPort())


class _NoPort:
    """
    What L{_RecordingEndpoint} listens with: only an address to log.
    """

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 4443)


class ListenNowTests(SynchronousTestCase):
    """
    L{listenNow}, through which every listener is opened, puts the PROXY
    layer of C{haproxy:} specs outside the factory it is given.
    """

    def connect(self, description: str, data: bytes) -> Recorded:
        """
        Listen on C{description} with a recording endpoint, accept one
        connection that sends C{data}, and return the protocol the given
        factory built for it.
        """
        factory = ServerFactory.forProtocol(Recorded)
        endpoint = _RecordingEndpoint()
        listenNow(parseListen(description), endpoint, factory)  # type: ignore[arg-type]
        [used] = endpoint.factories
        outer = used.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))
        assert outer is not None
        outer.makeConnection(
            StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 50000))
        )
        outer.dataReceived(data)
        inner = outer
        while not isinstance(inner, Recorded):
            inner = inner.wrappedProtocol  # type: ignore[attr-defined]
        return inner

    def test_proxyOutside(self) -> None:
        """
        On a C{haproxy:} spec, the factory's protocols see the PROXY
        header's client as their peer; the header never reaches them.
        """
        inner = self.connect(
            "haproxy:tcp:0", b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n"
        )
        assert inner.transport is not None
        self.assertEqual(
            inner.transport.getPeer(), IPv4Address("TCP", "203.0.113.7", 40000)
        )

    def test_proxyV2IPv6(self) -> None:
        """
        An IPv6 client from a v2 header is named in canonical form, as it
        would be connecting directly or in a v1 header.
        """
        header = (
            b"\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24"
            + socket.inet_pton(socket.AF_INET6, "2001:db8::7")
            + socket.inet_pton(socket.AF_INET6, "::1")
            + struct.pack("!HH", 40000, 443)
        )
        inner = self.connect("haproxy:tcp:0", header)
        assert inner.transport is not None
        self.assertEqual(
            inner.transport.getPeer(), IPv6Address("TCP", "2001:db8::7", 40000)
        )

    def test_noProxyLayer(self) -> None:
        """
        Other specs listen with the factory itself.
        """
        inner = self.connect("tcp:0", b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2\r\n")
        assert inner.transport is not None
        self.assertEqual(
            inner.transport.getPeer(), IPv4Address("TCP", "127.0.0.1", 50000)
        )
