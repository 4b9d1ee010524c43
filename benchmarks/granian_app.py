"""
The ASGI application granian needs in L{http2_bench}: granian serves the
benchmark's files itself from its static route (C{--static-path-route}, in
Rust, never calling Python), so the application only answers what falls
outside it, with a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """
    Answer every HTTP request with 404 (lifespan events are acknowledged
    by granian when an application ignores them).
    """
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"not found\n"})
