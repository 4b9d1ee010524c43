"""
How long automatic HTTPS takes to get its first certificate: the real
C{twistd -n h2site} with C{--acme-domain}, against Debian's C{pebble} (Let's
Encrypt's test CA, with C{pebble-challtestsrv} for its DNS) on loopback,
for each challenge: HTTP-01 (with a C{--redirect} listener) and TLS-ALPN-01
(without).

Run from the repository root: C{python benchmarks/acme_bench.py [--rounds
N]}.  Columns: seconds from starting the process to listening, from
ordering to issued (h2site's own log line), and from starting to serving
the issued certificate (the certificate watch's "new certificate" line).
Most of order-to-issued is the C{acme} library's fixed one-second polling.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.acmeserver import Pebble, freePort
from tests.helpers import Server, copySite, testEnvironment

DOMAIN = "h2site.test"


def firstCertificate(tmp: Path, redirect: bool) -> tuple[float, float, float]:
    """
    Start pebble and h2site in C{tmp}; the seconds to listening, order to
    issued, and start to served.
    """
    site = copySite(tmp / "site")
    http, tls = freePort(), freePort()
    pebble = Pebble(tmp / "pebble", http, tls).start()
    try:
        args = [
            "--site",
            str(site),
            "--acme-domain",
            DOMAIN,
            "--acme-agree-tos",
            "--acme-directory",
            pebble.url,
            "--acme-ca-bundle",
            str(pebble.caBundle),
            "--port",
            f"ssl:port={tls}:interface=127.0.0.1",
        ]
        if redirect:
            args += ["--redirect", f"tcp:port={http}:interface=127.0.0.1"]
        started = time.monotonic()
        server = Server(args=tuple(args), cwd=tmp, env=testEnvironment(tmp)).start()
        try:
            listening = time.monotonic() - started
            issued = server.waitForOutput(
                r"certificate issued for h2site\.test in ([0-9.]+) s", timeout=60
            )
            server.waitForOutput(r"new certificate for .*serial", timeout=15)
            served = time.monotonic() - started
        finally:
            server.stop()
    finally:
        pebble.stop()
    return listening, float(issued.group(1)), served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    missing = [t for t in ("pebble", "pebble-challtestsrv") if not shutil.which(t)]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (apt-get install pebble)")
    print(
        f"{'challenge':<14}{'listening':>12}{'order->issued':>16}{'start->served':>16}"
    )
    for name, redirect in (("http-01", True), ("tls-alpn-01", False)):
        rows = []
        for _ in range(options.rounds):
            with tempfile.TemporaryDirectory(prefix="h2site-acme-bench-") as tmp:
                rows.append(firstCertificate(Path(tmp), redirect))
        cells = "".join(
            f"{statistics.median(column):>10.2f} s  "
            for column in zip(*rows, strict=True)
        )
        print(f"{name:<14}{cells}  (median of {options.rounds})")


if __name__ == "__main__":
    main()
