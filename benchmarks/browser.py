"""
Page loads in a real browser, for the benchmarks: one load of a URL in a
fresh headless Chromium (fresh profile, fresh connections) with latency
emulated by DevTools, read back from the navigation's timing; and a server
process whose output says where it listens.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import startChromium

__all__ = ["NAVIGATION", "Process", "browserLoad", "nginxProcess"]

#: What a load is summed up as: C{loadEventEnd}, the protocol, whether a
#: 103 came, how many resources were fetched, when the last one fetched
#: before C{load} ended, and how many were served from an Early Hints
#: preload.
NAVIGATION = """
const nav = performance.getEntriesByType('navigation')[0];
return nav ? {
  load: nav.loadEventEnd,
  protocol: nav.nextHopProtocol,
  interim: nav.firstInterimResponseStart || 0,
  resources: performance.getEntriesByType('resource').length,
  lastByte: Math.max(0, ...performance.getEntriesByType('resource')
    .filter((r) => r.startTime < nav.loadEventEnd).map((r) => r.responseEnd)),
  earlyHints: performance.getEntriesByType('resource')
    .filter((r) => r.initiatorType === 'early-hints').length,
} : null;
"""


@dataclass
class Process:
    """
    A server process whose output is read until it says where it listens.
    """

    command: list[str]
    cwd: Path
    pattern: str
    process: subprocess.Popen[str] | None = None
    port: int = 0
    lines: list[str] = field(default_factory=list)

    def start(self, timeout: float = 60) -> Process:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        found = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                match = re.search(self.pattern, line)
                if match and not found.is_set():
                    self.port = int(match.group(1))
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(timeout):
            self.stop()
            raise RuntimeError(
                f"{self.command[:4]} did not start:\n" + "".join(self.lines)
            )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


def nginxProcess(nginx: str, work: Path, port: int, cwd: Path) -> Process:
    """
    Start C{nginx} with the configuration in C{work} (see
    L{benchmarks.nginx.writeNginxConfig}), once it listens on C{port}.
    """
    return Process(
        [
            "sh",
            "-c",
            f'echo "nginx listening on {port}"; exec {nginx} -c {work}/nginx.conf',
        ],
        cwd,
        r"listening on (\d+)",
    ).start()


def browserLoad(
    url: str,
    latency: int,
    profile: Path,
    certificate: Path,
    cacheDisabled: bool,
    script: str = NAVIGATION,
) -> dict[str, Any]:
    """
    Load C{url} once in a fresh headless Chromium and return what
    C{script} (by default L{NAVIGATION}) says of it once C{load} has ended:
    C{script} returns L{None} until the navigation's timing exists, and an
    object with C{load} (C{loadEventEnd}) after.
    """
    browser = startChromium(
        shutil.which("chromium") or "chromium",
        shutil.which("chromedriver") or "chromedriver",
        profile,
        certificate,
        latency,
        cacheDisabled,
        pageLoadTimeout=120,
    )
    try:
        browser.get(url)
        deadline = time.monotonic() + 60
        while True:
            result: dict[str, Any] | None = browser.execute_script(script)
            if result is not None and result["load"] > 0:
                return result
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never finished loading")
            time.sleep(0.05)
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
