"""
Large-site benchmark: how long h2site takes to answer its first request,
and to reload after one page was edited, for a real site people already
have: Debian's C{python3-doc} (Sphinx output, 530 pages, 1,063 files,
67 MB), with an empty state folder (cold: nothing compressed yet) and with
the one the first run left (warm).

The server is the real C{twistd -n h2site --site COPY} over TLS, with
its state folder (C{XDG_STATE_HOME}) empty for the cold run and as the cold
run left it for the warm one.  For each: the time from starting the process
to the first 200 for C{/index.html}; to every page's preload hints (the
"preload hints ready" line); to every page fingerprinted and every
compressed form made (the "static files ready" line); and from C{SIGHUP} to
the "reloaded" line after one page was edited, with how many files the
reload read.  The docs are copied first (symlinks resolved, as a
generator's output would be), so a page can be edited.

Run: C{python benchmarks/site_bench.py} (C{--docs DIR} for another
folder).  The issue's targets: first 200 within 3 s of start, a reload
after one edit under 1 s.
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
_HINTS = re.compile(r"h2site preload hints ready")
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
    hints: float
    ready: float
    reload: float
    read: str


def _measure(
    command: Sequence[str],
    env: dict[str, str],
    url: str,
    site: Path,
    verify: object,
) -> Result:
    """
    Start a server, time its first 200, its work after listening and a
    reload, then stop it.
    """
    running = _start(command, env)
    try:
        first = _firstOK(url, running, verify)
        hints, _ = running.waitFor(_HINTS)
        ready, _ = running.waitFor(_READY)
        seconds, read = _reload(running, site, int(time.time()))
        return Result(
            first, hints - running.started, ready - running.started, seconds, read
        )
    finally:
        running.stop()


def _row(name: str, cold: float | None, warm: float | None, note: str = "") -> str:
    def cell(value: float | None) -> str:
        return f"{value:8.2f} s" if value is not None else "       n/a"

    return f"{name:<58}{cell(cold)}  {cell(warm)}  {note}"


def _rows(label: str, cold: Result, warm: Result) -> list[str]:
    rows = [
        label,
        _row("  first 200", cold.firstOK, warm.firstOK),
        _row("  every page's preload hints", cold.hints, warm.hints),
        _row("  every file in its final form", cold.ready, warm.ready),
    ]
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DOCS)
    options = parser.parse_args(argv)
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
        state = work / "state"
        state.mkdir()
        env = dict(os.environ)
        env["XDG_STATE_HOME"] = str(state)
        results = []
        for _ in ("cold", "warm"):
            port = freePort()
            command = twistdCommand("--site", str(site), "--port", certs.endpoint(port))
            url = f"https://127.0.0.1:{port}/index.html"
            results.append(_measure(command, env, url, site, certs.sslContext()))
        print()
        print(f"{'':<58}{'cold':>10}  {'warm':>10}")
        for row in _rows("twistd -n h2site --site COPY", *results):
            print(row)


if __name__ == "__main__":
    main(sys.argv[1:])
