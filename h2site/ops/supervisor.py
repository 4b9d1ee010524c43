# -*- test-case-name: tests.unit.ops.test_supervisor -*-
"""
C{--workers N}: one supervising process listens, N serving processes accept.

Python serves from one core per process.  The twistd process opens every
listening socket (including those systemd passed in), stops accepting on
them itself, and starts N copies of h2site that inherit the sockets and
accept from the same queues; the kernel spreads connections among them.
The supervisor restarts a worker that dies, passes SIGHUP (reload) and
SIGUSR1 (reopen logs) on, tells systemd it is ready once every worker is,
and on stop asks each worker to finish gracefully.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from twisted.application import service
from twisted.internet import protocol
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.errors import StartupError
from h2site.ops.listening import announce, describeListenError, listenNow
from h2site.ops.sdnotify import Notifier
from h2site.tls.endpoints import ListenSpec, splitDescription

__all__ = [
    "LISTEN_FDS_VAR",
    "STATUS_FD_VAR",
    "STOP_MARGIN",
    "STOP_TIMEOUT",
    "WorkerSupervisor",
    "restartDelay",
    "reusePortSockets",
]

_log = Logger(namespace="h2site")

#: Environment variables that tell a worker which descriptors it inherits.
LISTEN_FDS_VAR = "H2SITE_LISTEN_FDS"
STATUS_FD_VAR = "H2SITE_STATUS_FD"

#: The child's descriptor on which it says "ready".
_STATUS_FD = 3
#: The first inherited listening descriptor in the child.
_FIRST_LISTEN_FD = 4

#: How long stopping workers may take before they are killed.
STOP_TIMEOUT = 30.0

#: How much longer than its connections' shutdown timeout a worker may take
#: to stop before it is killed.
STOP_MARGIN = 5.0


def restartDelay(failures: int) -> float:
    """
    How long to wait before restarting a worker that has died C{failures}
    times in a row soon after starting: at once the first time, then
    doubling up to 30 seconds, so a broken worker does not spin a core.
    """
    if failures <= 1:
        return 0.0
    return float(min(30, 2 ** (failures - 2)))


def reusePortSockets(spec: ListenSpec, count: int) -> list[socket.socket] | None:
    """
    For a C{tcp:} listener (also behind C{haproxy:}: the PROXY header is
    read by each worker, on whatever socket it accepted from), C{count}
    listening sockets on the same address with C{SO_REUSEPORT}, one per
    worker, or L{None} for other kinds.

    Why not one shared socket: every worker is woken for each new
    connection, and Twisted accepts up to 100 per wake-up, so the first
    worker to run takes a whole burst.  With a socket each, the kernel
    spreads connections evenly by their addresses.

    @raise StartupError: if the address cannot be bound.
    """
    if spec.kind not in ("tcp", "tcp6"):
        return None
    args, kwargs = splitDescription(spec.plain)
    positional = dict(zip(("port", "interface", "backlog"), args[1:], strict=False))
    options = {**positional, **kwargs}
    port = int(options.get("port", "0") or "0")
    interface = options.get("interface", "") or ("::" if spec.kind == "tcp6" else "")
    backlog = int(options.get("backlog", "50") or "50")
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    host = interface or "0.0.0.0"  # noqa: S104 - Twisted's default: all IPv4
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(backlog)
    except OSError as e:
        for sock in sockets:
            sock.close()
        error = CannotListenError(host, port, e)
        raise StartupError(describeListenError(spec.description, error)) from None
    return sockets


class _NeverAccept(protocol.ServerFactory):
    """
    The supervisor's own factory on the shared sockets; never used, because
    the supervisor stops reading from them at once.
    """

    noisy = False


class _WorkerProtocol(protocol.ProcessProtocol):
    def __init__(self, supervisor: WorkerSupervisor, slot: int) -> None:
        self._supervisor = supervisor
        self._slot = slot
        self.started = supervisor._now()
        self.pid: int | None = None

    def connectionMade(self) -> None:
        # Remembered: the transport forgets the pid once the process ends.
        self.pid = getattr(self.transport, "pid", None)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == _STATUS_FD and b"ready" in data:
            self._supervisor._workerReady(self._slot, self)

    def processEnded(self, reason: Failure) -> None:
        self._supervisor._workerEnded(self._slot, self, reason)


class WorkerSupervisor(service.Service):
    """
    Listen, start C{count} workers on the shared sockets, and keep them
    running.
    """

    def __init__(
        self,
        *,
        count: int,
        argv: Sequence[str],
        listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        notifier: Notifier,
        reactor: Any,
        stopTimeout: float = STOP_TIMEOUT,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        @param reactor: provides L{IReactorProcess}, L{IReactorTime} and
            L{IReactorFromThreads}.
        @param now: a monotonic clock, for how long a worker lived before
            it died (not the reactor's, which follows the wall clock);
            tests pass their fake clock's.
        """
        self._count = count
        self._argv = list(argv)
        self._listen = listen
        self._notifier = notifier
        self._reactor = reactor
        self._stopTimeout = stopTimeout
        self._now = now
        self._ports: list[IListeningPort] = []
        #: For each listener, the socket each worker slot accepts from.
        self._sockets: list[list[socket.socket]] = []
        self._workers: dict[int, _WorkerProtocol] = {}
        self._ready: set[int] = set()
        self._failures: dict[int, int] = {}
        self._stopping = False
        self._ended: dict[int, Deferred[None]] = {}
        self._previous: dict[int, Any] = {}
        self._announced = False

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        # Take the signals before saying where we listen (see ControlService).
        for signum in (signal.SIGHUP, signal.SIGUSR1):
            self._forward(signum)
        note = f"with {self._count} workers"
        for spec, endpoint in self._listen:
            sockets = reusePortSockets(spec, self._count)
            if sockets is not None:
                self._sockets.append(sockets)
                host, port = sockets[0].getsockname()[:2]
                kind = (
                    IPv6Address if sockets[0].family == socket.AF_INET6 else IPv4Address
                )
                announce(spec, kind("TCP", host, port), note)
                continue
            # Not TCP (systemd:, unix:): every worker shares one socket.
            shared = listenNow(spec, endpoint, _NeverAccept(), note)
            # The workers accept; this process only holds the socket open.
            shared.stopReading()  # type: ignore[attr-defined]
            self._ports.append(shared)
            self._sockets.append([shared] * self._count)  # type: ignore[list-item]

    def httpsPort(self) -> int | None:
        """
        The port of the first TLS listener (the kernel's choice for port 0),
        or L{None} if there is none or it has no port.
        """
        for (spec, _), sockets in zip(self._listen, self._sockets, strict=False):
            if spec.tls is None:
                continue
            first: Any = sockets[0]
            if isinstance(first, socket.socket):
                if first.family in (socket.AF_INET, socket.AF_INET6):
                    return int(first.getsockname()[1])
                return None
            return getattr(first.getHost(), "port", None)
        return None

    def startService(self) -> None:
        super().startService()
        for slot in range(self._count):
            self._spawn(slot)

    def _forward(self, signum: int) -> None:
        previous = signal.getsignal(signum)
        self._previous[signum] = previous

        def handler(number: int, frame: FrameType | None) -> None:
            self._reactor.callFromThread(self._signalWorkers, number)

        signal.signal(signum, handler)

    def _signalWorkers(self, signum: int) -> None:
        if signum == signal.SIGHUP:
            self._notifier.notify("RELOADING=1", "STATUS=reloading workers")
        for slot, worker in list(self._workers.items()):
            # A worker still starting has no handlers yet (the signal would
            # kill it), and it is reading the new files anyway.
            if slot in self._ready and worker.transport is not None:
                worker.transport.signalProcess(signum)
        if signum == signal.SIGHUP:
            self._notifier.notify("READY=1", "STATUS=serving")

    def _spawn(self, slot: int) -> None:
        worker = _WorkerProtocol(self, slot)
        fds = [sockets[slot].fileno() for sockets in self._sockets]
        childFDs: dict[int, int | str] = {0: 0, 1: 1, 2: 2, _STATUS_FD: "r"}
        for offset, fd in enumerate(fds):
            childFDs[_FIRST_LISTEN_FD + offset] = fd
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {
                "NOTIFY_SOCKET",
                "WATCHDOG_USEC",
                "WATCHDOG_PID",
                "LISTEN_FDS",
                "LISTEN_PID",
                "LISTEN_FDNAMES",
            }
        }
        env[LISTEN_FDS_VAR] = ",".join(
            str(_FIRST_LISTEN_FD + i) for i in range(len(fds))
        )
        env[STATUS_FD_VAR] = str(_STATUS_FD)
        self._workers[slot] = worker
        self._reactor.spawnProcess(
            worker,
            sys.executable,
            [sys.executable, "-m", "h2site.worker", *self._argv],
            env=env,
            childFDs=childFDs,
        )

    def _workerReady(self, slot: int, worker: _WorkerProtocol) -> None:
        pid = worker.pid
        _log.info("worker {slot} (pid {pid}) is serving", slot=slot, pid=pid)
        self._ready.add(slot)
        if not self._announced and len(self._ready) == self._count:
            self._announced = True
            _log.info("all {count} workers are serving", count=self._count)
            self._notifier.notify(
                "READY=1", f"STATUS=serving with {self._count} workers"
            )

    def _workerEnded(self, slot: int, worker: _WorkerProtocol, reason: Failure) -> None:
        if self._workers.get(slot) is worker:
            del self._workers[slot]
        self._ready.discard(slot)
        pid = worker.pid
        if self._stopping:
            ended = self._ended.pop(slot, None)
            if ended is not None:
                ended.callback(None)
            return
        lived = self._now() - worker.started
        self._failures[slot] = 1 if lived > 10 else self._failures.get(slot, 0) + 1
        delay = restartDelay(self._failures[slot])
        _log.warn(
            "worker {slot} (pid {pid}) exited ({reason}); restarting in {delay:g} s",
            slot=slot,
            pid=pid,
            reason=reason.getErrorMessage(),
            delay=delay,
        )
        self._reactor.callLater(delay, self._respawn, slot)

    def _respawn(self, slot: int) -> None:
        if not self._stopping and slot not in self._workers:
            self._spawn(slot)

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        self._stopping = True
        self._notifier.notify("STOPPING=1", "STATUS=stopping workers")
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        waits: list[Deferred[None]] = []
        for slot, worker in list(self._workers.items()):
            ended: Deferred[None] = Deferred()
            self._ended[slot] = ended
            waits.append(ended)
            if worker.transport is not None:
                worker.transport.signalProcess("TERM")
        kill = self._reactor.callLater(self._stopTimeout, self._killAll)
        d: Deferred[Any] = DeferredList(waits)

        def done(result: object) -> object:
            if kill.active():
                kill.cancel()
            for port in self._ports:
                port.stopListening()
            for sockets in self._sockets:
                for sock in sockets:
                    if isinstance(sock, socket.socket):
                        sock.close()
            return result

        return d.addBoth(done)

    def _killAll(self) -> None:
        for worker in list(self._workers.values()):
            if worker.transport is not None:
                _log.warn("worker did not stop in time; killing it")
                worker.transport.signalProcess("KILL")
