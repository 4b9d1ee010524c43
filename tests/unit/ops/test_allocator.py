# -*- test-case-name: tests.unit.ops.test_allocator -*-
"""
Tests for L{h2site.ops.allocator}.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from h2site.ops.allocator import keepLargeBuffers

#: Allocates and frees a 512 KiB buffer many times and prints the minor page
#: faults that cost, after optionally calling keepLargeBuffers.
_FAULTS = """
import os, resource, sys
from h2site.ops.allocator import keepLargeBuffers
if sys.argv[1] == "keep":
    assert keepLargeBuffers(os.environ)
def touch(size):
    data = bytearray(size)
    data[::4096] = b"x" * len(data[::4096])
    return data
for size in (192 * 1024, 256 * 1024):
    # glibc maps the first block of each size, then raises its threshold.
    touch(size)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(50):
    # Several responses' buffers in flight at once, then all freed.
    buffers = [touch(192 * 1024) for _ in range(8)]
    del buffers
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.pop("GLIBC_TUNABLES", None)
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )
    return int(done.stdout)


class KeepLargeBuffersTests(SynchronousTestCase):
    """
    L{keepLargeBuffers} makes large buffers reusable heap memory.
    """

    def setUp(self) -> None:
        if platform.libc_ver()[0] != "glibc":
            raise SkipTest("the thresholds are glibc's")

    def test_largeBuffersReused(self) -> None:
        """
        Without it the heap given back after each burst of large buffers is
        faulted in again, page by page, for the next; with it the same
        memory is reused.
        """
        self.assertGreater(_faults("default"), 50 * 100)
        self.assertLess(_faults("keep"), 1000)

    def test_operatorTuning(self) -> None:
        """
        An operator's own glibc tuning is left alone.
        """
        self.assertFalse(keepLargeBuffers({"MALLOC_ARENA_MAX": "2"}))
        self.assertFalse(keepLargeBuffers({"MALLOC_MMAP_THRESHOLD_": "65536"}))
        self.assertFalse(keepLargeBuffers({"GLIBC_TUNABLES": "glibc.malloc.x=1"}))
