"""
HTTP/2 speed of h2site next to granian, stock Twisted, h2site's own
HTTP/1.1 and nginx (when installed), on the same files with the same TLS
certificate, all in one run.

    python benchmarks/http2_bench.py [--duration 10] [--quick] [--no-pin]
        [--no-nginx] [--no-granian] [--rounds 2]
        [--only page,160k,preload,workers]

Each server is started on a free loopback port and loaded with C{h2load}
(Debian C{nghttp2-client}) in turn, 10 connections (C{-m 10} streams each
over HTTP/2), for C{--duration} seconds after a 2 s warm-up, the rows of
a group in turn, C{--rounds} times over (the medians count: the machine's
other load then falls on every server alike):

  - C{page}: a 1.6 KB page (C{/} from h2site, the same bytes as a static
    file from the others), over HTTP/2 and HTTP/1.1;
  - C{160k}: a 160 KB file no server can compress, likewise;
  - C{preload}: h2site's page with C{Link} preload headers and a C{103
    Early Hints} response (the page names a stylesheet, a module and,
    through the stylesheet, a font), against the same page from h2site
    C{--no-preload}.  The requests say C{Sec-Fetch-Mode: navigate}, as a
    browser's navigation does, so h2site really sends the 103 (checked
    with curl first);
  - C{workers}: the page from h2site C{--workers 2} against C{--workers 1},
    neither pinned, h2load unpinned too, with 32 connections (the kernel
    spreads connections over the workers by hashing their addresses, and
    10 can split 4:6); and nginx with 2 workers against 1 under the same
    load, for what the machine allows when h2load shares its cores.

By default, on a machine with two cores or more, every server is pinned to
core 0 (C{taskset -c 0}, nginx's and granian's workers included) and h2load
to core 1, so that the load generator does not take CPU from the server
measured; C{--no-pin} turns that off.  granian (C{pip install granian})
serves the files from its static route (its application,
L{benchmarks.granian_app}, answers nothing else); it is skipped, with a
line, when it is not installed.

Printed: requests/s, MB/s, the server's CPU time per request (from
C{/proc}, the process and its children: steadier than requests/s on a
busy machine), and at the end the ratios issue 16 asks for, each with its
target, in requests per second and (where both servers were pinned alike)
by CPU time per request.  A ratio is the median of the rounds' own
ratios (round I{n} of two rows of a group ran seconds apart, under the
same load), with their range: use C{--rounds 5} or more where the range
straddles a target.  Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.nginx import findNginx, freePort, writeNginxConfig  # noqa: E402
from tests.helpers import (  # noqa: E402
    Certificates,
    cpuSeconds,
    makeCertificates,
    makeSite,
    twistdCommand,
)

#: The small page: about 1.6 KB of HTML once rendered.
PAGE = (
    "<!doctype html>\n<html lang=en><meta charset=utf-8>\n"
    "<title>A small page</title>\n<h1>A small page</h1>\n"
    + "<p>HTTP/2 multiplexes many requests over one connection.</p>\n"
    * 24
)
#: The same page naming assets h2site announces (the stylesheet leads to a
#: font), for the preload rows.
HINTED_PAGE = PAGE.replace(
    "<title>",
    "<link rel=stylesheet href=\"{{ static_url('css/site.css') }}\">\n"
    "<script type=module src=\"{{ static_url('js/main.mjs') }}\"></script>\n"
    "<title>",
)
HINTED_ASSETS = {
    "css/site.css": b"@font-face { font-family: body; "
    b"src: url(../fonts/body.woff2) format('woff2'); }\n"
    b"body { font-family: body, sans-serif; }\n",
    "js/main.mjs": b"document.documentElement.dataset.ready = 'yes';\n",
    "fonts/body.woff2": b"wOF2" + bytes(2000),
}
#: The large file: 160 KiB that no server can compress.
FILE_NAME = "file160k.bin"
FILE_SIZE = 160 * 1024

#: The groups of rows C{--only} chooses from.
GROUPS = ("page", "160k", "preload", "workers")

_LISTENING = re.compile(r"listening on (?:https://\S+?:)?(\d+)")
_RESULT = re.compile(r"finished in [\d.]+s, ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s")
_REQUESTS = re.compile(
    r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded"
)
_UNITS = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}


@dataclass(frozen=True)
class Pinning:
    """
    The command prefixes that pin servers and the load generator to cores
    (empty when not pinned).
    """

    server: tuple[str, ...] = ()
    load: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if not self.server:
            return "not pinned"
        return (
            f"servers on `{' '.join(self.server)}`, h2load on `{' '.join(self.load)}`"
        )


UNPINNED = Pinning()


def defaultPinning(pin: bool = True) -> Pinning:
    """
    Servers on the first core this process may use and the load generator
    on the second, when there are two and C{pin}; else no pinning.
    """
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        return UNPINNED
    return Pinning(("taskset", "-c", str(cores[0])), ("taskset", "-c", str(cores[1])))


@dataclass
class Result:
    requests: float
    megabytes: float
    cpuMicroseconds: float
    failed: int


def treeCpuSeconds(pid: int) -> float:
    """
    CPU time of a process and of its living descendants: a server's
    workers count too (nginx's and granian's masters, h2site's supervisor
    under C{--workers}).
    """
    total = cpuSeconds(pid)
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            # A child that has just exited has no /proc entry left.
            with contextlib.suppress(FileNotFoundError):
                total += treeCpuSeconds(int(child))
    return total


@dataclass
class Running:
    """
    A server under test: its process and its port.
    """

    name: str
    process: subprocess.Popen[str]
    port: int

    def cpuSeconds(self) -> float:
        return treeCpuSeconds(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def startAnnounced(
    name: str, command: Sequence[str], cwd: Path, ready: str | None = None
) -> Running:
    """
    Start a server that prints C{listening on ...PORT} once it listens (and
    C{ready} too, when given, after that).
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    port = None
    for line in process.stdout:
        match = _LISTENING.search(line)
        if match and port is None:
            port = int(match.group(1))
        if port is not None and (ready is None or ready in line):
            # Keep reading its output, so a chatty server never blocks.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return Running(name, process, port)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"{name} did not start")


