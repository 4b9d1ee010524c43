# -*- test-case-name: tests.integration.test_workers -*-
"""
One worker process of C{--workers N}, run as C{python -m h2site.worker}.

It parses the same options as the supervisor, so both hold the same
configuration, and is built by the same assembly (L{h2site.server}); what
differs is where its sockets come from: it adopts the ones the supervisor
listened on instead of listening, and uses the development certificate
the supervisor made instead of making one.  It serves until SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from h2site.ops.sdnotify import Notifier
from h2site.ops.supervisor import LISTEN_FDS_VAR, STATUS_FD_VAR
from h2site.server import buildServer, listenSpecs
from h2site.tap import Options

__all__ = ["main"]


def _family(fd: int) -> socket.AddressFamily:
    sock = socket.socket(fileno=fd)
    try:
        return sock.family
    finally:
        sock.detach()


def main(argv: Sequence[str]) -> None:
    """
    Run one worker: parse the same options as the supervisor, adopt the
    inherited sockets instead of listening, serve until SIGTERM.
    """
    from twisted.internet import reactor as _reactor
    from twisted.internet.endpoints import AdoptedStreamServerEndpoint
    from twisted.logger import globalLogBeginner, textFileLogObserver

    reactor: Any = _reactor
    fds = [int(fd) for fd in os.environ.pop(LISTEN_FDS_VAR).split(",") if fd]
    status = int(os.environ.pop(STATUS_FD_VAR))
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stdout)], redirectStandardIO=False
    )
    options = Options()
    options.parseOptions(list(argv))
    config = options.config
    # Adopted sockets are plain streams: listenNow wraps those of haproxy:
    # specs in the PROXY layer again, as it does in a single process.
    listen = [
        (spec, AdoptedStreamServerEndpoint(reactor, fd, _family(fd)))
        for spec, fd in zip(listenSpecs(config, create=False), fds, strict=True)
    ]
    top = buildServer(config, listen, Notifier({}), reactor)
    top.privilegedStartService()

    stopping: list[bool] = []

    def stop() -> None:
        # systemd (KillMode=control-group) and tools like timeout(1) signal
        # the whole process group, so SIGTERM may come from the supervisor
        # and from them: stop once.
        if not stopping:
            stopping.append(True)
            reactor.stop()

    def started() -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda n, f: reactor.callFromThread(stop))
        top.startService()
        os.write(status, b"ready\n")
        os.close(status)

    reactor.callWhenRunning(started)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1:])
