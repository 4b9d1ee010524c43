"""
Benchmark HTTP/3 against HTTP/2 on one h2site server: requests per second,
and page loads in headless Chromium with a round trip added to TCP and UDP
alike.

Run from the repository root, with h2site installed in the current Python
(and the C{test} extra: selenium, aioquic), chromium, chromium-driver,
h2load (nghttp2-client) and gtlsclient (ngtcp2-client):

    python benchmarks/h3_bench.py [--loads N] [--rtt MS,MS] [--duration S]
        [--rounds R] [--connections C] [--streams M] [--large-kb K]
        [--skip throughput|pages]

One server, C{twistd -n h2site --site COPY --port ssl:... --http3}, serving
a copy of the demo site (C{site/}) with two additions: C{/bench}, a small
page (a template with no assets), and C{/static/bench/large.bin}, C{K} KiB
of random bytes.  HTTP/2 on its TCP port, HTTP/3 on the same UDP port.

Part 1, requests per second, for the small page and the large file; each
client runs C{C} connections with C{M} requests in flight on each, as fast
as it can for C{S} seconds, the clients taken in turn (the order rotating
each round) for C{R} rounds; the figure is the median round:

  - C{h3 aioquic}: aioquic's asyncio client API (C{QuicConnectionProtocol}
    and C{H3Connection}), counting the body's bytes without keeping them;
  - C{h2 python}: the same loop in Python over asyncio and TLS with the
    C{h2} library (what aioquic is to QUIC, C{h2} is to HTTP/2: both
    sans-IO protocol code in Python driven by asyncio), so that the two
    Python clients cost about the same per request and the ratio
    C{aioquic/python} compares the server's two stacks;
  - C{h3 gtlsclient}: ngtcp2's C{gtlsclient} (C) in a loop, each run one
    connection asking for the path C{10 * M} times at once (as far as the
    server's stream limit allows), until C{S} seconds have passed (at least
    one run): its figure includes a process start and a handshake per run;
  - C{h2 h2load}: nghttp2's h2load (C), C{-c C -m M -D S}, a reference for
    what the server does over HTTP/2 when the client costs little;
    C{gtlsclient/h2load} is the ratio of the two C clients (this Debian
    h2load is built without HTTP/3, so it cannot measure both).

The Python clients say C{accept-encoding: identity} (h2load too), so no
client decodes; gtlsclient sends no C{accept-encoding}, so it gets the
same bytes.  On two cores the Python clients need about as much CPU as the
server: their figures are lower than h2load's, and their ratio is the
point.

Part 2, page loads.  Headless Chromium (fresh profile, fresh connections
each load) loads the demo home page C{/} through a L{LatencyRelay} in front
of the server, with C{MS} milliseconds of round trip on every TCP segment
and UDP datagram, QUIC's handshake and TLS's included (DevTools' latency
emulation delays requests but not handshakes, and not the preloads of a
103).  The relay also holds a new TCP connection's first bytes one round
trip, as the SYN/SYN-ACK would (C{handshake=True}), since a user-space
relay cannot delay TCP's own handshake: HTTP/2 pays the round trips it pays
on a network, TCP's and TLS's, and HTTP/3 QUIC's one.  Over h3 Chromium is
forced to QUIC on the relay's C{127.0.0.1:PORT}
(C{--origin-to-force-quic-on}); over h2 QUIC is off.  Both trust the
certificate by its key's hash (C{--ignore-certificate-errors-spki-list}),
so Chromium caches what a 103 preloads.  The figure is the navigation's
C{loadEventEnd}, the median of C{N} loads, legs in turn (order rotating).
C{nextHopProtocol} of the navigation and of every resource is printed, so
that h3 loads are seen to be h3 throughout, and how many assets came from
the 103 Early Hints.

Everything runs on this machine: figures are noisy when other work runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent
from h2 import events as h2events
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.settings import SettingCodes

from benchmarks.h2loadrun import runH2load
from benchmarks.latency import LatencyRelay
from tests.helpers import (
    Certificates,
    Server,
    copySite,
    makeCertificates,
    startChromium,
)

SMALL = "/bench"
LARGE = "/static/bench/large.bin"
PAGE = "/"
#: How long h2site may take to prepare the site before it is measured.
PATIENCE = 300.0
#: Both Python clients' flow-control windows (aioquic's defaults).
WINDOW = 1 << 20
HEADERS = [(b"accept-encoding", b"identity"), (b"user-agent", b"h3_bench")]

#: One load once C{load} has ended: its time, the protocol of the page and
#: of each resource, and how each resource was started.
LOAD = """
const nav = performance.getEntriesByType('navigation')[0];
if (!nav || !(nav.loadEventEnd > 0)) return null;
return {
  load: nav.loadEventEnd,
  protocol: nav.nextHopProtocol,
  interim: nav.firstInterimResponseStart || 0,
  resources: performance.getEntriesByType('resource').map((r) => ({
    url: new URL(r.name).pathname,
    initiator: r.initiatorType,
    protocol: r.nextHopProtocol,
  })),
};
"""


@dataclass
class Tally:
    """
    What one client run got: answers, failures, body bytes.
    """

    ok: int = 0
    failed: int = 0
    bytes: int = 0


class _H3Client(QuicConnectionProtocol):
    """
    An HTTP/3 connection that sends GETs and counts what comes back.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.waiting: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self.status: dict[int, int] = {}
        self.received: dict[int, int] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3event in self.h3.handle_event(event):
            if not isinstance(h3event, HeadersReceived | DataReceived):
                continue
            stream = h3event.stream_id
            if stream not in self.waiting:
                continue
            if isinstance(h3event, HeadersReceived):
                status = int(dict(h3event.headers).get(b":status", b"0"))
                if status >= 200:
                    self.status[stream] = status
            else:
                self.received[stream] = self.received.get(stream, 0) + len(h3event.data)
            if h3event.stream_ended:
                future = self.waiting.pop(stream)
                if not future.done():
                    future.set_result(
                        (self.status.pop(stream, 0), self.received.pop(stream, 0))
                    )

    async def get(self, authority: str, path: str) -> tuple[int, int]:
        stream = self._quic.get_next_available_stream_id()
        future: asyncio.Future[tuple[int, int]]
        future = asyncio.get_running_loop().create_future()
        self.waiting[stream] = future
        self.h3.send_headers(
            stream,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", path.encode()),
                *HEADERS,
            ],
            end_stream=True,
        )
        self.transmit()
        return await future