def startPolled(
    name: str, command: Sequence[str], port: int, probe: str, cwd: Path
) -> Running | None:
    """
    Start a server that announces nothing (nginx, granian): poll C{probe}
    until it answers and the server has forked its worker.
    """
    log = (cwd / f"{name.split()[0]}.log").open("w")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while time.monotonic() < deadline and process.poll() is None:
        answered = subprocess.run(
            ["curl", "-skf", "-o", os.devnull, f"https://127.0.0.1:{port}{probe}"],
            capture_output=True,
        )
        if answered.returncode == 0 and children.read_text().split():
            return Running(name, process, port)
        time.sleep(0.1)
    process.kill()
    process.wait()
    print(f"{name} did not start: see {cwd / name.split()[0]}.log")
    return None


def h2load(
    server: Running,
    path: str,
    duration: float,
    pinning: Pinning,
    http1: bool = False,
    headers: Sequence[str] = (),
    clients: int = 10,
    warmUp: int = 2,
) -> Result:
    """
    Load C{path} for C{duration} seconds (after a C{warmUp} seconds warm-up)
    with C{clients} connections of 10 concurrent streams each (one request
    at a time per connection over HTTP/1.1, which has no multiplexing).
    """
    url = f"https://127.0.0.1:{server.port}{path}"
    command = [*pinning.load, "h2load", "-c", str(clients), "-D", str(int(duration))]
    command += ["--warm-up-time", str(warmUp)] if warmUp else []
    # The same bytes from every server: h2site would otherwise send the page
    # compressed (its file store precompresses it) and the others not.
    command += ["-H", "accept-encoding: identity"]
    for header in headers:
        command += ["-H", header]
    command += ["--h1"] if http1 else ["-m", "10"]
    before = server.cpuSeconds()
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=duration + 120
    )
    # The warm-up also costs CPU: count it in, per request of the whole run.
    cpu = server.cpuSeconds() - before
    result = _RESULT.search(done.stdout)
    requests = _REQUESTS.search(done.stdout)
    if result is None or requests is None:
        raise SystemExit(
            f"h2load failed against {server.name}:\n{done.stdout}{done.stderr}"
        )
    total, _, succeeded = (int(n) for n in requests.groups())
    megabytes = float(result.group(2)) * _UNITS[result.group(3)]
    warmup = float(result.group(1)) * warmUp  # requests made during the warm-up
    return Result(
        requests=float(result.group(1)),
        megabytes=megabytes,
        cpuMicroseconds=cpu / max(total + warmup, 1) * 1e6,
        failed=total - succeeded,
    )


