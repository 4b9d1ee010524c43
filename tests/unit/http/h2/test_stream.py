"""
Tests for L{h2site.http.h2.stream}: the response bytes a stream holds, taken
a frame at a time without copying more than a frame needs.  (What a request
does through its stream is tested with the connection, in
L{tests.unit.http.h2.test_connection} and L{tests.unit.http.h2.test_output}.)
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.stream import Stream


def _stream(chunks: list[bytes | memoryview]) -> Stream:
    """
    A stream holding C{chunks}, on a stand-in connection (taking bytes
    needs none).
    """
    connection: Any = SimpleNamespace(output=None)
    request: Any = None
    stream = Stream(connection, 1, lambda channel, queued: request, None)
    for chunk in chunks:
        stream.chunks.append(chunk)
        stream.buffered += len(chunk)
    return stream


_chunks = st.lists(
    st.binary(min_size=1, max_size=50).flatmap(
        lambda data: st.sampled_from([data, memoryview(data)])
    ),
    max_size=10,
)


class TakeTests(SynchronousTestCase):
    """
    L{Stream.take} returns buffered bytes in order.
    """

    @given(_chunks, st.lists(st.integers(1, 120), max_size=10))
    def test_inOrder(self, chunks: list[bytes | memoryview], sizes: list[int]) -> None:
        """
        Taking any sizes, up to what is buffered, returns the bytes written,
        in order, and keeps C{buffered} equal to what is left.
        """
        whole = b"".join(chunks)
        stream = _stream(chunks)
        taken = b""
        for size in sizes:
            size = min(size, stream.buffered)
            if not size:
                break
            piece = stream.take(size)
            self.assertEqual(len(piece), size)
            taken += bytes(piece)
            self.assertEqual(stream.buffered, len(whole) - len(taken))
            self.assertEqual(sum(map(len, stream.chunks)), stream.buffered)
        self.assertEqual(taken, whole[: len(taken)])

    def test_noCopyOfWholeChunk(self) -> None:
        """
        A chunk taken whole is the very object written, and part of a chunk
        is a view of it: only a frame spanning chunks is copied.
        """
        first, second = b"a" * 10, b"b" * 10
        stream = _stream([first, second])
        self.assertIs(stream.take(10), first)
        part = stream.take(4)
        self.assertIsInstance(part, memoryview)
        self.assertEqual(bytes(part), b"bbbb")
