# -*- test-case-name: tests.unit.http.h2.test_intake -*-
"""
Reading what an HTTP/2 client sent: C{h2}'s C{receive_data}, except for the
frame nearly every request is, which is read here in a tenth of the time.

A request without a body is one HEADERS frame that opens a new stream and
carries C{END_HEADERS} and C{END_STREAM}, nothing else.  C{h2} takes about
75 microseconds to handle one (frame object, frame buffer, a C{repr} of the
frame for a trace log nobody reads, dispatch, a walk over every stream to
count the open ones, connection state machine); about a third of that is
the work that matters, which L{Intake} does through the same C{h2} calls:
decode the block with the connection's decoder, open the stream, and pass
the headers through the stream's state machine.  The events, the stream
state, the HPACK table and any error (and the GOAWAY C{h2} queues for it)
are the ones C{h2} gives for the same bytes; C{tests/unit/http/h2/
test_intake.py} checks that with generated frame sequences.

Anything else goes to C{h2.receive_data}, in order: other frames, padding
or priority, a header block spread over CONTINUATION, a stream that is not
new, a frame over the size limit, a connection not yet (or no longer)
open, the preface, or bytes that follow a partial frame in C{h2}'s buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from h2.connection import (
    AllowedStreamIDs,
    ConnectionState,
    _decode_headers,
)
from h2.connection import H2Connection as H2StateMachine
from h2.exceptions import ProtocolError

from h2site.http.h2.frames import END_HEADERS, END_STREAM, HEADERS, LimitedFrameBuffer

__all__ = ["Intake"]

#: The flags of a HEADERS frame that is a whole request without a body.
_WHOLE_REQUEST = END_HEADERS | END_STREAM

_SERVER_OPEN = ConnectionState.SERVER_OPEN
_CLIENT_IDS = AllowedStreamIDs.ODD


class Intake:
    """
    Turns a connection's bytes into C{h2} events, taking whole-request
    HEADERS frames past C{h2}'s frame machinery.
    """

    def __init__(
        self,
        h2: H2StateMachine,
        frames: LimitedFrameBuffer,
        counted: Callable[[], None],
    ) -> None:
        """
        @param h2: the connection's state machine, with C{frames} as its
            C{incoming_buffer}.
        @param counted: told of each frame read here, as C{frames} tells of
            the frames it reads (a HEADERS frame is only counted).
        """
        self._h2 = h2
        self._frames = frames
        self._counted = counted

    def receive(self, data: bytes) -> list[Any]:
        """
        What C{h2.receive_data(data)} returns, and raises.
        """
        h2 = self._h2
        frames = self._frames
        if frames.incomplete or frames.prefaceMissing:
            return h2.receive_data(data)
        events: list[Any] = []
        size = len(data)
        at = 0
        handed = 0
        while size - at >= 9:
            end = at + 9 + ((data[at] << 16) | (data[at + 1] << 8) | data[at + 2])
            if end > size:
                break
            if data[at + 3] == HEADERS and data[at + 4] == _WHOLE_REQUEST:
                if handed < at:
                    events.extend(h2.receive_data(data[handed:at]))
                    handed = at
                    if frames.inHeaderBlock:
                        # A header block h2 began: what follows is its.
                        break
                streamID = int.from_bytes(data[at + 5 : at + 9], "big") & 0x7FFFFFFF
                if self._opens(streamID, end - at - 9):
                    events.extend(self._request(streamID, data[at + 9 : end]))
                    handed = end
            at = end
        if handed < size:
            events.extend(h2.receive_data(data[handed:] if handed else data))
        return events

    def _opens(self, streamID: int, length: int) -> bool:
        """
        Whether a HEADERS frame of C{length} bytes on C{streamID} opens a
        stream C{h2} would accept without a question: a new client stream
        on an open connection, under the frame size and the concurrency
        limit.  Counting the open streams is C{h2}'s own count, which also
        sweeps the closed ones out of its table, as its path does for each
        new stream (the sweep decides how C{h2} treats a later frame on a
        closed stream).
        """
        h2 = self._h2
        return (
            streamID & 1 == 1
            and streamID > h2.highest_inbound_stream_id
            and length <= h2.max_inbound_frame_size
            and h2.state_machine.state is _SERVER_OPEN
            and h2.open_inbound_streams < h2.local_settings.max_concurrent_streams
        )

    def _request(self, streamID: int, block: bytes) -> list[Any]:
        """
        Handle a whole-request HEADERS frame as C{h2} would (minus its
        connection state machine, for which such a frame on an open
        connection changes nothing).
        """
        h2 = self._h2
        self._frames.headerStream = streamID
        self._counted()
        try:
            headers = _decode_headers(h2.decoder, block)
            stream = h2._begin_new_stream(streamID, _CLIENT_IDS)
            events: list[Any] = stream.receive_headers(
                headers, True, h2.config.header_encoding
            )[1]
        except ProtocolError as e:
            h2._terminate_connection(e.error_code)
            raise
        return events
