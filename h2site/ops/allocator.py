# -*- test-case-name: tests.unit.ops.test_allocator -*-
"""
Keep the large buffers of a serving process in the heap.

glibc hands out each allocation of 128 KiB or more as a fresh C{mmap} and
unmaps it when freed, and returns freed memory at the top of the heap to
the kernel as soon as 128 KiB of it is free.  A server that sends large
files makes buffers of that size all the time (a pass of HTTP/2 frames, the
TLS records of a response, the socket's send buffer), so every one of them
is page-faulted in again from zeroed pages; in a virtual machine each such
fault is a trip to the hypervisor.  Measured here with h2load on a 160 KiB
file over TLS, that cost 15-20% of the CPU time per request over HTTP/2 and
about 8% over HTTP/1.1 (C{benchmarks/http2_bench.py}).

Raising both thresholds keeps such buffers in the heap, where they are
reused.  The price is bounded: at most L{TRIM_THRESHOLD} bytes of free heap
are kept rather than returned.  Operators who tune glibc themselves (the
C{MALLOC_*} environment variables or C{GLIBC_TUNABLES}) are left alone, as
is every other C library.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keepLargeBuffers"]

#: Allocations below this come from the heap (glibc's default is 128 KiB,
#: raised on its own only as far as the largest block freed so far).
MMAP_THRESHOLD = 1 << 20
#: Free memory at the top of the heap kept for reuse, rather than returned.
TRIM_THRESHOLD = 8 << 20

# mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _operatorTuned(environ: Mapping[str, str]) -> bool:
    return "GLIBC_TUNABLES" in environ or any(
        name.startswith("MALLOC_") for name in environ
    )


def keepLargeBuffers(environ: Mapping[str, str]) -> bool:
    """
    Raise glibc's C{mmap} and trim thresholds for this process.

    @param environ: the process environment, to see whether the operator
        tuned the allocator already.
    @return: whether the thresholds were changed (not on another C library,
        nor when the operator tuned them).
    """
    if _operatorTuned(environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; musl's stub returns 0.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
