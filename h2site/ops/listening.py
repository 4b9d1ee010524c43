# -*- test-case-name: tests.unit.ops.test_listening -*-
"""
The service that listens: it turns each endpoint into a listening port, with
TLS where asked, and turns every way listening can fail into one clear line.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Sequence
from typing import Any

from twisted.application import service
from twisted.internet.address import IPv6Address
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    ILoggingContext,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.protocols.haproxy import proxyEndpoint
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure

from h2site.errors import StartupError
from h2site.http.h3.listener import H3Listener, altSvcValue, quicConfiguration
from h2site.http.limits import ConnectionLimits
from h2site.ops.accesslog import AccessLog
from h2site.ops.activation import PassedSocket, datagramFor
from h2site.tls.context import (
    ChallengeCertificates,
    ReloadableTLS,
    fingerprint,
    isExpired,
    utcNow,
)
from h2site.tls.endpoints import ListenSpec
from h2site.web.site import H2Site

__all__ = ["ListeningService", "announce", "describeListenError", "listenNow"]

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
    drops privileges, so port 443 works when started as root); when the
    service stops, stop listening, then let open connections finish what
    they are sending for up to C{shutdownTimeout} seconds.
    """

    def __init__(
        self,
        listen: Sequence[tuple[ListenSpec, IStreamServerEndpoint]],
        site: H2Site,
        accessLog: AccessLog,
        shutdownTimeout: float = 10.0,
        challenges: ChallengeCertificates | None = None,
        http3: bool = False,
        limits: ConnectionLimits | None = None,
        passed: Sequence[PassedSocket] = (),
    ) -> None:
        """
        @param challenges: TLS-ALPN-01 certificates the ACME service puts
            here while a CA validates, answered on the listeners that
            serve its certificate (L{ListenSpec.acme}).
        @param http3: also serve HTTP/3 on the UDP port of each TLS
            listener (L{_listenHTTP3}).
        @param limits: the limits of HTTP/3 connections.
        @param passed: the sockets systemd passed
            (L{h2site.ops.activation.passedSockets}), among which a
            C{systemd:} TLS listener finds its UDP one.
        """
        self._http3 = http3
        #: Whether systemd passed sockets to this process (a worker of
        #: C{--workers} gets its own, from the supervisor).
        self._activated = bool(passed)
        self._datagrams = [s for s in passed if s.type == socket.SOCK_DGRAM]
        self._limits = limits or ConnectionLimits()
        self._h3: list[tuple[H3Listener, Any]] = []
        self._listen = listen
        self._challenges = challenges
        self._site = site
        self._accessLog = accessLog
        self._shutdownTimeout = shutdownTimeout
        self._ports: list[IListeningPort] = []
        #: The TLS settings of each TLS listener, which a reload replaces.
        self.tls: list[tuple[ListenSpec, ReloadableTLS]] = []

    def httpsPort(self) -> int | None:
        """
        The port the first TLS listener got (the kernel's choice for port
        0), or L{None} if there is none or it has no port (a Unix socket).
        """
        for (spec, _), port in zip(self._listen, self._ports, strict=False):
            if spec.tls is not None:
                return getattr(port.getHost(), "port", None)
        return None

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        try:
            self._accessLog.open()
        except OSError as e:
            raise StartupError(f"cannot open the access log: {e}") from None
        for spec, endpoint in self._listen:
            self._ports.append(self._listenOn(spec, endpoint))
        for unused in self._datagrams:
            why = (
                "--http3 is off"
                if not self._http3
                else "no systemd: TLS listener has its address and port"
            )
            _log.warn(
                "systemd passed a UDP socket on {where} ({name}), which h2site "
                "does not use: {why}",
                where=unused.where(),
                name=unused.name,
                why=why,
            )

    def _listenOn(
        self, spec: ListenSpec, endpoint: IStreamServerEndpoint
    ) -> IListeningPort:
        factory = self._site
        if spec.tls is not None:
            challenges = self._challenges if spec.acme else None
            creator = ReloadableTLS(spec.tls, challenges)
            self.tls.append((spec, creator))
            factory = TLSMemoryBIOFactory(  # type: ignore[assignment]
                creator, False, self._site
            )
            factory.noisy = False
        port = listenNow(spec, endpoint, factory, quiet=True)
        quic = None
        if spec.tls is not None and self._http3:
            quic = self._listenHTTP3(spec, creator, port.getHost())
        announce(spec, port.getHost(), quic=quic)
        return port

    def _listenHTTP3(
        self, spec: ListenSpec, creator: ReloadableTLS, address: IAddress
    ) -> int | None:
        """
        Serve HTTP/3 on the UDP port of the TCP one that C{address} names,
        with the certificate C{creator} holds (read for each new
        connection, so a reload's serves the next).

        A C{systemd:} listener takes the UDP socket systemd passed on the
        same address and port (C{ListenDatagram=}); without one, h2site
        binds it itself, as for any listener, and says so: C{--http3} asks
        for HTTP/3 on every TLS listener, and a listener quietly without it
        would be harder to notice than a start-up that fails for want of
        the port.

        A socket h2site binds has C{SO_REUSEPORT}: under C{--workers} each
        worker binds its own, and the kernel spreads datagrams among them
        by address, so a client whose address changes mid-connection may
        reach a worker that does not know it (its connection then starts
        over).

        @return: the UDP port, or L{None} for a listener without one (a
            Unix socket).
        """
        host = getattr(address, "host", None)
        portNumber = getattr(address, "port", None)
        if host is None or portNumber is None:
            return None
        limits = self._limits

        def configuration() -> Any:
            material = creator.material
            return quicConfiguration(
                material.certificate, material.chain, material.key, limits
            )

        # A real reactor: it listens on sockets, not only keeps time.
        reactor: Any = self._site.reactor
        listener = H3Listener(self._site, configuration, limits, reactor)
        passed = None
        systemd = spec.kind == "systemd" and self._activated
        if systemd:
            passed = datagramFor(self._datagrams, host, portNumber)
            if passed is None:
                _log.warn(
                    "systemd passed no UDP socket on port {port} for --port "
                    "{description!r}, so h2site binds it for HTTP/3 itself; "
                    "add ListenDatagram={port} to the socket unit",
                    port=portNumber,
                    description=spec.description,
                )
        if passed is not None:
            self._datagrams.remove(passed)
            udp = self._adoptDatagram(passed, listener)
        else:
            udp = self._bindDatagram(spec, host, portNumber, listener, systemd)
        self._h3.append((listener, udp))
        self._site.altSvc = altSvcValue(portNumber)
        _log.info(
            "h2site serves HTTP/3 on UDP port {port} of {host}{origin}",
            port=portNumber,
            host=host,
            origin=" (socket from systemd)" if passed is not None else "",
        )
        return int(portNumber)

    def _adoptDatagram(self, passed: PassedSocket, listener: H3Listener) -> Any:
        """
        Serve C{listener} on the UDP socket systemd passed; Twisted takes a
        copy, so the descriptor is closed, as Twisted's C{systemd:} stream
        endpoint closes its own.

        @raise StartupError: if Twisted cannot adopt it.
        """
        reactor: Any = self._site.reactor
        try:
            os.set_blocking(passed.fd, False)
            return reactor.adoptDatagramPort(passed.fd, passed.family, listener, 65535)
        except OSError as e:
            raise StartupError(
                f"cannot serve HTTP/3 on the UDP socket systemd passed on "
                f"{passed.where()}: {e.strerror or e}"
            ) from None
        finally:
            os.close(passed.fd)

    def _bindDatagram(
        self,
        spec: ListenSpec,
        host: str,
        portNumber: int,
        listener: H3Listener,
        systemd: bool,
    ) -> Any:
        """
        Serve C{listener} on a UDP socket of h2site's own on C{host} and
        C{portNumber}.

        @param systemd: whether systemd passed this listener's TCP socket
            (so it could pass the UDP one too).
        @raise StartupError: if it cannot be bound.
        """
        reactor: Any = self._site.reactor
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, portNumber))
            sock.setblocking(False)
            return reactor.adoptDatagramPort(sock.fileno(), family, listener, 65535)
        except OSError as e:
            hint = "free the port or pass --no-http3"
            if systemd:
                hint = f"add ListenDatagram={portNumber} to the socket unit"
            raise StartupError(
                f"cannot listen for HTTP/3 on UDP port {portNumber} "
                f"(--port {spec.description!r}): {e.strerror or e}; {hint}"
            ) from None
        finally:
            sock.close()

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        ports, self._ports = self._ports, []
        d: Deferred[Any] = gatherResults(
            [maybeDeferred(p.stopListening) for p in ports]
        )

        def closeConnections(result: object) -> Deferred[object]:
            timeout = self._shutdownTimeout
            h3, self._h3 = self._h3, []
            closed = gatherResults(
                [self._site.closeConnections(timeout)]
                + [listener.shutdown(timeout) for listener, _ in h3]
            )
            closed.addBoth(
                lambda _: gatherResults(
                    [maybeDeferred(udp.stopListening) for _, udp in h3]
                )
            )
            return closed.addBoth(lambda _: result)

        d.addBoth(closeConnections)

        def closeLog(result: object) -> object:
            self._accessLog.close()
            return result

        d.addBoth(closeLog)
        return d


