"""
A TCP relay that adds latency to everything, for the browser benchmarks.

DevTools' latency emulation delays the requests a page makes, but not the
connection's set-up nor the preloads Chromium's browser process makes for a
103 Early Hints response, which then arrive at loopback speed.  Relayed
through L{LatencyRelay}, every byte each way waits half the round trip, as
on a real network: TLS handshakes, 103s and their preloads included.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["LatencyRelay"]

_CHUNK = 1 << 16


class LatencyRelay:
    """
    Relays connections to C{127.0.0.1:upstream} from a loopback port of its
    own, each chunk passed on C{roundTrip / 2} seconds after it came, in
    order, with no limit on the rate (as DevTools' emulation, with its
    throughput unlimited).  It runs its own event loop in a thread.
    """

    def __init__(self, upstream: int, roundTrip: float) -> None:
        self.upstream = upstream
        self.delay = roundTrip / 2
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> LatencyRelay:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(30)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """
        Stop listening, drop every relayed connection, end the thread.
        """

        async def close() -> None:
            if self._server is not None:
                self._server.close()
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
        try:
            serverReader, serverWriter = await asyncio.open_connection(
                "127.0.0.1", self.upstream
            )
        except OSError:
            clientWriter.close()
            return
        try:
            await asyncio.gather(
                self._pipe(clientReader, serverWriter),
                self._pipe(serverReader, clientWriter),
            )
        except asyncio.CancelledError:
            pass  # stopped: asyncio reports a connection callback cancelled
        finally:
            for writer in (clientWriter, serverWriter):
                writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """
        Pass what C{reader} gives on to C{writer}, each chunk C{delay}
        seconds after it came; at the end, half-close C{writer}.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def receive() -> None:
            try:
                while chunk := await reader.read(_CHUNK):
                    queue.put_nowait((loop.time() + self.delay, chunk))
            except OSError:
                pass
            queue.put_nowait((loop.time() + self.delay, b""))

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
