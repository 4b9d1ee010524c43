# -*- test-case-name: tests.test_tap -*-
"""
The configuration: one frozen value built from the command line, checked
completely before anything starts, and passed down explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .accesslog import FORMATS
from .devcert import ensureDevCertificate, stateDirectory
from .endpoints import ListenSpec, TLSFiles, escape, parseListen, wrapInTLS
from .errors import ConfigError
from .hints import PreloadSettings
from .tls import utcNow

__all__ = ["DEFAULT_PORT", "Config", "buildConfig", "checkSiteDir"]

#: With no --port: HTTPS on this machine only, with the development certificate.
DEFAULT_PORT = "ssl:port=8443:interface=127.0.0.1"
#: The same place, for when --tls-cert provides the certificate.
DEFAULT_PLAIN_PORT = "tcp:port=8443:interface=127.0.0.1"


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
    @ivar accessLogFormat: C{combined} or C{json}.
    @ivar healthPath: the path answering health checks, or L{None}.
    @ivar workers: how many serving processes.
    @ivar preload: what pages announce (C{Link} headers, 103 Early Hints).
    """

    siteDir: str
    listen: tuple[ListenSpec, ...]
    accessLog: str | None
    devCertificate: str | None = None
    accessLogFormat: str = "combined"
    healthPath: str | None = None
    workers: int = 1
    preload: PreloadSettings = field(default_factory=PreloadSettings)


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


def buildConfig(
    siteDir: str,
    ports: Sequence[str],
    accessLog: str | None,
    environ: Mapping[str, str],
    *,
    tlsCert: str | None = None,
    tlsKey: str | None = None,
    tlsChain: str | None = None,
    accessLogFormat: str = "combined",
    healthPath: str | None = None,
    workers: str = "1",
    preload: PreloadSettings | None = None,
) -> Config:
    """
    Check the options and build the L{Config}.

    With no ports, listen on L{DEFAULT_PORT}: with the C{--tls-cert}
    certificate if given, else with a development certificate generated
    once into the state folder and reused.

    @raise ConfigError: with a sentence saying what is wrong and what to do.
    """
    site = checkSiteDir(siteDir)
    devCertificate = None
    tlsFiles = _tlsFiles(tlsCert, tlsKey, tlsChain)
    if ports or tlsFiles is not None:
        listen = tuple(parseListen(p) for p in ports or [DEFAULT_PLAIN_PORT])
        if tlsFiles is not None:
            listen = wrapInTLS(listen, tlsFiles, tlsFiles.load())
    else:
        keyPath, certPath, _ = ensureDevCertificate(stateDirectory(environ), utcNow())
        devCertificate = str(certPath)
        listen = (
            parseListen(
                f"{DEFAULT_PORT}:privateKey={escape(str(keyPath))}"
                f":certKey={escape(str(certPath))}"
            ),
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
        accessLogFormat=accessLogFormat,
        healthPath=healthPath,
        preload=preload if preload is not None else PreloadSettings(),
    )
