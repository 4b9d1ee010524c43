# -*- test-case-name: tests.unit.http.h2.test_frames,tests.unit.http.test_internals -*-
"""
HTTP/2 frames as h2site reads and writes them: C{h2}'s frame buffer with
the limits it lacks, the frames h2site builds without C{h2} (the frame
header and flags, HEADERS, GOAWAY), HPACK encoding of response fields
without the dynamic table, and how a pass's frames reach the transport.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence

from h2.exceptions import DenialOfServiceError, FrameTooLargeError
from h2.frame_buffer import FrameBuffer
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame

from h2site.http.limits import KIB

__all__ = [
    "DATA",
    "END_HEADERS",
    "END_STREAM",
    "FRAME_HEADER",
    "HEADERS",
    "MAX_DATA_FRAME",
    "RST_STREAM",
    "WINDOW_UPDATE",
    "WRITE_PIECE",
    "Calm",
    "FieldEncoder",
    "HeaderBlockTooLarge",
    "LimitedFrameBuffer",
    "goAway",
    "headersFrame",
    "writeInPieces",
]

#: The 9-byte frame header: 24-bit length (as 8 + 16 bits), type, flags,
#: stream identifier.
FRAME_HEADER = struct.Struct(">BHBBL")


DATA = 0x0


HEADERS = 0x1


RST_STREAM = 0x3


WINDOW_UPDATE = 0x8


END_STREAM = 0x1


END_HEADERS = 0x4


#: The largest DATA frame payload we send, whatever larger size the peer
#: allows: one TLS record's worth.  Bigger frames save nothing (TLS cuts them
#: into 16 KiB records anyway) and would make L{WRITE_PIECE} overshoot.
MAX_DATA_FRAME = 16 * KIB


#: A pass's output goes to the transport in one piece when it is no larger
#: than this, else in pieces of about half of it.  A buffer of 128 KiB or
#: more is (by default) a fresh C{mmap} from glibc, page-faulted in and
#: unmapped again on every pass: in-process that was half the CPU time of a
#: 160 KiB response.  Pieces of 64 KiB or more also go through Twisted's TLS
#: layer at once rather than at its next turn.
WRITE_PIECE = 126 * KIB


class HeaderBlockTooLarge(DenialOfServiceError):
    """
    A request's header block is over the limit: it is answered with 431
    (without decoding it) and the connection closed.
    """


class Calm(DenialOfServiceError):
    """
    A frame that does no work found the budget empty.
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"too many {what}")
        self.what = what


class LimitedFrameBuffer(FrameBuffer):
    """
    C{h2}'s frame buffer, with two limits it lacks: an oversized frame is
    refused as soon as its 9-byte header arrives (C{h2} waits for the whole
    frame, so a peer could make us buffer 16 MiB), and a header block spread
    over CONTINUATION frames may not exceed a size.  It also shows the
    connection every frame before C{h2} handles it (C{onFrame}), since
    C{h2} answers some frames without an event.

    @ivar headerStream: the stream of the last header block begun.
    """

    headerStream = 0

    def __init__(self, maxHeaderBlock: int, onFrame: Callable[[Frame], None]) -> None:
        super().__init__(server=True)
        self._maxHeaderBlock = maxHeaderBlock
        self._headerBlockSize = 0
        self._onFrame = onFrame

    @property
    def prefaceMissing(self) -> bool:
        """
        Whether some of the client's connection preface is still to come.
        """
        return self._preamble_len > 0

    @property
    def incomplete(self) -> bool:
        """
        Whether the buffer holds part of a frame or of a header block.
        """
        return bool(self._data or self._headers_buffer)

    @property
    def inHeaderBlock(self) -> bool:
        return bool(self._headers_buffer)

    def __next__(self) -> Frame:
        data = self._data
        if len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if length > self.max_frame_size:
                raise FrameTooLargeError(
                    f"frame of {length} bytes, max {self.max_frame_size}"
                )
        return super().__next__()

    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        if f is not None:
            if f.type == HEADERS:
                self.headerStream = f.stream_id
            self._onFrame(f)
        if self._headers_buffer or (
            isinstance(f, HeadersFrame) and "END_HEADERS" not in f.flags
        ):
            self._headerBlockSize += len(getattr(f, "data", b""))
            if self._headerBlockSize > self._maxHeaderBlock:
                raise HeaderBlockTooLarge(
                    f"header block over {self._maxHeaderBlock} bytes"
                )
        result = super()._update_header_buffer(f)
        if not self._headers_buffer:
            self._headerBlockSize = 0
        return result


