# -*- test-case-name: tests.unit.test_config -*-
"""
The configuration itself: one frozen L{Config} (and the development
certificate it may name), with the defaults options fall back to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

#: With no --port: HTTPS on this machine only, with the development certificate.
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
    Listen with h2site's development certificate: what the configuration
    says when neither C{--port} nor C{--tls-cert} is given.  Creating the
    certificate writes files, so it is left to start-up.

    @ivar directory: the folder keeping its key and certificate (see
        L{h2site.tls.devcert.devCertificatePaths}).
    @ivar endpoint: where to listen with it, an C{ssl:} endpoint without
        key and certificate.
    """

    directory: str
    endpoint: str = DEFAULT_PORT


@dataclass(frozen=True)
class Config:
    """
    Everything h2site needs to start.

    @ivar siteDir: absolute path of the site folder.
    @ivar listen: where to listen, in the order given; empty when
        C{devCertificate} says where.
    @ivar accessLog: C{None} for twistd's log, C{-} for standard output, or a
        file path.
    @ivar devCertificate: where the development certificate is kept and
        where to listen with it, when h2site chose the default port; else
        L{None}.
    @ivar hstsMaxAge: C{Strict-Transport-Security} max-age; 0 for none.
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
