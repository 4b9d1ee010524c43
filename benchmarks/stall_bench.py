"""
Resource figures of clients that stop reading: what a stalled client costs
the server in CPU and memory, and how long until it is cut off.

Run from the repository root, with h2site installed in the current Python:

    python benchmarks/stall_bench.py [--baseline REV] [--stall SECONDS]
        [--streams N] [--huge MIB]

Five cases, each against a fresh server (see ``abuse_bench.py``, whose
plumbing this shares):

 - window stall: an HTTP/2 download whose window is used up and never
   opened again; the server's CPU over ``--stall`` seconds (stock Twisted
   spun at 100% of a core), and the frames it sent meanwhile;
 - never reading: one HTTP/2 connection that opens every window, asks for
   ``--streams`` copies of a 10 MiB file and reads nothing; the server's
   RSS growth, and the file bytes it read;
 - stalled HTTP/1.1 download: a ``--huge`` MiB file asked for and one KiB of
   it read, while 20 other requests are served; RSS growth and bytes read;
 - connection error: DATA on stream 0, then a client that never answers
   the server's TLS close_notify; how long until the server closes TCP;
 - shutdown timeout: SIGTERM with a stalled download in flight, under
   ``--shutdown-timeout 1``; how long the server takes to exit.

The tests (``tests/integration/test_http2.py``,
``tests/integration/test_static_delivery.py``) assert the behaviour by
counting: frames sent while stalled, file bytes read, log lines; the CPU,
memory and time figures are measured only here.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from h2.settings import SettingCodes
from hyperframe.frame import WindowUpdateFrame

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abuse_bench import compare, measure  # noqa: E402
from tests.h2client import RawClient, dataBytes  # noqa: E402
from tests.helpers import (  # noqa: E402
    Certificates,
    Server,
    bytesRead,
    cpuSeconds,
    rssBytes,
    waitIdle,
)

_MIB = 1024 * 1024
_MAX_WINDOW = 2**31 - 1

#: The file the HTTP/2 cases download: larger than any window or buffer.
_BIG = {"big.bin": 10 * _MIB}


def _pid(server: Server) -> int:
    assert server.process is not None
    return server.process.pid


def _idle(pid: int) -> str:
    """
    Wait until the server is idle; say so, or that it never was (a server
    that spins under the attack), rather than fail the run.
    """
    try:
        waitIdle(pid)
    except AssertionError:
        return "never idle within 30 s"
    return "idle"


def windowStall(server: Server, certs: Certificates, seconds: float) -> dict[str, str]:
    pid = _pid(server)
    client = RawClient(server.port, certs.sslContext())
    client.start()
    streamID = client.request("/static/big.bin")
    client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535)
    received = len(client.frames)
    cpu = cpuSeconds(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not client.closed:
        client.tls.settimeout(max(0.01, deadline - time.monotonic()))
        client.receive()
    cpu = cpuSeconds(pid) - cpu
    client.close()
    return {
        "stalled for": f"{seconds:g} s",
        "server CPU while stalled": f"{cpu * 1000:.0f} ms",
        "frames sent while stalled": f"{len(client.frames) - received}",
    }


def neverReading(server: Server, certs: Certificates, streams: int) -> dict[str, str]:
    pid = _pid(server)
    waitIdle(pid)
    rss, read = rssBytes(pid), bytesRead(pid)
    client = RawClient(server.port, certs.sslContext())
    client.start({SettingCodes.INITIAL_WINDOW_SIZE: _MAX_WINDOW})
    client.sendFrames([WindowUpdateFrame(0, window_increment=_MAX_WINDOW - 65535)])
    client.send(
        b"".join(
            client.headersFrame(2 * i + 1, "/static/big.bin") for i in range(streams)
        )
    )
    state = _idle(pid)
    rss, read = rssBytes(pid) - rss, bytesRead(pid) - read
    client.close()
    return {
        "asked for": f"{streams} x 10 MiB",
        "server then": state,
        "RSS growth": f"{rss / _MIB:.1f} MiB",
        "file bytes read": f"{read / _MIB:.1f} MiB",
    }


def stalledDownload(server: Server, certs: Certificates, size: int) -> dict[str, str]:
    pid = _pid(server)
    # Indexing (hashing the file) is done before this counts.
    waitIdle(pid)
    rss, read = rssBytes(pid), bytesRead(pid)
    context = certs.sslContext(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    stalled = context.wrap_socket(raw, server_hostname="localhost")
    stalled.sendall(b"GET /static/huge.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    stalled.recv(1024)
    with httpx.Client(http2=True, verify=certs.sslContext(), timeout=30) as other:
        for _ in range(20):
            other.get(server.url + "/")
    state = _idle(pid)
    rss, read = rssBytes(pid) - rss, bytesRead(pid) - read
    stalled.close()
    return {
        "file": f"{size} MiB, 1 KiB of it read",
        "server then": state,
        "RSS growth": f"{rss / _MIB:.1f} MiB",
        "file bytes read": f"{read / _MIB:.1f} MiB",
    }


def closeAfterError(server: Server, certs: Certificates) -> dict[str, str]:
    client = RawClient(server.port, certs.sslContext())
    client.start()
    client.send(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    started = time.monotonic()
    goAway = client.goAway(30)
    # Below TLS, on a copy of the descriptor, never answering close_notify.
    raw = socket.socket(fileno=os.dup(client.tls.fileno()))
    raw.settimeout(60)
    try:
        while raw.recv(65536):
            pass
        closed = f"{time.monotonic() - started:.2f} s"
    except ConnectionResetError:
        closed = f"{time.monotonic() - started:.2f} s (reset)"
    except TimeoutError:
        closed = "not within 60 s"
    raw.close()
    client.close()
    return {
        "GOAWAY": "received" if goAway is not None else "none",
        "TCP closed after": closed,
    }


def shutdownTimeout(server: Server, certs: Certificates) -> dict[str, str]:
    client = RawClient(server.port, certs.sslContext())
    client.start()
    streamID = client.request("/static/big.bin")
    client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535)
    assert server.process is not None
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    try:
        server.process.wait(60)
        exited = f"{time.monotonic() - started:.2f} s"
    except subprocess.TimeoutExpired:
        exited = "not within 60 s"
    client.close()
    return {"shutdown timeout": "1 s", "exited after SIGTERM": exited}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", help="another revision to measure beside")
    parser.add_argument("--stall", type=float, default=5.0, help="seconds")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--huge", type=int, default=48, help="MiB")
    args = parser.parse_args()

    def run(
        sources: Mapping[str, Path | None],
    ) -> dict[str, dict[str, dict[str, str]]]:
        return {
            "HTTP/2 window used up, never opened again": measure(
                "window stall",
                lambda s, c: windowStall(s, c, args.stall),
                sources,
                files=_BIG,
            ),
            "HTTP/2, every window open, nothing read": measure(
                "never reading",
                lambda s, c: neverReading(s, c, args.streams),
                sources,
                files=_BIG,
            ),
            "HTTP/1.1 download, nothing read": measure(
                "stalled download",
                lambda s, c: stalledDownload(s, c, args.huge),
                sources,
                files={"huge.bin": args.huge * _MIB},
            ),
            "HTTP/2 connection error, close_notify never answered": measure(
                "connection error", closeAfterError, sources, files={}
            ),
            "SIGTERM with a stalled download, --shutdown-timeout 1": measure(
                "shutdown timeout",
                shutdownTimeout,
                sources,
                args=["--shutdown-timeout", "1"],
                files=_BIG,
            ),
        }

    compare(args.baseline, run)


if __name__ == "__main__":
    main()
