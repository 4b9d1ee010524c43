"""
Tests for L{h2site.ops.supervisor}: the pure parts (restart delays,
worker counts) and the SO_REUSEPORT sockets.
"""

from __future__ import annotations

import socket

from twisted.trial.unittest import SynchronousTestCase

from h2site.config import parseWorkers
from h2site.errors import ConfigError, StartupError
from h2site.ops.supervisor import restartDelay, reusePortSockets
from h2site.tls.endpoints import parseListen


class PureTests(SynchronousTestCase):
    """
    The counting and back-off rules.
    """

    def test_parseWorkers(self) -> None:
        """
        A count from 1 to 256, or C{auto} for the CPUs this process may use.
        """
        self.assertEqual(parseWorkers("1"), 1)
        self.assertEqual(parseWorkers("4"), 4)
        self.assertEqual(parseWorkers("auto", cpus=2), 2)
        self.assertEqual(parseWorkers("auto", cpus=1000), 256)
        for bad in ["0", "-1", "x", "257", ""]:
            self.assertRaises(ConfigError, parseWorkers, bad)

    def test_restartDelay(self) -> None:
        """
        The first restart is immediate; repeated quick deaths back off,
        doubling, to at most 30 seconds.
        """
        self.assertEqual(
            [restartDelay(n) for n in range(1, 9)], [0, 1, 2, 4, 8, 16, 30, 30]
        )


class ReusePortTests(SynchronousTestCase):
    """
    L{reusePortSockets} gives each worker its own socket on one address.
    """

    def test_tcp(self) -> None:
        """
        For a C{tcp:} listener, N sockets share one kernel-chosen port.
        """
        sockets = reusePortSockets(parseListen("tcp:port=0:interface=127.0.0.1"), 3)
        assert sockets is not None
        for sock in sockets:
            self.addCleanup(sock.close)
        self.assertEqual(len({s.getsockname() for s in sockets}), 1)
        self.assertEqual(len({s.fileno() for s in sockets}), 3)

    def test_haproxyTCP(self) -> None:
        """
        A C{haproxy:tcp:} listener gets a socket per worker too: each worker
        reads the PROXY headers of the connections it accepts.
        """
        spec = parseListen("haproxy:tcp:port=0:interface=127.0.0.1")
        sockets = reusePortSockets(spec, 2)
        assert sockets is not None
        for sock in sockets:
            self.addCleanup(sock.close)
        self.assertEqual(len({s.getsockname() for s in sockets}), 1)
        self.assertEqual(sockets[0].getsockname()[0], "127.0.0.1")
        self.assertIsNone(reusePortSockets(parseListen("haproxy:unix:/tmp/x"), 2))

    def test_otherKinds(self) -> None:
        """
        Other endpoint types share one socket instead.
        """
        self.assertIsNone(reusePortSockets(parseListen("unix:/tmp/x"), 2))
        self.assertIsNone(
            reusePortSockets(parseListen("systemd:domain=INET:index=0"), 2)
        )

    def test_busy(self) -> None:
        """
        A port taken by another process (without SO_REUSEPORT) is one clear
        error.
        """
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with self.assertRaises(StartupError) as caught:
            reusePortSockets(parseListen(f"tcp:{port}:interface=127.0.0.1"), 2)
        self.assertIn("already in use", str(caught.exception.code))
