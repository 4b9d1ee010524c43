# -*- test-case-name: tests.unit.ops.test_accesslog -*-
"""
The request every connection makes: a C{twisted.web} request that knows
when it began and is logged even when it never finishes.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.python.failure import Failure
from twisted.web import server

__all__ = ["TimedRequest"]


class TimedRequest(server.Request):
    """
    A request that knows when it began, so the log can say how long it took,
    and that is logged even if it never finishes.
    """

    #: Whether the whole request arrived (Twisted makes a request as soon
    #: as a head starts coming in; one never received is nothing to log).
    _received = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.startTime = time.monotonic()

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._received = True
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Failure) -> None:
        """
        Log a request whose connection or stream is lost before it finished:
        Twisted logs only from C{finish}, so a download cut short would leave
        no trace.  Logged once: this sets C{channel} to L{None}, and a lost
        request cannot finish.
        """
        channel = self.channel
        super().connectionLost(reason)
        if channel is None or self.finished or not self._received:
            return
        factory = getattr(channel, "factory", None)
        if factory is not None:
            factory.log(self)
