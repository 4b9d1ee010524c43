"""
In-memory stand-ins for what the operations services drive: a reactor that
records the processes it is asked to spawn and runs "threads" when told, a
listening port and endpoint, and a systemd notifier that remembers what it
was told.

Twisted's L{MemoryReactorClock} records listeners and drives C{callLater}
by C{advance}; it has no processes and no threads, which the supervisor
and the reload need, so this adds them.  Signals are not faked: the
services install real handlers, and tests call the installed handler, as
the interpreter would.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, LogEvent, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from h2site.ops.sdnotify import Notifier

__all__ = [
    "FakeEndpoint",
    "FakePort",
    "FakeProcess",
    "FakeReactor",
    "LogCapture",
    "ManualThreadPool",
    "RecordingNotifier",
    "keepSignalHandlers",
]


class FakeProcess:
    """
    What L{FakeReactor.spawnProcess} returns and hands the process protocol:
    a process that runs until the test ends it, recording the signals sent.

    @ivar signals: every signal sent, as given (C{"TERM"} or a number).
    """

    def __init__(
        self,
        reactor: FakeReactor,
        protocol: ProcessProtocol,
        executable: str,
        args: Sequence[str],
        env: Mapping[str, str],
        childFDs: Mapping[int, int | str],
        pid: int,
    ) -> None:
        self.reactor = reactor
        self.protocol = protocol
        self.executable = executable
        self.args = list(args)
        self.env = dict(env)
        self.childFDs = dict(childFDs)
        self.pid: int | None = pid
        self.signals: list[str | int] = []

    def signalProcess(self, signalID: str | int) -> None:
        if self.pid is None:
            raise ProcessExitedAlready()
        self.signals.append(signalID)

    def say(self, childFD: int, data: bytes) -> None:
        """
        The process writes C{data} on its descriptor C{childFD}.
        """
        self.protocol.childDataReceived(childFD, data)

    def end(self, signum: int | None = signal.SIGKILL) -> None:
        """
        The process ends, killed by C{signum} (or exits with status 1).
        """
        self.pid = None
        if signum is None:
            reason = Failure(ProcessTerminated(exitCode=1))
        else:
            reason = Failure(ProcessTerminated(signal=signum))
        self.protocol.processEnded(reason)

    # The rest of IProcessTransport, unused by the services under test.

    def closeStdin(self) -> None:
        pass

    def closeStdout(self) -> None:
        pass

    def closeStderr(self) -> None:
        pass

    def closeChildFD(self, descriptor: int) -> None:
        pass

    def writeToChild(self, childFD: int, data: bytes) -> None:
        pass

    def loseConnection(self) -> None:
        pass


class ManualThreadPool:
    """
    A thread pool whose work runs only when the test says the thread got
    to it (L{runNext}), so a test can act while work is "in a thread".
    """

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, object], object] | None,
        func: Callable[..., object],
        *args: object,
        **kwargs: object,
    ) -> None:
        def work() -> None:
            try:
                result: object = func(*args, **kwargs)
                ok = True
            except BaseException:
                result = Failure()
                ok = False
            if onResult is not None:
                onResult(ok, result)

        self.pending.append(work)

    def runNext(self) -> None:
        """
        Run the oldest pending work, as its thread would.
        """
        self.pending.pop(0)()


class FakeReactor(MemoryReactorClock):
    """
    L{MemoryReactorClock} with processes (recorded, never run) and threads
    (a L{ManualThreadPool}).  C{callFromThread} schedules its call for the
    next turn, as a real reactor does: C{advance(0)} runs it.

    @ivar processes: every process spawned, in order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[FakeProcess] = []
        self.threadPool = ManualThreadPool()

    def spawnProcess(
        self,
        processProtocol: ProcessProtocol,
        executable: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool = False,
        childFDs: Mapping[int, int | str] | None = None,
    ) -> FakeProcess:
        process = FakeProcess(
            self,
            processProtocol,
            executable,
            args,
            env or {},
            childFDs or {},
            pid=1000 + len(self.processes),
        )
        self.processes.append(process)
        processProtocol.makeConnection(process)
        return process

    def callFromThread(self, f: Callable[..., object], *args: object) -> None:
        self.callLater(0, f, *args)

    def getThreadPool(self) -> ManualThreadPool:
        return self.threadPool

    def finishThreads(self) -> None:
        """
        Run all work pending in the thread pool, then the calls it handed
        back to the reactor.
        """
        while self.threadPool.pending:
            self.threadPool.runNext()
        self.advance(0)


@implementer(IListeningPort)
@dataclass
class FakePort:
    """
    A listening socket that is never read from: what the supervisor holds
    for a shared (C{unix:}, C{systemd:}) listener.
    """

    fd: int
    path: str
    reading: bool = True
    listening: bool = True

    def fileno(self) -> int:
        return self.fd

    def stopReading(self) -> None:
        self.reading = False

    def startListening(self) -> None:
        pass

    def stopListening(self) -> None:
        self.listening = False

    def getHost(self) -> UNIXAddress:
        return UNIXAddress(self.path)


@implementer(IStreamServerEndpoint)
@dataclass
class FakeEndpoint:
    """
    An endpoint that listens at once on a L{FakePort}.
    """

    port: FakePort
    factories: list[IProtocolFactory] = field(default_factory=list)

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        self.factories.append(factory)
        return succeed(self.port)


class RecordingNotifier(Notifier):
    """
    A L{Notifier} that keeps every message instead of sending it.

    @ivar messages: the fields of each message, in order.
    """

    def __init__(self) -> None:
        super().__init__({})
        self.messages: list[tuple[str, ...]] = []

    def notify(self, *fields: str) -> bool:
        self.messages.append(fields)
        return True

    def firsts(self) -> list[str]:
        """
        The first field of each message (C{READY=1}, C{RELOADING=1}...).
        """
        return [fields[0] for fields in self.messages]


@implementer(ILogObserver)
class LogCapture:
    """
    A log observer that keeps every event: given to the L{Logger} a module
    logs with, in place of the global one, so a test reads what an operator
    would, and a logged failure is not taken for an error of the test.
    """

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def __call__(self, event: LogEvent) -> None:
        self.events.append(event)

    def lines(self) -> list[str]:
        """
        Each event as the log would show it.
        """
        return [formatEvent(event) for event in self.events]


def keepSignalHandlers(testCase: SynchronousTestCase, *signums: int) -> None:
    """
    Put back the handlers of C{signums} when C{testCase} ends, whatever the
    services under test installed: they install real ones.
    """
    for signum in signums:
        previous: Any = signal.getsignal(signum)
        testCase.addCleanup(signal.signal, signum, previous)