def startH2site(
    name: str,
    site: Path,
    certs: Certificates,
    work: Path,
    pinning: Pinning,
    *options: str,
) -> Running:
    """
    h2site on a free loopback port with the test certificate, no access log
    file (it still formats every entry), and C{options}; with C{--workers},
    once every worker serves.
    """
    workers = options[options.index("--workers") + 1] if "--workers" in options else "1"
    return startAnnounced(
        name,
        [
            *pinning.server,
            *twistdCommand(
                "--site",
                str(site),
                "--port",
                certs.endpoint(),
                "--access-log",
                os.devnull,
                *options,
            ),
        ],
        work,
        ready=f"all {workers} workers are serving" if workers != "1" else None,
    )


def startNginx(
    root: Path, certs: Certificates, work: Path, pinning: Pinning, workers: int = 1
) -> Running | None:
    """
    nginx with one worker (h2site uses one core), or C{workers}, or L{None}
    if it is not installed.
    """
    nginx = findNginx()
    if nginx is None:
        print("nginx skipped: not installed")
        return None
    folder = work / f"nginx-{workers}-{id(pinning)}"
    folder.mkdir()
    port = freePort()
    config = writeNginxConfig(
        folder,
        port,
        root,
        certs.key,
        certs.cert,
        # nginx ends an HTTP/2 connection after 1000 requests by default,
        # and h2load's timed mode does not reconnect.
        http="keepalive_requests 100000000; keepalive_timeout 300s;",
        server="location / { default_type application/octet-stream; }",
        workers=workers,
    )
    # Its workers inherit the master's CPU affinity.
    command = [*pinning.server, nginx, "-c", str(config), "-p", str(folder)]
    name = "nginx (1 worker)" if workers == 1 else f"nginx ({workers} workers)"
    return startPolled(name, command, port, "/page.html", work)


def startGranian(
    root: Path, certs: Certificates, work: Path, pinning: Pinning
) -> Running | None:
    """
    granian with one worker and one runtime thread, serving C{root} at
    C{/static}, or L{None} if it is not installed.

    C{--http auto} rather than C{2}: ALPN then chooses, so the same process
    serves HTTP/2 and HTTP/1.1.  The key must be PKCS#8, as the test
    certificates' is.
    """
    if importlib.util.find_spec("granian") is None:
        print("granian skipped: not installed (pip install granian)")
        return None
    port = freePort()
    command = [
        *pinning.server,
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--http",
        "auto",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--runtime-threads",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "--ssl-certificate",
        str(certs.cert),
        "--ssl-keyfile",
        str(certs.key),
        "--static-path-route",
        "/static",
        "--static-path-mount",
        str(root),
        "--working-dir",
        str(REPO),
        "benchmarks.granian_app:app",
    ]
    return startPolled("granian (1 worker)", command, port, "/static/page.html", work)


