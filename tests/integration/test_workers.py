"""
Tests for L{h2site.ops.supervisor}: C{--workers N}.
"""

from __future__ import annotations

import os
import re
import signal
import socket
from pathlib import Path

import httpx
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    copySite,
    sharedCertificates,
    startServer,
    startSocketActivated,
)


def socketCount(pid: int) -> int:
    """
    How many sockets process C{pid} has open.
    """
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


class WorkersTests(SynchronousTestCase):
    """
    C{twistd h2site --workers 2}, for real.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.site = copySite(self.tmp / "site")
        self.certs = sharedCertificates()
        self.server = startServer(
            self, "-p", self.certs.endpoint(), "--workers", "2", cwd=self.tmp
        )
        self.server.waitForOutput("all 2 workers are serving")
        self.client = httpx.Client(
            http2=True,
            verify=self.certs.sslContext(),
            base_url=self.server.url,
            timeout=30,
        )
        self.addCleanup(self.client.close)

    def workerPids(self) -> set[int]:
        return {
            int(pid)
            for pid in re.findall(
                r"worker \d \(pid (\d+)\) is serving", self.server.output()
            )
        }

    def fresh(self) -> int:
        """
        The status of a request on a new connection (so whichever worker is
        accepting takes it).
        """
        with httpx.Client(http2=True, verify=self.certs.sslContext(), timeout=30) as c:
            return c.get(self.server.url + "/").status_code

    def test_bothWorkersServe(self) -> None:
        """
        Two worker processes, not the supervisor, take the connections, and
        both get a share: with 16 connections open, each worker holds some.
        """
        pids = self.workerPids()
        self.assertEqual(len(pids), 2)
        self.assertNotIn(self.server.process.pid, pids)  # type: ignore[union-attr]
        before = {pid: socketCount(pid) for pid in pids}
        ctx = self.certs.sslContext(["http/1.1"])
        connections = []
        try:
            for _ in range(16):
                raw = socket.create_connection(
                    ("127.0.0.1", self.server.port), timeout=30
                )
                # The handshake completes only once a worker has accepted.
                connections.append(ctx.wrap_socket(raw, server_hostname="localhost"))
            gained = {pid: socketCount(pid) - before[pid] for pid in pids}
        finally:
            for connection in connections:
                connection.close()
        self.assertEqual(sum(gained.values()), 16, gained)
        self.assertTrue(all(count > 0 for count in gained.values()), gained)

    def test_deadWorkerRestarted(self) -> None:
        """
        A worker that dies is replaced, and serving goes on.
        """
        victim = min(self.workerPids())
        os.kill(victim, signal.SIGKILL)
        self.server.waitForOutput(rf"\(pid {victim}\) exited .*restarting")
        self.server.waitForOutput(r"worker \d \(pid \d+\) is serving", count=3)
        pids = self.workerPids()
        self.assertEqual(len(pids), 3)
        self.assertIn(victim, pids)
        self.assertEqual(self.fresh(), 200)

    def test_reloadAndStop(self) -> None:
        """
        SIGHUP reaches every worker (each reloads), and SIGTERM stops the
        workers and the supervisor cleanly.
        """
        (self.site / "templates" / "about.html").write_text("<p>new</p>")
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput("reloaded; now serving the new version", count=2)
        self.assertEqual(self.client.get("/about").text, "<p>new</p>")
        workers = self.workerPids()
        # twistd ends by re-raising the signal that stopped it (systemd counts
        # SIGTERM as a clean exit).
        self.assertEqual(self.server.stop(), -signal.SIGTERM)
        self.assertIn("Server Shut Down.", self.server.output())
        self.assertNotIn("Traceback", self.server.output())
        for pid in workers:
            self.assertFalse(
                Path(f"/proc/{pid}").exists(), f"worker {pid} left running"
            )


class SocketActivatedWorkersTests(SynchronousTestCase):
    """
    C{--workers} on a socket systemd passed in.
    """

    def test_workersOnSystemdSocket(self) -> None:
        """
        Under C{systemd-socket-activate}, two workers serve HTTPS from the
        inherited socket.
        """
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        copySite(tmp / "site")
        server, _ = startSocketActivated(
            self, sharedCertificates(), "--workers", "2", cwd=tmp
        )
        server.waitForOutput("all 2 workers are serving")
