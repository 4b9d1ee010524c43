# -*- test-case-name: tests.unit.test_config -*-
"""
The configuration itself: one frozen L{Config} (and the development
certificate it may name), with the defaults options fall back to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from h2site.acme.settings import AcmeSettings
from h2site.files.store import MemoryLimits
from h2site.http.limits import ConnectionLimits
from h2site.preload.policy import PreloadSettings
from h2site.tls.endpoints import ListenSpec
from h2site.web.headers import (
    DEFAULT_HSTS_MAX_AGE,
)

__all__ = [
    "DEFAULT_PLAIN_PORT",
    "DEFAULT_PORT",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "MAX_WORKERS",
    "Config",
    "DevCertificate",
]

#: With no --port: HTTPS on this machine only, with the development certificate
#: (C{ssl:} without a key; L{h2site.tls.endpoints}).
DEFAULT_PORT = "ssl:port=8443:interface=127.0.0.1"


#: The same place, for when --tls-cert provides the certificate.
DEFAULT_PLAIN_PORT = "tcp:port=8443:interface=127.0.0.1"


#: Seconds open connections get to finish their responses when h2site stops.
DEFAULT_SHUTDOWN_TIMEOUT = 10.0


#: More serving processes than this is a typo, not a configuration.
MAX_WORKERS = 256


@dataclass(frozen=True)
class DevCertificate:
    """
    Where h2site's development certificate is kept, when some listener
    serves it: one that asked for TLS without naming a certificate (a port
    number, C{ssl:} without a key, or no C{--port} at all) when no
    C{--tls-cert} was given.  Which listeners those are is said by each
    (L{ListenSpec.devCertificate}, in L{Config.listen}, in the order given;
    L{Config.devListeners}).  Creating the certificate writes files, so it
    is left to start-up (L{h2site.server.listenSpecs}).

    @ivar directory: the folder keeping its key and certificate (see
        L{h2site.tls.devcert.devCertificatePaths}).
    """

    directory: str


@dataclass(frozen=True)
class Config:
    """
    Everything h2site needs to start.

    @ivar siteDir: absolute path of the site folder.
    @ivar listen: where to listen, in the order given (L{DEFAULT_PORT} if
        none was); those with C{devCertificate} get it at start-up.
    @ivar accessLog: C{None} for twistd's log, C{-} for standard output, or a
        file path.
    @ivar devCertificate: where the development certificate is kept, when a
        listener serves it; else L{None}.
    @ivar hstsMaxAge: C{Strict-Transport-Security} max-age; 0 for none, as
        always with the development certificate.
    @ivar csp: the C{Content-Security-Policy}, or L{None} for none.
    @ivar extraHeaders: the operator's C{--header}s, in order.
    @ivar redirect: plain-HTTP listeners that redirect to HTTPS.
    @ivar redirectPort: the HTTPS port redirects point to, or L{None} for
        the first TLS listener's.
    @ivar staticLimits: what the file store keeps in memory.
    @ivar compressionCache: the folder keeping this site's compressed
        static files and large-file hashes between runs (a
        L{h2site.files.buildcache.BuildCache}), or L{None} for none.
    @ivar accessLogFormat: C{combined} or C{json}.
    @ivar healthPath: the path answering health checks, or L{None}.
    @ivar workers: how many serving processes.
    @ivar shutdownTimeout: seconds open connections get to finish their
        responses when h2site stops, before they are cut.
    @ivar preload: what pages announce (C{Link} headers, 103 Early Hints).
    @ivar connectionLimits: the limits and deadlines of every connection.
    @ivar check: index the site and report on it instead of serving it.
    @ivar followSymlinks: serve what symlinks out of the site folder lead
        to (files and folders), rather than refusing them.
    @ivar warnings: lines to log once when h2site starts serving (not in
        each worker): options that work, but not as one might think.
    @ivar dev: development mode: watch the site folder and serve each
        change at once, with live reload (L{h2site.config.dev}).
    @ivar acme: automatic HTTPS, when it names domains: the listeners with
        C{acme} set serve the certificate it keeps (L{h2site.acme}).
    @ivar http3: serve HTTP/3 on the UDP port of each TLS listener too
        (L{h2site.http.h3}), and announce it with C{Alt-Svc}.
    """

    siteDir: str
    listen: tuple[ListenSpec, ...] = ()
    accessLog: str | None = None
    devCertificate: DevCertificate | None = None
    hstsMaxAge: int = DEFAULT_HSTS_MAX_AGE
    csp: str | None = None
    extraHeaders: tuple[tuple[str, str], ...] = ()
    redirect: tuple[ListenSpec, ...] = ()
    redirectPort: int | None = None
    staticLimits: MemoryLimits = field(default_factory=MemoryLimits)
    compressionCache: str | None = None
    accessLogFormat: str = "combined"
    healthPath: str | None = None
    workers: int = 1
    shutdownTimeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    preload: PreloadSettings = field(default_factory=PreloadSettings)
    connectionLimits: ConnectionLimits = field(default_factory=ConnectionLimits)
    followSymlinks: bool = False
    check: bool = False
    warnings: tuple[str, ...] = ()
    dev: bool = False
    acme: AcmeSettings = field(default_factory=AcmeSettings)
    http3: bool = False

    @property
    def devListeners(self) -> tuple[ListenSpec, ...]:
        """
        The listeners that serve the development certificate.
        """
        return tuple(spec for spec in self.listen if spec.devCertificate)
