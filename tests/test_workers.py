"""
Tests for L{h2site.workers}: C{--workers N}.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
from twisted.trial.unittest import SynchronousTestCase

from h2site.config import parseWorkers
from h2site.errors import ConfigError
from h2site.workers import restartDelay

from .helpers import copySite, sharedCertificates, startServer


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
        Two worker processes accept from the shared socket: with either one
        frozen, the other still answers every new connection.
        """
        pids = self.workerPids()
        self.assertEqual(len(pids), 2)
        self.assertNotIn(self.server.process.pid, pids)  # type: ignore[union-attr]
        for frozen in pids:
            os.kill(frozen, signal.SIGSTOP)
            try:
                self.assertEqual([self.fresh() for _ in range(3)], [200, 200, 200])
            finally:
                os.kill(frozen, signal.SIGCONT)

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
