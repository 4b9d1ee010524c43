"""
Benchmark preload: how long the demo site's home page takes to load in a real
browser with latency, from h2site and from stock Twisted serving the same
files; and what announcing the assets costs per request.

Run from the repository root, with h2site installed in the current Python
(and the C{test} extra, for selenium):

    python benchmarks/preload_bench.py [--loads N] [--latency MS]

Part 1, page load.  Headless Chromium (Debian's chromium and chromium-driver)
loads C{/} with C{MS} milliseconds of latency emulated by DevTools
(C{Network.emulateNetworkConditions}) on every request, in a fresh browser
(fresh profile, fresh connections) for every load; the figure is the
navigation's C{loadEventEnd}, the median of C{N} loads per server, servers
taken in turn so that noise spreads evenly.  Two cache conditions:

  - cache disabled (DevTools C{Network.setCacheDisabled}), as the issue asks.
    Chromium keeps what a 103 Early Hints response preloads in the HTTP
    cache, so with the cache disabled those preloads are fetched and thrown
    away: this measures the C{Link} header alone;
  - first visit: cache on but empty (the fresh profile), which is what a
    real first visit is, and where Early Hints are used.  Every hinted URL
    is fingerprinted (the stylesheet and modules name theirs with the
    fingerprints h2site adds, see L{h2site.files.fingerprint}), so served as
    immutable, and Chromium uses the copy the 103 fetched without
    revalidating it.

What the figures are made of (measured with resource timing, DevTools
network events, a NetLog and a renderer trace, 100 ms latency):

  - cache disabled: two round trips, then the browser's own work.  The
    document arrives (one round trip); the renderer commits it and only then
    acts on the C{Link} header, sending all nine hinted requests together
    (the second round trip; nothing is found late, every preload is used,
    nothing is fetched twice by the page).  After the last byte come style,
    layout, the SVG images' documents and module evaluation before
    C{load}.  h2site sends no 103 here: the navigation says
    C{Cache-Control: no-cache}, and Chromium would keep what a 103 preloads
    only in the HTTP cache, which such a load does not read (fetching every
    asset twice cost about 10 ms).  The renderer's work before and after
    the second round trip is CPU time, and on a busy machine most of it is
    waiting for a core: in one trace the
    main thread's tasks took 139 ms of wall time for 39 ms of CPU.  "last
    byte" is when the last resource fetched before C{load} ended; C{load}
    minus "last byte" is that work.  Stock Twisted does the same work, but
    mostly while it still waits for later round trips.
  - first visit: DevTools adds its latency to the page's own requests, not
    to the preloads the browser process makes for a 103, so here the hinted
    assets arrive with no emulated latency at all.  On a real network they
    would cost a round trip from the 103, so this figure flatters Early
    Hints (the cache-disabled figure, the C{Link} header alone, is the
    cautious one).

Servers, all with the same key and certificate (trusted by its SPKI hash, so
Chromium caches as it would for a real certificate), serving the same bytes
(h2site's rendered home page, written to a folder with the static files):

  - h2site (the C{Link} header, and 103 Early Hints);
  - h2site C{--no-preload};
  - nginx (when installed) serving exactly the bytes h2site sends (its
    fingerprinted stylesheets and modules too) with h2site's C{Link} value
    written into its configuration by hand: what the best hand-tuned
    C{Link} header achieves, to judge h2site's automatic one against;
  - stock C{twistd web --path} on an C{ssl:} endpoint (HTTP/2 here: the
    protocol each load used is printed);
  - stock Twisted C{static.File} offering only HTTP/1.1.

DevTools latency is added per request, not to connection set-up, so the
HTTP/1.1 server's six connections cost it no extra round trips here: that
flatters HTTP/1.1, not h2site.

Part 2, cost per request.  h2load fetches a small page from h2site with
preload on (every response carries the Link headers, and the requests say
C{Sec-Fetch-Mode: navigate} so each gets a 103 where one can be sent) and
with C{--no-preload}, alternately, and compares requests per second.

Everything runs on this machine: timings are noisy when other work runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.browser import Process, browserLoad, nginxProcess
from benchmarks.h2loadrun import runH2load
from benchmarks.nginx import findNginx, freePort, writeNginxConfig
from tests.helpers import (
    Certificates,
    Server,
    copySite,
    makeCertificates,
    makeSite,
)

HERE = Path(__file__).resolve().parent


def h2site(tmp: Path, site: Path, certs: Certificates, *options: str) -> Server:
    return Server(
        args=["--site", str(site), "--port", certs.endpoint(), *options], cwd=tmp
    ).start()


def renderedFolder(tmp: Path, site: Path, server: Server, certs: Certificates) -> Path:
    """
    The home page as h2site sends it, with the static files, in a folder
    stock Twisted can serve as it is.
    """
    import httpx

    folder = tmp / "rendered"
    shutil.copytree(site / "static", folder / "static")
    with httpx.Client(verify=certs.sslContext()) as client:
        body = client.get(server.url + "/").content
    (folder / "index.html").write_bytes(body)
    return folder


def servedFolder(tmp: Path, site: Path, server: Server, certs: Certificates) -> Path:
    """
    The home page and every static file exactly as h2site sends them (its
    stylesheets and modules name fingerprinted URLs), in a folder.
    """
    import httpx

    folder = tmp / "served"
    with httpx.Client(verify=certs.sslContext()) as client:
        (folder / "static").mkdir(parents=True)
        (folder / "index.html").write_bytes(client.get(server.url + "/").content)
        for path in sorted((site / "static").rglob("*")):
            name = path.relative_to(site / "static").as_posix()
            response = client.get(
                f"{server.url}/static/{name}", headers={"accept-encoding": "identity"}
            )
            if path.is_file() and response.status_code == 200:
                (folder / "static" / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / "static" / name).write_bytes(response.content)
    return folder


def nginxWithLink(
    tmp: Path, root: Path, certs: Certificates, link: str
) -> Process | None:
    """
    nginx serving C{root} over HTTP/2 with C{link} as the home page's
    C{Link} header, or L{None} when nginx is not installed.
    """
    nginx = findNginx()
    if nginx is None:
        return None
    work = tmp / "nginx"
    work.mkdir()
    port = freePort()
    quoted = link.replace("\\", "").replace("'", "")
    writeNginxConfig(
        work,
        port,
        root,
        certs.key,
        certs.cert,
        http="types { text/html html; text/css css; text/javascript js mjs; "
        "font/woff2 woff2; image/svg+xml svg; image/png png; }",
        server=f"location = /index.html {{ add_header Link '{quoted}'; }}",
    )
    return nginxProcess(nginx, work, port, tmp)


def pageLoads(args: argparse.Namespace, tmp: Path) -> None:
    import httpx

    certs = makeCertificates(tmp / "certs")
    site = copySite(tmp / "site")
    running: list[Server | Process] = []
    try:
        preload = h2site(tmp, site, certs)
        running.append(preload)
        noPreload = h2site(tmp, site, certs, "--no-preload")
        running.append(noPreload)
        folder = renderedFolder(tmp, site, noPreload, certs)
        with httpx.Client(verify=certs.sslContext()) as client:
            link = client.get(preload.url + "/").headers["link"]
        nginx = nginxWithLink(tmp, servedFolder(tmp, site, preload, certs), certs, link)
        if nginx is not None:
            running.append(nginx)
        stock = Process(
            [
                sys.executable,
                "-m",
                "twisted",
                "web",
                "--path",
                str(folder),
                "--listen",
                f"ssl:port=0:interface=127.0.0.1:privateKey={certs.key}"
                f":certKey={certs.cert}",
            ],
            tmp,
            r"starting on (\d+)",
        ).start()
        running.append(stock)
        stockHTTP11 = Process(
            [
                sys.executable,
                str(HERE / "stock_twisted_http11.py"),
                str(folder),
                str(certs.key),
                str(certs.cert),
            ],
            tmp,
            r"listening on (\d+)",
        ).start()
        running.append(stockHTTP11)
        servers: dict[str, Callable[[], str]] = {
            "h2site": lambda: preload.url + "/",
            "h2site --no-preload": lambda: noPreload.url + "/",
            "stock twistd web --path (ssl:)": (
                lambda: f"https://localhost:{stock.port}/"
            ),
            "stock Twisted static.File, HTTP/1.1": (
                lambda: f"https://localhost:{stockHTTP11.port}/"
            ),
        }
        if nginx is not None:
            port = nginx.port
            servers["nginx, h2site's Link by hand"] = lambda: (
                f"https://localhost:{port}/"
            )
        conditions = {"cache disabled": True, "first visit (empty cache)": False}
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for url in servers.values():  # warm-up, not counted
            browserLoad(url(), args.latency, tmp / "profile", certs.cert, True)
        for _ in range(args.loads):
            for condition, disabled in conditions.items():
                for name, url in servers.items():
                    samples.setdefault((condition, name), []).append(
                        browserLoad(
                            url(), args.latency, tmp / "profile", certs.cert, disabled
                        )
                    )
    finally:
        for process in running:
            process.stop()

    print(
        f"Demo site home page, headless Chromium, {args.latency} ms emulated "
        f"latency per request, fresh browser per load, median of {args.loads}"
    )
    for condition in conditions:
        print(f"{condition}:")
        medians = {}
        for name in servers:
            results = samples[(condition, name)]
            loads = [r["load"] for r in results]
            medians[name] = statistics.median(loads)
            protocols = "/".join(sorted({r["protocol"] for r in results}))
            interim = sum(1 for r in results if r["interim"] > 0)
            early = statistics.median(r["earlyHints"] for r in results)
            lastByte = statistics.median(r["lastByte"] for r in results)
            print(
                f"  {name:37} {medians[name]:5.0f} ms  (min {min(loads):.0f}, "
                f"max {max(loads):.0f}; last byte {lastByte:.0f}; "
                f"{protocols}; 103 in {interim}/"
                f"{len(results)}; {early:.0f} of {results[0]['resources']} "
                f"fetched by Early Hints)"
            )
        for name in servers:
            if name != "h2site":
                ratio = medians["h2site"] / medians[name]
                print(f"  h2site / {name:37} {ratio:5.2f}x")


def h2load(
    url: str, requests: int, clients: int, streams: int, navigate: bool = False
) -> float:
    """
    Requests per second h2load gets from C{url}; with C{navigate}, every
    request says C{Sec-Fetch-Mode: navigate}, as a browser's page load does.
    """
    headers = ["-H", "sec-fetch-mode: navigate"] if navigate else []
    result = runH2load(url, requests, clients, streams, headers)
    if result.succeeded != requests:
        raise RuntimeError(f"h2load: only {result.succeeded} of {requests} succeeded")
    return result.rps


SMALL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Small</title>
<link rel="stylesheet" href="{{ static_url('css/app.css') }}">
<script type="module" src="{{ static_url('js/main.mjs') }}"></script>
<link rel="icon" href="{{ static_url('img/favicon.svg') }}" type="image/svg+xml">
</head><body><p>A small page.</p></body></html>
"""


