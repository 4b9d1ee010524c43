# -*- test-case-name: tests.test_tap -*-
"""
The service that listens: it turns each endpoint into a listening port, with
TLS where asked, and turns every way listening can fail into one clear line.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.web.server import Site

from .accesslog import AccessLog
from .endpoints import ListenSpec
from .errors import StartupError
from .tls import ReloadableTLS, fingerprint, isExpired, utcNow

__all__ = ["ListeningService", "describeListenError"]

_log = Logger(namespace="h2site")


def describeListenError(description: str, error: BaseException) -> str:
    """
    One sentence for a failure to listen: what happened and what to do.
    """
    if isinstance(error, CannotListenError):
        socketError = error.socketError
        code = getattr(socketError, "errno", None)
        where = f"port {error.port}" + (
            f" on {error.interface}" if error.interface else ""
        )
        if code == errno.EADDRINUSE:
            return (
                f"cannot listen on {where} (--port {description!r}): the port is "
                f"already in use; stop the other server or choose another port"
            )
        if code == errno.EACCES:
            return (
                f"cannot listen on {where} (--port {description!r}): permission "
                f"denied; ports below 1024 need root or systemd socket activation"
            )
        if code == errno.EADDRNOTAVAIL:
            return (
                f"cannot listen on {where} (--port {description!r}): that address "
                f"is not on this machine"
            )
        reason = getattr(socketError, "strerror", None) or str(socketError)
        return f"cannot listen on {where} (--port {description!r}): {reason}"
    if isinstance(error, IndexError) and description.startswith("systemd:"):
        return (
            f"--port {description!r}: systemd passed no socket at that index; "
            f"systemd: endpoints work only under socket activation"
        )
    return f"cannot listen on --port {description!r}: {error}"


class ListeningService(service.Service):
    """
    Listen on every endpoint in C{privilegedStartService} (before twistd
    drops privileges, so port 443 works when started as root), and stop
    listening when the service stops.
    """

    def __init__(
        self,
        listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        site: Site,
        accessLog: AccessLog,
    ) -> None:
        self._listen = listen
        self._site = site
        self._accessLog = accessLog
        self._ports: list[IListeningPort] = []
        #: The TLS settings of each TLS listener, which a reload replaces.
        self.tls: list[tuple[ListenSpec, ReloadableTLS]] = []
        self._redirects: Sequence[tuple[ListenSpec, IStreamServerEndpoint]] = ()
        self._redirectSite: Site | None = None
        self._httpsPort: int | None = None

    def addRedirects(
        self,
        redirects: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        site: Site,
    ) -> None:
        """
        Also listen on these plain-HTTP endpoints with C{site}, after the
        main listeners (so L{httpsPort} is known by then).
        """
        self._redirects = redirects
        self._redirectSite = site

    def httpsPort(self) -> int:
        """
        The port the first TLS listener got (the kernel's choice for port 0),
        or 443 if it has none.
        """
        # A TLS listener on a Unix socket has no port: it sits behind a
        # proxy, whose public HTTPS port is, all but always, the standard one.
        return self._httpsPort if self._httpsPort is not None else 443

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        try:
            self._accessLog.open()
        except OSError as e:
            raise StartupError(f"cannot open the access log: {e}") from None
        for spec, endpoint in self._listen:
            port = self._listenOn(spec, endpoint, self._site)
            self._ports.append(port)
            if spec.tls is not None and self._httpsPort is None:
                self._httpsPort = getattr(port.getHost(), "port", None)
        if self._redirectSite is not None:
            for spec, endpoint in self._redirects:
                self._ports.append(self._listenOn(spec, endpoint, self._redirectSite))

    def _listenOn(
        self, spec: ListenSpec, endpoint: IStreamServerEndpoint, site: Site
    ) -> IListeningPort:
        factory = site
        if spec.tls is not None:
            creator = ReloadableTLS(spec.tls)
            self.tls.append((spec, creator))
            factory = TLSMemoryBIOFactory(  # type: ignore[assignment]
                creator, False, site
            )
            factory.noisy = False
        outcome: list[IListeningPort | Failure] = []
        d: Deferred[IListeningPort] = endpoint.listen(factory)
        d.addBoth(outcome.append)
        if not outcome:
            # Every stream endpoint Twisted ships listens synchronously.
            raise StartupError(f"--port {spec.description!r} did not listen at once")
        result = outcome[0]
        if isinstance(result, Failure):
            error = result.value or Exception(result.getErrorMessage())
            raise StartupError(describeListenError(spec.description, error))
        self._announce(spec, result, redirect=site is self._redirectSite)
        return result

    def _announce(
        self, spec: ListenSpec, port: IListeningPort, redirect: bool = False
    ) -> None:
        address = port.getHost()
        host = getattr(address, "host", None)
        if host is None:
            where = str(address)
        else:
            bracketed = f"[{host}]" if ":" in host else host
            scheme = "https" if spec.tls else "http"
            where = f"{scheme}://{bracketed}:{getattr(address, 'port', '')}/"
        if redirect:
            _log.info("h2site redirecting {where} to HTTPS", where=where)
            return
        _log.info(
            "h2site listening on {where} ({protocols})",
            where=where,
            protocols="HTTP/2 and HTTP/1.1 over TLS" if spec.tls else "HTTP/1.1",
        )
        if spec.tls is not None:
            cert = spec.tls.certificate
            _log.info(
                "certificate for {subject}, SHA-256 fingerprint {fingerprint}",
                subject=cert.subject.rfc4514_string(),
                fingerprint=fingerprint(cert),
            )
            if isExpired(cert, utcNow()):
                _log.warn(
                    "the certificate for {where} is expired or not yet valid; "
                    "browsers will refuse it",
                    where=where,
                )

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        ports, self._ports = self._ports, []
        d: Deferred[Any] = gatherResults(
            [maybeDeferred(p.stopListening) for p in ports]
        )

        def closeLog(result: object) -> object:
            self._accessLog.close()
            return result

        d.addBoth(closeLog)
        return d
