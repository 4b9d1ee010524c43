"""
Benchmark C{--workers}: small-page HTTP/2 throughput with 1 and 2 serving
processes, and failed requests during SIGHUP reloads under load.

Run from the repository root, with h2site installed in the current Python:

    python benchmarks/workers_bench.py [--requests N] [--clients C] [--streams M]

Needs h2load (Debian: nghttp2-client).  h2load runs on the same machine and
takes CPU from the servers, so the speed-up measured here understates what
separate client machines would see.  The kernel spreads connections over
the workers' sockets by hashing their addresses, so with few connections
(-c 10) the split can be 4:6 and the speed-up lower; 32 is the default.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.h2loadrun import runH2load
from tests.helpers import Server, copySite, makeCertificates


def h2load(url: str, requests: int, clients: int, streams: int) -> dict[str, float]:
    """
    Run h2load and read its summary.
    """
    result = runH2load(url, requests, clients, streams)
    return {
        "rps": result.rps,
        "succeeded": result.succeeded,
        "failed": result.failed,
        "errored": result.errored,
    }


def serve(tmp: Path, workers: int) -> Server:
    certs = makeCertificates(tmp / "certs")
    site = tmp / "site"
    if not site.exists():
        copySite(site)
    server = Server(
        args=["--site", str(site), "-p", certs.endpoint(), "--workers", str(workers)],
        cwd=tmp,
    ).start()
    if workers > 1:
        server.waitForOutput(f"all {workers} workers are serving")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--streams", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        sys.exit("h2load is missing: apt-get install nghttp2-client")

    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for workers in (1, 2):
            server = serve(tmp, workers)
            try:
                h2load(server.url + "/", 500, args.clients, args.streams)  # warm up
                results[workers] = h2load(
                    server.url + "/", args.requests, args.clients, args.streams
                )
            finally:
                server.stop()

        # Reloads under load: h2load runs while the server reloads 5 times.
        server = serve(tmp, 2)
        outcome: dict[str, float] = {}
        try:
            run = threading.Thread(
                target=lambda: outcome.update(
                    h2load(server.url + "/", args.requests, args.clients, args.streams)
                )
            )
            run.start()
            for count in range(1, 6):
                server.signal(signal.SIGHUP)
                server.waitForOutput(
                    "reloaded; now serving the new version", count=2 * count, timeout=60
                )
            run.join(600)
        finally:
            server.stop()

    one, two = results[1]["rps"], results[2]["rps"]
    print(
        f"small page over h2, h2load -c {args.clients} -m {args.streams} "
        f"-n {args.requests}"
    )
    print(f"  --workers 1: {one:8.0f} req/s  ({results[1]['failed']:.0f} failed)")
    print(f"  --workers 2: {two:8.0f} req/s  ({results[2]['failed']:.0f} failed)")
    print(f"  ratio 2/1:   {two / one:8.2f}x")
    print(
        f"during 5 SIGHUP reloads (--workers 2): {outcome.get('succeeded', 0):.0f} "
        f"succeeded, {outcome.get('failed', 0):.0f} failed, "
        f"{outcome.get('errored', 0):.0f} errored"
    )


if __name__ == "__main__":
    main()
