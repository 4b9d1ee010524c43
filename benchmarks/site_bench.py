"""
Large-site benchmark: how long h2site takes to answer its first request,
and to reload after one page was edited, for a real site people already
have: Debian's C{python3-doc} (Sphinx output, 530 pages, 1,063 files,
67 MB), with an empty state folder (cold: nothing compressed yet) and with
the one the first run left (warm).

Two servers are measured, each in its own process:

 - C{store}: the file store with its worker processes (one per core),
   served as a plain site over HTTP/1.1, reloaded by h2site's own
   L{ControlService} on SIGHUP: the assembly C{h2site.server} is meant to
   use (C{FileStore(..., workers=ProcessWorkers(reactor))}).
 - C{twistd}: C{twistd -n h2site --site COPY} over TLS, as assembled by
   C{h2site.server} today.

For each: the time from starting the process to the first 200 for
C{/index.html}; to every page fingerprinted and every compressed form made
(from the log); and from C{SIGHUP} to the "reloaded" line after one page
was edited, with how many files the reload read.  The docs are copied
first (symlinks resolved, as a generator's output would be), so a page can
be edited.

Run: C{python benchmarks/site_bench.py} (C{--only store} or C{--only
twistd}; C{--docs DIR} for another folder).  A cold C{twistd} start
compresses everything with brotli at its best setting before it listens
unless its assembly gives the store workers: minutes on two cores.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.nginx import freePort
from tests.helpers import makeCertificates, twistdCommand

DOCS = Path("/usr/share/doc/python3.11/html")
#: The page edited before each reload.
EDITED = "tutorial/index.html"
#: Seconds to wait for anything.
PATIENCE = 900.0

_READY = re.compile(r"h2site static files ready")
_RELOADED = re.compile(r"reloaded; now serving the new version")
_INDEXED = re.compile(r"h2site indexed (\d+) static files .*: (\d+) read")


@dataclass
class Running:
    """
    A server process whose output lines are read, each with the time it
    came.
    """

    process: subprocess.Popen[str]
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line))
                self._changed.notify_all()

    def waitFor(
        self, pattern: re.Pattern[str], after: float = 0.0
    ) -> tuple[float, str]:
        """
        When (and what) the first line matching C{pattern} came after
        C{after}.
        """
        deadline = time.monotonic() + PATIENCE
        with self._changed:
            while True:
                for when, line in self.lines:
                    if when >= after and pattern.search(line):
                        return when, line
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(
                        f"no line matching {pattern.pattern!r}:\n"
                        + "".join(line for _, line in self.lines[-30:])
                    )
                self._changed.wait(1.0)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start(command: Sequence[str], env: dict[str, str]) -> Running:
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    running = Running(process, started)
    threading.Thread(target=running.read, daemon=True).start()
    return running


def _firstOK(url: str, running: Running, verify: object) -> float:
    """
    Seconds from the start of C{running} to its first 200 for C{url}.
    """
    import httpx

    deadline = time.monotonic() + PATIENCE
    with httpx.Client(verify=verify, timeout=30) as client:  # type: ignore[arg-type]
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                raise SystemExit(
                    "the server exited:\n" + "".join(line for _, line in running.lines)
                )
            try:
                if client.get(url).status_code == 200:
                    return time.monotonic() - running.started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise SystemExit(f"no 200 for {url}")


def _reload(running: Running, site: Path, round: int) -> tuple[float, str]:
    """
    Edit one page, send SIGHUP, and return the seconds to the "reloaded"
    line, with how many files the reload read.
    """
    page = site / EDITED
    page.write_bytes(page.read_bytes() + b"<!-- edited %d -->\n" % round)
    sent = time.monotonic()
    running.process.send_signal(signal.SIGHUP)
    when, _ = running.waitFor(_RELOADED, after=sent)
    read = "?"
    for stamp, line in running.lines:
        match = _INDEXED.search(line)
        if stamp >= sent and match:
            read = match.group(2)
    return when - sent, read


@dataclass
class Result:
    firstOK: float
    ready: float | None
    reload: float
    read: str


def _measure(
    command: Sequence[str],
    env: dict[str, str],
    url: str,
    site: Path,
    verify: object,
    background: bool,
) -> Result:
    """
    Start a server, time its first 200, its background work (if it has
    any) and a reload, then stop it.
    """
    running = _start(command, env)
    try:
        first = _firstOK(url, running, verify)
        ready = None
        if background:
            when, _ = running.waitFor(_READY)
            ready = when - running.started
        seconds, read = _reload(running, site, int(time.time()))
        return Result(first, ready, seconds, read)
    finally:
        running.stop()


def serve(siteDir: str, port: int, state: str) -> None:
    """
    The C{store} server: the file store with its workers, served at C{/}
    over HTTP/1.1, reloaded on SIGHUP by h2site's L{ControlService}.
    """
    from typing import Any

    from twisted.internet import reactor as _reactor
    from twisted.internet.threads import deferToThread
    from twisted.logger import globalLogBeginner, textFileLogObserver
    from twisted.web.resource import Resource
    from twisted.web.server import Request

    from h2site.files.buildcache import BuildCache
    from h2site.files.store import FileStore, MemoryLimits
    from h2site.files.workers import ProcessWorkers
    from h2site.ops.accesslog import AccessLog
    from h2site.ops.control import ControlService
    from h2site.ops.sdnotify import Notifier
    from h2site.web.delivery import respond
    from h2site.web.site import H2Site

    reactor: Any = _reactor
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stdout)], redirectStandardIO=False
    )
    cache = BuildCache(Path(state) / "compressed")
    workers = ProcessWorkers(reactor)

    class Files(Resource):
        isLeaf = True

        def __init__(self, store: FileStore) -> None:
            super().__init__()
            self.store = store

        def render_GET(self, request: Request) -> bytes | int:
            name = "/".join(s.decode() for s in request.postpath or [])
            stored = self.store.get(name or "index.html")
            if stored is None:
                request.setResponseCode(404)
                return b"not found\n"
            return respond(request, stored.representation, b"no-cache", reactor)

    def build() -> Resource:
        store = FileStore(
            siteDir,
            MemoryLimits(),
            time.monotonic,
            deferToThread,
            cache=cache,
            prefix="/",
            workers=workers,
        )
        store.build()
        return Files(store)

    site = H2Site(build(), lambda request: None, reactor=reactor)
    control = ControlService(
        site=site,
        build=build,
        tls=[],
        accessLog=AccessLog(None),
        notifier=Notifier({}),
        reactor=reactor,
    )
    control.privilegedStartService()
    control.startService()
    reactor.listenTCP(port, site, interface="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda n, f: reactor.callFromThread(reactor.stop))
    reactor.run()


def twistdWithWorkers(argv: Sequence[str]) -> None:
    """
    Run C{twistd} with every file store given worker processes (one pool
    for the process): the wiring C{h2site.server} needs, previewed without
    changing it.
    """
    from typing import Any

    import h2site.server
    from h2site.files.store import FileStore
    from h2site.files.workers import ProcessWorkers

    server: Any = h2site.server
    plain = FileStore
    pool: list[ProcessWorkers] = []

    def withWorkers(*args: Any, **kwargs: Any) -> Any:
        from twisted.internet import reactor

        if not pool:
            pool.append(ProcessWorkers(reactor))
        if kwargs.get("cache") is not None:
            kwargs.setdefault("workers", pool[0])
        return plain(*args, **kwargs)

    server.FileStore = withWorkers
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *argv]
    run()


def _row(name: str, cold: float | None, warm: float | None, note: str = "") -> str:
    def cell(value: float | None) -> str:
        return f"{value:8.2f} s" if value is not None else "       n/a"

    return f"{name:<58}{cell(cold)}  {cell(warm)}  {note}"


def _rows(label: str, cold: Result, warm: Result) -> list[str]:
    rows = [label, _row("  first 200", cold.firstOK, warm.firstOK)]
    if cold.ready is not None:
        rows.append(_row("  every file in its final form", cold.ready, warm.ready))
    rows.append(
        _row(
            "  reload after editing a page (SIGHUP to reloaded)",
            cold.reload,
            warm.reload,
            f"(files read: {cold.read}, {warm.read})",
        )
    )
    return rows


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["--twistd-with-workers"]:
        twistdWithWorkers(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--only", choices=("store", "twistd", "twistd-workers"))
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve:
        siteDir, port, state = options.serve
        serve(siteDir, int(port), state)
        return
    if not options.docs.is_dir():
        raise SystemExit(f"{options.docs} is missing: apt-get install python3-doc")
    with tempfile.TemporaryDirectory(prefix="h2site-site-bench-") as tmp:
        work = Path(tmp)
        site = work / "html"
        shutil.copytree(options.docs, site, symlinks=False)
        files = [p for p in site.rglob("*") if p.is_file()]
        megabytes = sum(p.stat().st_size for p in files) / 1e6
        print(f"site: {options.docs} ({len(files)} files, {megabytes:.0f} MB)")
        certs = makeCertificates(work / "certs")
        rows = []
        for kind in ("store", "twistd-workers", "twistd"):
            if options.only not in (None, kind):
                continue
            state = work / f"{kind}-state"
            state.mkdir()
            env = dict(os.environ)
            env["XDG_STATE_HOME"] = str(state)
            results = []
            for _ in ("cold", "warm"):
                port = freePort()
                if kind == "store":
                    command = [
                        sys.executable,
                        __file__,
                        "--serve",
                        str(site),
                        str(port),
                    ]
                    command.append(str(state))
                    url = f"http://127.0.0.1:{port}/index.html"
                    verify: object = True
                else:
                    args = ["--site", str(site), "--port", certs.endpoint(port)]
                    command = twistdCommand(*args)
                    if kind == "twistd-workers":
                        command = [sys.executable, __file__, "--twistd-with-workers"]
                        command += twistdCommand(*args)[3:]
                    url = f"https://127.0.0.1:{port}/index.html"
                    verify = certs.sslContext()
                background = kind != "twistd"
                results.append(_measure(command, env, url, site, verify, background))
            label = {
                "store": "the store with its workers, HTTP/1.1",
                "twistd-workers": "twistd h2site, its stores given workers",
                "twistd": "twistd h2site, as h2site.server assembles it now",
            }[kind]
            rows += _rows(label, *results)
        print()
        print(f"{'':<58}{'cold':>10}  {'warm':>10}")
        for row in rows:
            print(row)


if __name__ == "__main__":
    main(sys.argv[1:])
