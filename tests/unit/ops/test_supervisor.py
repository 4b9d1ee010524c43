"""
Tests for L{h2site.ops.supervisor}: the pure parts (restart delays,
worker counts), the SO_REUSEPORT sockets, and the supervisor itself on a
memory reactor (spawning, readiness, restarts, signals, stopping).  The
real processes are tested in L{tests.integration.test_workers}.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from types import FrameType

from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from h2site.config import parseWorkers
from h2site.errors import ConfigError, StartupError
from h2site.ops import supervisor
from h2site.ops.supervisor import (
    LISTEN_FDS_VAR,
    STATUS_FD_VAR,
    STOP_TIMEOUT,
    WorkerSupervisor,
    restartDelay,
    reusePortSockets,
)
from h2site.tls.endpoints import ListenSpec, parseListen
from tests.helpers import sharedCertificates
from tests.unit.ops.fakes import (
    FakeEndpoint,
    FakePort,
    FakeReactor,
    LogCapture,
    RecordingNotifier,
    keepSignalHandlers,
)


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


#: The options the supervisor was started with, which every worker gets.
ARGV = ["--site", "/srv/www", "--workers", "2"]

#: The environment the supervisor runs in: systemd's variables are its own,
#: never a worker's (a worker would answer for it, or take its sockets).
ENVIRON = {
    "PATH": "/usr/bin:/bin",
    "XDG_STATE_HOME": "/var/lib/h2site",
    "NOTIFY_SOCKET": "/run/systemd/notify",
    "WATCHDOG_USEC": "30000000",
    "WATCHDOG_PID": "1",
    "LISTEN_FDS": "1",
    "LISTEN_PID": "1",
    "LISTEN_FDNAMES": "https",
}


class InMemoryTestCase(SynchronousTestCase):
    """
    A L{WorkerSupervisor} on a L{FakeReactor}: its processes are recorded,
    never run; the test plays each worker (saying "ready", dying).  Real
    signal handlers are installed (and put back after); a test calls the
    installed handler, as the interpreter would on a signal.
    """

    def startSupervisor(
        self,
        count: int,
        listen: list[tuple[ListenSpec, IStreamServerEndpoint]],
        stopTimeout: float = STOP_TIMEOUT,
    ) -> WorkerSupervisor:
        keepSignalHandlers(self, signal.SIGHUP, signal.SIGUSR1)
        self.patch(os, "environ", dict(ENVIRON))
        self.log = LogCapture()
        self.patch(supervisor, "_log", Logger(observer=self.log))
        self.reactor = FakeReactor()
        self.notifier = RecordingNotifier()
        workers = WorkerSupervisor(
            count=count,
            argv=ARGV,
            listen=listen,
            notifier=self.notifier,
            reactor=self.reactor,
            stopTimeout=stopTimeout,
            now=self.reactor.seconds,
        )
        workers.privilegedStartService()
        workers.startService()
        self.addCleanup(self.stopAll, workers, self.reactor)
        self.workers = workers
        return workers

    def stopAll(self, workers: WorkerSupervisor, reactor: FakeReactor) -> None:
        """
        Stop C{workers} if the test did not, ending every process, so its
        sockets are closed.
        """
        if workers.running:
            workers.stopService()
        for process in reactor.processes:
            if process.pid is not None:
                process.end()

    def unixListener(
        self,
    ) -> tuple[FakePort, tuple[ListenSpec, IStreamServerEndpoint]]:
        """
        A C{unix:} listener, which every worker shares, on a fake socket.
        """
        port = FakePort(fd=42, path="/run/h2site.sock")
        return port, (parseListen("unix:/run/h2site.sock"), FakeEndpoint(port))

    def tcpListener(self, description: str) -> tuple[ListenSpec, IStreamServerEndpoint]:
        """
        A C{tcp:} (or C{ssl:}) listener: the supervisor opens real
        C{SO_REUSEPORT} sockets for it, one per worker, and never uses the
        endpoint.
        """
        return parseListen(description), FakeEndpoint(FakePort(fd=-1, path="-"))

    def logged(self) -> list[str]:
        return self.log.lines()


class SpawnTests(InMemoryTestCase):
    """
    L{WorkerSupervisor} starts C{count} workers of this Python on the
    listening sockets.
    """

    def test_arguments(self) -> None:
        """
        Each worker runs C{python -m h2site.worker} with the supervisor's
        own options, from this interpreter.
        """
        _, unix = self.unixListener()
        self.startSupervisor(2, [unix])
        self.assertEqual(len(self.reactor.processes), 2)
        for process in self.reactor.processes:
            self.assertEqual(process.executable, sys.executable)
            self.assertEqual(
                process.args, [sys.executable, "-m", "h2site.worker", *ARGV]
            )

    def test_descriptors(self) -> None:
        """
        A worker inherits standard input and output, a pipe on descriptor 3
        to say it is ready, then one listening socket per listener from
        descriptor 4 on: its own C{SO_REUSEPORT} socket of a C{tcp:}
        listener, and the one socket of a C{unix:} listener that all share,
        which the supervisor itself never reads from.
        """
        port, unix = self.unixListener()
        tcp = self.tcpListener("tcp:port=0:interface=127.0.0.1")
        self.startSupervisor(2, [tcp, unix])
        first, second = (p.childFDs for p in self.reactor.processes)
        for fds in (first, second):
            self.assertEqual(sorted(fds), [0, 1, 2, 3, 4, 5])
            self.assertEqual((fds[0], fds[1], fds[2], fds[3]), (0, 1, 2, "r"))
            self.assertEqual(fds[5], 42)
        self.assertNotEqual(first[4], second[4])
        addresses = set()
        for fd in (first[4], second[4]):
            assert isinstance(fd, int)
            sock = socket.socket(fileno=os.dup(fd))
            self.addCleanup(sock.close)
            self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT), 1)
            addresses.add(sock.getsockname())
        self.assertEqual(len(addresses), 1)
        self.assertFalse(port.reading)

    def test_environment(self) -> None:
        """
        A worker gets the supervisor's environment without systemd's
        variables (it must neither notify systemd nor take its sockets),
        plus where its listening sockets and its ready pipe are.
        """
        _, unix = self.unixListener()
        tcp = self.tcpListener("tcp:port=0:interface=127.0.0.1")
        self.startSupervisor(2, [tcp, unix])
        for process in self.reactor.processes:
            self.assertEqual(
                process.env,
                {
                    "PATH": "/usr/bin:/bin",
                    "XDG_STATE_HOME": "/var/lib/h2site",
                    LISTEN_FDS_VAR: "4,5",
                    STATUS_FD_VAR: "3",
                },
            )

    def test_httpsPort(self) -> None:
        """
        The port of the first TLS listener is the one the kernel gave its
        sockets (what C{--redirect} sends clients to); without a TLS
        listener there is none.
        """
        tls = self.tcpListener(sharedCertificates().endpoint())
        workers = self.startSupervisor(2, [tls])
        port = workers.httpsPort()
        assert port is not None
        probe = socket.create_connection(("127.0.0.1", port), timeout=5)
        probe.close()
        _, unix = self.unixListener()
        self.assertIsNone(self.startSupervisor(1, [unix]).httpsPort())


class ReadinessTests(InMemoryTestCase):
    """
    systemd hears C{READY=1} once every worker serves.
    """

    def test_readyWhenAllAre(self) -> None:
        """
        Nothing is said while one worker is still starting; when the last
        says "ready", the supervisor tells systemd it is ready, once: a
        worker restarted later does not repeat it.
        """
        _, unix = self.unixListener()
        self.startSupervisor(2, [unix])
        first, second = self.reactor.processes
        first.say(3, b"ready\n")
        self.assertEqual(self.notifier.messages, [])
        second.say(3, b"ready\n")
        self.assertEqual(
            self.notifier.messages, [("READY=1", "STATUS=serving with 2 workers")]
        )
        self.assertIn("all 2 workers are serving", self.logged())
        second.end()
        self.reactor.advance(0)
        self.reactor.processes[-1].say(3, b"ready\n")
        self.assertEqual(self.notifier.firsts(), ["READY=1"])

    def test_otherOutputIsNotReady(self) -> None:
        """
        Only "ready" on the status descriptor counts.
        """
        _, unix = self.unixListener()
        self.startSupervisor(1, [unix])
        (worker,) = self.reactor.processes
        worker.say(1, b"ready\n")
        worker.say(3, b"starting\n")
        self.assertEqual(self.notifier.messages, [])


class RestartTests(InMemoryTestCase):
    """
    A worker that dies is started again, backing off while it keeps dying
    soon after starting.
    """

    def test_backOff(self) -> None:
        """
        The first restart is immediate; each quick death after it doubles
        the wait (1, 2, 4 s...); each is logged with the delay.
        """
        _, unix = self.unixListener()
        self.startSupervisor(1, [unix])
        for delay in [0.0, 1.0, 2.0, 4.0]:
            spawned = len(self.reactor.processes)
            self.reactor.processes[-1].end()
            (call,) = self.reactor.getDelayedCalls()
            self.assertEqual(call.getTime() - self.reactor.seconds(), delay)
            if delay:
                self.reactor.advance(delay - 0.5)
                self.assertEqual(len(self.reactor.processes), spawned)
                self.reactor.advance(0.5)
            else:
                self.reactor.advance(0)
            self.assertEqual(len(self.reactor.processes), spawned + 1)
        self.assertIn(
            "worker 0 (pid 1001) exited (A process has ended with a probable "
            "error condition: process ended by signal 9.); restarting in 1 s",
            self.logged(),
        )

    def test_longLivedWorkerRestartsAtOnce(self) -> None:
        """
        A worker that served for more than 10 s before dying is restarted
        at once, however often its predecessors died.
        """
        _, unix = self.unixListener()
        self.startSupervisor(1, [unix])
        for _ in range(3):
            self.reactor.processes[-1].end()
            self.reactor.advance(self.reactor.getDelayedCalls()[0].getTime())
        self.reactor.advance(11)
        spawned = len(self.reactor.processes)
        self.reactor.processes[-1].end()
        self.reactor.advance(0)
        self.assertEqual(len(self.reactor.processes), spawned + 1)

    def test_slotKeepsItsSockets(self) -> None:
        """
        The replacement of a worker gets the dead one's sockets and
        arguments.
        """
        _, unix = self.unixListener()
        tcp = self.tcpListener("tcp:port=0:interface=127.0.0.1")
        self.startSupervisor(2, [tcp, unix])
        dead = self.reactor.processes[1]
        dead.end()
        self.reactor.advance(0)
        replacement = self.reactor.processes[-1]
        self.assertEqual(len(self.reactor.processes), 3)
        self.assertEqual(replacement.childFDs, dead.childFDs)
        self.assertEqual(replacement.args, dead.args)


class SignalTests(InMemoryTestCase):
    """
    SIGHUP and SIGUSR1 are passed on to the workers that serve.
    """

    def test_onlyToReadyWorkers(self) -> None:
        """
        The handler hands the signal to the reactor; then a worker that
        serves gets it, and one still starting does not (it has no handler
        yet, so the signal would kill it, and it is reading the new files
        anyway).
        """
        _, unix = self.unixListener()
        self.startSupervisor(2, [unix])
        ready, starting = self.reactor.processes
        ready.say(3, b"ready\n")
        for signum in (signal.SIGHUP, signal.SIGUSR1):
            handler = signal.getsignal(signum)
            assert callable(handler)
            handler(signum, None)
        self.assertEqual(ready.signals, [])
        self.reactor.advance(0)
        self.assertEqual(ready.signals, [signal.SIGHUP, signal.SIGUSR1])
        self.assertEqual(starting.signals, [])

    def test_reloadNotifications(self) -> None:
        """
        SIGHUP tells systemd the workers reload, then that they serve;
        SIGUSR1 (reopen logs) tells it nothing.
        """
        _, unix = self.unixListener()
        self.startSupervisor(1, [unix])
        self.reactor.processes[0].say(3, b"ready\n")
        del self.notifier.messages[:]
        for signum in (signal.SIGHUP, signal.SIGUSR1):
            handler = signal.getsignal(signum)
            assert callable(handler)
            handler(signum, None)
        self.reactor.advance(0)
        self.assertEqual(
            self.notifier.messages,
            [
                ("RELOADING=1", "STATUS=reloading workers"),
                ("READY=1", "STATUS=serving"),
            ],
        )


class StopTests(InMemoryTestCase):
    """
    Stopping asks every worker to finish (SIGTERM), kills those that do not
    in time (SIGKILL), and closes the sockets once all have ended.
    """

    def test_terminateThenKill(self) -> None:
        """
        Every worker gets SIGTERM; at the timeout, those still running get
        SIGKILL; the stop completes when the last has ended, and none is
        restarted.
        """
        _, unix = self.unixListener()
        self.startSupervisor(2, [unix], stopTimeout=30)
        quick, slow = self.reactor.processes
        d = self.workers.stopService()
        self.assertEqual((quick.signals, slow.signals), (["TERM"], ["TERM"]))
        self.assertEqual(self.notifier.firsts(), ["STOPPING=1"])
        quick.end(signal.SIGTERM)
        self.reactor.advance(29.9)
        self.assertNoResult(d)
        self.assertEqual(slow.signals, ["TERM"])
        self.reactor.advance(0.1)
        self.assertEqual((quick.signals, slow.signals), (["TERM"], ["TERM", "KILL"]))
        self.assertIn("worker did not stop in time; killing it", self.logged())
        self.assertNoResult(d)
        slow.end(signal.SIGKILL)
        self.successResultOf(d)
        self.assertEqual(len(self.reactor.processes), 2)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stopInTime(self) -> None:
        """
        Workers that end within the timeout are never killed, and the kill
        is no longer scheduled.
        """
        _, unix = self.unixListener()
        self.startSupervisor(2, [unix])
        d = self.workers.stopService()
        for process in self.reactor.processes:
            process.end(signal.SIGTERM)
        self.successResultOf(d)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.reactor.advance(STOP_TIMEOUT)
        for process in self.reactor.processes:
            self.assertEqual(process.signals, ["TERM"])

    def test_socketsClosed(self) -> None:
        """
        Once the workers have ended, the supervisor closes its C{tcp:}
        sockets (new connections are refused) and stops listening on the
        shared ones.
        """
        port, unix = self.unixListener()
        tcp = self.tcpListener("tcp:port=0:interface=127.0.0.1")
        self.startSupervisor(2, [tcp, unix])
        fd = self.reactor.processes[0].childFDs[4]
        assert isinstance(fd, int)
        address = socket.socket(fileno=os.dup(fd))
        host, number = address.getsockname()
        address.close()
        socket.create_connection((host, number), timeout=5).close()
        d = self.workers.stopService()
        self.assertTrue(port.listening)
        for process in self.reactor.processes:
            process.end(signal.SIGTERM)
        self.successResultOf(d)
        self.assertFalse(port.listening)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((host, number), timeout=5)

    def test_signalHandlersRestored(self) -> None:
        """
        The handlers the supervisor replaced are put back.
        """
        keepSignalHandlers(self, signal.SIGHUP, signal.SIGUSR1)

        def mine(signum: int, frame: FrameType | None) -> None:
            pass

        signal.signal(signal.SIGHUP, mine)
        _, unix = self.unixListener()
        self.startSupervisor(1, [unix])
        self.assertIsNot(signal.getsignal(signal.SIGHUP), mine)
        self.workers.stopService()
        self.assertIs(signal.getsignal(signal.SIGHUP), mine)
