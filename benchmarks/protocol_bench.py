"""
What h2site's protocol layers cost per request on their own: the CPU time
of its HTTP/2 and HTTP/1.1 connections serving the same page and 160 KiB
file in one process, with no TLS, no sockets and no load generator.

    python benchmarks/protocol_bench.py [--requests 5000]

The end-to-end benchmarks (C{http2_bench.py}) measure what users get, but on
a machine with two cores their figures move by 15% from run to run, and
they mix the protocol's own work with TLS, the kernel and h2load.  Here a
connection is fed request bytes made in advance (ten streams per batch over
HTTP/2, as C{h2load -m 10} sends them; one request at a time over
HTTP/1.1) and everything it writes is thrown away, so the figure is the
Python work per request, steady to a few percent: the best of five rounds
is printed.  In a real server the same work costs two to three times more
(160 KiB of TLS per request leaves the CPU caches cold), so a difference
here is a lower bound on the difference there.

Last, the page of C{http2_bench.py}'s C{preload} group (a stylesheet, a
font through it, a module) as a browser's navigation asks for it over
HTTP/2, with its C{Link} header and C{103 Early Hints} and from a site
built as C{--no-preload} builds it: what the hints cost the protocol's
own work, which that group's end-to-end ratio cannot resolve to better
than 10% on these machines.  The two alternate, eight times each, and
the best of each counts (this machine's slow spells last seconds).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection as H2Client
from h2.settings import SettingCodes
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.http2_bench import (
    FILE_NAME,
    FILE_SIZE,
    HINTED_ASSETS,
    HINTED_PAGE,
    PAGE,
)
from h2site.files.store import FileStore, MemoryLimits, StoredFile
from h2site.http.earlyhints import sendEarlyHints
from h2site.ops.allocator import keepLargeBuffers
from h2site.preload.policy import PreloadSettings
from h2site.web.root import buildResource
from h2site.web.site import H2Site
from tests.helpers import makeSite

ROUNDS = 5

#: Turns each of the preload comparison's two sites takes.
ALTERNATIONS = 8

#: What a browser's navigation says, and a 103 needs.
NAVIGATE = ((b"sec-fetch-mode", b"navigate"),)


class NullTransport:
    """
    A connection's transport that keeps nothing: it only counts bytes.
    """

    disconnecting = False

    def __init__(self, protocol: bytes) -> None:
        self.negotiatedProtocol = protocol
        self.written = 0
        self.producer: Any = None

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def writeSequence(self, data: list[bytes]) -> None:
        self.written += sum(map(len, data))

    def getPeer(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 50000)

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 443)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    def loseConnection(self) -> None:
        pass

    def abortConnection(self) -> None:
        pass


def buildSite(siteDir: Path, clock: Clock, preload: bool = True) -> H2Site:
    def inThread(
        work: Callable[[], StoredFile | None],
    ) -> Deferred[StoredFile | None]:
        return succeed(work())

    store = FileStore(str(siteDir / "static"), MemoryLimits(), time.monotonic, inThread)
    root = buildResource(
        str(siteDir),
        clock,
        store,
        PreloadSettings(enabled=preload, earlyHints="h2"),
        sendEarlyHints=sendEarlyHints,
    )
    return H2Site(root, lambda request: None, reactor=clock)


def settle(clock: Clock) -> None:
    """
    Run what the connection scheduled for this turn, not its timeouts.
    """
    while any(c.getTime() <= clock.seconds() for c in clock.getDelayedCalls()):
        clock.advance(0)


def perRequest(
    site: H2Site,
    clock: Clock,
    protocol: bytes,
    path: str,
    n: int,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> float:
    """
    Best-of-rounds CPU seconds per request for C{n} requests of C{path}.

    @param extra: more request fields, over HTTP/2.
    """
    connection = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert connection is not None
    transport = NullTransport(protocol)
    connection.makeConnection(transport)
    batches: list[bytes] = []
    if protocol == b"h2":
        client = H2Client(H2Configuration(client_side=True, header_encoding=None))
        client.initiate_connection()
        client.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 2**30 - 1})
        client.increment_flow_control_window(2**30 - 1 - 65535)
        connection.dataReceived(client.data_to_send())
        headers = [
            (b":method", b"GET"),
            (b":path", path.encode()),
            (b":scheme", b"https"),
            (b":authority", b"127.0.0.1:8443"),
            (b"accept-encoding", b"identity"),
            (b"user-agent", b"h2load nghttp2/1.52.0"),
            *extra,
        ]
        perBatch = 10
        for _ in range(n // perBatch + 20):
            for _ in range(perBatch):
                streamID = client.get_next_available_stream_id()
                client.send_headers(streamID, headers, end_stream=True)
            # The client never reads the responses: forget its side.
            client.streams.clear()
            batches.append(client.data_to_send())
    else:
        perBatch = 1
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
            "User-Agent: h2load nghttp2/1.52.0\r\nAccept: */*\r\n"
            "Accept-Encoding: identity\r\n\r\n"
        ).encode()
        batches = [request] * (n + 20)

    def run(part: list[bytes]) -> None:
        for data in part:
            connection.dataReceived(data)
            settle(clock)

    run(batches[:20])
    if transport.written < 20 * perBatch * 1000:
        raise SystemExit(f"{protocol!r} {path}: nothing was served")
    rest = batches[20:]
    size = len(rest) // ROUNDS
    best = float("inf")
    gc.collect()
    for i in range(ROUNDS):
        started = time.process_time()
        run(rest[i * size : (i + 1) * size])
        best = min(best, time.process_time() - started)
    return best / (size * perBatch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    # As a serving process does (h2site.tap.buildServer).
    keepLargeBuffers(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        siteDir = makeSite(
            Path(tmp) / "site", {"index.html": PAGE}, {FILE_NAME: os.urandom(FILE_SIZE)}
        )
        clock = Clock()
        site = buildSite(siteDir, clock)
        print("CPU per request, in process (no TLS, no sockets), best of 5 rounds")
        for label, path in (("page", "/"), ("160k", f"/static/{FILE_NAME}")):
            h2 = perRequest(site, clock, b"h2", path, args.requests)
            h1 = perRequest(site, clock, b"http/1.1", path, args.requests)
            print(
                f"{label:5}  h2 {h2 * 1e6:6.1f} us  http/1.1 {h1 * 1e6:6.1f} us  "
                f"h2 / http/1.1 = {h2 / h1:.2f}x (CPU)"
            )
        hinted = makeSite(
            Path(tmp) / "hinted", {"index.html": HINTED_PAGE}, HINTED_ASSETS
        )
        sites = {"on": buildSite(hinted, clock), "off": buildSite(hinted, clock, False)}
        best = {"on": float("inf"), "off": float("inf")}
        for _ in range(ALTERNATIONS):
            for name, each in sites.items():
                cost = perRequest(each, clock, b"h2", "/", args.requests, NAVIGATE)
                best[name] = min(best[name], cost)
        print(
            f"page h2, a navigation: Link + 103 {best['on'] * 1e6:6.1f} us  "
            f"--no-preload {best['off'] * 1e6:6.1f} us  "
            f"without / with = {best['off'] / best['on']:.2f}x (CPU)"
        )


if __name__ == "__main__":
    main()
