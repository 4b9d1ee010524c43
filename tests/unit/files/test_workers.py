"""
Tests for L{h2site.files.workers} and L{h2site.files.jobs}: the worker
processes' protocol and loop, and the pool's queue, on a fake reactor
whose processes the test answers for.  Real processes are tested in
L{tests.integration.test_store_workers}.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import signal
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import brotli
from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from h2site.files import jobs
from h2site.files import workers as workersModule
from h2site.files.buildcache import BuildCache
from h2site.files.workers import (
    InlineWorkers,
    ProcessWorkers,
    WorkerFailed,
    WorkersStopped,
)
from tests.unit.ops.fakes import LogCapture

DATA = b"p { color: red }\n" * 400
DIGEST = hashlib.sha256(DATA).hexdigest()


def _boom() -> None:
    raise ValueError("no")


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class FramingTests(SynchronousTestCase):
    def test_roundTrip(self) -> None:
        """
        Replies come out of a buffer whole, however the pipe cut them, and
        only once complete.
        """
        stream = jobs.frame((True, b"x" * 1000)) + jobs.frame((False, "why"))
        buffer = bytearray()
        out = []
        for i in range(0, len(stream), 7):
            buffer += stream[i : i + 7]
            while (reply := jobs.unframe(buffer)) is not None:
                out.append(reply)
        self.assertEqual(out, [(True, b"x" * 1000), (False, "why")])
        self.assertEqual(buffer, bytearray())

    def test_serve(self) -> None:
        """
        The worker's loop answers each call in order, an exception as
        C{(False, why)}, and ends with its input.
        """
        requests = io.BytesIO(
            jobs.frame(partial(len, b"abc")) + jobs.frame(_boom) + jobs.frame(sum)
        )
        replies = io.BytesIO()
        self.patch(jobs, "workerStarted", lambda: None)
        jobs.serve(requests, replies)
        buffer = bytearray(replies.getvalue())
        self.assertEqual(jobs.unframe(buffer), (True, 3))
        self.assertEqual(jobs.unframe(buffer), (False, "ValueError: no"))
        ok, why = jobs.unframe(buffer) or (None, None)
        self.assertEqual(ok, False)
        self.assertIn("TypeError", str(why))

    def test_serveCutShort(self) -> None:
        """
        A call cut short (the server died while writing) ends the loop.
        """
        requests = io.BytesIO(jobs.frame(partial(len, b"abc"))[:-2])
        replies = io.BytesIO()
        self.patch(jobs, "workerStarted", lambda: None)
        jobs.serve(requests, replies)
        self.assertEqual(replies.getvalue(), b"")


class JobTests(SynchronousTestCase):
    def test_compressData(self) -> None:
        """
        Data is compressed (and its ETag is that of the bytes made), from
        the cache the second time.
        """
        directory = self.mktemp()
        for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            encoded, etag, cached = jobs.compressData(directory, coding, DATA, DIGEST)
            self.assertEqual(decode(encoded), DATA)
            self.assertEqual(etag, hashlib.sha256(encoded).hexdigest()[:32])
            self.assertFalse(cached)
            again = jobs.compressData(directory, coding, DATA, DIGEST)
            self.assertEqual(again, (encoded, etag, True))
        encoded, _, cached = jobs.compressData(None, "br", DATA, DIGEST)
        self.assertEqual(brotli.decompress(encoded), DATA)

    def test_scan(self) -> None:
        """
        A scan gives the references that may be fingerprinted and the names
        of the files they name, each once.
        """
        css = b'@import "a.css"; p { background: url(a.css) url(img/b.png) }'
        found, names = jobs.scan("/static/", "css/x.css", css, "css")
        self.assertEqual(
            [t.url for t in found],
            ["/static/css/a.css", "/static/css/a.css", "/static/css/img/b.png"],
        )
        self.assertEqual(names, ("css/a.css", "css/img/b.png"))

    def test_readSource(self) -> None:
        """
        A file is read back only while it has its stamp and hash.
        """
        path = Path(self.mktemp())
        path.write_bytes(DATA)
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        self.assertEqual(jobs.readSource(str(path), stamp, DIGEST), DATA)
        self.assertIsNone(jobs.readSource(str(path), stamp, "0" * 64))
        self.assertIsNone(jobs.readSource(str(path), (1, 2, 3), DIGEST))
        self.assertIsNone(jobs.readSource(str(path) + ".gone", stamp, DIGEST))

    def test_scanFile(self) -> None:
        """
        A file too large for memory is read and scanned by the worker, while
        it has its stamp and hash.
        """
        css = b'@import "a.css";\n' + DATA
        path = Path(self.mktemp())
        path.write_bytes(css)
        stamp = _stamp(path)
        digest = hashlib.sha256(css).hexdigest()
        found = jobs.scanFile("/", "x.css", str(path), stamp, digest, "css")
        self.assertEqual(found, jobs.scan("/", "x.css", css, "css"))
        self.assertIsNone(jobs.scanFile("/", "x.css", str(path), stamp, DIGEST, "css"))

    def test_rewriteFile(self) -> None:
        """
        A file too large for memory is rewritten by the worker into an entry
        of the cache folder, each reference with its fingerprint (none:
        left as written); only while it has its stamp and hash.
        """
        css = b'@import "a.css";\n@import "b.css";\n' + DATA
        path = Path(self.mktemp())
        path.write_bytes(css)
        stamp = _stamp(path)
        digest = hashlib.sha256(css).hexdigest()
        found, _ = jobs.scan("/", "x.css", css, "css")
        directory = self.mktemp()
        made = jobs.rewriteFile(
            directory,
            "/x.css",
            "css",
            str(path),
            stamp,
            digest,
            found,
            ("1" * 16, None),
        )
        assert made is not None
        sent = b'@import "a.css?v=1111111111111111";\n@import "b.css";\n' + DATA
        self.assertEqual(Path(made.path).read_bytes(), sent)
        self.assertEqual(Path(made.path).parent, Path(directory))
        self.assertEqual(made.digest, hashlib.sha256(sent).hexdigest())
        changed = jobs.rewriteFile(
            directory, "/x.css", "css", str(path), stamp, DIGEST, found, (None, None)
        )
        self.assertIsNone(changed)


class InlineWorkersTests(SynchronousTestCase):
    def test_atOnce(self) -> None:
        """
        A job runs when submitted; its exception fails its Deferred.
        """
        workers = InlineWorkers()
        results: list[object] = []
        workers.submit("a", 0, partial(len, b"ab")).addCallback(results.append)
        self.assertEqual(results, [2])
        self.failureResultOf(workers.submit("b", 0, _boom), ValueError)
        ran: list[bool] = []
        workers.callFromThread(lambda: ran.append(True))
        self.assertEqual(ran, [True])


class _Process:
    """
    A worker process as the fake reactor spawns it: it records what the
    pool writes, and answers when the test says.
    """

    def __init__(self, protocol: ProcessProtocol, args: Sequence[str]) -> None:
        self.protocol = protocol
        self.args = list(args)
        self.written = bytearray()
        self.signals: list[str] = []
        self.pid: int | None = 1

    def write(self, data: bytes) -> None:
        self.written += data

    def signalProcess(self, signal: str) -> None:
        self.signals.append(signal)

    def calls(self) -> list[Callable[[], object]]:
        """
        The calls written to it not yet answered, in order.
        """
        buffer = bytearray(self.written)
        out = []
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:4], "big")
            out.append(pickle.loads(bytes(buffer[4 : 4 + length])))
            del buffer[: 4 + length]
        return out

    def answer(self) -> None:
        """
        Run the oldest call written and reply with its result.
        """
        buffer = self.written
        length = int.from_bytes(buffer[:4], "big")
        call = pickle.loads(bytes(buffer[4 : 4 + length]))
        del buffer[: 4 + length]
        try:
            reply = jobs.frame((True, call()))
        except Exception as e:
            reply = jobs.frame((False, f"{type(e).__name__}: {e}"))
        self.protocol.outReceived(reply)

    def end(self, signum: int = signal.SIGKILL) -> None:
        self.pid = None
        self.protocol.processEnded(Failure(ProcessTerminated(signal=signum)))


class _Reactor(MemoryReactorClock):
    def __init__(self) -> None:
        super().__init__()
        self.processes: list[_Process] = []

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
    ) -> _Process:
        process = _Process(processProtocol, args)
        self.processes.append(process)
        processProtocol.makeConnection(process)
        return process

    def callFromThread(self, f: Callable[..., object], *args: object) -> None:
        self.callLater(0, f, *args)

    def addSystemEventTrigger(  # type: ignore[override]
        self,
        phase: str,
        eventType: str,
        callable: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> tuple[str, str, object]:
        entry = (callable, args, kw)
        self.triggers.setdefault(phase, {}).setdefault(eventType, []).append(entry)
        return (phase, eventType, entry)

    def removeSystemEventTrigger(self, triggerID: tuple[str, str, object]) -> None:
        phase, eventType, entry = triggerID
        self.triggers[phase][eventType].remove(entry)


class ProcessWorkersTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = _Reactor()
        self.workers = ProcessWorkers(self.reactor, processes=2)
        self.results: list[object] = []

    def submit(self, key: str, priority: int, value: bytes) -> Deferred[int]:
        d = self.workers.submit(key, priority, partial(len, value))
        d.addCallback(lambda n: self.results.append((key, n)))
        return d

    def test_startedAtFirstJob(self) -> None:
        """
        No process runs until there is work; then one per process asked
        for, each running the jobs' loop with this Python.
        """
        self.assertEqual(self.reactor.processes, [])
        self.submit("a", 1, b"a")
        self.assertEqual(len(self.reactor.processes), 2)
        args = self.reactor.processes[0].args
        self.assertIn("from h2site.files.jobs import serve; serve()", args)

    def test_priorityAndDepth(self) -> None:
        """
        Each process holds two jobs at a time; the rest wait, and go out
        lowest priority first, in order of submission within one.
        """
        for i in range(6):
            self.submit(f"late{i}", 2, b"x" * i)
        self.submit("early", 0, b"abc")
        first, second = self.reactor.processes
        self.assertEqual(len(first.calls()) + len(second.calls()), 4)
        self.assertEqual(self.workers.queued, 3)
        first.answer()
        held = [c() for c in first.calls() + second.calls()]
        self.assertIn(3, held)
        while first.calls() or second.calls():
            for process in (first, second):
                if process.calls():
                    process.answer()
        self.assertEqual(len(self.results), 7)
        self.assertEqual(self.workers.queued, 0)

    def test_sameJobOnce(self) -> None:
        """
        A job asked for again while queued or running runs once, and both
        get its result.
        """
        self.submit("a", 1, b"abc")
        self.submit("a", 1, b"abc")
        first, second = self.reactor.processes
        self.assertEqual(len(first.calls()) + len(second.calls()), 1)
        (first if first.calls() else second).answer()
        self.assertEqual(self.results, [("a", 3), ("a", 3)])

    def test_failure(self) -> None:
        """
        A job that raises fails its Deferred with the worker's account.
        """
        d = self.workers.submit("x", 0, _boom)
        first = self.reactor.processes[0]
        first.answer()
        failure = self.failureResultOf(d, WorkerFailed)
        self.assertEqual(failure.getErrorMessage(), "ValueError: no")

    def test_workerDies(self) -> None:
        """
        The jobs a dead process held fail; another process takes its place
        and the queue goes on.
        """
        ds = [self.workers.submit(f"j{i}", 1, partial(len, b"ab")) for i in range(6)]
        first = self.reactor.processes[0]
        held = len(first.calls())
        first.end()
        outcomes: list[object] = []
        for d in ds:
            d.addBoth(outcomes.append)
        failures = [o for o in outcomes if isinstance(o, Failure)]
        self.assertEqual((len(outcomes), len(failures)), (held, held))
        for failure in failures:
            failure.trap(WorkerFailed)
        self.assertEqual(len(self.reactor.processes), 3)
        self.assertTrue(self.reactor.processes[2].calls())

    def test_stop(self) -> None:
        """
        Stopping kills every process, and fires once they have ended; the
        jobs queued or running fail with L{WorkersStopped}, as does any job
        asked for after.
        """
        running = self.workers.submit("a", 1, partial(len, b"a"))
        queued = [self.workers.submit(f"q{i}", 1, partial(len, b"q")) for i in range(4)]
        processes = self.reactor.processes
        done = self.workers.stop()
        self.assertEqual([p.signals for p in processes], [["KILL"], ["KILL"]])
        self.assertNoResult(done)
        for d in [running, *queued]:
            self.failureResultOf(d, WorkersStopped)
        for p in processes:
            p.end()
        self.successResultOf(done)
        after = self.workers.submit("b", 1, partial(len, b"b"))
        self.failureResultOf(after, WorkersStopped)
        self.assertEqual(len(self.reactor.processes), 2)

    def test_stoppedAtShutdown(self) -> None:
        """
        The processes are killed when the reactor shuts down, which waits
        for them.
        """
        job = self.workers.submit("a", 1, partial(len, b"a"))
        triggers = self.reactor.triggers["before"]["shutdown"]
        self.assertEqual(len(triggers), 1)
        f, args, kwargs = triggers[0]
        done = f(*args, **kwargs)
        self.assertEqual([p.signals for p in self.reactor.processes], [["KILL"]] * 2)
        self.assertIsInstance(done, Deferred)
        self.failureResultOf(job, WorkersStopped)

    def test_stopWithout(self) -> None:
        """
        Stopping workers that never started is done at once, and takes
        the shutdown trigger away.
        """
        self.successResultOf(self.workers.stop())
        self.assertEqual(self.reactor.triggers["before"]["shutdown"], [])

    def test_cache(self) -> None:
        """
        A job of the jobs' module goes through as is (it pickles).
        """
        directory = self.mktemp()
        d = self.workers.submit(
            "c", 1, partial(jobs.compressData, directory, "gzip", DATA, DIGEST)
        )
        self.reactor.processes[0].answer()
        encoded, _, _ = self.successResultOf(d)
        self.assertEqual(gzip.decompress(encoded), DATA)
        self.assertTrue(
            Path(BuildCache(Path(directory)).entryPath("gzip", DIGEST)).exists()
        )

    def test_cannotStart(self) -> None:
        """
        When processes keep ending before answering anything (they cannot
        start), the pool gives up after three, says so once, and fails
        every job, queued or to come, rather than start more.
        """
        capture = LogCapture()
        self.patch(workersModule, "_log", Logger(observer=capture))
        ds = [self.workers.submit(f"j{i}", 1, partial(len, b"ab")) for i in range(9)]
        outcomes: list[object] = []
        for d in ds:
            d.addBoth(outcomes.append)
        for _ in range(4):
            live = [p for p in self.reactor.processes if p.pid is not None]
            live[0].end()
        self.assertEqual(len(self.reactor.processes), 4)
        self.assertEqual(len(outcomes), 9)
        for outcome in outcomes:
            assert isinstance(outcome, Failure)
            outcome.trap(WorkerFailed)
        later = self.workers.submit("k", 1, partial(len, b"a"))
        self.failureResultOf(later, WorkerFailed)
        self.assertEqual(len(self.reactor.processes), 4)
        errors = [e for e in capture.events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn("worker processes end before doing anything", capture.lines()[-1])