def announced(server: Running) -> str:
    """
    What C{server} sends a navigation to C{/} before and with the page, as
    curl sees it: C{"103 + Link"}, C{"Link"} or C{"nothing"}.
    """
    verbose = subprocess.run(
        [
            "curl",
            "-skv",
            "--http2",
            "-o",
            os.devnull,
            "-H",
            "sec-fetch-mode: navigate",
            "-H",
            "accept-encoding: identity",
            f"https://127.0.0.1:{server.port}/",
        ],
        capture_output=True,
        text=True,
    ).stderr
    hints = "< HTTP/2 103" in verbose
    link = re.search(r"^< link: .*rel=preload", verbose, re.M | re.I) is not None
    return " + ".join(["103"] * hints + ["Link"] * link) or "nothing"


@dataclass(frozen=True)
class Row:
    label: str
    server: Running
    test: str
    path: str
    http1: bool = False
    headers: tuple[str, ...] = ()
    clients: int = 10
    pinning: Pinning | None = None  # the run's own when None


@dataclass
class Table:
    """
    The results by label and test, printed as they come; a row run several
    times counts by its medians.
    """

    duration: float
    pinning: Pinning
    rounds: int
    runs: dict[tuple[str, str], list[Result]] = field(default_factory=dict)

    def result(self, key: tuple[str, str]) -> Result:
        runs = self.runs[key]
        return Result(
            requests=statistics.median(r.requests for r in runs),
            megabytes=statistics.median(r.megabytes for r in runs),
            cpuMicroseconds=statistics.median(r.cpuMicroseconds for r in runs),
            failed=sum(r.failed for r in runs),
        )

    def header(self) -> None:
        head = ("server", "test", "req/s", "MB/s", "CPU us/req", "failed")
        print("{:<36}{:<10}{:>10}{:>10}{:>12}{:>8}".format(*head), flush=True)

    def runInTurn(self, rows: Sequence[Row]) -> None:
        """
        Run C{rows} one after the other, C{rounds} times over, so that the
        machine's other load falls on all of them alike.
        """
        for _ in range(self.rounds):
            for row in rows:
                self.run(row)

    def run(self, row: Row) -> None:
        r = h2load(
            row.server,
            row.path,
            self.duration,
            row.pinning if row.pinning is not None else self.pinning,
            row.http1,
            row.headers,
            row.clients,
        )
        self.runs.setdefault((row.label, row.test), []).append(r)
        print(
            f"{row.label:<36}{row.test:<10}{r.requests:>10.0f}{r.megabytes:>10.1f}"
            f"{r.cpuMicroseconds:>12.0f}{r.failed:>8}",
            flush=True,
        )

    def ratio(
        self,
        name: str,
        ours: tuple[str, str],
        theirs: tuple[str, str],
        target: str,
        byCpu: bool = True,
    ) -> None:
        """
        Print C{ours} / C{theirs} in requests per second, if both ran, and
        with C{byCpu} the same by the servers' CPU time per request (theirs
        / ours: higher is better for us too), which a busy machine disturbs
        less.

        Each is the median of the ratios of the rounds: a group runs its
        rows in turn, so round I{n} of both ran within seconds of each
        other, under the same load, while the machine drifts by 15% or more
        over a run.  The range of those ratios follows.
        """
        if ours not in self.runs or theirs not in self.runs:
            return
        pairs = list(zip(self.runs[ours], self.runs[theirs], strict=False))
        rates = [a.requests / max(b.requests, 1e-9) for a, b in pairs]
        text = f"{name} = {_spread(rates)}"
        if byCpu:
            cpus = [b.cpuMicroseconds / max(a.cpuMicroseconds, 1e-9) for a, b in pairs]
            text += f", {_spread(cpus)} by CPU per request"
        print(f"{text} ({target})")


