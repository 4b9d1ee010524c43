"""
A TCP and UDP relay that adds latency to everything, for the browser
benchmarks.

DevTools' latency emulation delays the requests a page makes, but not the
connection's set-up nor the preloads Chromium's browser process makes for a
103 Early Hints response, which then arrive at loopback speed.  Relayed
through L{LatencyRelay}, every byte each way waits half the round trip, as
on a real network: TLS handshakes, 103s and their preloads included.  With
C{udp=True} it relays UDP datagrams on the same port number too, each
delayed the same way, so that HTTP/3 (QUIC) and HTTP/2 pay the same round
trip, handshakes included.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any, cast

__all__ = ["LatencyRelay"]

_CHUNK = 1 << 16

#: How many times to look for a port free for both TCP and UDP.
_ATTEMPTS = 20


class LatencyRelay:
    """
    Relays connections to C{127.0.0.1:upstream} from a loopback port of its
    own, each chunk passed on C{roundTrip / 2} seconds after it came, in
    order, with no limit on the rate (as DevTools' emulation, with its
    throughput unlimited).  It runs its own event loop in a thread.

    A user-space relay cannot delay TCP's own handshake: the client's
    C{connect} completes at once.  With C{handshake}, what a client sends on
    a new connection is held one round trip from the moment it connected
    (then half a round trip more, as everything), as if it had waited for
    the SYN-ACK: connection set-up over TCP then costs what it costs on a
    network, which matters when comparing with QUIC.

    With C{udp}, datagrams sent to the same port number over UDP are
    relayed to UDP C{127.0.0.1:upstream} too, each C{roundTrip / 2} seconds
    late both ways: every client address gets its own upstream socket (so
    the answers find their way back), at most C{maxClients} of them, the
    least recently used dropped first, and any idle for C{idleTimeout}
    seconds.
    """

    def __init__(
        self,
        upstream: int,
        roundTrip: float,
        udp: bool = False,
        maxClients: int = 256,
        idleTimeout: float = 60.0,
        handshake: bool = False,
    ) -> None:
        self.upstream = upstream
        self.delay = roundTrip / 2
        self.port = 0
        self.udp = udp
        self.handshake = handshake
        #: How many TCP connections were relayed.
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._datagrams: _DatagramRelay | None = None
        self._maxClients = maxClients
        self._idleTimeout = idleTimeout
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> LatencyRelay:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(30)
        return self

    async def _listen(self) -> None:
        """
        Listen on a TCP port the kernel picks, and (with C{udp}) on the
        same UDP port, trying other ports when that one is taken for UDP.
        """
        for attempt in range(_ATTEMPTS):
            server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            if not self.udp:
                break
            try:
                self._datagrams = await self._bindUDP(port)
                break
            except OSError:
                server.close()
                await server.wait_closed()
                if attempt == _ATTEMPTS - 1:
                    raise
        self._server = server
        self.port = port

    async def _bindUDP(self, port: int) -> _DatagramRelay:
        relay = _DatagramRelay(
            self.upstream, self.delay, self._maxClients, self._idleTimeout
        )
        await self._loop.create_datagram_endpoint(
            lambda: relay, local_addr=("127.0.0.1", port)
        )
        return relay

    def datagrams(self) -> tuple[int, int]:
        """
        How many UDP datagrams were relayed so far: from clients, to them.
        """
        if self._datagrams is None:
            return 0, 0
        counts = self._datagrams.counts
        return counts["up"], counts["down"]

    def stop(self) -> None:
        """
        Stop listening, drop every relayed connection and datagram, end the
        thread.
        """

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            if self._datagrams is not None:
                self._datagrams.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _relay(
        self, clientReader: asyncio.StreamReader, clientWriter: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        self.connections += 1
        opened = loop.time() + (2 * self.delay if self.handshake else 0)
        try:
            serverReader, serverWriter = await asyncio.open_connection(
                "127.0.0.1", self.upstream
            )
        except OSError:
            clientWriter.close()
            return
        try:
            await asyncio.gather(
                self._pipe(clientReader, serverWriter, opened),
                self._pipe(serverReader, clientWriter),
            )
        except asyncio.CancelledError:
            pass  # stopped: asyncio reports a connection callback cancelled
        finally:
            for writer in (clientWriter, serverWriter):
                writer.close()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        notBefore: float = 0.0,
    ) -> None:
        """
        Pass what C{reader} gives on to C{writer}, each chunk C{delay}
        seconds after it came (or after C{notBefore}, if later); at the end,
        half-close C{writer}.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def receive() -> None:
            try:
                while chunk := await reader.read(_CHUNK):
                    due = max(loop.time(), notBefore) + self.delay
                    queue.put_nowait((due, chunk))
            except OSError:
                pass
            queue.put_nowait((max(loop.time(), notBefore) + self.delay, b""))

        receiving = asyncio.ensure_future(receive())
        try:
            while True:
                due, chunk = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()
        except OSError:
            writer.close()
        finally:
            receiving.cancel()


