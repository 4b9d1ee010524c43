"""
Where h2site's CPU time goes per HTTP/2 request, by component, from py-spy.

    python benchmarks/profile_h2.py [--duration 10] [--rate 200] [--out DIR]
        [--no-pin] [--only page,160k] [-- h2site options...]

h2site is started as L{benchmarks.http2_bench} starts it (pinned to one
core, h2load and py-spy on another, unless C{--no-pin}), with the same
1.6 KB page and 160 KB file, fetched with C{accept-encoding: identity}.
For each of them, three h2load runs (10 connections of 10 streams):

  1. a timed run with nothing attached, for the server's CPU time per
     request (from C{/proc}, process and threads);
  2. the same under C{py-spy record --format raw}, for the shares;
  3. the same under C{py-spy record --format flamegraph}, an SVG in
     C{--out} to look at.

py-spy leaves out idle samples (the reactor waiting in C{epoll_wait}), so
the shares are of the main thread's busy time; samples of other threads
(the thread pool waiting on its C{Condition}) are counted and left out.
Each sample is charged to one component by L{BUCKETS}: the innermost frame
of its stack that a rule matches decides, so a caller's share holds only
what its callees not named in the table spent.  The microseconds per
request are the share times run 1's CPU time per request, which includes
the kernel's share (socket system calls) the sampler sees as the frames
that made them.

Run it before and after a change to see where it moved the time.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.http2_bench import (
    FILE_NAME,
    FILE_SIZE,
    PAGE,
    Pinning,
    Running,
    defaultPinning,
    h2load,
    startH2site,
)
from tests.helpers import makeCertificates, makeSite

#: The components, in the order a frame is tried against them: a rule is
#: a component and the path prefixes (below C{site-packages} or the
#: repository) and C{Class.function} names of the frames that belong to
#: it.  The C{h2} library's frame and HPACK code serves both directions, so
#: its send entry points and HPACK's C{Encoder} are named for the output,
#: before the paths that give the rest of it to the receive side; the hot
#: path's dispatch (C{h2site/http/h2/hot.py}) is named before the
#: C{h2site/http/h2/} prefix of the receive side too, so a component may
#: have two rules.
BUCKETS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "TLS (OpenSSL + twisted.protocols.tls)",
        ("OpenSSL/", "twisted/protocols/tls.py", "cryptography/", "h2site/tls/"),
        (),
    ),
    (
        "access log",
        ("h2site/ops/accesslog.py",),
        ("H2Site.log", "Site.log", "HTTPFactory.log"),
    ),
    (
        "output (framing, scheduler, h2 send)",
        (
            "h2site/http/h2/output.py",
            "h2site/http/h2/scheduler.py",
            "h2site/http/producers.py",
        ),
        (
            "writeInPieces",
            "H2Connection._flush",
            "H2Connection.pauseProducing",
            "H2Connection.resumeProducing",
            "headersFrame",
            "goAway",
            "FieldEncoder.encode",
            "Encoder.encode",
            "Encoder.add",
            "H2Connection.send_headers",
            "H2Connection.send_data",
            "H2Connection.end_stream",
            "H2Connection.data_to_send",
            "H2Connection.acknowledge_received_data",
            "H2Connection.increment_flow_control_window",
            "H2Connection._send_rst_stream",
            "Stream.writeHeaders",
            "Stream.write",
            "Stream.writeSequence",
            "Stream.writeInformational",
            "Stream.take",
            "Frame.serialize",
            "DataFrame.serialize_body",
            "HeadersFrame.serialize_body",
        ),
    ),
    (
        "request machinery (twisted.web Request, resource lookup)",
        ("h2site/http/h2/hot.py",),
        (),
    ),
    (
        "h2 receive (frame parse, HPACK, state machine)",
        ("h2site/http/h2/", "h2/", "hpack/", "hyperframe/"),
        (),
    ),
    (
        "response (delivery.respond, headers)",
        (
            "h2site/web/hot.py",
            "h2site/web/delivery.py",
            "h2site/web/headers.py",
            "h2site/web/static.py",
            "h2site/web/pages.py",
            "h2site/semantics/",
            "h2site/preload/",
            "h2site/files/",
            "h2site/http/earlyhints.py",
        ),
        (
            "Request.write",
            "Request.finish",
            "Request.setHeader",
            "Request.setResponseCode",
            "Request.setLastModified",
            "Request.setETag",
            "datetimeToString",
        ),
    ),
    (
        "request machinery (twisted.web Request, resource lookup)",
        ("twisted/web/", "h2site/web/", "h2site/http/"),
        (),
    ),
    (
        "socket I/O and reactor (twisted.internet)",
        ("twisted/internet/", "twisted/python/util.py"),
        (),
    ),
)
OTHER = "other"
#: The libraries whose code serves both the receive and the send side.
SHARED = ("h2/", "hpack/", "hyperframe/")
#: The components in the order they are printed: a request's way through.
COMPONENTS = (
    "TLS (OpenSSL + twisted.protocols.tls)",
    "h2 receive (frame parse, HPACK, state machine)",
    "request machinery (twisted.web Request, resource lookup)",
    "response (delivery.respond, headers)",
    "output (framing, scheduler, h2 send)",
    "access log",
    "socket I/O and reactor (twisted.internet)",
    OTHER,
)

#: A frame of py-spy's raw output: C{function (path:line)}.
_FRAME = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")
#: Where the repository's own and installed modules' paths begin.
_ROOTS = ("site-packages/", str(Path(__file__).resolve().parent.parent) + "/")


@dataclass(frozen=True)
class Frame:
    function: str
    path: str


def parseFrame(text: str) -> Frame:
    """
    A raw frame's function and path, the path shortened to start at its
    top-level package.
    """
    match = _FRAME.match(text)
    if match is None:
        return Frame(text, "")
    path = match.group(2)
    for root in _ROOTS:
        path = path.rpartition(root)[2] if root in path else path
    return Frame(match.group(1), path)


def bucketOf(frame: Frame) -> str | None:
    """
    The component of one frame, or L{None} when no rule names it.
    """
    for name, paths, functions in BUCKETS:
        if frame.function in functions or frame.path.startswith(paths):
            return name
    return None


def classify(stack: Sequence[Frame]) -> str:
    """
    The component a sample is charged to: that of its innermost frame any
    rule matches, where a run of frames in the libraries both directions
    share (L{SHARED}) counts as its outermost frame, the entry point h2site
    called: C{H2Stream.send_data} below C{H2Connection.send_data} is
    output, below C{H2Connection.receive_data} receive.
    """
    at = len(stack) - 1
    while at >= 0:
        if stack[at].path.startswith(SHARED):
            while at > 0 and stack[at - 1].path.startswith(SHARED):
                at -= 1
        name = bucketOf(stack[at])
        if name is not None:
            return name
        at -= 1
    return OTHER


@dataclass
class Profile:
    byBucket: collections.Counter[str]
    selfTime: collections.Counter[str]
    mainSamples: int
    otherSamples: int


def aggregate(lines: Iterable[str]) -> Profile:
    """
    Read py-spy's raw format (C{frame;frame;... count}, outermost first)
    and count the main thread's samples by component and by leaf frame.
    """
    byBucket: collections.Counter[str] = collections.Counter()
    selfTime: collections.Counter[str] = collections.Counter()
    main = other = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [parseFrame(f) for f in stack.split(";")]
        # Threads other than the reactor's start in threading's bootstrap.
        if any(f.path == "threading.py" and "_bootstrap" in f.function for f in frames):
            other += n
            continue
        main += n
        byBucket[classify(frames)] += n
        leaf = frames[-1]
        selfTime[f"{leaf.function} ({leaf.path})"] += n
    return Profile(byBucket, selfTime, main, other)


def pySpy(
    server: Running,
    path: str,
    duration: float,
    pinning: Pinning,
    output: Path,
    fmt: str,
    rate: int,
) -> None:
    """
    Record the server with py-spy while h2load loads C{path}.
    """
    spy = subprocess.Popen(
        [
            *pinning.load,
            shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.process.pid),
            "--rate",
            str(rate),
            "--duration",
            str(int(duration)),
            "--nonblocking",
            "--format",
            fmt,
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # py-spy attaches
    h2load(server, path, duration, pinning, warmUp=0)
    _, errors = spy.communicate(timeout=60)
    if spy.returncode != 0 or not output.exists():
        raise SystemExit(f"py-spy failed ({spy.returncode}): {errors}")


def report(
    test: str,
    profile: Profile,
    cpuMicroseconds: float,
    top: int,
    before: dict[str, float] | None = None,
) -> dict[str, float]:
    """
    Print the components' shares and microseconds per request (and those
    of an earlier run, C{before}, when given), and the frames with the most
    self time; return the microseconds by component, C{total} included.
    """
    print(
        f"\n{test}: {cpuMicroseconds:.0f} CPU us/request; {profile.mainSamples} "
        f"busy samples of the main thread ({profile.otherSamples} of other "
        "threads left out)"
    )
    earlier = f"{'before':>9}" if before is not None else ""
    print(f"  {'component':<58}{'share':>7}{'us/req':>9}{earlier}")
    micros: dict[str, float] = {}
    for name in (*COMPONENTS, "total"):
        if name == "total":
            share = 1.0
        else:
            share = profile.byBucket[name] / max(profile.mainSamples, 1)
        micros[name] = share * cpuMicroseconds
        earlier = f"{before.get(name, 0):>9.1f}" if before is not None else ""
        print(f"  {name:<58}{share:>7.1%}{micros[name]:>9.1f}{earlier}")
    if top:
        print(f"  top {top} frames by self time:")
    for frame, n in profile.selfTime.most_common(top):
        print(f"  {n / max(profile.mainSamples, 1):>7.1%}  {frame}")
    return micros


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--out", type=Path, default=Path("profile-h2"))
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--only", default="page,160k")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument(
        "--before",
        type=Path,
        help="an earlier run's summary.json, printed beside this run's figures",
    )
    parser.add_argument("options", nargs="*", help="more h2site options")
    args = parser.parse_args()
    if not set(args.only.split(",")) <= {"page", "160k"}:
        parser.error("--only takes page, 160k or both")
    for tool in ("h2load", "py-spy"):
        if not (shutil.which(tool) or (Path(sys.executable).parent / tool).exists()):
            raise SystemExit(f"{tool} is missing")
    pinning = defaultPinning(not args.no_pin)
    args.out.mkdir(parents=True, exist_ok=True)
    tests = {"page": "/", "160k": f"/static/{FILE_NAME}"}
    summary: dict[str, dict[str, float]] = {}
    before: dict[str, dict[str, float]] = {}
    if args.before:
        before = json.loads(args.before.read_text())
    work = Path(tempfile.mkdtemp(prefix="h2site-profile-"))
    try:
        certs = makeCertificates(work / "certs")
        site = makeSite(
            work / "site", {"index.html": PAGE}, {FILE_NAME: os.urandom(FILE_SIZE)}
        )
        server = startH2site("h2site", site, certs, work, pinning, *args.options)
        try:
            print(
                f"h2site pid {server.process.pid}; {pinning.note}; "
                f"{args.duration} s per run"
            )
            for test in args.only.split(","):
                path = tests[test]
                measured = h2load(server, path, args.duration, pinning)
                print(
                    f"{test}: {measured.requests:.0f} req/s, "
                    f"{measured.cpuMicroseconds:.0f} CPU us/req without py-spy",
                    flush=True,
                )
                raw = args.out / f"{test}.raw"
                pySpy(server, path, args.duration, pinning, raw, "raw", args.rate)
                svg = args.out / f"{test}.svg"
                pySpy(
                    server, path, args.duration, pinning, svg, "flamegraph", args.rate
                )
                with raw.open() as lines:
                    profile = aggregate(lines)
                summary[test] = report(
                    test,
                    profile,
                    measured.cpuMicroseconds,
                    args.top,
                    before.get(test) if args.before else None,
                )
                print(f"  flame graph: {svg}; raw: {raw}", flush=True)
            (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
            print(f"\nCPU us/request by component: {args.out / 'summary.json'}")
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
