"""
Tests for L{h2site.http.h3.guard}: the Version Negotiation answer as a
function of bytes, and its budget.  (L{SessionGuard} is tested through the
listener, in L{tests.unit.http.h3.test_listener}.)
"""

from __future__ import annotations

from aioquic.buffer import Buffer
from aioquic.quic.packet import QuicPacketType, pull_quic_header
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h3.guard import VersionNegotiator, versionNegotiation

_SERVED = [0x00000001, 0x6B3343CF]


def longHeader(
    size: int,
    version: int = 0x1A2A3A4A,
    destination: bytes = b"D" * 8,
    source: bytes = b"S" * 5,
) -> bytes:
    header = (
        b"\xc0"
        + version.to_bytes(4, "big")
        + bytes([len(destination)])
        + destination
        + bytes([len(source)])
        + source
    )
    return header + b"\x00" * (size - len(header))


class VersionNegotiationTests(SynchronousTestCase):
    def test_packet(self) -> None:
        """
        The answer is a Version Negotiation packet, as aioquic's client
        reads it: version 0, the client's source connection ID as its
        destination and the other way round, and the versions served.
        """
        answer = versionNegotiation(longHeader(1200), _SERVED)
        assert answer is not None
        header = pull_quic_header(Buffer(data=answer), 8)
        self.assertEqual(header.packet_type, QuicPacketType.VERSION_NEGOTIATION)
        self.assertEqual(header.destination_cid, b"S" * 5)
        self.assertEqual(header.source_cid, b"D" * 8)
        self.assertEqual(header.supported_versions, _SERVED)
        self.assertLess(len(answer), 1200)

    def test_longConnectionIDs(self) -> None:
        """
        Connection IDs of another version may be up to 255 bytes (RFC 8999):
        they are echoed whole.
        """
        answer = versionNegotiation(
            longHeader(1200, destination=b"d" * 255, source=b"s" * 255), _SERVED
        )
        assert answer is not None
        self.assertEqual(answer[5:6], b"\xff")
        self.assertEqual(answer[6:261], b"s" * 255)
        self.assertEqual(answer[262:517], b"d" * 255)

    def test_noAnswer(self) -> None:
        """
        A short datagram, a version served, version 0 (itself a Version
        Negotiation packet) and a short header get no answer.
        """
        for datagram in [
            longHeader(1199),
            longHeader(1200, version=1),
            longHeader(1200, version=0),
            b"\x40" + b"\x1a" * 1300,
            b"",
        ]:
            self.assertIsNone(versionNegotiation(datagram, _SERVED), datagram[:8])

    def test_budget(self) -> None:
        """
        L{VersionNegotiator} answers C{budget} datagrams at once, then
        C{rate} a second.
        """
        negotiator = VersionNegotiator(_SERVED, now=0.0, budget=3, rate=2.0)
        datagram = longHeader(1200)
        answers = [negotiator.answer(datagram, 0.0) for _ in range(5)]
        self.assertEqual([a is not None for a in answers], [True] * 3 + [False] * 2)
        later = [negotiator.answer(datagram, 1.0) for _ in range(3)]
        self.assertEqual([a is not None for a in later], [True, True, False])
        self.assertIsNone(negotiator.answer(longHeader(1000), 10.0))