def perRequestCost(args: argparse.Namespace, tmp: Path) -> None:
    certs = makeCertificates(tmp / "certs-small")
    site = makeSite(tmp / "small", {"index.html": SMALL_PAGE}, {})
    shutil.copytree(copySite(tmp / "demo-copy") / "static", site / "static")
    on = h2site(tmp, site, certs)
    off = h2site(tmp, site, certs, "--no-preload")
    # (label, server, as a navigation)
    runs = [
        ("--no-preload", off, False),
        ("preload on (Link header)", on, False),
        ("preload on, navigations (Link + 103)", on, True),
    ]
    rates: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    try:
        for _, server, navigate in runs:  # warm up
            h2load(server.url + "/", 2000, args.clients, args.streams, navigate)
        for _ in range(args.rounds):
            for label, server, navigate in runs:
                rates[label].append(
                    h2load(
                        server.url + "/",
                        args.requests,
                        args.clients,
                        args.streams,
                        navigate,
                    )
                )
    finally:
        on.stop()
        off.stop()
    print(
        f"Small page over h2, h2load -n {args.requests} -c {args.clients} "
        f"-m {args.streams}, median of {args.rounds} alternating runs"
    )
    base = statistics.median(rates["--no-preload"])
    for label, results in rates.items():
        median = statistics.median(results)
        runsText = ", ".join(f"{r:.0f}" for r in results)
        print(
            f"  {label:38} {median:7.0f} req/s  ({median / base:.3f} of "
            f"--no-preload; runs {runsText})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--latency", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-h2load", action="store_true")
    args = parser.parse_args()
    missing = [p for p in ["chromium", "chromedriver", "h2load"] if not shutil.which(p)]
    if missing:
        sys.exit(
            f"missing: {', '.join(missing)} "
            "(apt-get install chromium chromium-driver nghttp2-client)"
        )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if not args.skip_browser:
            pageLoads(args, tmp)
        if not args.skip_h2load:
            perRequestCost(args, tmp)


if __name__ == "__main__":
    main()
