# -*- test-case-name: tests.unit.files.test_workers -*-
"""
Where the file store's expensive work runs (L{h2site.files.jobs}): in
worker processes, one per core, while the reactor serves.

They are plain child processes of the server (C{reactor.spawnProcess}),
each running L{h2site.files.jobs.serve}: calls go down its standard input
and results come back up its standard output, as pickles with their
length.  So Twisted stays on the reactor thread, with no thread at all:
a result arrives as data on a pipe, like any other.  A fresh interpreter
imports only the jobs' module, never the program that started it, and
runs at a lower priority than the server, so requests come first on a
machine whose cores are all compressing.

Work waits in a queue ordered by priority (what makes pages correct
first, then the fast coding of every file, then the best), and only a few
jobs per process are handed over at a time, so the order holds and
stopping is immediate.  The same job asked for twice while queued or
running (two builds of one site during a reload) runs once, for both.  A
process that dies fails the jobs it held, and another takes its place.
The processes are killed when the reactor shuts down; one whose server
was killed without that chance sees its standard input end once done with
its job, and exits.

L{InlineWorkers} does the same work at once, in the caller: what tests
use.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import IProcessTransport, IReactorTime
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.files import jobs

__all__ = [
    "InlineWorkers",
    "ProcessWorkers",
    "WorkerFailed",
    "Workers",
    "WorkersStopped",
    "cores",
]

_log = Logger(namespace="h2site.static")

T = TypeVar("T")

#: Jobs handed to each process at a time: one running, one ready.
_DEPTH = 2

#: What a worker process runs.
_SERVE = "from h2site.files.jobs import serve; serve()"

#: Processes in a row that may end before answering anything before the
#: pool gives up (they cannot start: another would not either).
_STILLBORN = 3


class Workers(Protocol):
    """
    What runs the file store's work: L{ProcessWorkers} or L{InlineWorkers}.
    """

    @property
    def clock(self) -> IReactorTime:
        """
        The reactor's clock.
        """

    @property
    def processes(self) -> int:
        """
        How many jobs run at once.
        """

    def callFromThread(self, f: Callable[[], object]) -> None:
        """
        Run C{f} on the reactor thread, soon; callable from any thread.
        """

    def submit(self, key: str, priority: int, call: Callable[[], T]) -> Deferred[T]:
        """
        Run C{call} (picklable: a L{functools.partial} of a function of
        L{h2site.files.jobs}) in a worker, after every job queued with a
        lower C{priority}.  Called on the reactor thread; the result comes
        back on it.

        @param key: names the job: one asked for again while queued or
            running is not run twice.
        """


class WorkerFailed(Exception):
    """
    A job raised an exception in its worker, or the worker died running it.
    """


class WorkersStopped(Exception):
    """
    The workers were stopped (the server is shutting down) before the job
    was done.
    """


def cores() -> int:
    """
    How many cores this process may run on.
    """
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class InlineWorkers:
    """
    Workers that do each job at once, in the caller.
    """

    processes = 1

    def __init__(self, clock: IReactorTime | None = None) -> None:
        self.clock: IReactorTime = clock if clock is not None else Clock()

    def callFromThread(self, f: Callable[[], object]) -> None:
        f()

    def submit(self, key: str, priority: int, call: Callable[[], T]) -> Deferred[T]:
        try:
            return succeed(call())
        except Exception:
            return fail()


@dataclass(eq=False)
class _Job:
    key: str
    priority: int
    call: Callable[[], object]
    followers: list[Deferred[Any]] = field(default_factory=list)
    started: bool = False


class _Worker(ProcessProtocol):
    """
    One worker process: the jobs it holds, in the order it answers them.
    """

    transport: IProcessTransport | None

    def __init__(self, pool: ProcessWorkers) -> None:
        self._pool = pool
        self._buffer = bytearray()
        self.held: deque[_Job] = deque()
        self.ended = False
        self.answered = False

    def send(self, job: _Job) -> None:
        assert self.transport is not None
        self.held.append(job)
        self.transport.write(jobs.frame(job.call))

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        while (reply := jobs.unframe(self._buffer)) is not None:
            ok, value = reply
            self.answered = True
            self._pool._finished(self, self.held.popleft(), ok, value)

    def processEnded(self, reason: Failure) -> None:
        self.ended = True
        self._pool._lost(self, reason)

    def kill(self) -> None:
        if self.transport is not None and not self.ended:
            with contextlib.suppress(ProcessExitedAlready):
                self.transport.signalProcess("KILL")


class ProcessWorkers:
    """
    A pool of worker processes, started at the first job.
    """

    def __init__(self, reactor: Any, processes: int | None = None) -> None:
        """
        @param reactor: provides C{spawnProcess}, C{callFromThread} and
            C{addSystemEventTrigger}, and is the clock.
        @param processes: how many; by default one per core.
        """
        self.clock: IReactorTime = reactor
        self.processes = processes if processes is not None else cores()
        self._reactor = reactor
        self._workers: list[_Worker] = []
        self._queue: list[tuple[int, int, _Job]] = []
        self._jobs: dict[str, _Job] = {}
        self._order = itertools.count()
        self._stopped = False
        self._broken: str | None = None
        self._stillborn = 0
        self._ended: list[Deferred[None]] = []
        self._trigger: object | None = reactor.addSystemEventTrigger(
            "before", "shutdown", self._shutdown
        )

    def callFromThread(self, f: Callable[[], object]) -> None:
        self._reactor.callFromThread(f)

    def submit(self, key: str, priority: int, call: Callable[[], T]) -> Deferred[T]:
        if self._stopped:
            return fail(WorkersStopped())
        if self._broken is not None:
            return fail(WorkerFailed(self._broken))
        d: Deferred[T] = Deferred()
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = _Job(key, priority, call)
            heapq.heappush(self._queue, (priority, next(self._order), job))
        elif not job.started and priority < job.priority:
            # Queued twice; the later, worse entry is skipped when it comes.
            job.priority = priority
            heapq.heappush(self._queue, (priority, next(self._order), job))
        job.followers.append(d)
        self._fill()
        return d

    @property
    def queued(self) -> int:
        """
        How many jobs wait for a process.
        """
        return sum(1 for job in self._jobs.values() if not job.started)

    def _spawn(self) -> _Worker:
        worker = _Worker(self)
        env = dict(os.environ)
        # The same modules as the server's, wherever it found them.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._reactor.spawnProcess(
            worker,
            sys.executable,
            [sys.executable, "-c", _SERVE],
            env=env,
            childFDs={0: "w", 1: "r", 2: 2},
        )
        self._workers.append(worker)
        return worker

    def _fill(self) -> None:
        if self._stopped or self._broken is not None or not self._queue:
            return
        while len(self._workers) < self.processes:
            self._spawn()
        while self._queue:
            worker = min(self._workers, key=lambda w: len(w.held))
            if len(worker.held) >= _DEPTH:
                return
            _, _, job = heapq.heappop(self._queue)
            if job.started:
                continue
            job.started = True
            worker.send(job)

    def _finished(self, worker: _Worker, job: _Job, ok: bool, value: object) -> None:
        del self._jobs[job.key]
        for d in job.followers:
            if ok:
                d.callback(value)
            else:
                d.errback(Failure(WorkerFailed(value)))
        self._fill()

    def _lost(self, worker: _Worker, reason: Failure) -> None:
        self._workers.remove(worker)
        if self._stopped:
            if not self._workers:
                ended, self._ended = self._ended, []
                for d in ended:
                    d.callback(None)
            return
        self._stillborn = 0 if worker.answered else self._stillborn + 1
        why = f"the worker process ended: {reason.getErrorMessage()}"
        if self._broken is None and self._stillborn >= _STILLBORN:
            self._broken = why
            _log.error(
                "h2site static files: worker processes end before doing "
                "anything ({why}); nothing more is compressed or "
                "fingerprinted, files are sent as they are",
                why=why,
            )
        if self._broken is not None:
            abandoned = [*worker.held, *(job for _, _, job in self._queue)]
            worker.held.clear()
            self._queue = []
            for job in dict.fromkeys(abandoned):
                if self._jobs.pop(job.key, None) is job:
                    for follower in job.followers:
                        follower.errback(Failure(WorkerFailed(self._broken)))
            return
        _log.warn(
            "h2site static files: a worker process ended ({reason}); "
            "{count} jobs it held fail, another takes its place",
            reason=reason.getErrorMessage(),
            count=len(worker.held),
        )
        while worker.held:
            self._finished(worker, worker.held.popleft(), False, why)
        self._fill()

    def _shutdown(self) -> Deferred[None]:
        self._trigger = None
        return self.stop()

    def stop(self) -> Deferred[None]:
        """
        Kill the processes, and with them what they were doing: every job
        queued or running fails with L{WorkersStopped}.  Done when the
        reactor shuts down.

        @return: fires once every process has ended.
        """
        if self._trigger is not None:
            self._reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        self._stopped = True
        abandoned = list(self._jobs.values())
        self._queue, self._jobs = [], {}
        for worker in self._workers:
            worker.held.clear()
            worker.kill()
        for job in abandoned:
            for follower in job.followers:
                follower.errback(Failure(WorkersStopped()))
        if not self._workers:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._ended.append(d)
        return d
