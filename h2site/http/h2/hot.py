# -*- test-case-name: tests.unit.http.h2.test_hot -*-
"""
The hot path: a request whose HEADERS frame ends its stream, for a C{GET}
or C{HEAD} that the site answers from what it holds (L{HotResponder}), is
answered without a C{twisted.web} request.

The site gets the request's fields as a request would hold them and returns
the response whole (header fields in their order, body, any C{103}); the
response then goes through the same L{Output} as any other, so flow
control, scheduling, limits and GOAWAY treat it alike.  Anything else, or
anything the site declines, takes the general path.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.python.failure import Failure

from h2site.http.h2.stream import Stream
from h2site.http.h2.validation import readRequestFields
from h2site.http.interfaces import HotRequest, HotResponder
from h2site.http.limits import ConnectionLimits

if TYPE_CHECKING:
    from h2site.http.h2.connection import H2Connection

__all__ = ["HotPath", "HotStream"]

_HOT_METHODS = frozenset([b"GET", b"HEAD"])


def _noRequest(channel: object, queued: bool) -> Any:
    """
    What a hot stream has in place of a request: nothing.
    """
    return None


class HotStream(Stream):
    """
    The stream of a response sent by the hot path: a L{Stream} with no
    request behind it, its request already whole.
    """

    __slots__ = ()

    def __init__(self, connection: H2Connection, streamID: int) -> None:
        super().__init__(connection, streamID, _noRequest, None)
        self.requestEnded = True

    def lost(self, reason: Failure) -> None:
        # Logged already, as a finished request is: nothing to tell.
        if self.closed:
            return
        self.closed = True
        self.chunks.clear()
        self.buffered = 0


class HotPath:
    """
    Offers a connection's requests to its site's L{HotResponder}.
    """

    def __init__(
        self,
        connection: H2Connection,
        responder: HotResponder,
        streams: dict[int, Stream],
        limits: ConnectionLimits,
    ) -> None:
        """
        @param streams: the connection's open streams, which a stream the
            hot path answers joins until its response is sent.
        """
        self._conn = connection
        self._responder = responder
        self._streams = streams
        self._limits = limits

    @classmethod
    def forSite(
        cls,
        connection: H2Connection,
        streams: dict[int, Stream],
        limits: ConnectionLimits,
    ) -> HotPath | None:
        """
        The hot path of C{connection}, if its site offers one.
        """
        site = connection.site
        if not isinstance(site, HotResponder):
            return None
        return cls(connection, site, streams, limits)

    def respond(self, streamID: int, fields: Sequence[tuple[bytes, bytes]]) -> bool:
        """
        Answer the request of stream C{streamID} (whose fields are checked,
        and whose stream has ended) if the site can from what it holds.

        @return: whether it was answered; if not, nothing was done.
        """
        started = time.monotonic()
        headers: dict[bytes, list[bytes]] = {}

        def add(name: bytes, value: bytes) -> None:
            values = headers.get(name)
            if values is None:
                headers[name] = [value]
            else:
                values.append(value)

        method, path, length, status = readRequestFields(fields, add, self._limits)
        if status is not None or length or method not in _HOT_METHODS:
            return False
        conn = self._conn
        response = self._responder.hotResponse(
            HotRequest(
                method, path, headers, conn.secure, conn.peer, b"HTTP/2", started
            )
        )
        if response is None:
            return False
        stream = HotStream(conn, streamID)
        self._streams[streamID] = stream
        output = conn.output
        if response.informational is not None:
            output.writeInformational(stream, 103, response.informational)
        output.writeFields(stream, response.fields)
        if response.body:
            output.writeData(stream, response.body)
        output.requestDone(stream)
        return True