def listenNow(
    spec: ListenSpec,
    endpoint: IStreamServerEndpoint,
    factory: IProtocolFactory,
    note: str = "",
    quiet: bool = False,
) -> IListeningPort:
    """
    Listen on C{endpoint} at once (every stream endpoint Twisted ships
    listens synchronously) and log where (L{announce}), unless C{quiet}:
    then the caller does, once it knows all it serves there.

    Every listener, in a worker too, is opened here, so this is where a
    C{haproxy:} spec gets its PROXY layer back: outside C{factory} (and so
    outside TLS), because the balancer writes the header in clear before
    the client's first byte.  The transport's C{getPeer} then names the
    client the header gives, for HTTP/1.1 requests and HTTP/2 connections
    alike, since neither asks before the first bytes after the header.

    @raise StartupError: with one sentence saying why listening failed.
    """
    if spec.proxy:
        endpoint = proxyEndpoint(endpoint)
        factory = _CanonicalPeerFactory(factory)
    outcome: list[IListeningPort | Failure] = []
    d: Deferred[IListeningPort] = endpoint.listen(factory)
    d.addBoth(outcome.append)
    if not outcome:
        raise StartupError(f"--port {spec.description!r} did not listen at once")
    result = outcome[0]
    if isinstance(result, Failure):
        error = result.value or Exception(result.getErrorMessage())
        raise StartupError(describeListenError(spec.description, error))
    if not quiet:
        announce(spec, result.getHost(), note)
    return result