class _H2Client(asyncio.Protocol):
    """
    An HTTP/2 connection over TLS, driven as L{_H3Client} is: GETs sent,
    what comes back counted.
    """

    def __init__(self) -> None:
        self.h2 = H2Connection(H2Configuration(client_side=True))
        self.transport: asyncio.Transport | None = None
        self.waiting: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self.status: dict[int, int] = {}
        self.received: dict[int, int] = {}
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.h2.initiate_connection()
        self.h2.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: WINDOW})
        self.h2.increment_flow_control_window(WINDOW)
        transport.write(self.h2.data_to_send())
        self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2events.ResponseReceived):
                self.status[event.stream_id] = int(
                    dict(event.headers).get(b":status", b"0")
                )
            elif isinstance(event, h2events.DataReceived):
                stream = event.stream_id
                self.received[stream] = self.received.get(stream, 0) + len(event.data)
                self.h2.acknowledge_received_data(event.flow_controlled_length, stream)
            elif isinstance(event, h2events.StreamEnded | h2events.StreamReset):
                future = self.waiting.pop(event.stream_id, None)
                if future is not None and not future.done():
                    future.set_result(
                        (
                            self.status.pop(event.stream_id, 0),
                            self.received.pop(event.stream_id, 0),
                        )
                    )
            elif isinstance(event, h2events.ConnectionTerminated):
                self._fail(ConnectionError("GOAWAY"))
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection lost"))

    def _fail(self, reason: Exception) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(reason)
        self.waiting.clear()

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)

    async def get(self, authority: str, path: str) -> tuple[int, int]:
        stream = self.h2.get_next_available_stream_id()
        future: asyncio.Future[tuple[int, int]]
        future = asyncio.get_running_loop().create_future()
        self.waiting[stream] = future
        self.h2.send_headers(
            stream,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", path.encode()),
                *HEADERS,
            ],
            end_stream=True,
        )
        self._flush()
        return await future

    def close(self) -> None:
        if self.transport is not None:
            self.h2.close_connection()
            self._flush()
            self.transport.close()


