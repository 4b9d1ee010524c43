# -*- test-case-name: tests.unit.test_config -*-
"""
The configuration: one frozen value built from the command line, checked
completely before anything starts, and passed down explicitly.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from h2site.errors import ConfigError
from h2site.files.store import Limits
from h2site.http.limits import ConnectionLimits
from h2site.ops.accesslog import FORMATS
from h2site.preload.policy import PreloadSettings
from h2site.tls.context import utcNow
from h2site.tls.devcert import ensureDevCertificate, stateDirectory
from h2site.tls.endpoints import ListenSpec, TLSFiles, escape, parseListen, wrapInTLS
from h2site.web.headers import (
    DEFAULT_HSTS_MAX_AGE,
    buildHeaderPolicy,
    parseHeaderOption,
)

__all__ = [
    "DEFAULT_PLAIN_PORT",
    "DEFAULT_PORT",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "MAX_WORKERS",
    "Config",
    "buildConfig",
    "checkSiteDir",
    "parseSeconds",
    "parseShutdownTimeout",
    "parseSize",
    "parseWorkers",
]

#: With no --port: HTTPS on this machine only, with the development certificate.
DEFAULT_PORT = "ssl:port=8443:interface=127.0.0.1"
#: The same place, for when --tls-cert provides the certificate.
DEFAULT_PLAIN_PORT = "tcp:port=8443:interface=127.0.0.1"

#: Seconds open connections get to finish their responses when h2site stops.
DEFAULT_SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Config:
    """
    Everything h2site needs to start.

    @ivar siteDir: absolute path of the site folder.
    @ivar listen: where to listen, in the order given.
    @ivar accessLog: C{None} for twistd's log, C{-} for standard output, or a
        file path.
    @ivar devCertificate: the development certificate's path when h2site
        chose the default port, else L{None}.
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
    """

    siteDir: str
    listen: tuple[ListenSpec, ...]
    accessLog: str | None
    devCertificate: str | None = None
    hstsMaxAge: int = DEFAULT_HSTS_MAX_AGE
    csp: str | None = None
    extraHeaders: tuple[tuple[str, str], ...] = ()
    redirect: tuple[ListenSpec, ...] = ()
    redirectPort: int | None = None
    staticLimits: Limits = field(default_factory=Limits)
    compressionCache: str | None = None
    accessLogFormat: str = "combined"
    healthPath: str | None = None
    workers: int = 1
    shutdownTimeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    preload: PreloadSettings = field(default_factory=PreloadSettings)
    connectionLimits: ConnectionLimits = field(default_factory=ConnectionLimits)


def checkSiteDir(siteDir: str) -> str:
    """
    Check that C{siteDir} is a site h2site can serve.

    @return: its absolute path.
    @raise ConfigError: if it is missing, empty, or has no
        C{templates/index.html}.
    """
    path = os.path.abspath(siteDir)
    if not os.path.isdir(path):
        raise ConfigError(
            f"site folder {path!r} does not exist; pass --site DIR "
            f"(a folder with templates/index.html and static/)"
        )
    try:
        empty = not os.listdir(path)
    except PermissionError:
        raise ConfigError(
            f"site folder {path!r} is not readable by this user"
        ) from None
    if empty:
        raise ConfigError(
            f"site folder {path!r} is empty; it needs templates/index.html "
            f"(and static/ for files)"
        )
    if not os.path.isfile(os.path.join(path, "templates", "index.html")):
        raise ConfigError(
            f"site folder {path!r} has no templates/index.html; "
            f"h2site renders it as the home page"
        )
    return path


def _checkAccessLog(accessLog: str | None) -> str | None:
    if accessLog is None or accessLog == "-":
        return accessLog
    path = os.path.abspath(accessLog)
    parent = os.path.dirname(path)
    if os.path.isdir(path):
        raise ConfigError(f"--access-log {accessLog!r} is a folder; give a file path")
    if not os.path.isdir(parent):
        raise ConfigError(
            f"--access-log {accessLog!r}: folder {parent!r} does not exist"
        )
    if not os.access(path if os.path.exists(path) else parent, os.W_OK):
        raise ConfigError(f"--access-log {accessLog!r} is not writable by this user")
    return path


_SIZE = re.compile(r"(\d+)\s*([KMG]?)i?B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parseSize(value: str, option: str) -> int:
    """
    A byte count such as C{262144}, C{256K}, C{64M} or C{1G} (powers of
    1024).

    @raise ConfigError: if it is not one.
    """
    m = _SIZE.fullmatch(value.strip())
    if m is None:
        raise ConfigError(
            f"{option} {value!r} is not a size; give bytes, or a number with "
            f"K, M or G (e.g. 256K)"
        )
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def _parseNumber(value: str, option: str, maximum: int) -> int:
    if not value.strip().isdigit() or int(value) > maximum:
        raise ConfigError(f"{option} {value!r} is not a number from 0 to {maximum}")
    return int(value)


def _redirects(
    redirect: Sequence[str], redirectPort: str | None, listen: tuple[ListenSpec, ...]
) -> tuple[tuple[ListenSpec, ...], int | None]:
    specs = tuple(parseListen(r) for r in redirect)
    for spec in specs:
        if spec.tls is not None:
            example = "haproxy:tcp:80" if spec.proxy else "tcp:80"
            raise ConfigError(
                f"--redirect {spec.description!r}: the redirect listener speaks "
                f"plain HTTP; give e.g. {example}"
            )
    port = None
    if redirectPort is not None:
        port = _parseNumber(redirectPort, "--redirect-port", 65535)
        if port == 0:
            raise ConfigError("--redirect-port must be the HTTPS port, not 0")
    elif specs and not any(spec.tls is not None for spec in listen):
        raise ConfigError(
            "--redirect needs an HTTPS listener to send clients to: add "
            "--port ssl:... (or --tls-cert) or give the port with --redirect-port"
        )
    return specs, port


def _tlsFiles(cert: str | None, key: str | None, chain: str | None) -> TLSFiles | None:
    if cert is None and key is None:
        if chain is not None:
            raise ConfigError("--tls-chain needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise ConfigError("--tls-cert and --tls-key go together; give both")
    return TLSFiles(
        key=os.path.abspath(key),
        cert=os.path.abspath(cert),
        chain=os.path.abspath(chain) if chain else None,
    )


#: More serving processes than this is a typo, not a configuration.
MAX_WORKERS = 256


def parseWorkers(value: str, cpus: int | None = None) -> int:
    """
    The C{--workers} value: a count from 1 to L{MAX_WORKERS}, or C{auto} for
    the number of CPUs this process may run on.
    """
    if value == "auto":
        if cpus is None:
            cpus = len(os.sched_getaffinity(0))
        return max(1, min(cpus, MAX_WORKERS))
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise ConfigError(
            f"--workers {value!r} is not a number from 1 to {MAX_WORKERS} or 'auto'"
        )
    return int(value)


def parseShutdownTimeout(value: str) -> float:
    """
    Read C{--shutdown-timeout}: a number of seconds, 0 or more.

    @raise ConfigError: if it is not such a number.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(
            f"--shutdown-timeout {value!r} is not a number of seconds; "
            f"give e.g. 10 (0 closes connections at once)"
        )
    return seconds


