"""
Development-mode benchmark: how long from saving a file of the demo site
to the next request showing it, under C{twistd -n h2site --dev}.

The server is the real process on a copy of C{site/}, over TLS and
HTTP/2; one client connection polls the home page (every 2 ms) from just
before each save until the page shows the change: for a template, the new
heading; for the stylesheet (C{static/css/app.css}) and a module deep in
the import chain (C{static/js/lib/format.mjs}), the new fingerprint of the
stylesheet or of the entry module, in the page and its C{Link} header
alike.  The figure includes the watcher's debounce (50 ms), the rebuild
and the swap; the server's own "served in" figure (from the end of the
debounce) is shown beside it.

Polling costs the server CPU while it rebuilds (each request is served on
the reactor meanwhile), so the same saves are also timed as an open tab
sees them: the reload event on the page's event stream, then one fetch.

Run: C{python benchmarks/dev_bench.py [--saves N]}.  The issue's target:
a change shown within 300 ms.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.devsite import (
    DEADLINE,
    MODULE,
    PAGE_URL_OF,
    STYLESHEET,
    Shown,
    appendTo,
    editTemplate,
    fetch,
    newFingerprint,
    newHeading,
    waitUntil,
)
from tests.helpers import Server, copySite, sharedCertificates

_SERVED = re.compile(r"changed; served in (\d+\.\d+) s")


def _summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<28} median {statistics.median(ms):6.1f} ms   "
        f"max {max(ms):6.1f} ms   (n={len(ms)})"
    )


#: Seconds each save took to show, by kind.
Results = dict[str, list[float]]

#: What each save is, by kind: how to make edit C{i}, and what shows it,
#: given the page before.
Edit = Callable[[Path, int, Shown], tuple[float, Callable[[Shown], bool]]]


def _template(
    site: Path, i: int, before: Shown
) -> tuple[float, Callable[[Shown], bool]]:
    text = f"Benchmark edit {i}"
    return editTemplate(site, text), newHeading(text)


def _appending(name: str) -> Edit:
    path = PAGE_URL_OF[name]

    def edit(
        site: Path, i: int, before: Shown
    ) -> tuple[float, Callable[[Shown], bool]]:
        old = before.fingerprint(path)
        return appendTo(site, name, f"\n/* edit {i} */\n"), newFingerprint(path, old)

    return edit


EDITS: dict[str, Edit] = {
    "template": _template,
    "stylesheet": _appending(STYLESHEET),
    "module": _appending(MODULE),
}


def _events(url: str, verify: ssl.SSLContext) -> queue.Queue[str]:
    """
    The data of each reload event, read in a thread from the event stream,
    as a page would (on a connection of its own: httpx's synchronous HTTP/2
    lets one stream's reader hold up the other streams of its connection).
    """
    events: queue.Queue[str] = queue.Queue()

    def read() -> None:
        try:
            with (
                httpx.Client(http2=True, verify=verify, timeout=None) as client,
                client.stream("GET", url) as response,
            ):
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        events.put(line.removeprefix("data: "))
        except httpx.HTTPError:
            pass  # the server stopped

    threading.Thread(target=read, daemon=True).start()
    return events


def _polled(client: httpx.Client, url: str, site: Path, saves: int) -> Results:
    """
    Save, then fetch the page every 2 ms until it shows the save.
    """
    results: Results = {kind: [] for kind in EDITS}
    for i in range(saves):
        for kind, edit in EDITS.items():
            began, shows = edit(site, i, fetch(client, url))
            seconds, _ = waitUntil(client, url, shows, since=began)
            results[kind].append(seconds)
    return results


def _pushed(
    client: httpx.Client, url: str, site: Path, saves: int, verify: ssl.SSLContext
) -> Results:
    """
    Save, wait for the reload event (nothing polls meanwhile), then fetch
    the page once, as an open tab does: it must show the save.
    """
    page = fetch(client, url)
    build = page.body.split('data-build="', 1)[1].split('"', 1)[0]
    events = _events(f"{url}.h2site/events?build={build}", verify)
    results: Results = {kind: [] for kind in EDITS}
    for i in range(saves + 1):
        for kind, edit in EDITS.items():
            began, shows = edit(site, 1000 + i, fetch(client, url))
            events.get(timeout=DEADLINE)
            page = fetch(client, url)
            seconds = time.monotonic() - began
            if not shows(page):
                raise SystemExit(f"the page fetched after the event misses the {kind}")
            if i:  # the first round opens the stream
                results[kind].append(seconds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=20, help="saves of each kind")
    args = parser.parse_args()
    certs = sharedCertificates()
    with tempfile.TemporaryDirectory(prefix="h2site-dev-bench-") as work:
        tmp = Path(work)
        site = copySite(tmp / "site")
        server = Server(
            args=["--site", str(site), "--dev", "--port", certs.endpoint()], cwd=tmp
        ).start()
        try:
            server.waitForOutput("h2site --dev: watching ")
            with httpx.Client(
                http2=True, verify=certs.sslContext(), timeout=30
            ) as client:
                url = server.url + "/"
                polled = _polled(client, url, site, args.saves)
                pushed = _pushed(client, url, site, args.saves, certs.sslContext())
        except BaseException:
            print("".join(server.lines[-40:]), file=sys.stderr)
            raise
        finally:
            server.stop()
        served = [float(m.group(1)) for m in map(_SERVED.search, server.lines) if m]
    print(f"{args.saves} saves of each kind, on {os.cpu_count()} CPUs")
    for title, results in [
        ("save -> the page, polled every 2 ms, shows it:", polled),
        ("save -> reload event -> the page fetched then shows it:", pushed),
    ]:
        print(title)
        for kind, times in results.items():
            print("  " + _summary(kind, times))
        print("  " + _summary("all", [s for v in results.values() for s in v]))
    print(_summary("server: rebuild + swap", served))


if __name__ == "__main__":
    main()
