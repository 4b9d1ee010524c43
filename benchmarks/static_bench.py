"""
Static delivery benchmark: h2site against stock Twisted C{static.File}, side
by side in one run, on the same files with the same TLS key, both offering
HTTP/2 through ALPN.

Measured with h2load (Debian nghttp2-client): small-file requests per second
and 160 KB file throughput, over HTTP/2 and HTTP/1.1 (C{--h1}), with and
without C{Accept-Encoding: br}.  Throughput is counted in file bytes
delivered (requests x 160 KB), so a server that sends the file compressed
gets credit for the bytes it spared the network.

Each measurement is taken C{--rounds} times, alternating the two servers,
and the median is printed, so a burst of load elsewhere on the machine skews
one round, not the result.

Run: C{python benchmarks/static_bench.py} (options: C{--quick} for a short
run, C{--rounds N}).  Numbers are noisy on a shared machine; compare ratios,
not absolutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.nginx import freePort
from tests.helpers import makeCertificates, twistdCommand

SMALL_NAME = "small.css"
LARGE_NAME = "large.js"
LARGE_SIZE = 160 * 1024

# The competitor: stock static.File, with TLS and ALPN h2 as h2site offers.
_STOCK_SERVER = """
import sys
from OpenSSL import crypto
from twisted.internet import reactor, ssl
from twisted.web import server, static

root, port, key, cert = sys.argv[1:5]
with open(key, "rb") as f:
    pkey = crypto.load_privatekey(crypto.FILETYPE_PEM, f.read())
with open(cert, "rb") as f:
    x509 = crypto.load_certificate(crypto.FILETYPE_PEM, f.read())
