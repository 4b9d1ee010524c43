# -*- test-case-name: tests.unit.test_tap -*-
"""
The assembly: a server built from a L{h2site.config.Config}, in one place,
so the command line (L{h2site.tap}) and each worker process
(L{h2site.worker}) serve exactly the same way.

It only wires what the other packages provide: the site builder (file
store and resource tree, again on each reload), the L{H2Site} with its
header policy, the listening, control and redirect services, and with
C{--workers} the supervisor.  It is also where start-up steps that write
happen (the development certificate), so that reading the options never
does.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.web import http
from twisted.web.resource import Resource

from h2site.acme.service import AcmeService
from h2site.acme.state import ensureCertificate
from h2site.config import Config, checkSiteDir
from h2site.errors import ConfigError, StartupError
from h2site.files.store import FileStore, MemoryLimits
from h2site.files.workers import ProcessWorkers, cores
from h2site.ops.accesslog import AccessLog
from h2site.ops.activation import PassedSocket, adoptedStream, passedSockets
from h2site.ops.allocator import keepLargeBuffers
from h2site.ops.control import ControlService
from h2site.ops.dev import DevService
from h2site.ops.listening import ListeningService
from h2site.ops.redirecting import RedirectService, configuredPort
from h2site.ops.sdnotify import Notifier
from h2site.ops.supervisor import STOP_MARGIN, STOP_TIMEOUT, WorkerSupervisor
from h2site.sites.check import listBroken
from h2site.sites.kinds import STATIC, siteKind
from h2site.tls.context import ChallengeCertificates, KeyAndChain, utcNow
from h2site.tls.devcert import devCertificatePaths, ensureDevCertificate
from h2site.tls.endpoints import ListenSpec, TLSFiles, withTLS
from h2site.tls.localca import localCAPaths
from h2site.web.build import SiteSettings, checkSite, siteBuilder
from h2site.web.headers import HeaderPolicy, buildHeaderPolicy
from h2site.web.livereload import HEARTBEAT, DevRoot, LiveReload
from h2site.web.redirect import RedirectResource
from h2site.web.root import buildResource
from h2site.web.site import H2Site

__all__ = ["acmeSpecs", "buildServer", "listenSpecs", "makeService", "runCheck"]

_log = Logger(namespace="h2site.server")


def listenSpecs(config: Config, create: bool = True) -> tuple[ListenSpec, ...]:
    """
    Where to listen: the configured listeners, in order, those that serve
    the development certificate (L{h2site.config.DevCertificate}) with its
    key and certificate.

    @param create: create the certificate, or renew it when it is near its
        end, first: what the process that listens does at start-up.  Worker
        processes pass C{False}: they use the files their supervisor made,
        and never write them.
    @raise StartupError: if the certificate cannot be written or read.
    """
    if config.acme.enabled:
        return acmeSpecs(config, create)
    dev = config.devCertificate
    if dev is None:
        return config.listen
    directory = Path(dev.directory)
    try:
        if create:
            key, cert, _ = ensureDevCertificate(directory, utcNow())
            _log.info(
                "development certificate issued by h2site's local CA {ca}; to "
                "have this machine's browsers trust it, run once: "
                "twistd h2site --trust-local-ca",
                ca=str(localCAPaths(directory)[1]),
            )
        else:
            key, cert = devCertificatePaths(directory)
        files = TLSFiles(str(key), str(cert))
        return tuple(
            withTLS(spec, files) if spec.devCertificate else spec
            for spec in config.listen
        )
    except ConfigError as e:
        raise StartupError(str(e)) from None


def acmeSpecs(config: Config, create: bool = True) -> tuple[ListenSpec, ...]:
    """
    The listeners of L{listenSpecs} with ACME on: those with C{acme} set
    serve the certificate file in the state folder, which the ACME service
    replaces; until the CA issues one, a temporary self-signed one.

    @param create: write the temporary certificate if there is no usable
        one (the process that listens does; workers only read).
    @raise StartupError: if the state folder cannot be written, or the
        file read.
    """
    settings = config.acme
    path = str(settings.certificatePath)
    try:
        if create:
            why = ensureCertificate(settings, utcNow())
            if why is not None:
                _log.warn(
                    "serving a temporary self-signed certificate for {domains} "
                    "until the ACME CA issues one: {why}",
                    domains=", ".join(settings.domains),
                    why=why,
                )
        files = TLSFiles(path, path)
        return tuple(
            withTLS(spec, files) if spec.acme else spec for spec in config.listen
        )
    except ConfigError as e:
        raise StartupError(str(e)) from None


def _endpoint(spec: ListenSpec) -> IStreamServerEndpoint:
    """
    The endpoint Twisted listens on for C{spec} (TLS and PROXY are h2site's
    own layers, put around it when listening); for C{systemd:}, on the
    stream socket of that name, though a datagram one (for HTTP/3) has the
    same (L{adoptedStream}).

    @raise StartupError: if Twisted does not know the endpoint, or systemd
        passed no stream socket of that name.
    """
    from twisted.internet import reactor

    try:
        endpoint: IStreamServerEndpoint = serverFromString(reactor, spec.plain)
    except (IndexError, KeyError):
        if spec.kind != "systemd":
            raise
        raise StartupError(
            f"--port {spec.description!r}: systemd passed no such socket; "
            f"systemd: endpoints work only under socket activation, which sets "
            f"LISTEN_FDS and LISTEN_FDNAMES for this process"
        ) from None
    except Exception as e:
        raise StartupError(
            f"--port {spec.description!r} is not an endpoint Twisted knows: {e}"
        ) from None
    if spec.kind == "systemd":
        passed = passedSockets(os.environ)
        endpoint = adoptedStream(spec.description, endpoint, passed, reactor)
    return endpoint


def _passedSockets(specs: Sequence[ListenSpec]) -> tuple[PassedSocket, ...]:
    """
    The sockets systemd passed, once a C{systemd:} endpoint among C{specs}
    was parsed (so Twisted found the environment to be this process's);
    none otherwise.
    """
    if any(spec.kind == "systemd" for spec in specs):
        return passedSockets(os.environ)
    return ()


def _siteSettings(config: Config) -> SiteSettings:
    return SiteSettings(
        siteDir=config.siteDir,
        preload=config.preload,
        memory=config.staticLimits,
        followSymlinks=config.followSymlinks,
        cacheFolder=config.compressionCache,
    )


def _siteBuilder(
    config: Config, reactor: Any, live: LiveReload | None = None
) -> Callable[[], Resource]:
    """
    What builds the site (L{h2site.web.build.siteBuilder}), with this
    process's share of the cores for the work after serving starts; in
    development mode (C{live}), all in the build, with no worker processes.
    """
    workers = None
    if live is None:
        workers = ProcessWorkers(reactor, processes=max(1, cores() // config.workers))
    return siteBuilder(
        _siteSettings(config),
        reactor,
        lambda: checkSiteDir(config.siteDir),
        workers,
        liveReload=live,
    )


def _devService(
    config: Config,
    site: H2Site,
    build: Callable[[], Resource],
    live: LiveReload,
    reactor: Any,
) -> DevService:
    """
    C{--dev}: what watches the site and serves each change
    (L{h2site.ops.dev}), after saying which pages the first build could
    not render.
    """
    root = site.resource
    if isinstance(root, DevRoot) and root.errors:
        _log.error(
            "served as error pages until fixed: {errors}",
            errors=" | ".join(root.errors),
        )
    log = config.accessLog
    return DevService(
        siteDir=config.siteDir,
        site=site,
        build=build,
        live=live,
        reactor=reactor,
        ignorePaths=[log] if log is not None and log != "-" else [],
    )


def runCheck(config: Config, reactor: Any, out: TextIO) -> int:
    """
    C{--check}: report on the site instead of serving it.

    @return: the exit status: 0 if nothing was found, else 1.
    @raise StartupError: if a template fails to render.
    """
    try:
        report = checkSite(_siteSettings(config), reactor)
    except ConfigError as e:
        raise StartupError(str(e)) from None
    print(report.kind, file=out)
    for link in report.refused:
        print(f"refused symlink: {link.name} -> {link.target}", file=out)
    for line in listBroken(report.broken):
        print(f"broken reference: {line}", file=out)
    count = sum(len(urls) for urls in report.broken.values())
    print(
        f"{len(report.refused)} symlinks refused, {count} broken references "
        f"in {len(report.broken)} files",
        file=out,
    )
    return 0 if report.clean else 1


def _headerPolicy(config: Config) -> HeaderPolicy:
    """
    The headers of every response, the same on serving and redirect
    listeners.
    """
    return buildHeaderPolicy(config.hstsMaxAge, config.csp, config.extraHeaders)


def buildServer(
    config: Config,
    listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
    notifier: Notifier,
    reactor: Any,
    redirects: Sequence[tuple[ListenSpec, IStreamServerEndpoint]] = (),
    challenges: MutableMapping[str, str] | None = None,
    alpn: ChallengeCertificates | None = None,
    passed: Sequence[PassedSocket] = (),
) -> service.MultiService:
    """
    The serving part of h2site: render the site, build the C{Site}, listen
    on C{listen}, and take reload and log signals.  Used by L{makeService}
    in a single process, and by each worker process under C{--workers}
    (with the sockets it inherited as C{listen}).

    @param listen: the listeners with their endpoints, in order.
    @param redirects: plain-HTTP listeners to redirect to HTTPS from this
        process (none in workers: the supervisor answers those).
    @param challenges: the ACME HTTP-01 answers those listeners give.
    @param alpn: the ACME TLS-ALPN-01 certificates the TLS listeners give.
    @param passed: the sockets systemd passed (UDP ones serve HTTP/3).
    @raise StartupError: if a template fails to render (not with C{--dev},
        which serves an error page in its place).
    """
    keepLargeBuffers(os.environ)
    live = None
    if config.dev:
        # A heartbeat within half the idle timeout keeps open pages'
        # event streams from being closed as idle.
        idle = config.connectionLimits.idleTimeout
        live = LiveReload(reactor, min(HEARTBEAT, idle / 2))
    build = _siteBuilder(config, reactor, live)
    try:
        root = build()
    except ConfigError as e:
        raise StartupError(str(e)) from None
    accessLog = AccessLog(config.accessLog, config.accessLogFormat, reactor)
    headers = _headerPolicy(config)
    site = H2Site(
        root,
        accessLog.write,
        config.healthPath,
        headers,
        limits=config.connectionLimits,
    )
    listening = ListeningService(
        listen,
        site,
        accessLog,
        config.shutdownTimeout,
        challenges=alpn,
        http3=config.http3,
        limits=config.connectionLimits,
        passed=passed,
    )
    control = ControlService(
        site=site,
        build=build,
        tls=listening.tls,
        accessLog=accessLog,
        notifier=notifier,
        reactor=reactor,
    )
    control.setName("control")
    top = service.MultiService()
    # Control first: it takes the signals before anything listens.
    control.setServiceParent(top)
    listening.setServiceParent(top)
    if redirects:
        _redirectService(
            config,
            [spec for spec, _ in listen],
            redirects,
            accessLog,
            listening.httpsPort,
            challenges=challenges,
        ).setServiceParent(top)
    if live is not None:
        # Last, so stopped first: its event streams end before the
        # listeners wait for open responses.
        _devService(config, site, build, live, reactor).setServiceParent(top)
    return top


def _redirectService(
    config: Config,
    listen: Sequence[ListenSpec],
    redirects: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
    accessLog: AccessLog,
    listeningPort: Callable[[], int | None],
    ownLog: bool = False,
    challenges: MutableMapping[str, str] | None = None,
) -> RedirectService:
    """
    The C{--redirect} listeners, sending clients to C{--redirect-port}, else
    the port the first TLS listener got, else the one it was given, else
    443 (a Unix socket behind a proxy).

    @param listen: where the HTTPS listeners are (L{listenSpecs}).
    @param listeningPort: the port the first TLS listener got, once it
        listens.
    @param ownLog: open and close C{accessLog} with this service (when no
        serving service in this process does).
    @param challenges: the ACME HTTP-01 answers to give, if any.
    """
    configured = next(
        (configuredPort(spec) for spec in listen if spec.tls is not None), None
    )

    def httpsPort() -> int:
        return config.redirectPort or listeningPort() or configured or 443

    site = H2Site(
        RedirectResource(httpsPort, challenges),
        accessLog.write,
        config.healthPath,
        _headerPolicy(config),
        limits=config.connectionLimits,
    )
    return RedirectService(redirects, site, accessLog if ownLog else None)


def _checkTemplates(config: Config, reactor: Any) -> None:
    """
    Render a template site's pages, for their errors only.

    @raise ConfigError: if a template fails to render.
    """
    buildResource(
        config.siteDir,
        reactor,
        FileStore(
            os.path.join(config.siteDir, STATIC),
            MemoryLimits(maxFileSize=0, maxTotalSize=0),
            time.monotonic,
            deferToThread,
        ),
        config.preload,
    )


def _checkWorkerDatagrams(config: Config, passed: Sequence[PassedSocket]) -> None:
    """
    Under C{--workers}, each worker binds its own UDP socket for HTTP/3;
    one that systemd holds on the same port would take datagrams no
    worker reads, so h2site refuses to start rather than lose them.

    @raise StartupError: with C{--http3}, if systemd passed a UDP socket.
    """
    datagrams = [s for s in passed if s.type == socket.SOCK_DGRAM]
    if not datagrams:
        return
    where = ", ".join(s.where() for s in datagrams)
    if config.http3:
        raise StartupError(
            f"--workers {config.workers} with --http3 cannot serve the UDP "
            f"socket systemd passed on {where} (each worker binds its own); "
            f"remove its ListenDatagram= or run one process"
        )
    _log.warn(
        "systemd passed a UDP socket on {where}, which h2site does not use: "
        "--http3 is off",
        where=where,
    )


def makeService(config: Config, argv: Sequence[str]) -> service.IService:
    """
    Build h2site's service: one serving process, or with C{--workers N} a
    supervisor that listens and runs N serving processes.  Nothing listens
    yet; the development certificate, if used, is created (once, then
    reused) before this returns.

    @param argv: the command line's h2site options, which workers are
        started with.

    @raise StartupError: if HTTP/2 support is missing, the development
        certificate cannot be written, a template fails to render, or an
        endpoint string cannot be parsed.
    """
    if not http.H2_ENABLED:
        raise StartupError(
            "HTTP/2 support is missing (the h2 package); "
            "install it with: pip install 'twisted[http2]'"
        )
    from twisted.internet import reactor

    if config.check:
        raise SystemExit(runCheck(config, reactor, sys.stdout))
    # Here, not in buildConfig: workers build the configuration again.
    for warning in config.warnings:
        _log.warn("{line}", line=warning)
    specs = listenSpecs(config)
    listen = [(spec, _endpoint(spec)) for spec in specs]
    redirects = [(spec, _endpoint(spec)) for spec in config.redirect]
    passed = _passedSockets([*specs, *config.redirect])
    answers: dict[str, str] = {}
    alpn: dict[str, KeyAndChain] = {}
    if config.workers == 1:
        top = buildServer(
            config,
            listen,
            Notifier(os.environ),
            reactor,
            redirects,
            answers,
            alpn,
            passed,
        )
        if config.acme.enabled:
            control: Any = top.getServiceNamed("control")
            acme = AcmeService(
                config.acme, answers, control.checkCertificates, reactor, alpn
            )
            acme.setServiceParent(top)
        return top
    _checkWorkerDatagrams(config, passed)
    try:
        # Fail now, in one line, rather than in every worker.  Nothing is
        # kept in memory (so nothing is compressed): only the templates and
        # the fingerprints static_url() needs are checked.  A plain site
        # has nothing to check beyond --site.
        if not siteKind(config.siteDir).isPlain:
            _checkTemplates(config, reactor)
    except ConfigError as e:
        raise StartupError(str(e)) from None
    supervisor = WorkerSupervisor(
        count=config.workers,
        argv=argv,
        listen=listen,
        notifier=Notifier(os.environ),
        reactor=reactor,
        stopTimeout=max(STOP_TIMEOUT, config.shutdownTimeout + STOP_MARGIN),
    )
    if not redirects:
        return supervisor
    # Redirects are cheap: the supervisor answers them itself, and is the
    # one process that talks to the ACME CA; the workers take up the new
    # certificate through their own watch of its file.
    top = service.MultiService()
    supervisor.setServiceParent(top)
    accessLog = AccessLog(config.accessLog, config.accessLogFormat, reactor)
    redirect = _redirectService(
        config,
        specs,
        redirects,
        accessLog,
        supervisor.httpsPort,
        ownLog=True,
        challenges=answers,
    )
    redirect.setServiceParent(top)
    if config.acme.enabled:
        AcmeService(config.acme, answers, lambda: None, reactor).setServiceParent(top)
    return top
