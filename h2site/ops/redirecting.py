# -*- test-case-name: tests.integration.test_static_delivery -*-
"""
The C{--redirect} listeners: plain-HTTP endpoints whose every request is
answered with a redirect to HTTPS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.web.server import Site

from h2site.errors import StartupError
from h2site.ops.accesslog import AccessLog
from h2site.ops.listening import listenNow
from h2site.tls.endpoints import ListenSpec, splitDescription

__all__ = ["RedirectService", "configuredPort"]


def configuredPort(spec: ListenSpec) -> int | None:
    """
    The port number a C{tcp:} listener was given, or L{None} (another kind,
    or port 0, which only the kernel's choice will tell).
    """
    args, kwargs = splitDescription(spec.plain)
    if not args or args[0].strip().lower() not in ("tcp", "tcp6"):
        return None
    port = kwargs.get("port", args[1] if len(args) > 1 else "")
    return int(port) if port.isdigit() and int(port) else None


class RedirectService(service.Service):
    """
    Listen on the C{--redirect} endpoints (in C{privilegedStartService}, so
    port 80 works when started as root).
    """

    def __init__(
        self,
        listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        site: Site,
        accessLog: AccessLog | None = None,
    ) -> None:
        """
        @param accessLog: the log to open and close here, when no other
            service in this process does.
        """
        self._listen = listen
        self._site = site
        self._accessLog = accessLog
        self._ports: list[IListeningPort] = []

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self._accessLog is not None:
            try:
                self._accessLog.open()
            except OSError as e:
                raise StartupError(f"cannot open the access log: {e}") from None
        for spec, endpoint in self._listen:
            self._ports.append(
                listenNow(spec, endpoint, self._site, "redirecting to HTTPS")
            )

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        ports, self._ports = self._ports, []
        d: Deferred[Any] = gatherResults(
            [maybeDeferred(p.stopListening) for p in ports]
        )

        def closeLog(result: object) -> object:
            if self._accessLog is not None:
                self._accessLog.close()
            return result

        d.addBoth(closeLog)
        return d
