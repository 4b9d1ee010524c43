"""
Resource figures under abuse: what a hostile client costs the server.

Run from the repository root, with h2site installed in the current Python:

    python benchmarks/abuse_bench.py [--baseline REV] [--pipelined N]
        [--frames N] [--slow N]

Four attacks, each against a fresh server, while a well-behaved client is
served alongside:

 - pipelining: one TLS connection writes N pipelined requests for a 1 MiB
   file held in memory (``--static-memory-file 2M``) and reads nothing; the
   server's RSS before, while the connection is open, and after it closed;
 - closed-stream flood: N one-byte DATA frames on a finished HTTP/2 stream;
   the server's CPU seconds, the RST_STREAM frames it answered, how the
   connection ended, and the well-behaved client's slowest request meanwhile;
 - slow heads: N TLS connections each sending an HTTP/1.1 head one byte a
   second; when the server closed them (``--header-timeout``, 20 s by
   default);
 - frame floods: each flood of frames that do no useful work that
   ``tests/integration/test_http2.py`` sends (PING, SETTINGS, PRIORITY,
   rapid reset...), on its own connection; the server's CPU for each, the
   frames it answered, and how the connection ended.

The tests assert the behaviour these figures come from by counting
(requests served, frames answered, log lines); the figures themselves are
measured only here, since a threshold on CPU, memory or time is flaky on a
shared machine.  ``benchmarks/stall_bench.py`` does the same for clients
that stop reading.

``--baseline REV`` runs the same against another revision of h2site (a git
worktree, imported first through PYTHONPATH) in the same run, so the two
columns compare figures taken on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
from h2.errors import ErrorCodes
from hyperframe.frame import DataFrame, GoAwayFrame, RstStreamFrame

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.h2client import FLOODS, RawClient, answers  # noqa: E402
from tests.helpers import (  # noqa: E402
    Certificates,
    Server,
    copySite,
    cpuSeconds,
    makeCertificates,
    rssBytes,
    testEnvironment,
    waitIdle,
)

_MIB = 1024 * 1024


#: What an attack does to a running server, and the figures it reports.
Attack = Callable[[Server, Certificates], dict[str, str]]


def serve(
    tmp: Path,
    certs: Certificates,
    source: Path | None,
    args: Sequence[str] = (),
    files: Mapping[str, int] | None = None,
) -> Server:
    """
    A server on the demo site plus random files in C{static/} (by default
    a 1 MiB C{1m.bin}), from this checkout or (C{source}) another.

    @param args: more options for the server.
    @param files: the size of each random file, by name.
    """
    site = tmp / "site"
    if not site.exists():
        copySite(site)
        for name, size in (files if files is not None else {"1m.bin": _MIB}).items():
            (site / "static" / name).write_bytes(os.urandom(size))
    env = testEnvironment(tmp)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return Server(
        args=[
            "--site",
            str(site),
            "-p",
            certs.endpoint(),
            "--static-memory-file",
            "2M",
            "--access-log",
            str(tmp / "access.log"),
            *args,
        ],
        cwd=tmp,
        env=env,
    ).start()


def pipelining(server: Server, certs: Certificates, count: int) -> dict[str, str]:
    pid = server.process.pid  # type: ignore[union-attr]
    waitIdle(pid)
    before = rssBytes(pid)
    raw = socket.create_connection(("127.0.0.1", server.port), 30)
    context = certs.sslContext(["http/1.1"])
    client = context.wrap_socket(raw, server_hostname="localhost")
    request = b"GET /static/1m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
    client.sendall(request * count)
    waitIdle(pid, quiet=1.0)
    during = rssBytes(pid)
    client.close()
    waitIdle(pid, quiet=1.0)
    after = rssBytes(pid)
    return {
        "RSS before": f"{before / _MIB:.0f} MiB",
        f"RSS with {count} unread": f"{during / _MIB:.0f} MiB",
        "RSS after close": f"{after / _MIB:.0f} MiB",
    }


def _latencies(
    url: str, certs: Certificates, stop: threading.Event
) -> tuple[list[float], threading.Thread]:
    """
    Request C{url} over and over in a thread until C{stop} is set: the
    durations, and the thread.
    """
    times: list[float] = []

    def run() -> None:
        with httpx.Client(http2=True, verify=certs.sslContext(), timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                client.get(url)
                times.append(time.monotonic() - started)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return times, thread


def flood(server: Server, certs: Certificates, count: int) -> dict[str, str]:
    pid = server.process.pid  # type: ignore[union-attr]
    client = RawClient(server.port, certs.sslContext())
    client.start()
    streamID = client.request("/")
    client.readUntil(
        lambda frames: any(
            isinstance(f, DataFrame) and "END_STREAM" in f.flags for f in frames
        )
    )
    waitIdle(pid)
    stop = threading.Event()
    times, other = _latencies(server.url + "/", certs, stop)
    warm = time.monotonic() + 30
    while len(times) < 3 and time.monotonic() < warm:
        time.sleep(0.01)
    times.clear()
    cpu = cpuSeconds(pid)
    started = time.monotonic()
    frame = DataFrame(streamID, data=b"x").serialize()
    sent = 0
    client.tls.settimeout(0.001)
    while sent < count and not client.closed:
        batch = min(1000, count - sent)
        client.send(frame * batch)
        sent += batch
        client.receive()
    # Then read until the server ends the connection, or has said nothing
    # for 5 s (it never ends it).
    client.tls.settimeout(5)
    while not client.closed:
        count = len(client.frames)
        if not client.receive() or len(client.frames) == count:
            break
    elapsed = time.monotonic() - started
    stop.set()
    other.join(60)
    cpu = cpuSeconds(pid) - cpu
    client.close()
    goAway = next((f for f in client.frames if isinstance(f, GoAwayFrame)), None)
    resets = sum(isinstance(f, RstStreamFrame) for f in client.frames)
    return {
        "frames sent": f"{sent}",
        "server CPU (flood and other client)": f"{cpu:.2f} s",
        "RST_STREAM answered": f"{resets}",
        "ended by": "still open"
        if goAway is None
        else f"GOAWAY {_codeName(goAway.error_code)} after {elapsed:.2f} s",
        "other client, slowest request": f"{max(times) * 1000:.0f} ms"
        if times
        else "-",
    }


def _codeName(code: int) -> str:
    try:
        return ErrorCodes(code).name
    except ValueError:
        return str(code)


def slowHeads(server: Server, certs: Certificates, count: int) -> dict[str, str]:
    context = certs.sslContext(["http/1.1"])
    sockets = []
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", server.port), 30)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        tls.setblocking(False)
        sockets.append(tls)
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"x" * 1000
    started = time.monotonic()
    closedAt: dict[int, float] = {}
    position = 0
    deadline = started + 90
    while len(closedAt) < count and time.monotonic() < deadline:
        for i, sock in enumerate(sockets):
            if i not in closedAt and position < len(head):
                with contextlib.suppress(OSError):
                    sock.send(head[position : position + 1])
        position += 1
        next_ = time.monotonic() + 1.0
        while time.monotonic() < next_:
            open_ = [s for i, s in enumerate(sockets) if i not in closedAt]
            if not open_:
                break
            readable, _, _ = select.select(open_, [], [], next_ - time.monotonic())
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closedAt[sockets.index(sock)] = time.monotonic() - started
    for sock in sockets:
        sock.close()
    times = sorted(closedAt.values())
    return {
        "connections": f"{count}, one byte a second each",
        "closed": f"{len(times)} of {count} within 90 s",
        "closed after (min / median / max)": (
            f"{times[0]:.1f} / {statistics.median(times):.1f} / {times[-1]:.1f} s"
            if times
            else "-"
        ),
    }


def floods(server: Server, certs: Certificates) -> dict[str, str]:
    """
    Each flood of L{tests.h2client.FLOODS} on a connection of its own: the
    server's CPU until it closed that connection, the frames it answered,
    and how the connection ended.
    """
    pid = server.process.pid  # type: ignore[union-attr]
    waitIdle(pid)
    figures = {}
    for name, attack in FLOODS:
        client = RawClient(server.port, certs.sslContext())
        client.start()
        cpu = cpuSeconds(pid)
        sent = attack(client)
        goAway = client.goAway(30)
        closed = client.waitClosed(30)
        cpu = cpuSeconds(pid) - cpu
        client.close()
        ended = "still open"
        if goAway is not None:
            ended = f"GOAWAY {_codeName(goAway.error_code)}"
            ended += ", closed" if closed else ", left open"
        figures[f"{name}: server CPU"] = f"{cpu * 1000:.0f} ms"
        figures[f"{name}: answered"] = f"{answers(client.frames)} of {sent}"
        figures[f"{name}: ended by"] = ended
    return figures


def measure(
    name: str,
    attack: Attack,
    sources: Mapping[str, Path | None],
    args: Sequence[str] = (),
    files: Mapping[str, int] | None = None,
) -> dict[str, dict[str, str]]:
    """
    Run C{attack} against a fresh server from each of C{sources}.

    @return: the figures of each source, by its label.
    """
    results = {}
    for label, source in sources.items():
        with tempfile.TemporaryDirectory() as tmpName:
            tmp = Path(tmpName)
            certs = makeCertificates(tmp / "certs")
            server = serve(tmp, certs, source, args, files)
            try:
                results[label] = attack(server, certs)
            finally:
                server.stop()
        print(f"  {name} against {label}: done", file=sys.stderr)
    return results


def worktree(revision: str, into: Path) -> Path:
    path = into / "baseline"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), revision],
        check=True,
        capture_output=True,
    )
    return path


def compare(
    baseline: str | None,
    run: Callable[[Mapping[str, Path | None]], dict[str, dict[str, dict[str, str]]]],
) -> None:
    """
    Measure this checkout, and C{baseline} (a revision, checked out in a
    temporary git worktree) beside it if given, then print the figures side
    by side.

    @param run: takes the sources to measure, by label; returns the figures
        of each attack, by its title.
    """
    with tempfile.TemporaryDirectory() as name:
        sources: dict[str, Path | None] = {"this checkout": None}
        if baseline:
            sources[baseline] = worktree(baseline, Path(name))
        try:
            report = run(sources)
        finally:
            if baseline:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(REPO),
                        "worktree",
                        "remove",
                        "--force",
                        str(sources[baseline]),
                    ],
                    check=False,
                    capture_output=True,
                )
    for attack, results in report.items():
        print(f"\n{attack}")
        labels = list(results)
        keys = list(results[labels[0]])
        width = max(map(len, keys)) + 2
        column = 2 + max(
            [28, *map(len, labels)]
            + [len(value) for figures in results.values() for value in figures.values()]
        )
        print(" " * width + "".join(f"{label:>{column}}" for label in labels))
        for key in keys:
            row = "".join(
                f"{results[label].get(key, '-'):>{column}}" for label in labels
            )
            print(f"{key:<{width}}{row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", help="another revision to measure beside")
    parser.add_argument("--pipelined", type=int, default=300)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--slow", type=int, default=100)
    args = parser.parse_args()

    def run(
        sources: Mapping[str, Path | None],
    ) -> dict[str, dict[str, dict[str, str]]]:
        return {
            "HTTP/1.1 pipelining, nothing read": measure(
                "pipelining",
                lambda s, c: pipelining(s, c, args.pipelined),
                sources,
            ),
            "DATA flood on a closed HTTP/2 stream": measure(
                "flood", lambda s, c: flood(s, c, args.frames), sources
            ),
            "HTTP/1.1 heads one byte a second": measure(
                "slow heads", lambda s, c: slowHeads(s, c, args.slow), sources
            ),
            "HTTP/2 frame floods, one connection each": measure(
                # The one-byte window dribble asks for a file too large to
                # be sent before the flood ends.
                "frame floods",
                floods,
                sources,
                files={"big.bin": 10 * _MIB},
            ),
        }

    compare(args.baseline, run)


if __name__ == "__main__":
    main()
