"""
HTTP/2 speed of h2site next to stock Twisted, h2site's own HTTP/1.1, and
nginx (when installed), on the same files with the same TLS certificate.

    python benchmarks/http2_bench.py [--duration 10] [--no-nginx]

Each server is started on a port the kernel picks and loaded with C{h2load}
(Debian C{nghttp2-client}) in turn: a 1.6 KB page (C{-c 10 -m 10}) and a
160 KB file. Printed: requests/s, MB/s, the server's CPU time per request
(from C{/proc}: steadier than requests/s on a busy machine, because the load
generator competes for the same cores) and the ratios the HTTP/2 issue asks
for. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.nginx import findNginx, freePort, writeNginxConfig  # noqa: E402
from tests.helpers import (  # noqa: E402
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
#: The large file: 160 KiB that no server can compress.
FILE_NAME = "file160k.bin"
FILE_SIZE = 160 * 1024

_LISTENING = re.compile(r"listening on (?:https://\S+?:)?(\d+)")
_RESULT = re.compile(r"finished in [\d.]+s, ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s")
_REQUESTS = re.compile(
    r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded"
)
_UNITS = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}


@dataclass
class Result:
    requests: float
    megabytes: float
    cpuMicroseconds: float
    failed: int


@dataclass
class Running:
    """
    A server under test: its process, its port, and the process whose CPU
    time counts (nginx's worker rather than its master).
    """

    name: str
    process: subprocess.Popen[str]
    port: int
    cpuPid: int

    def cpuSeconds(self) -> float:
        return cpuSeconds(self.cpuPid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def startAnnounced(name: str, command: list[str], cwd: Path) -> Running:
    """
    Start a server that prints C{listening on ...PORT} once it listens.
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
    for line in process.stdout:
        match = _LISTENING.search(line)
        if match:
            # Keep reading its output, so a chatty server never blocks.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return Running(name, process, int(match.group(1)), process.pid)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"{name} did not start")


def h2load(server: Running, path: str, duration: float, http1: bool = False) -> Result:
    """
    Load C{path} for C{duration} seconds (after a 2 s warm-up) with 10
    connections of 10 concurrent streams each (one request at a time per
    connection over HTTP/1.1, which has no multiplexing).
    """
    url = f"https://127.0.0.1:{server.port}{path}"
    command = ["h2load", "-c", "10", "-D", str(int(duration)), "--warm-up-time", "2"]
    # The same bytes from every server: h2site would otherwise send the page
    # compressed (its file store precompresses it) and stock Twisted not.
    command += ["-H", "accept-encoding: identity"]
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
    warmup = float(result.group(1)) * 2  # requests made during the warm-up
    return Result(
        requests=float(result.group(1)),
        megabytes=megabytes,
        cpuMicroseconds=cpu / max(total + warmup, 1) * 1e6,
        failed=total - succeeded,
    )


def startNginx(root: Path, key: Path, cert: Path, work: Path) -> Running | None:
    """
    nginx with one worker (h2site uses one core), or L{None} if it is not
    installed.
    """
    nginx = findNginx()
    if nginx is None:
        return None
    work.mkdir()
    port = freePort()
    config = writeNginxConfig(
        work,
        port,
        root,
        key,
        cert,
        # nginx ends an HTTP/2 connection after 1000 requests by default,
        # and h2load's timed mode does not reconnect.
        http="keepalive_requests 100000000; keepalive_timeout 300s;",
        server="location / { default_type application/octet-stream; }",
    )
    process = subprocess.Popen(
        [nginx, "-c", str(config), "-p", str(work)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # nginx announces nothing: poll until it answers.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["curl", "-skf", "-o", os.devnull, f"https://127.0.0.1:{port}/page.html"],
            capture_output=True,
        )
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        workers = children.read_text().split() if children.exists() else []
        if probe.returncode == 0 and workers:
            return Running("nginx", process, port, int(workers[0]))
        time.sleep(0.1)
    process.kill()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--no-nginx", action="store_true")
    options = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is missing: apt-get install nghttp2-client")

    work = Path(tempfile.mkdtemp(prefix="h2site-bench-"))
    # nginx's worker runs as another user: let it read the files.
    work.chmod(0o755)
    try:
        run(work, options.duration, not options.no_nginx)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, duration: float, withNginx: bool) -> None:
    certs = makeCertificates(work / "certs")
    site = makeSite(
        work / "site",
        {"index.html": PAGE},
        {FILE_NAME: os.urandom(FILE_SIZE)},
    )
    servers: list[Running] = []
    try:
        h2site = startAnnounced(
            "h2site",
            twistdCommand(
                "--site",
                str(site),
                "--port",
                f"ssl:port=0:interface=127.0.0.1:privateKey={certs.key}"
                f":certKey={certs.cert}",
                "--access-log",
                os.devnull,
            ),
            work,
        )
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
                sys.executable,
                str(REPO / "benchmarks" / "stock_twisted.py"),
                str(plain),
                str(certs.key),
                str(certs.cert),
            ],
            work,
        )
        servers.append(stock)
        nginx = (
            startNginx(plain, certs.key, certs.cert, work / "nginx")
            if withNginx
            else None
        )
        if nginx is not None:
            servers.append(nginx)

        print(f"page: {len(page)} B; file: {FILE_SIZE} B; {duration} s per run")
        header = ("server", "test", "req/s", "MB/s", "CPU us/req", "failed")
        print("{:<24}{:<8}{:>10}{:>10}{:>12}{:>8}".format(*header))
        results: dict[tuple[str, str], Result] = {}
        runs = [
            ("h2site h2", h2site, "page", "/", False),
            ("h2site http/1.1", h2site, "page", "/", True),
            ("stock Twisted h2", stock, "page", "/page.html", False),
            ("h2site h2", h2site, "160k", f"/static/{FILE_NAME}", False),
            ("h2site http/1.1", h2site, "160k", f"/static/{FILE_NAME}", True),
            ("stock Twisted h2", stock, "160k", f"/{FILE_NAME}", False),
        ]
        if nginx is not None:
            runs.insert(3, ("nginx h2 (1 worker)", nginx, "page", "/page.html", False))
            runs.append(("nginx h2 (1 worker)", nginx, "160k", f"/{FILE_NAME}", False))
        for label, server, test, path, http1 in runs:
            r = h2load(server, path, duration, http1)
            results[(label, test)] = r
            print(
                f"{label:<24}{test:<8}{r.requests:>10.0f}{r.megabytes:>10.1f}"
                f"{r.cpuMicroseconds:>12.0f}{r.failed:>8}",
                flush=True,
            )
        print()
        others = ["stock Twisted h2", "h2site http/1.1"]
        if nginx is not None:
            others.append("nginx h2 (1 worker)")
        for test, unit in (("page", "req/s"), ("160k", "MB/s")):
            ours = results[("h2site h2", test)]
            for other in others:
                theirs = results[(other, test)]
                if unit == "req/s":
                    ratio = ours.requests / theirs.requests
                else:
                    ratio = ours.megabytes / theirs.megabytes
                print(f"{test}: h2site h2 / {other} = {ratio:.2f}x ({unit})")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
