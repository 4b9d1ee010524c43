"""
Tests for L{h2site.ops.activation}: which of the sockets systemd passed a
C{systemd:} listener streams on, and which serves its HTTP/3.
"""

from __future__ import annotations

import os
import socket

from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import StartupError
from h2site.ops.activation import (
    PassedSocket,
    adoptedStream,
    datagramFor,
    passedSockets,
)

STREAM = PassedSocket(
    3, "https", socket.SOCK_STREAM, socket.AF_INET6, ("::", 443, 0, 0)
)
DATAGRAM = PassedSocket(
    4, "https", socket.SOCK_DGRAM, socket.AF_INET6, ("::", 443, 0, 0)
)
HTTP = PassedSocket(5, "http", socket.SOCK_STREAM, socket.AF_INET6, ("::", 80, 0, 0))


class AdoptedStreamTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactor()

    def endpoint(self, fd: int) -> AdoptedStreamServerEndpoint:
        return AdoptedStreamServerEndpoint(self.reactor, fd, socket.AF_INET6)

    def test_streamKept(self) -> None:
        """
        The endpoint Twisted chose is kept when its socket is a stream one.
        """
        endpoint = self.endpoint(3)
        passed = [STREAM, DATAGRAM, HTTP]
        description = "systemd:domain=INET6:name=https"
        self.assertIs(adoptedStream(description, endpoint, passed, None), endpoint)

    def test_datagramOfTheSameName(self) -> None:
        """
        When Twisted chose the datagram socket of a name (its dict keeps the
        last), the stream socket of that name is adopted instead.
        """
        chosen = adoptedStream(
            "systemd:domain=INET6:name=https",
            self.endpoint(4),
            [STREAM, DATAGRAM, HTTP],
            self.reactor,
        )
        assert isinstance(chosen, AdoptedStreamServerEndpoint)
        self.assertEqual((chosen.fileno, chosen.addressFamily), (3, socket.AF_INET6))

    def test_indexOfADatagram(self) -> None:
        """
        C{index=} pointing at a datagram socket is a start-up error naming
        the socket.
        """
        with self.assertRaises(StartupError) as caught:
            adoptedStream(
                "systemd:domain=INET6:index=1",
                self.endpoint(4),
                [STREAM, DATAGRAM],
                self.reactor,
            )
        self.assertIn(
            "(https, [::]:443) is not a stream (TCP) socket", str(caught.exception)
        )

    def test_noStreamOfThatName(self) -> None:
        """
        A name with only a datagram socket is a start-up error.
        """
        with self.assertRaises(StartupError):
            adoptedStream(
                "systemd:domain=INET6:name=https",
                self.endpoint(4),
                [DATAGRAM, HTTP],
                self.reactor,
            )


class DatagramForTests(SynchronousTestCase):
    def test_sameAddressAndPort(self) -> None:
        """
        The datagram socket bound where the stream one is serves HTTP/3,
        whatever spelling of the address Twisted gives.
        """
        passed = [STREAM, DATAGRAM, HTTP]
        self.assertIs(datagramFor(passed, "::", 443), DATAGRAM)
        self.assertIs(datagramFor(passed, "0:0::0", 443), DATAGRAM)

    def test_none(self) -> None:
        """
        No datagram socket on that port, or on another address: none.
        """
        passed = [STREAM, DATAGRAM, HTTP]
        self.assertIsNone(datagramFor(passed, "::", 80))
        self.assertIsNone(datagramFor(passed, "::1", 443))
        self.assertIsNone(datagramFor([STREAM], "::", 443))


class PassedSocketsTests(SynchronousTestCase):
    def test_noNames(self) -> None:
        """
        Without C{LISTEN_FDNAMES}, no sockets.
        """
        self.assertEqual(passedSockets({}), ())

    def test_namedDescriptors(self) -> None:
        """
        Each name is a descriptor from the first up, with its type and
        address; those that are not sockets are left out.
        """
        tcp = socket.socket()
        udp = socket.socket(type=socket.SOCK_DGRAM)
        reading, writing = os.pipe()
        for closeable in (tcp, udp):
            self.addCleanup(closeable.close)
        for fd in (reading, writing):
            self.addCleanup(os.close, fd)
        tcp.bind(("127.0.0.1", 0))
        udp.bind(("127.0.0.1", 0))
        start = 200
        for offset, fd in enumerate([tcp.fileno(), udp.fileno(), reading]):
            os.dup2(fd, start + offset)
            self.addCleanup(os.close, start + offset)
        passed = passedSockets({"LISTEN_FDNAMES": "https:quic:pipe"}, start)
        self.assertEqual(
            passed,
            (
                PassedSocket(
                    200, "https", socket.SOCK_STREAM, socket.AF_INET, tcp.getsockname()
                ),
                PassedSocket(
                    201, "quic", socket.SOCK_DGRAM, socket.AF_INET, udp.getsockname()
                ),
            ),
        )
        self.assertEqual(passed[1].where(), f"127.0.0.1:{udp.getsockname()[1]}")