async def _hammer(
    get: Callable[[str, str], Any],
    authority: str,
    path: str,
    size: int,
    deadline: float,
    tally: Tally,
) -> None:
    """
    GET C{path} again and again until C{deadline}, one request in flight.
    """
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            status, received = await asyncio.wait_for(get(authority, path), 30)
        except (TimeoutError, ConnectionError):
            tally.failed += 1
            return
        if status == 200 and (size < 0 or received == size):
            tally.ok += 1
            tally.bytes += received
        else:
            tally.failed += 1


async def _h3Run(
    port: int, caFile: Path, path: str, size: int, args: argparse.Namespace
) -> tuple[Tally, float]:
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=H3_ALPN,
        server_name="localhost",
        verify_mode=ssl.CERT_REQUIRED,
    )
    configuration.load_verify_locations(str(caFile))
    tally = Tally()
    authority = f"localhost:{port}"
    async with _AsyncStack() as stack:
        clients = []
        for _ in range(args.connections):
            client = await stack.enter(
                connect(
                    "127.0.0.1",
                    port,
                    configuration=configuration,
                    create_protocol=_H3Client,
                )
            )
            assert isinstance(client, _H3Client)
            clients.append(client)
        started = asyncio.get_running_loop().time()
        deadline = started + args.duration
        await asyncio.gather(
            *(
                _hammer(client.get, authority, path, size, deadline, tally)
                for client in clients
                for _ in range(args.streams)
            )
        )
        elapsed = asyncio.get_running_loop().time() - started
    return tally, elapsed


async def _h2Run(
    port: int, certs: Certificates, path: str, size: int, args: argparse.Namespace
) -> tuple[Tally, float]:
    loop = asyncio.get_running_loop()
    context = certs.sslContext(alpn=["h2"])
    tally = Tally()
    authority = f"localhost:{port}"
    clients: list[_H2Client] = []
    try:
        for _ in range(args.connections):
            _, client = await loop.create_connection(
                _H2Client, "127.0.0.1", port, ssl=context, server_hostname="localhost"
            )
            clients.append(client)
            await client.ready
        started = loop.time()
        deadline = started + args.duration
        await asyncio.gather(
            *(
                _hammer(client.get, authority, path, size, deadline, tally)
                for client in clients
                for _ in range(args.streams)
            )
        )
        elapsed = loop.time() - started
    finally:
        for client in clients:
            client.close()
    return tally, elapsed


class _AsyncStack:
    """
    Enter async context managers, leave them all at the end (a tiny
    C{contextlib.AsyncExitStack} that mypy reads easily).
    """

    def __init__(self) -> None:
        self._exits: list[Any] = []

    async def enter(self, manager: Any) -> Any:
        value = await manager.__aenter__()
        self._exits.append(manager)
        return value

    async def __aenter__(self) -> _AsyncStack:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for manager in reversed(self._exits):
            await manager.__aexit__(None, None, None)


def throughput(
    client: str,
    server: Server,
    certs: Certificates,
    path: str,
    size: int,
    args: argparse.Namespace,
) -> tuple[float, str]:
    """
    One timed run of C{client} against C{path}: requests per second and a
    note of failures.
    """
    if client == "h2 h2load":
        result = runH2load(
            f"https://localhost:{server.port}{path}",
            requests=10**7,
            clients=args.connections,
            streams=args.streams,
            extra=[
                "-D",
                f"{round(args.duration * 1000)}ms",
                "-H",
                "accept-encoding: identity",
                "--connect-to",
                f"127.0.0.1:{server.port}",
            ],
            timeout=args.duration + 120,
        )
        bad = result.failed + result.errored
        return result.rps, f"{bad} failed" if bad else ""
    if client == "h3 gtlsclient":
        return _gtlsclientRun(server.port, path, args)
    if client == "h3 aioquic":
        tally, elapsed = asyncio.run(
            _h3Run(server.port, certs.caCert, path, size, args)
        )
    else:
        tally, elapsed = asyncio.run(_h2Run(server.port, certs, path, size, args))
    return tally.ok / elapsed, f"{tally.failed} failed" if tally.failed else ""