class FieldEncoder:
    """
    HPACK (RFC 7541) encoding of response header fields that never uses the
    dynamic table, as nginx does: a field is an exact static-table entry (one
    byte) or a literal without indexing (naming the static table's entry for
    its name when there is one), Huffman-coded when that is shorter.

    Such an encoding does not depend on what was sent before, so each
    field's bytes are computed once and reused: a response's header block
    costs a few dictionary lookups instead of C{h2}'s encoder, which scans
    its dynamic table for every field (most of the cost of sending a
    response with a dozen headers).  The price is a few hundred bytes per
    response that the dynamic table would have saved.
    """

    def __init__(self, maxCached: int = 4096) -> None:
        self._cache: dict[tuple[bytes, bytes], bytes] = {}
        self._maxCached = maxCached
        self._huffman = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)

    def encode(self, fields: Iterable[tuple[bytes, bytes]]) -> bytes:
        """
        The header block for C{fields} (lowercase names, pseudo-fields
        first).
        """
        cache = self._cache
        parts = []
        for field in fields:
            encoded = cache.get(field)
            if encoded is None:
                encoded = self._encodeField(*field)
                if len(cache) >= self._maxCached:
                    # Values that vary (dates, lengths, validators) must not
                    # grow the cache without bound.
                    cache.clear()
                cache[field] = encoded
            parts.append(encoded)
        return b"".join(parts)

    def _encodeField(self, name: bytes, value: bytes) -> bytes:
        static = HeaderTable.STATIC_TABLE_MAPPING.get(name)
        if static is not None:
            exact = static[1].get(value)
            if exact is not None:
                return _integer(exact, 7, 0x80)
            return _integer(static[0], 4, 0x00) + self._string(value)
        return b"\x00" + self._string(name) + self._string(value)

    def _string(self, data: bytes) -> bytes:
        coded = self._huffman.encode(data)
        if len(coded) < len(data):
            return _integer(len(coded), 7, 0x80) + coded
        return _integer(len(data), 7, 0x00) + data


def _integer(value: int, prefixBits: int, flags: int) -> bytes:
    """
    An HPACK integer (RFC 7541 section 5.1) in a C{prefixBits}-bit prefix,
    with C{flags} in the bits above it.
    """
    limit = (1 << prefixBits) - 1
    if value < limit:
        return bytes([flags | value])
    out = [flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def goAway(lastStreamID: int, errorCode: int) -> bytes:
    """
    A GOAWAY frame built without C{h2}: C{h2} refuses to send anything after
    its own GOAWAY, and a graceful shutdown must go on answering streams.
    """
    frame = GoAwayFrame(0)
    frame.last_stream_id = lastStreamID
    frame.error_code = errorCode
    return frame.serialize()


def headersFrame(streamID: int, block: bytes, flags: int = END_HEADERS) -> bytes:
    """
    A HEADERS frame carrying a whole header block (one no larger than the
    peer's frame size), framed without C{h2}, whose stream state takes no
    notice of an informational response or of a refusal sent as the
    connection ends.
    """
    size = len(block)
    return (
        FRAME_HEADER.pack(size >> 16, size & 0xFFFF, HEADERS, flags, streamID) + block
    )


def writeInPieces(
    write: Callable[[bytes], object], out: Sequence[bytes | memoryview]
) -> None:
    """
    Hand a pass's frames to a transport's C{write}: at once, or in pieces of
    about half of L{WRITE_PIECE} when the pass is larger.
    """
    total = sum(map(len, out))
    if total <= WRITE_PIECE:
        # One item (the usual small response) is not copied by join.
        write(b"".join(out))
        return
    piece: list[bytes | memoryview] = []
    size = 0
    for part in out:
        piece.append(part)
        size += len(part)
        total -= len(part)
        if size >= WRITE_PIECE // 2 and total >= WRITE_PIECE // 2:
            write(b"".join(piece))
            piece = []
            size = 0
    write(b"".join(piece))