class _Upstream(asyncio.DatagramProtocol):
    """
    One client's socket to the upstream: what comes back goes to that
    client, late.
    """

    def __init__(self, relay: _DatagramRelay, client: Any) -> None:
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None
        #: Datagrams due before the socket was ready.
        self.pending: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's own datagram transport does not subclass DatagramTransport.
        datagrams = cast(asyncio.DatagramTransport, transport)
        if self.closed:
            datagrams.close()
            return
        self.transport = datagrams
        for data in self.pending:
            datagrams.sendto(data)
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.relay.fromUpstream(self, data)

    def error_received(self, exc: Exception) -> None:
        pass  # e.g. ICMP port unreachable while the upstream restarts

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.transport is None:
            self.pending.append(data)
        elif not self.transport.is_closing():
            self.transport.sendto(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _DatagramRelay(asyncio.DatagramProtocol):
    """
    The relay's UDP socket: each datagram from a client goes upstream from
    that client's own socket C{delay} seconds later, and each answer back
    to the client as late.
    """

    def __init__(
        self, upstream: int, delay: float, maxClients: int, idleTimeout: float
    ) -> None:
        self.upstream = upstream
        self.delay = delay
        self.maxClients = maxClients
        self.idleTimeout = idleTimeout
        self.transport: asyncio.DatagramTransport | None = None
        #: Client address to its upstream socket and when it was last used,
        #: least recently used first.
        self.clients: OrderedDict[Any, tuple[_Upstream, float]] = OrderedDict()
        self._sweep: asyncio.TimerHandle | None = None
        #: Datagrams relayed up (from clients) and down (to them).
        self.counts = {"up": 0, "down": 0}
        #: Upstream sockets being opened (asyncio keeps tasks weakly).
        self._connecting: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self._scheduleSweep()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        loop = asyncio.get_running_loop()
        self.counts["up"] += 1
        entry = self.clients.pop(addr, None)
        if entry is None:
            while len(self.clients) >= self.maxClients:
                _, (oldest, _) = self.clients.popitem(last=False)
                oldest.close()
            upstream = _Upstream(self, addr)
            task = loop.create_task(self._connect(upstream))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        else:
            upstream = entry[0]
        self.clients[addr] = (upstream, loop.time())
        loop.call_later(self.delay, upstream.send, data)

    async def _connect(self, upstream: _Upstream) -> None:
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: upstream, remote_addr=("127.0.0.1", self.upstream)
            )
        except OSError:
            upstream.close()

    def fromUpstream(self, upstream: _Upstream, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.counts["down"] += 1
        entry = self.clients.get(upstream.client)
        if entry is not None and entry[0] is upstream:
            self.clients[upstream.client] = (upstream, loop.time())
            self.clients.move_to_end(upstream.client)
        loop.call_later(self.delay, self._toClient, data, upstream.client)

    def _toClient(self, data: bytes, addr: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # a client gone away

    def _scheduleSweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweep = loop.call_later(self.idleTimeout / 2, self._dropIdle)

    def _dropIdle(self) -> None:
        """
        Drop the upstream sockets of clients idle for C{idleTimeout}.
        """
        now = asyncio.get_running_loop().time()
        for addr, (upstream, last) in list(self.clients.items()):
            if now - last >= self.idleTimeout:
                del self.clients[addr]
                upstream.close()
        self._scheduleSweep()

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
        for upstream, _ in self.clients.values():
            upstream.close()
        self.clients.clear()
        if self.transport is not None:
            self.transport.close()
