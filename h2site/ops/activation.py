# -*- test-case-name: tests.unit.ops.test_activation -*-
"""
The sockets systemd passed (socket activation), as h2site needs to see
them beyond what Twisted's C{systemd:} endpoint does: a socket unit with
C{ListenStream=443} and C{ListenDatagram=443} passes a TCP and a UDP socket
under one C{FileDescriptorName}, and the UDP one is for HTTP/3.

Twisted looks a C{name=} up in a dict, which keeps the last socket of that
name, so it may hand the UDP socket to a stream endpoint
(L{adoptedStream} puts that right); and it reads C{LISTEN_FDS} and
C{LISTEN_PID} once, removing them, so the list here is rebuilt from
C{LISTEN_FDNAMES} (which it leaves) and the descriptors themselves.  That
is only sound once Twisted accepted the environment as this process's:
call L{passedSockets} after a C{systemd:} endpoint was parsed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.interfaces import IStreamServerEndpoint

from h2site.errors import StartupError
from h2site.tls.endpoints import splitDescription

__all__ = ["PassedSocket", "adoptedStream", "datagramFor", "passedSockets"]

#: The first descriptor systemd passes (C{SD_LISTEN_FDS_START}).
_FIRST_FD = 3


@dataclass(frozen=True)
class PassedSocket:
    """
    One socket systemd passed.

    @ivar fd: its descriptor in this process.
    @ivar name: its C{FileDescriptorName}.
    @ivar type: C{SOCK_STREAM}, C{SOCK_DGRAM}, ...
    @ivar address: its local address (C{getsockname}).
    """

    fd: int
    name: str
    type: socket.SocketKind
    family: socket.AddressFamily
    address: Any

    def where(self) -> str:
        """
        Its address as a sentence names it: C{[::]:443}, C{127.0.0.1:443}.
        """
        if self.family == socket.AF_INET6:
            return f"[{self.address[0]}]:{self.address[1]}"
        if self.family == socket.AF_INET:
            return f"{self.address[0]}:{self.address[1]}"
        return str(self.address)


def passedSockets(
    environ: Mapping[str, str], start: int = _FIRST_FD
) -> tuple[PassedSocket, ...]:
    """
    The sockets systemd passed, in order, with their names; descriptors
    that are not sockets are left out.

    @param start: the first descriptor (systemd's is 3; tests choose).
    """
    names = environ.get("LISTEN_FDNAMES", "")
    passed = []
    for offset, name in enumerate(names.split(":") if names else ()):
        fd = start + offset
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            passed.append(
                PassedSocket(fd, name, sock.type, sock.family, sock.getsockname())
            )
        except OSError:
            pass
        finally:
            sock.detach()
    return tuple(passed)


def adoptedStream(
    description: str,
    endpoint: IStreamServerEndpoint,
    passed: Sequence[PassedSocket],
    reactor: Any,
) -> IStreamServerEndpoint:
    """
    The endpoint of a C{systemd:} listener, on its stream socket: Twisted's
    own, unless it chose a datagram socket of the same name, then the
    (last, as Twisted would) stream socket of that name.

    @param description: the C{--port} value, for messages.
    @raise StartupError: if no stream socket has that name, or C{index=}
        points at a socket that is not one.
    """
    fd = getattr(endpoint, "fileno", None)
    chosen = next((s for s in passed if s.fd == fd), None)
    if chosen is None or chosen.type == socket.SOCK_STREAM:
        return endpoint
    streams = [s for s in passed if s.name == chosen.name]
    streams = [s for s in streams if s.type == socket.SOCK_STREAM]
    named = "name" in splitDescription(description)[1]
    if not streams or not named:
        raise StartupError(
            f"--port {description!r}: the socket systemd passed "
            f"({chosen.name}, {chosen.where()}) is not a stream (TCP) socket; "
            f"name a ListenStream= socket"
        )
    stream = streams[-1]
    return AdoptedStreamServerEndpoint(reactor, stream.fd, stream.family)


def datagramFor(
    passed: Iterable[PassedSocket], host: str, port: int
) -> PassedSocket | None:
    """
    The datagram socket systemd passed that is bound where a stream socket
    is (C{host}, C{port}, as Twisted's C{getHost} gives them): the
    C{ListenDatagram=} beside a C{ListenStream=} of the same value.
    """
    for sock in passed:
        if sock.type != socket.SOCK_DGRAM or sock.family not in (
            socket.AF_INET,
            socket.AF_INET6,
        ):
            continue
        if sock.address[1] == port and _sameHost(sock.address[0], host):
            return sock
    return None


def _sameHost(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b