def _spread(ratios: Sequence[float]) -> str:
    """
    The median of per-round ratios, and their range when there are several.
    """
    median = f"{statistics.median(ratios):.2f}x"
    if len(ratios) < 2:
        return median
    return f"{median} [{min(ratios):.2f}-{max(ratios):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument(
        "--quick", action="store_true", help="3 s per run instead of --duration"
    )
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-granian", action="store_true")
    parser.add_argument(
        "--no-pin", action="store_true", help="pin neither servers nor h2load"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="runs of each row, the rows of a group in turn (medians count)",
    )
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated groups of rows to run, of {', '.join(GROUPS)}",
    )
    options = parser.parse_args()
    groups = set(options.only.split(","))
    if not groups <= set(GROUPS):
        parser.error(f"--only takes {', '.join(GROUPS)}")
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is missing: apt-get install nghttp2-client")
    pinning = defaultPinning(not options.no_pin)

    work = Path(tempfile.mkdtemp(prefix="h2site-bench-"))
    # nginx's worker runs as another user: let it read the files.
    work.chmod(0o755)
    try:
        run(
            work,
            3 if options.quick else options.duration,
            groups,
            pinning,
            rounds=1 if options.quick else options.rounds,
            withNginx=not options.no_nginx,
            withGranian=not options.no_granian,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(
    work: Path,
    duration: float,
    groups: set[str],
    pinning: Pinning,
    rounds: int,
    withNginx: bool,
    withGranian: bool,
) -> None:
    certs = makeCertificates(work / "certs")
    site = makeSite(
        work / "site",
        {"index.html": PAGE},
        {FILE_NAME: os.urandom(FILE_SIZE)},
    )
    table = Table(duration, pinning, rounds)
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"{duration} s per run; {pinning.note}; load average {load}")
    table.header()
    servers: list[Running] = []
    try:
        if groups & {"page", "160k"}:
            servers += competitors(
                work, site, certs, groups, pinning, table, withNginx, withGranian
            )
        if "preload" in groups:
            hinted = makeSite(
                work / "hinted", {"index.html": HINTED_PAGE}, HINTED_ASSETS
            )
            on = startH2site("h2site h2 Link + 103", hinted, certs, work, pinning)
            servers.append(on)
            off = startH2site(
                "h2site h2 --no-preload", hinted, certs, work, pinning, "--no-preload"
            )
            servers.append(off)
            print(
                "preload: a navigation (curl -skv --http2 -H 'sec-fetch-mode: "
                f"navigate') gets {announced(on)}; with --no-preload, "
                f"{announced(off)}",
                flush=True,
            )
            navigate = ("sec-fetch-mode: navigate",)
            table.runInTurn(
                [Row(s.name, s, "page", "/", headers=navigate) for s in (on, off)]
            )
        if "workers" in groups:
            print(
                "workers: h2site and h2load unpinned on "
                f"{len(os.sched_getaffinity(0))} cores, h2load -c 32 -m 10",
                flush=True,
            )
            rows = []
            for count in ("1", "2"):
                server = startH2site(
                    f"h2site h2 --workers {count} unpinned",
                    site,
                    certs,
                    work,
                    UNPINNED,
                    "--workers",
                    count,
                )
                servers.append(server)
                rows.append(
                    Row(server.name, server, "page", "/", clients=32, pinning=UNPINNED)
                )
            if withNginx:
                # What this machine allows: nginx's second worker, under the
                # same unpinned load (h2load shares the cores).
                plain = work / "plain-workers"
                plain.mkdir()
                (plain / "page.html").write_bytes(
                    subprocess.run(
                        ["curl", "-sk", f"https://127.0.0.1:{servers[-1].port}/"],
                        capture_output=True,
                        check=True,
                    ).stdout
                )
                for workers in (1, 2):
                    nginx = startNginx(plain, certs, work, UNPINNED, workers)
                    if nginx is not None:
                        servers.append(nginx)
                        rows.append(
                            Row(
                                f"{nginx.name} unpinned",
                                nginx,
                                "page",
                                "/page.html",
                                clients=32,
                                pinning=UNPINNED,
                            )
                        )
            table.runInTurn(rows)
    finally:
        for server in servers:
            server.stop()

    print()
    h2, h1 = "h2site h2", "h2site http/1.1"
    table.ratio(
        "1.6 KB h2: h2site / granian",
        (h2, "page"),
        ("granian h2", "page"),
        "target >= 0.85x",
    )
    table.ratio(
        "160 KB h2: h2site h2 / h2site http/1.1",
        (h2, "160k"),
        (h1, "160k"),
        "target >= 1.0x",
    )
    table.ratio(
        "160 KB h2: h2site / granian",
        (h2, "160k"),
        ("granian h2", "160k"),
        "target >= 0.7x",
    )
    table.ratio(
        "page h2 with Link + 103 / without",
        ("h2site h2 Link + 103", "page"),
        ("h2site h2 --no-preload", "page"),
        "target >= 0.95x, within 5%",
    )
    table.ratio(
        "--workers 2 / --workers 1 (unpinned)",
        ("h2site h2 --workers 2 unpinned", "page"),
        ("h2site h2 --workers 1 unpinned", "page"),
        "target >= 1.7x",
        byCpu=False,
    )
    table.ratio(
        "nginx 2 workers / 1 worker (unpinned), under the same load",
        ("nginx (2 workers) unpinned", "page"),
        ("nginx (1 worker) unpinned", "page"),
        "for reference: h2load shares the two cores, and holds back a server "
        "as light as nginx",
        byCpu=False,
    )
    for test in ("page", "160k"):
        table.ratio(
            f"{test} http/1.1: h2site / granian",
            (h1, test),
            ("granian http/1.1", test),
            "no target; HTTP/1.1 must not regress against earlier runs",
        )
        for other in ("stock Twisted h2", "nginx h2 (1 worker)"):
            table.ratio(
                f"{test} h2: h2site / {other}",
                (h2, test),
                (other, test),
                "for reference",
            )


