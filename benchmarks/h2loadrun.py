"""
Running h2load and reading its summary, for the benchmark scripts.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["H2loadResult", "runH2load"]


@dataclass(frozen=True)
class H2loadResult:
    """
    What h2load reported: requests per second and how requests ended.
    """

    rps: float
    succeeded: int
    failed: int
    errored: int


def runH2load(
    url: str,
    requests: int,
    clients: int,
    streams: int,
    extra: Sequence[str] = (),
    timeout: float = 600,
) -> H2loadResult:
    """
    Run C{h2load -n REQUESTS -c CLIENTS -m STREAMS EXTRA URL}.

    @raise RuntimeError: if h2load's summary is missing.
    """
    command = ["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams)]
    out = subprocess.run(
        [*command, *extra, url], capture_output=True, text=True, timeout=timeout
    ).stdout
    rps = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    status = re.search(
        r"requests: \d+ total, \d+ started, \d+ done, "
        r"(\d+) succeeded, (\d+) failed, (\d+) errored",
        out,
    )
    if rps is None or status is None:
        raise RuntimeError("h2load output not understood:\n" + out)
    return H2loadResult(
        rps=float(rps.group(1)),
        succeeded=int(status.group(1)),
        failed=int(status.group(2)),
        errored=int(status.group(3)),
    )
