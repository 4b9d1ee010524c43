"""
Tests for L{h2site.http.messages}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.http.messages import describePeer


class DescribePeerTests(SynchronousTestCase):
    def test_addresses(self) -> None:
        """
        Addresses read as host and port, IPv6 in brackets.
        """
        from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress

        self.assertEqual(
            describePeer(IPv4Address("TCP", "192.0.2.7", 50122)), "192.0.2.7:50122"
        )
        self.assertEqual(
            describePeer(IPv6Address("TCP", "2001:db8::1", 50122)),
            "[2001:db8::1]:50122",
        )
        self.assertIn("UNIXAddress", describePeer(UNIXAddress(None)))
