# -*- test-case-name: tests.unit.http.h2.test_stream -*-
"""
The producer slot of a stream's channel, shared by the HTTP/2 and HTTP/3
streams: a resource registers at most one producer for its response, and a
pull producer is driven as a push producer (Twisted's C{_PullToPush}) so
that the stream pauses and resumes every producer the same way.
"""

from __future__ import annotations

from typing import Any

from twisted.internet._producer_helpers import _PullToPush
from twisted.internet.interfaces import IPushProducer

__all__ = ["ProducerSlot"]


class ProducerSlot:
    """
    C{registerProducer} and C{unregisterProducer} of a stream channel.

    @ivar producer: the response's producer (a pull producer wrapped to
        push), or L{None}.
    @ivar producerPaused: whether the stream has paused it.
    """

    __slots__ = ("_pullProducer", "producer", "producerPaused")

    producer: IPushProducer | None
    producerPaused: bool
    _pullProducer: _PullToPush | None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise ValueError(
                f"registering producer {producer} before previous one "
                f"({self.producer}) was unregistered"
            )
        if not streaming:
            self._pullProducer = _PullToPush(producer, self)
            producer = self._pullProducer
            self._pullProducer.startStreaming()
        # Running until its first write finds the stream or the connection
        # full: pausing it here could be undone behind our back by the
        # resource that starts it, and a pull producer's pauses must balance.
        self.producer = producer
        self.producerPaused = False

    def unregisterProducer(self) -> None:
        if self._pullProducer is not None:
            self._pullProducer.stopStreaming()
            self._pullProducer = None
        self.producer = None
        self.producerPaused = False