class _CanonicalPeer(ProtocolWrapper):
    """
    Between the PROXY layer and TLS: name an IPv6 client in its canonical
    form.  Twisted's PROXY v2 parser writes every group in full
    (C{2001:db8:0:0:0:0:0:8}), so without this the access log would name
    one client two ways, by the header version its balancer sends.
    """

    def getPeer(self) -> IAddress:
        address: IAddress = super().getPeer()
        if not isinstance(address, IPv6Address):
            return address
        try:
            host = str(ipaddress.ip_address(address.host))
        except ValueError:
            return address
        return IPv6Address(
            address.type, host, address.port, address.flowInfo, address.scopeID
        )

    def logPrefix(self) -> str:
        return _logPrefixOf(self.wrappedProtocol)


class _CanonicalPeerFactory(WrappingFactory):
    protocol = _CanonicalPeer
    noisy = False

    def logPrefix(self) -> str:
        return _logPrefixOf(self.wrappedFactory)


def _logPrefixOf(wrapped: object) -> str:
    """
    The log prefix of what a L{_CanonicalPeer} layer wraps, which that layer
    takes as its own: the PROXY layer around it already says "(PROXY)".
    """
    if ILoggingContext.providedBy(wrapped):
        return str(wrapped.logPrefix())
    return type(wrapped).__name__


def announce(
    spec: ListenSpec, address: object, note: str = "", quic: int | None = None
) -> None:
    """
    Log where h2site now listens, and with which certificate.

    @param quic: the UDP port it serves HTTP/3 on beside it, if any.
    """
    host = getattr(address, "host", None)
    if host is None:
        where = str(address)
    else:
        bracketed = f"[{host}]" if ":" in host else host
        scheme = "https" if spec.tls else "http"
        where = f"{scheme}://{bracketed}:{getattr(address, 'port', '')}/"
    protocols = "HTTP/2 and HTTP/1.1 over TLS" if spec.tls else "HTTP/1.1"
    if spec.tls and quic is not None:
        protocols = "HTTP/3, " + protocols
    if spec.proxy:
        protocols += " after a PROXY header"
    if spec.tls and quic is not None:
        protocols += f"; QUIC on UDP port {quic}"
    _log.info(
        "h2site listening on {where} ({protocols}{note})",
        where=where,
        protocols=protocols,
        note=f", {note}" if note else "",
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