def parseSeconds(value: str, option: str, low: float, high: float) -> float:
    """
    A number of seconds from C{low} to C{high}, for a timeout option.

    @raise ConfigError: if it is not one.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not low <= seconds <= high:
        raise ConfigError(
            f"{option} {value!r} is not a number of seconds from {low:g} to {high:g}"
        )
    return seconds


def _connectionLimits(
    headerTimeout: str | None, idleTimeout: str | None
) -> ConnectionLimits:
    defaults = ConnectionLimits()
    return ConnectionLimits(
        headerTimeout=defaults.headerTimeout
        if headerTimeout is None
        else parseSeconds(headerTimeout, "--header-timeout", 1, 3600),
        idleTimeout=defaults.idleTimeout
        if idleTimeout is None
        else parseSeconds(idleTimeout, "--idle-timeout", 1, 86400),
    )


def buildConfig(
    siteDir: str,
    ports: Sequence[str],
    accessLog: str | None,
    environ: Mapping[str, str],
    *,
    hstsMaxAge: str | None = None,
    csp: str | None = None,
    headers: Sequence[str] = (),
    redirect: Sequence[str] = (),
    redirectPort: str | None = None,
    memoryFileMax: str | None = None,
    memoryTotalMax: str | None = None,
    tlsCert: str | None = None,
    tlsKey: str | None = None,
    tlsChain: str | None = None,
    accessLogFormat: str = "combined",
    healthPath: str | None = None,
    workers: str = "1",
    shutdownTimeout: str = str(DEFAULT_SHUTDOWN_TIMEOUT),
    preload: PreloadSettings | None = None,
    headerTimeout: str | None = None,
    idleTimeout: str | None = None,
) -> Config:
    """
    Check the options and build the L{Config}.

    With no ports, listen on L{DEFAULT_PORT}: with the C{--tls-cert}
    certificate if given, else with a development certificate generated
    once into the state folder and reused.  HSTS is then off unless asked
    for: it would bind C{localhost} on every port to HTTPS in the
    developer's browser for the whole max-age.

    @raise ConfigError: with a sentence saying what is wrong and what to do.
    """
    site = checkSiteDir(siteDir)
    devCertificate = None
    tlsFiles = _tlsFiles(tlsCert, tlsKey, tlsChain)
    if ports or tlsFiles is not None:
        listen = tuple(parseListen(p) for p in ports or [DEFAULT_PLAIN_PORT])
        if tlsFiles is not None:
            listen = wrapInTLS(listen, tlsFiles)
    else:
        keyPath, certPath, _ = ensureDevCertificate(stateDirectory(environ), utcNow())
        devCertificate = str(certPath)
        listen = (
            parseListen(
                f"{DEFAULT_PORT}:privateKey={escape(str(keyPath))}"
                f":certKey={escape(str(certPath))}"
            ),
        )
    if hstsMaxAge is not None:
        hsts = _parseNumber(hstsMaxAge, "--hsts-max-age", 2**31 - 1)
    else:
        hsts = 0 if devCertificate is not None else DEFAULT_HSTS_MAX_AGE
    if csp is not None:
        csp = csp.strip()
    if csp is not None and not csp:
        raise ConfigError(
            "--csp is empty; give a policy such as \"default-src 'self'\""
        )
    extraHeaders = tuple(parseHeaderOption(h) for h in headers)
    buildHeaderPolicy(hsts, csp, extraHeaders)  # checks the CSP value
    redirectSpecs, port = _redirects(redirect, redirectPort, listen)
    defaults = Limits()
    limits = Limits(
        maxFileSize=defaults.maxFileSize
        if memoryFileMax is None
        else parseSize(memoryFileMax, "--static-memory-file"),
        maxTotalSize=defaults.maxTotalSize
        if memoryTotalMax is None
        else parseSize(memoryTotalMax, "--static-memory"),
    )
    if accessLogFormat not in FORMATS:
        raise ConfigError(
            f"--access-log-format {accessLogFormat!r} is not one of "
            f"{', '.join(sorted(FORMATS))}"
        )
    if healthPath is not None and (
        not healthPath.startswith("/") or healthPath.startswith("/static/")
    ):
        raise ConfigError(
            f"--health-path {healthPath!r} must be an absolute path outside "
            f"/static/, e.g. /healthz"
        )
    return Config(
        workers=parseWorkers(workers),
        siteDir=site,
        listen=listen,
        accessLog=_checkAccessLog(accessLog),
        devCertificate=devCertificate,
        hstsMaxAge=hsts,
        csp=csp,
        extraHeaders=extraHeaders,
        redirect=redirectSpecs,
        redirectPort=port,
        staticLimits=limits,
        compressionCache=str(
            stateDirectory(environ)
            / "compressed"
            / hashlib.sha256(site.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        ),
        accessLogFormat=accessLogFormat,
        healthPath=healthPath,
        shutdownTimeout=parseShutdownTimeout(shutdownTimeout),
        preload=preload if preload is not None else PreloadSettings(),
        connectionLimits=_connectionLimits(headerTimeout, idleTimeout),
    )
