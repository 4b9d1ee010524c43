# -*- test-case-name: tests.unit.ops.test_sdnotify -*-
"""
The systemd notification protocol (C{sd_notify}), which Twisted lacks: tell
systemd when h2site is ready, reloading, stopping, and still alive.

Written here rather than taken from a library because it is one datagram
to one socket, and the libraries that offer it bind C{libsystemd}.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping

__all__ = ["Notifier", "monotonicUsec", "notifyAddress", "watchdogInterval"]


def notifyAddress(environ: Mapping[str, str]) -> str | bytes | None:
    """
    The address systemd listens on for notifications, from C{NOTIFY_SOCKET}:
    a path, or an abstract socket name (C{@name}, returned as bytes with a
    leading NUL); L{None} when not run by systemd with C{Type=notify}.
    """
    address = environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        return b"\0" + address[1:].encode()
    if address.startswith("/"):
        return address
    return None


def watchdogInterval(environ: Mapping[str, str], pid: int) -> float | None:
    """
    How often to send C{WATCHDOG=1}: half of C{WatchdogSec} (systemd's
    advice), or L{None} when no watchdog is set for this process.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    owner = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (owner and owner != str(pid)):
        return None
    return int(usec) / 2_000_000


class Notifier:
    """
    Sends notifications to systemd; does nothing when not run by systemd.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._address = notifyAddress(environ)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """
        Send C{fields} (e.g. C{"READY=1"}, C{"STATUS=serving"}) as one message.

        @return: whether it was sent.  Failures are not errors: systemd may
            have stopped listening, and serving matters more than telling.
        """
        if self._address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        with socket.socket(
            socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
        ) as s:
            try:
                s.sendto(message, self._address)
            except OSError:
                return False
        return True


def monotonicUsec() -> str:
    """
    C{MONOTONIC_USEC=...}, which systemd wants with C{RELOADING=1}.
    """
    return f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