def competitors(
    work: Path,
    site: Path,
    certs: Certificates,
    groups: set[str],
    pinning: Pinning,
    table: Table,
    withNginx: bool,
    withGranian: bool,
) -> list[Running]:
    """
    Start h2site and the servers it is compared with, run the page and
    160k rows, and return the servers (for the caller to stop).
    """
    servers: list[Running] = []
    h2site = startH2site("h2site", site, certs, work, pinning)
    servers.append(h2site)
    # The competitors serve the page exactly as h2site renders it.
    plain = work / "plain"
    plain.mkdir()
    page = subprocess.run(
        ["curl", "-sk", f"https://127.0.0.1:{h2site.port}/"],
        capture_output=True,
        check=True,
    ).stdout
    (plain / "page.html").write_bytes(page)
    shutil.copy(site / "static" / FILE_NAME, plain / FILE_NAME)
    stock = startAnnounced(
        "stock Twisted",
        [
            *pinning.server,
            sys.executable,
            str(REPO / "benchmarks" / "stock_twisted.py"),
            str(plain),
            str(certs.key),
            str(certs.cert),
        ],
        work,
    )
    servers.append(stock)
    nginx = startNginx(plain, certs, work, pinning) if withNginx else None
    granian = startGranian(plain, certs, work, pinning) if withGranian else None
    servers += [s for s in (nginx, granian) if s is not None]

    print(f"page: {len(page)} B; file: {FILE_SIZE} B", flush=True)
    for test, ours, theirs in (
        ("page", "/", "/page.html"),
        ("160k", f"/static/{FILE_NAME}", f"/{FILE_NAME}"),
    ):
        if test not in groups:
            continue
        rows = [
            Row("h2site h2", h2site, test, ours),
            Row("h2site http/1.1", h2site, test, ours, http1=True),
            Row("stock Twisted h2", stock, test, theirs),
        ]
        if nginx is not None:
            rows.append(Row("nginx h2 (1 worker)", nginx, test, theirs))
        if granian is not None:
            rows.append(Row("granian h2", granian, test, "/static" + theirs))
            rows.append(
                Row("granian http/1.1", granian, test, "/static" + theirs, True)
            )
        table.runInTurn(rows)
    return servers


if __name__ == "__main__":
    main()