options = ssl.CertificateOptions(
    privateKey=pkey,
    certificate=x509,
    raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    acceptableProtocols=[b"h2", b"http/1.1"],
)
# Logs every request, as h2site does (both to /dev/null here).
site = server.Site(static.File(root), logPath="/dev/null")
reactor.listenSSL(int(port), site, options, interface="127.0.0.1")
print("ready", flush=True)
reactor.run()
"""


def _text(size: int) -> bytes:
    """
    Deterministic text that compresses like real CSS/JS (about 5:1), not
    like a repeated line.
    """
    words = [
        b"function",
        b"return",
        b"const",
        b"let",
        b"margin",
        b"padding",
        b"color",
        b"display",
        b"grid",
        b"flex",
        b"=>",
        b"{",
        b"}",
        b";",
        b"0.5rem",
    ]
    out = bytearray()
    state = 12345
    while len(out) < size:
        state = (state * 1103515245 + 12345) % 2**31
        out += words[state % len(words)]
        out += b"%d" % (state % 97) if state % 5 == 0 else b""
        out += b"\n" if state % 11 == 0 else b" "
    return bytes(out[:size])


def _makeSite(directory: Path) -> Path:
    (directory / "templates").mkdir(parents=True)
    (directory / "static").mkdir()
    (directory / "templates" / "index.html").write_text("<!doctype html><p>bench")
    (directory / "static" / SMALL_NAME).write_bytes(_text(2048))
    (directory / "static" / LARGE_NAME).write_bytes(_text(LARGE_SIZE))
    return directory


def _waitForPort(
    port: int, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port} after {timeout}s")


@contextmanager
def _server(command: list[str], port: int, cwd: Path) -> Iterator[None]:
    env = dict(os.environ, XDG_STATE_HOME=str(cwd / "state"))
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _waitForPort(port, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


_FINISHED = re.compile(
    r"finished in ([\d.]+)(m?s), ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s"
)
_REQUESTS = re.compile(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded")
_TRAFFIC = re.compile(r"traffic: .*?\((\d+)\) total")


def _h2load(
    url: str, http1: bool, br: bool, requests: int, streams: int
) -> tuple[float, int]:
    """
    Run h2load once.

    @return: requests per second, and bytes on the wire.
    """
    command = ["h2load", "-n", str(requests), "-c", "8", "-t", "1"]
    command += ["--h1"] if http1 else ["-m", str(streams)]
    if br:
        command += ["-H", "Accept-Encoding: br, gzip"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=600, check=False
    ).stdout
    finished, counts, traffic = (
        _FINISHED.search(out),
        _REQUESTS.search(out),
        _TRAFFIC.search(out),
    )
    if finished is None or counts is None or traffic is None:
        raise SystemExit(f"h2load output not understood:\n{out}")
    if int(counts.group(2)) != requests:
        raise SystemExit(
            f"h2load: only {counts.group(2)} of {requests} succeeded:\n{out}"
        )
    return float(finished.group(3)), int(traffic.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--rounds", type=int, default=3, help="runs per case")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load not found; apt-get install nghttp2-client")
    scale = 1 if args.quick else 4
    work = Path(tempfile.mkdtemp(prefix="h2site-bench-"))
    try:
        site = _makeSite(work / "site")
        certs = makeCertificates(work / "certs")
        key, cert = certs.key, certs.cert
        ours, stock = freePort(), freePort()
        endpoint = (
            f"ssl:port={ours}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
        )
        h2site = twistdCommand(
            "--site", str(site), "--port", endpoint, "--access-log", os.devnull
        )
        twisted = [
            sys.executable,
            "-c",
            _STOCK_SERVER,
            str(site / "static"),
            str(stock),
            str(key),
            str(cert),
        ]
        cases = [
            ("small file", SMALL_NAME, 5000 * scale, 10),
            ("160 KB file", LARGE_NAME, 500 * scale, 4),
        ]
        rounds: dict[tuple[str, str, bool, str], list[tuple[float, int]]] = {}
        with _server(h2site, ours, work), _server(twisted, stock, work):
            for label, name, requests, streams in cases:
                for http1 in (False, True):
                    for br in (False, True):
                        # One short warm-up of each, then the rounds.
                        for port, path in (
                            (ours, f"/static/{name}"),
                            (stock, f"/{name}"),
                        ):
                            url = f"https://127.0.0.1:{port}{path}"
                            _h2load(url, http1, br, max(requests // 10, 50), streams)
                        for _ in range(args.rounds):
                            for server, port, path in (
                                ("h2site", ours, f"/static/{name}"),
                                ("twisted", stock, f"/{name}"),
                            ):
                                url = f"https://127.0.0.1:{port}{path}"
                                case = (label, "h1" if http1 else "h2", br, server)
                                rounds.setdefault(case, []).append(
                                    _h2load(url, http1, br, requests, streams)
                                )
        results = {k: sorted(v)[len(v) // 2] for k, v in rounds.items()}
        print(f"median of {args.rounds} rounds; h2load -c 8 (-m N streams on h2)")
        print(
            f"{'case':<14}{'proto':<7}{'br':<5}{'h2site':>14}{'twisted':>14}"
            f"{'ratio':>8}{'wire KB/req':>18}"
        )
        for label, _, _, _ in cases:
            for proto in ("h2", "h1"):
                for br in (False, True):
                    ourRate, ourBytes = results[(label, proto, br, "h2site")]
                    theirRate, theirBytes = results[(label, proto, br, "twisted")]
                    n = 5000 * scale if label == "small file" else 500 * scale
                    if label == "small file":
                        a, b, unit = ourRate, theirRate, "req/s"
                    else:
                        a = ourRate * LARGE_SIZE / 1e6
                        b = theirRate * LARGE_SIZE / 1e6
                        unit = "MB/s"
                    print(
                        f"{label:<14}{proto:<7}{'yes' if br else 'no':<5}"
                        f"{a:>9.1f} {unit:<5}{b:>8.1f} {unit:<5}{a / b:>7.2f}x"
                        f"{ourBytes / n / 1024:>9.1f} /{theirBytes / n / 1024:>6.1f}"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