def _gtlsclientRun(port: int, path: str, args: argparse.Namespace) -> tuple[float, str]:
    """
    ngtcp2's C{gtlsclient} in a loop until C{duration} has passed, each run
    one connection asking for C{path} C{10 * streams} times (all at once,
    as far as the server's stream limit allows); at least one run, however
    long it takes.
    """
    batch = 10 * args.streams
    ok = failed = 0
    started = time.monotonic()
    while ok + failed == 0 or time.monotonic() - started < args.duration:
        done = subprocess.run(
            [
                "gtlsclient",
                "--quiet",
                "--no-quic-dump",
                "--no-http-dump",
                "--exit-on-all-streams-close",
                "--timeout=30s",
                "-n",
                str(batch),
                "127.0.0.1",
                str(port),
                f"https://localhost:{port}{path}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if done.returncode == 0:
            ok += batch
        else:
            failed += batch
    elapsed = time.monotonic() - started
    return ok / elapsed, f"{failed} failed" if failed else ""


CLIENTS = ("h3 aioquic", "h2 python", "h3 gtlsclient", "h2 h2load")


def measureThroughput(
    server: Server, certs: Certificates, args: argparse.Namespace
) -> dict[tuple[str, str], list[tuple[float, str]]]:
    paths = {SMALL: -1, LARGE: args.large_kb * 1024}
    runs: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for round in range(args.rounds):
        order = CLIENTS[round % len(CLIENTS) :] + CLIENTS[: round % len(CLIENTS)]
        for path, size in paths.items():
            for client in order:
                runs.setdefault((path, client), []).append(
                    throughput(client, server, certs, path, size, args)
                )
        print(f"  throughput round {round + 1} of {args.rounds} done", file=sys.stderr)
    return runs


def chromiumLoad(
    url: str, profile: Path, certificate: Path, forceQuic: str | None
) -> dict[str, Any]:
    """
    Load C{url} once in a fresh headless Chromium trusting C{certificate}'s
    key, QUIC forced on C{forceQuic} (or off), and sum it up with L{LOAD}.
    """
    browser = startChromium(
        shutil.which("chromium") or "chromium",
        shutil.which("chromedriver") or "chromedriver",
        profile,
        certificate,
        0,
        False,
        pageLoadTimeout=120,
        forceQuic=forceQuic,
    )
    try:
        browser.get(url)
        deadline = time.monotonic() + 60
        while True:
            result: dict[str, Any] | None = browser.execute_script(LOAD)
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never finished loading")
            time.sleep(0.05)
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


LEGS = ("h3", "h2")


@dataclass
class Cell:
    """
    The loads of one leg at one round trip.
    """

    loads: list[dict[str, Any]]
    failures: list[str]

    def median(self) -> float | None:
        return statistics.median(x["load"] for x in self.loads) if self.loads else None

    def protocols(self) -> str:
        """
        The navigations' protocols, then the resources', with counts.
        """
        pages = Counter(str(x["protocol"] or "?") for x in self.loads)
        resources = Counter(
            str(r["protocol"] or "(cache)") for x in self.loads for r in x["resources"]
        )
        return (
            "page "
            + "+".join(f"{p} x{n}" for p, n in pages.most_common())
            + ", resources "
            + "+".join(f"{p} x{n}" for p, n in resources.most_common())
        )

    def relayed(self) -> str:
        """
        What each load sent through the relay (medians).
        """
        if not self.loads:
            return ""
        tcp, up, down = (
            statistics.median(x["relayed"][i] for x in self.loads) for i in range(3)
        )
        return (
            f"relayed per load: {tcp:g} TCP connections, "
            f"{up:g} datagrams up, {down:g} down"
        )

    def notFromHints(self) -> str:
        """
        The resources some loads did not take from the 103, and how they got
        them instead.
        """
        ways = Counter(
            (r["url"], r["initiator"])
            for x in self.loads
            for r in x["resources"]
            if r["initiator"] != "early-hints"
        )
        return ", ".join(
            f"{url} ({initiator}) {n}/{len(self.loads)}"
            for (url, initiator), n in sorted(ways.items())
        )

    def earlyHints(self) -> str:
        interim = sum(1 for x in self.loads if x["interim"] > 0)
        hinted = [
            sum(1 for r in x["resources"] if r["initiator"] == "early-hints")
            for x in self.loads
        ]
        total = [len(x["resources"]) for x in self.loads]
        if not self.loads:
            return ""
        return (
            f"103 in {interim}/{len(self.loads)}, "
            f"{statistics.median(hinted):g} of {statistics.median(total):g} "
            "resources from the 103 (median)"
        )


def measurePageLoads(
    server: Server, certs: Certificates, tmp: Path, args: argparse.Namespace
) -> dict[tuple[int, str], Cell]:
    relays: dict[int, LatencyRelay] = {}
    try:
        for rtt in args.rtt:
            relays[rtt] = LatencyRelay(
                server.port, rtt / 1000, udp=True, handshake=True
            ).start()

        def load(rtt: int, leg: str) -> dict[str, Any]:
            relay = relays[rtt]
            origin = f"127.0.0.1:{relay.port}"
            connections, (up, down) = relay.connections, relay.datagrams()
            result = chromiumLoad(
                f"https://{origin}{PAGE}",
                tmp / "profile",
                certs.cert,
                origin if leg == "h3" else None,
            )
            # What went through the relay: the proof that each leg paid the
            # round trip (and that h3 did not take a path around it).
            result["relayed"] = (
                relay.connections - connections,
                relay.datagrams()[0] - up,
                relay.datagrams()[1] - down,
            )
            return result

        for rtt in args.rtt:  # warm-up, not counted
            for leg in LEGS:
                load(rtt, leg)
        cells = {(rtt, leg): Cell([], []) for rtt in args.rtt for leg in LEGS}
        for round in range(args.loads):
            order = LEGS[round % 2 :] + LEGS[: round % 2]
            for rtt in args.rtt:
                for leg in order:
                    cell = cells[(rtt, leg)]
                    try:
                        cell.loads.append(load(rtt, leg))
                    except Exception as e:
                        cell.failures.append(f"{type(e).__name__}: {e}"[:200])
            print(f"  page loads round {round + 1} of {args.loads}", file=sys.stderr)
        return cells
    finally:
        for relay in relays.values():
            relay.stop()


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def reportThroughput(
    args: argparse.Namespace, runs: dict[tuple[str, str], list[tuple[float, str]]]
) -> None:
    print(
        f"\nrequests/s, {args.connections} connection(s) x {args.streams} "
        f"streams per client, {args.duration:g} s runs, median of "
        f"{args.rounds} rounds (clients in turn)"
    )
    print(
        f"  {'path':<24}"
        + "".join(f"{c:>14}" for c in CLIENTS)
        + f"{'aioquic/python':>16}{'gtlsclient/h2load':>19}"
    )
    for path, label in [
        (SMALL, f"{SMALL} (small page)"),
        (LARGE, f"large.bin ({args.large_kb} KiB)"),
    ]:
        medians = {c: statistics.median(r for r, _ in runs[(path, c)]) for c in CLIENTS}
        notes = [f"{c}: {note}" for c in CLIENTS for _, note in runs[(path, c)] if note]
        print(
            f"  {label:<24}"
            + "".join(f"{medians[c]:>14.0f}" for c in CLIENTS)
            + f"{ratio(medians['h3 aioquic'], medians['h2 python']):>16}"
            + f"{ratio(medians['h3 gtlsclient'], medians['h2 h2load']):>19}"
            + (f"   ({'; '.join(notes)})" if notes else "")
        )
        spread = ", ".join(
            f"{c} {min(r for r, _ in runs[(path, c)]):.0f}-"
            f"{max(r for r, _ in runs[(path, c)]):.0f}"
            for c in CLIENTS
        )
        print(f"  {'':<24}range: {spread}")


def reportPages(args: argparse.Namespace, cells: dict[tuple[int, str], Cell]) -> None:
    print(
        f"\npage load of the demo site's {PAGE} in headless Chromium through "
        "the relay\n(round trip on every TCP segment and UDP datagram, "
        f"handshakes included), median loadEventEnd of {args.loads} loads "
        "in ms, legs in turn"
    )
    print(f"  {'rtt ms':>7}{'h3':>8}{'h2':>8}{'h3/h2':>8}")
    for rtt in args.rtt:
        h3, h2 = cells[(rtt, "h3")].median(), cells[(rtt, "h2")].median()
        text = "".join(
            f"{(f'{m:.0f}' if m is not None else 'n/a'):>8}" for m in (h3, h2)
        )
        print(f"  {rtt:>7}{text}{ratio(h3, h2):>8}")
    print("  per leg: load range; protocols (nextHopProtocol); Early Hints")
    for rtt in args.rtt:
        for leg in LEGS:
            cell = cells[(rtt, leg)]
            times = [x["load"] for x in cell.loads]
            span = f"{min(times):.0f}-{max(times):.0f} ms" if times else "no loads"
            print(
                f"    {rtt:>3} ms {leg}: {span}; {cell.protocols()}; "
                f"{cell.earlyHints()}"
            )
            print(f"      {cell.relayed()}")
            print(f"      not from the 103: {cell.notFromHints() or 'none'}")
            if cell.failures:
                print(f"      {len(cell.failures)} loads failed: {cell.failures[0]}")


def prepareSite(tmp: Path, largeKB: int) -> Path:
    site = copySite(tmp / "site")
    (site / "templates" / "bench.html").write_text(
        "<!doctype html><html lang=en><title>bench</title>"
        "<p>A small page for the benchmark.</p></html>\n",
        encoding="utf-8",
    )
    (site / "static" / "bench").mkdir()
    (site / "static" / "bench" / "large.bin").write_bytes(os.urandom(largeKB * 1024))
    return site


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument(
        "--rtt",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[0, 50, 100],
        metavar="MS,MS",
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--large-kb", type=int, default=128)
    parser.add_argument(
        "--skip", choices=["throughput", "pages"], help="leave one part out"
    )
    args = parser.parse_args(argv)
    tools = ("chromium", "chromedriver", "h2load", "gtlsclient")
    missing = [p for p in tools if not shutil.which(p)]
    if missing:
        sys.exit(
            f"missing: {', '.join(missing)} "
            "(apt-get install chromium chromium-driver nghttp2-client "
            "ngtcp2-client)"
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="h2site-h3-bench-") as name:
        tmp = Path(name)
        certs = makeCertificates(tmp / "certs")
        site = prepareSite(tmp, args.large_kb)
        server = Server(
            args=["--site", str(site), "--port", certs.endpoint(), "--http3"],
            cwd=tmp,
        ).start()
        try:
            server.waitForOutput(r"h2site static files ready", PATIENCE)
            runs: dict[tuple[str, str], list[tuple[float, str]]] = {}
            cells: dict[tuple[int, str], Cell] = {}
            if args.skip != "throughput":
                runs = measureThroughput(server, certs, args)
            if args.skip != "pages":
                cells = measurePageLoads(server, certs, tmp, args)
        finally:
            server.stop()
    chromium = subprocess.run(
        ["chromium", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"h2site --http3, one server; {chromium or 'Chromium'} headless; "
        f"{os.cpu_count()} cores"
    )
    if runs:
        reportThroughput(args, runs)
    if cells:
        reportPages(args, cells)
    print(f"\ntook {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
