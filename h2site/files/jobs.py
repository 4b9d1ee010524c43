# -*- test-case-name: tests.unit.files.test_workers -*-
"""
The work the file store hands to its worker processes
(L{h2site.files.workers}): pure functions of their arguments, which are
pickled to a worker and back, so each takes plain values (bytes, paths,
stamps) and never the store; and the loop a worker process runs
(L{serve}).

Compressing at the best settings is most of what building a site's index
costs (brotli at quality 11 runs at well under 1 MB/s), and scanning pages
for references comes next; both are pure and CPU-bound, so they run in
other processes, across the cores, while the server answers requests.

A page too large for memory is read from disk by the worker itself, to be
scanned (L{scanFile}) and rewritten into a file of the cache folder
(L{rewriteFile}): only its references and the entry's name cross the
pipe, never its bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import signal
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from h2site.files.buildcache import (
    BuildCache,
    CompressedFile,
    RewrittenFile,
    compress,
)
from h2site.files.fingerprint import Kind, Target, rewrite, targets
from h2site.files.safepath import nameToURL, urlToName

__all__ = [
    "Compressed",
    "Reply",
    "Scan",
    "compressData",
    "compressFile",
    "frame",
    "readSource",
    "rewriteFile",
    "scan",
    "scanFile",
    "serve",
    "unframe",
    "workerStarted",
]

#: Each message is a pickle after its length: 4 bytes, big-endian.
_LENGTH = struct.Struct(">I")

#: What L{compressData} gives: the encoded bytes, their C{ETag} (hex), and
#: whether they came from the cache.
Compressed = tuple[bytes, str, bool]

#: What L{scan} gives: the references that may be fingerprinted and the
#: names of the files they name, each once.
Scan = tuple[tuple[Target, ...], tuple[str, ...]]


def workerStarted() -> None:
    """
    Run first in each worker process: below the server in priority, so
    requests are answered first on a machine whose cores are all
    compressing; and deaf to the terminal's Ctrl-C and hang-up, which the
    server handles (stopping the workers itself).
    """
    with contextlib.suppress(OSError):
        os.nice(10)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def frame(message: object) -> bytes:
    """
    C{message} as it goes down a pipe: its length, then its pickle.
    """
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _readExactly(stream: BinaryIO, count: int) -> bytes | None:
    chunks = []
    while count:
        chunk = stream.read(count)
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def serve(requests: BinaryIO | None = None, replies: BinaryIO | None = None) -> None:
    """
    What a worker process runs: read a call (a pickled callable taking no
    argument), run it, write back C{(True, result)} or C{(False, why)};
    until the server closes the pipe.

    Only the server that started this process writes to it, so its pickles
    are trusted.  Whatever else writes to standard output (a stray print)
    goes to standard error, where it cannot break a reply.
    """
    if requests is None or replies is None:
        requests = os.fdopen(os.dup(0), "rb")
        replies = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
    workerStarted()
    while True:
        head = _readExactly(requests, _LENGTH.size)
        if head is None:
            return
        body = _readExactly(requests, _LENGTH.unpack(head)[0])
        if body is None:
            return
        reply: Reply
        try:
            call: Callable[[], object] = pickle.loads(body)  # noqa: S301
            reply = (True, call())
        except Exception as e:
            reply = (False, f"{type(e).__name__}: {e}")
        replies.write(frame(reply))
        replies.flush()


#: A worker's reply: whether the call returned, and its result (or why
#: not).
Reply = tuple[bool, object]


def unframe(buffer: bytearray) -> Reply | None:
    """
    The first whole reply in C{buffer}, taken out of it, or L{None} if
    there is none yet.
    """
    if len(buffer) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack_from(buffer)
    end = _LENGTH.size + length
    if len(buffer) < end:
        return None
    ok, value = pickle.loads(bytes(buffer[_LENGTH.size : end]))  # noqa: S301
    del buffer[:end]
    return bool(ok), value


def compressData(
    directory: str | None, coding: str, data: bytes, digest: str
) -> Compressed:
    """
    C{data} in C{coding}, from the cache folder C{directory} when a valid
    entry is there, else compressed now (and stored there).
    """
    if directory is None:
        encoded, cached = compress(coding, data), False
    else:
        cache = BuildCache(Path(directory))
        found = cache.cached(coding, data, digest)
        cached = found is not None
        encoded = found if found is not None else cache.compress(coding, data, digest)
    return encoded, hashlib.sha256(encoded).hexdigest()[:32], cached


def compressFile(
    directory: str,
    coding: str,
    path: str,
    stamp: tuple[int, int, int],
    digest: str,
) -> CompressedFile | None:
    """
    The cache entry holding C{coding} of a file too large for memory
    (L{BuildCache.compressFile}).
    """
    return BuildCache(Path(directory)).compressFile(coding, path, stamp, digest)


def scan(prefix: str, name: str, data: bytes, kind: Kind) -> Scan:
    """
    The references in a file (served at C{prefix} + C{name}) that may be
    fingerprinted, and the names of the files they name.
    """
    found = targets(nameToURL(name, prefix), data, kind)
    named = (urlToName(t.url, prefix) for t in found)
    return tuple(found), tuple(dict.fromkeys(n for n in named if n is not None))


def readSource(path: str, stamp: tuple[int, int, int], digest: str) -> bytes | None:
    """
    The bytes of a file, if it still has the stamp and hash it was indexed
    with: what a page sent rewritten is rewritten again from.
    """
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_size, st.st_mtime_ns, st.st_ino) != stamp:
                return None
            data = f.read()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == digest else None


def scanFile(
    prefix: str,
    name: str,
    path: str,
    stamp: tuple[int, int, int],
    digest: str,
    kind: Kind,
) -> Scan | None:
    """
    L{scan} of a file too large for memory, read here: L{None} if it no
    longer has the stamp and hash it was indexed with.
    """
    data = readSource(path, stamp, digest)
    return scan(prefix, name, data, kind) if data is not None else None


def rewriteFile(
    directory: str,
    url: str,
    kind: Kind,
    path: str,
    stamp: tuple[int, int, int],
    digest: str,
    found: tuple[Target, ...],
    versions: tuple[str | None, ...],
) -> RewrittenFile | None:
    """
    The cache entry holding a file too large for memory (served at C{url})
    with the references C{found} in it fingerprinted with C{versions}
    (L{None}: left as written), as L{BuildCache.storeRewritten} keeps it.

    @param stamp: the file's stamp when indexed, and C{digest} the SHA-256
        of its bytes when scanned: the file is rewritten only if it still
        has them (else the places in C{found} are not its own).
    @return: the entry, or L{None} if the file changed or the entry could
        not be written.
    """
    data = readSource(path, stamp, digest)
    if data is None:
        return None
    known = {t.url: v for t, v in zip(found, versions, strict=True)}
    sent = rewrite(url, data, kind, known.get, found)
    return BuildCache(Path(directory)).storeRewritten(sent)
