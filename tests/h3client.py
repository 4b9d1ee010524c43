"""
Minimal HTTP/3 clients for the tests: L{fetch}, on aioquic's asyncio
client API (one QUIC connection, requests on it in parallel, each answer
with its informational (1xx) responses, run to completion from synchronous
tests), and L{SocketClient}, a connection stepped by hand that can
misbehave.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, QuicEvent

__all__ = ["H3Response", "SocketClient", "fetch"]


@dataclass
class H3Response:
    """
    One answer: its informational responses' fields, then the final one.
    """

    informational: list[list[tuple[bytes, bytes]]] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    @property
    def status(self) -> int:
        return int(self.header(b":status") or 0)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class _Client(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.responses: dict[int, H3Response] = {}
        self.done: dict[int, asyncio.Future[H3Response]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3event in self.h3.handle_event(event):
            if isinstance(h3event, HeadersReceived | DataReceived):
                response = self.responses.get(h3event.stream_id)
                if response is None:
                    continue
                if isinstance(h3event, HeadersReceived):
                    status = dict(h3event.headers).get(b":status", b"")
                    if status.startswith(b"1"):
                        response.informational.append(list(h3event.headers))
                    else:
                        response.headers = list(h3event.headers)
                else:
                    response.body += h3event.data
                if h3event.stream_ended:
                    future = self.done.pop(h3event.stream_id)
                    if not future.done():
                        future.set_result(response)

    async def get(
        self, authority: str, path: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> H3Response:
        streamID = self._quic.get_next_available_stream_id()
        self.responses[streamID] = H3Response()
        future: asyncio.Future[H3Response] = asyncio.get_running_loop().create_future()
        self.done[streamID] = future
        fields = [
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", path.encode()),
            *headers,
        ]
        self.h3.send_headers(streamID, fields, end_stream=True)
        self.transmit()
        return await future


async def _fetch(
    host: str,
    port: int,
    paths: Sequence[str],
    caFile: str,
    headers: Sequence[tuple[bytes, bytes]],
    timeout: float,
) -> list[H3Response]:
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=H3_ALPN,
        server_name="localhost",
        verify_mode=ssl.CERT_REQUIRED,
    )
    configuration.load_verify_locations(caFile)
    async with connect(
        host, port, configuration=configuration, create_protocol=_Client
    ) as client:
        assert isinstance(client, _Client)
        authority = f"localhost:{port}"
        gets = [client.get(authority, path, headers) for path in paths]
        return list(await asyncio.wait_for(asyncio.gather(*gets), timeout))


def fetch(
    port: int,
    paths: Sequence[str],
    caFile: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    host: str = "127.0.0.1",
    timeout: float = 20.0,
) -> list[H3Response]:
    """
    GET each of C{paths} over one HTTP/3 connection to C{host:port}, which
    must present a certificate for C{localhost} that C{caFile} signed.
    """
    return asyncio.run(_fetch(host, port, paths, caFile, headers, timeout))


class SocketClient:
    """
    An aioquic HTTP/3 connection driven by hand over a UDP socket, from a
    synchronous test: it can misbehave (open more streams than allowed,
    read nothing) in ways the asyncio client does not let one.

    @ivar terminated: the connection's end, once it has come.
    @ivar terminatedAt: when it came (C{time.monotonic()}).
    """

    def __init__(
        self,
        port: int,
        caFile: str,
        reads: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        """
        @param reads: if L{False}, the client never opens its flow-control
            windows past a few KiB, as one that reads nothing, yet
            acknowledges every packet (and so keeps QUIC's idle timeout at
            bay).
        """
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=H3_ALPN,
            server_name="localhost",
            verify_mode=ssl.CERT_REQUIRED,
        )
        configuration.load_verify_locations(caFile)
        if not reads:
            configuration.max_data = 64 * 1024
            configuration.max_stream_data = 1024
        self.quic = QuicConnection(configuration=configuration)
        if not reads:
            self.quic._write_connection_limits = _nothing  # type: ignore[method-assign]
            self.quic._write_stream_limits = _nothing  # type: ignore[method-assign]
        self.h3 = H3Connection(self.quic)
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind((host, 0))
        self.received = 0
        self.statuses: dict[int, bytes] = {}
        self.ended: set[int] = set()
        self.terminated: ConnectionTerminated | None = None
        self.terminatedAt: float | None = None
        self.quic.connect(self.server, now=time.monotonic())
        self.transmit()

    def close(self) -> None:
        self.sock.close()

    def transmit(self) -> None:
        for data, addr in self.quic.datagrams_to_send(time.monotonic()):
            with contextlib.suppress(BlockingIOError):
                self.sock.sendto(data, addr)

    def step(self, timeout: float = 0.05) -> None:
        """
        Wait up to C{timeout} seconds for datagrams, handle them and the
        timers, and send what the connection has to send.
        """
        timer = self.quic.get_timer()
        if timer is not None:
            timeout = max(0.0, min(timeout, timer - time.monotonic()))
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if readable:
            while True:
                try:
                    data, addr = self.sock.recvfrom(65536)
                except BlockingIOError:
                    break
                self.quic.receive_datagram(data, addr, time.monotonic())
        timer = self.quic.get_timer()
        if timer is not None and timer <= time.monotonic():
            self.quic.handle_timer(time.monotonic())
        event = self.quic.next_event()
        while event is not None:
            if isinstance(event, ConnectionTerminated) and self.terminated is None:
                self.terminated = event
                self.terminatedAt = time.monotonic()
            for h3event in self.h3.handle_event(event):
                if isinstance(h3event, HeadersReceived):
                    status = dict(h3event.headers).get(b":status", b"")
                    if not status.startswith(b"1"):
                        self.statuses[h3event.stream_id] = status
                elif isinstance(h3event, DataReceived):
                    self.received += len(h3event.data)
                if isinstance(h3event, HeadersReceived | DataReceived) and (
                    h3event.stream_ended
                ):
                    self.ended.add(h3event.stream_id)
            event = self.quic.next_event()
        self.transmit()

    def connected(self, timeout: float = 10.0) -> None:
        """
        Step until the handshake is complete.
        """
        deadline = time.monotonic() + timeout
        while self.quic._handshake_complete is False:
            if self.terminated is not None or time.monotonic() > deadline:
                raise AssertionError(f"no handshake: {self.terminated}")
            self.step()

    def get(self, path: str, streamID: int | None = None) -> int:
        """
        Send a GET for C{path} (on C{streamID}, whether the server allows it
        or not), and return its stream.
        """
        if streamID is None:
            streamID = self.quic.get_next_available_stream_id()
        fields = [
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", b"localhost:%d" % (self.server[1],)),
            (b":path", path.encode()),
        ]
        self.h3.send_headers(streamID, fields, end_stream=True)
        return streamID


def _nothing(*args: object, **kwargs: object) -> None:
    pass
