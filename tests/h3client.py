"""
A minimal HTTP/3 client for the tests, on aioquic's asyncio client API:
one QUIC connection, requests on it in parallel, each answer with its
informational (1xx) responses, run to completion from synchronous tests.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent

__all__ = ["H3Response", "fetch"]


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
