# -*- test-case-name: tests.unit.http.h2.test_fielddecoder -*-
"""
Decoding request header blocks (HPACK, RFC 7541) in one pass.

C{hpack}'s decoder spends most of its time on what a request never needs:
a function call, a C{memoryview} slice and a debug log call for every
field, a second pass to copy every name and value, and the Huffman
decoder's per-bit state machine for the same strings on every request (a
browser sends the same C{user-agent} and C{accept} on each new
connection).  L{FieldDecoder} keeps C{hpack}'s table (L{HeaderTable}),
integer decoder and Huffman decoder, so its arithmetic is C{hpack}'s, and
does the rest in one loop with a bounded cache of decoded Huffman strings.

It is a drop-in C{hpack.Decoder} for C{h2} (which calls C{decode(block,
raw=True)} and sets C{max_header_list_size} and C{max_allowed_table_size}):
for the same bytes it gives the same fields, leaves the same table, and
fails with the same kind of error, which C{h2} turns into the same
connection error (C{tests/unit/http/h2/test_fielddecoder.py} checks this
against C{hpack} with generated and mutated blocks).  A call that asks for
text (C{raw=False}) is C{hpack}'s own.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpack import Decoder
from hpack.exceptions import (
    HPACKDecodingError,
    InvalidTableIndex,
    InvalidTableSizeError,
    OversizedHeaderListError,
)
from hpack.hpack import DEFAULT_MAX_HEADER_LIST_SIZE, decode_integer
from hpack.huffman_table import decode_huffman
from hpack.struct import HeaderTuple, NeverIndexedHeaderTuple
from hpack.table import HeaderTable

__all__ = ["FieldDecoder"]

_STATIC = HeaderTable.STATIC_TABLE
_STATIC_LENGTH = len(_STATIC)
#: The static table's entries as the fields an indexed reference gives:
#: made once rather than for every reference (a C{HeaderTuple} costs a
#: Python-level C{__new__}).
_STATIC_FIELDS = [HeaderTuple(name, value) for name, value in _STATIC]
#: Fields kept for a decoder's dynamic table entries, at most (a table of
#: the default 4 KiB holds at most 128).
_DYNAMIC_FIELDS_KEPT = 512

#: Decoded Huffman strings kept, and the longest string kept: field values
#: that repeat across connections (user agents, accept lists, paths) are
#: short; a long or unique one is decoded again rather than held.
_HUFFMAN_CACHED = 2048
_HUFFMAN_LONGEST = 512
_huffman: dict[bytes, bytes] = {}


def _unhuffman(data: bytes) -> bytes:
    """
    C{decode_huffman}, remembered for short strings (bounded: the cache is
    emptied when full, so an attacker's strings cost at most its size).
    """
    text = _huffman.get(data)
    if text is None:
        text = decode_huffman(data)
        if len(data) <= _HUFFMAN_LONGEST:
            if len(_huffman) >= _HUFFMAN_CACHED:
                _huffman.clear()
            _huffman[data] = text
    return text


def _string(data: bytes, at: int) -> tuple[bytes, int]:
    """
    The string literal (RFC 7541 section 5.2) at C{data[at]}, and where the
    next representation starts.
    """
    first = data[at]
    length = first & 0x7F
    if length == 0x7F:
        length, used = decode_integer(data[at:], 7)
        start = at + used
    else:
        start = at + 1
    end = start + length
    text = data[start:end]
    if len(text) != length:
        raise HPACKDecodingError("Truncated header block")
    if first & 0x80:
        text = _unhuffman(text)
    return text, end


class FieldDecoder(Decoder):
    """
    An HPACK decoder for request header blocks: C{hpack.Decoder}, with
    C{decode(..., raw=True)} in one pass.
    """

    def __init__(
        self, max_header_list_size: int = DEFAULT_MAX_HEADER_LIST_SIZE
    ) -> None:
        super().__init__(max_header_list_size)
        #: The field made for each dynamic table entry referred to.
        self._kept: dict[tuple[bytes, bytes], HeaderTuple] = {}

    def decode(self, data: bytes, raw: bool = False) -> Iterable[HeaderTuple]:
        if not raw:
            return super().decode(data, raw)
        data = bytes(data)
        table = self.header_table
        dynamic = table.dynamic_entries
        kept = self._kept
        limit = self.max_header_list_size
        fields: list[HeaderTuple] = []
        inflated = 0
        at = 0
        end = len(data)
        while at < end:
            first = data[at]
            if first & 0x80:
                # Indexed field (section 6.1).
                index = first & 0x7F
                if index == 0x7F:
                    index, used = decode_integer(data[at:], 7)
                    at += used
                else:
                    at += 1
                if 0 < index <= _STATIC_LENGTH:
                    field = _STATIC_FIELDS[index - 1]
                else:
                    offset = index - _STATIC_LENGTH - 1
                    if index == 0 or offset >= len(dynamic):
                        raise InvalidTableIndex(f"Invalid table index {index}")
                    entry = dynamic[offset]
                    found = kept.get(entry)
                    if found is None:
                        found = HeaderTuple(*entry)
                        if len(kept) >= _DYNAMIC_FIELDS_KEPT:
                            kept.clear()
                        kept[entry] = found
                    field = found
                name, value = field
            elif first & 0x40 or not first & 0x20:
                # A literal (sections 6.2.1 to 6.2.3): with incremental
                # indexing (01), without (0000) or never indexed (0001).
                indexing = bool(first & 0x40)
                prefix = 6 if indexing else 4
                nameIndex = first & (0x3F if indexing else 0x0F)
                if nameIndex:
                    if nameIndex == (1 << prefix) - 1:
                        nameIndex, used = decode_integer(data[at:], prefix)
                        at += used
                    else:
                        at += 1
                    name = table.get_by_index(nameIndex)[0]
                else:
                    if at + 1 >= end:
                        raise HPACKDecodingError(
                            "Unable to decode HPACK integer representation"
                        )
                    name, at = _string(data, at + 1)
                if at >= end:
                    raise HPACKDecodingError(
                        "Unable to decode HPACK integer representation"
                    )
                value, at = _string(data, at)
                if not indexing and first & 0x10:
                    field = NeverIndexedHeaderTuple(name, value)
                else:
                    field = HeaderTuple(name, value)
                if indexing:
                    table.add(name, value)
            else:
                # A dynamic table size update (section 6.3): only before
                # the first field.
                if fields:
                    raise HPACKDecodingError(
                        "Table size update not at the start of the block"
                    )
                size, used = decode_integer(data[at:], 5)
                at += used
                if size > self.max_allowed_table_size:
                    raise InvalidTableSizeError(
                        "Encoder exceeded max allowable table size"
                    )
                self.header_table_size = size
                continue
            fields.append(field)
            inflated += 32 + len(name) + len(value)
            if inflated > limit:
                raise OversizedHeaderListError(
                    f"A header list larger than {limit} has been received"
                )
        if self.header_table_size > self.max_allowed_table_size:
            raise InvalidTableSizeError(
                "Encoder did not shrink table size to within the max"
            )
        return fields
