# -*- test-case-name: tests.unit.tls.test_endpoints -*-
"""
Endpoint strings: read the user's C{--port} values and take TLS into h2site's
own hands, so every TLS listener gets ALPN (C{h2}) and h2site's TLS policy.

Twisted's own C{ssl:} parser builds a C{CertificateOptions} with no ALPN, so a
browser would never be offered HTTP/2.  We therefore read C{ssl:} strings
ourselves, listen on the equivalent C{tcp:} endpoint, and wrap the factory in
TLS with L{h2site.tls.context.certificateOptions}.  Every other endpoint type (C{tcp:},
C{unix:}, C{systemd:}, ...) is passed to Twisted unchanged.

C{haproxy:} (a listener behind an L4 load balancer that sends a PROXY header
first) is taken apart the same way: the endpoint it wraps is read as above,
so C{haproxy:ssl:...} gets h2site's TLS too, and the spec only remembers
that connections start with a PROXY header.  The PROXY layer is put back
around the listening endpoint, outside TLS, where every listener is opened
(L{h2site.ops.listening.listenNow}), so worker processes adopting the sockets get
it as well.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from h2site.errors import ConfigError
from h2site.tls.context import KeyAndChain, loadKeyAndChain

__all__ = [
    "WRAPPABLE",
    "ListenSpec",
    "Signature",
    "TLSFiles",
    "escape",
    "fileSignature",
    "parseListen",
    "splitDescription",
    "wrapInTLS",
]

#: Positional arguments of Twisted's C{ssl:} endpoint, in its order.
_SSL_POSITIONAL = (
    "port",
    "privateKey",
    "certKey",
    "sslmethod",
    "interface",
    "backlog",
    "extraCertChain",
    "dhParameters",
)


Signature = tuple[tuple[int, int, int] | None, ...]


def fileSignature(paths: Sequence[str]) -> Signature:
    """
    What identifies the current contents of some files without reading them:
    inode, size and modification time of each (L{None} if missing).  certbot
    replaces files by renaming, which changes the inode even when the size
    and second-resolution time do not.
    """
    result: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            result.append(None)
        else:
            result.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(result)


@dataclass(frozen=True)
class ListenSpec:
    """
    One place to listen.

    @ivar description: the endpoint string as the user wrote it.
    @ivar plain: the endpoint string Twisted listens on, with TLS and any
        C{haproxy:} stripped (e.g. C{tcp:port=443:backlog=50}).
    @ivar tls: the key and certificates to wrap the listener in, or L{None}
        for a plain-text listener.
    @ivar tlsFiles: where C{tls} was read from (key, certificate, chain), so
        a reload can read them again.
    @ivar tlsSignature: L{fileSignature} of those files taken just before
        they were read, so a renewal that lands after is noticed.
    @ivar proxy: whether every connection starts with a PROXY header (v1
        or v2, from C{haproxy:}) naming the real client, read before TLS;
        a connection without one is closed.
    """

    description: str
    plain: str
    tls: KeyAndChain | None
    tlsFiles: TLSFiles | None = None
    tlsSignature: Signature = ()
    proxy: bool = False

    @property
    def kind(self) -> str:
        """
        The endpoint type Twisted listens with (C{tcp}, C{unix}, C{systemd}),
        beneath any PROXY layer: what decides how to open its sockets and
        whether h2site can put TLS on it.
        """
        return splitDescription(self.plain)[0][0].strip().lower()


@dataclass(frozen=True)
class TLSFiles:
    """
    The PEM files of one certificate: key, certificate (or full chain), and
    optional extra chain.
    """

    key: str
    cert: str
    chain: str | None = None

    def load(self) -> KeyAndChain:
        """
        Read and check the files (again).

        @raise ConfigError: see L{loadKeyAndChain}.
        """
        return loadKeyAndChain(self.key, self.cert, self.chain)

    def paths(self) -> tuple[str, ...]:
        return (self.key, self.cert) + ((self.chain,) if self.chain else ())

    def signature(self) -> Signature:
        """
        The L{fileSignature} of these files now.
        """
        return fileSignature(self.paths())


def splitDescription(description: str) -> tuple[list[str], dict[str, str]]:
    """
    Split an endpoint string the way Twisted does: C{:} separates arguments,
    the first unescaped C{=} makes a keyword argument, and a backslash escapes
    the next character.

    @return: the positional arguments (the endpoint type first) and the
        keyword arguments.
    """
    parts: list[list[tuple[str, bool]]] = [[]]
    chars = iter(description)
    for ch in chars:
        if ch == "\\":
            parts[-1].append((next(chars, ""), True))
        elif ch == ":":
            parts.append([])
        else:
            parts[-1].append((ch, False))
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for part in parts:
        split = next(
            (i for i, (c, esc) in enumerate(part) if c == "=" and not esc), None
        )
        if split is None:
            args.append("".join(c for c, _ in part))
        else:
            key = "".join(c for c, _ in part[:split])
            kwargs[key] = "".join(c for c, _ in part[split + 1 :])
    return args, kwargs


def escape(value: str) -> str:
    """
    Quote a value for use inside an endpoint string.
    """
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def _splitType(description: str) -> tuple[str, str]:
    """
    Split an endpoint string at its first unescaped C{:}: the type as
    written, and the rest.
    """
    escaped = False
    for i, ch in enumerate(description):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            return description[:i], description[i + 1 :]
    return description, ""


def parseListen(description: str) -> ListenSpec:
    """
    Check one C{--port} value and load any certificate it names.

    @raise ConfigError: for an empty or unparsable string, a bad port number,
        an unsupported C{ssl:} argument, a C{haproxy:} with nothing (or
        another C{haproxy:}) inside, or a bad key or certificate.
    """
    args, _ = splitDescription(description)
    kind = args[0].strip().lower() if args else ""
    if not kind:
        raise ConfigError(
            f"--port {description!r} has no endpoint type; "
            f"use e.g. ssl:port=8443:privateKey=key.pem:certKey=cert.pem or tcp:8080"
        )
    if kind != "haproxy":
        return _parseEndpoint(description, description)
    head, inner = _splitType(description)
    innerArgs, _ = splitDescription(inner)
    innerKind = innerArgs[0].strip().lower() if innerArgs else ""
    if head.strip().lower() != "haproxy" or not innerKind:
        raise ConfigError(
            f"--port {description!r}: haproxy: needs the endpoint the load "
            f"balancer connects to after it; use e.g. haproxy:tcp:443 or "
            f"haproxy:ssl:port=443:privateKey=key.pem:certKey=cert.pem"
        )
    if innerKind == "haproxy":
        raise ConfigError(
            f"--port {description!r}: a connection carries one PROXY header; "
            f"write haproxy: once"
        )
    return replace(_parseEndpoint(inner, description), proxy=True)


def _parseEndpoint(endpoint: str, description: str) -> ListenSpec:
    """
    Read one endpoint string (without C{haproxy:}): C{ssl:} into C{tcp:}
    plus h2site's TLS, anything else as it is.

    @param description: the whole C{--port} value, for messages.
    """
    args, kwargs = splitDescription(endpoint)
    if args[0].strip().lower() != "ssl":
        return ListenSpec(description=description, plain=endpoint, tls=None)
    if len(args) - 1 > len(_SSL_POSITIONAL):
        raise ConfigError(f"--port {description!r} has too many ':' arguments")
    for name, value in zip(_SSL_POSITIONAL, args[1:], strict=False):
        if name in kwargs:
            raise ConfigError(f"--port {description!r} gives {name} twice")
        kwargs[name] = value
    unknown = set(kwargs) - set(_SSL_POSITIONAL)
    if unknown:
        raise ConfigError(
            f"--port {description!r}: unknown ssl: argument "
            f"{sorted(unknown)[0]!r}; known: port, interface, backlog, "
            f"privateKey, certKey, extraCertChain"
        )
    for ignored in ("sslmethod", "dhParameters"):
        if ignored in kwargs:
            raise ConfigError(
                f"--port {description!r}: {ignored}= is not supported; h2site "
                f"chooses TLS versions and key exchange itself (TLS 1.2+, ECDHE)"
            )
    port = kwargs.get("port", "")
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"--port {description!r}: port {port!r} is not a number from 0 to 65535"
        )
    backlog = kwargs.get("backlog", "50")
    if not backlog.isdigit():
        raise ConfigError(
            f"--port {description!r}: backlog {backlog!r} is not a number"
        )
    privateKey = kwargs.get("privateKey", "server.pem")
    files = TLSFiles(
        key=os.path.abspath(privateKey),
        cert=os.path.abspath(kwargs.get("certKey", privateKey)),
        chain=os.path.abspath(kwargs["extraCertChain"])
        if kwargs.get("extraCertChain")
        else None,
    )
    signature = files.signature()
    material = loadKeyAndChain(
        privateKey, kwargs.get("certKey", privateKey), kwargs.get("extraCertChain")
    )
    plain = f"tcp:port={port}:backlog={backlog}"
    if kwargs.get("interface"):
        plain += f":interface={escape(kwargs['interface'])}"
    return ListenSpec(
        description=description,
        plain=plain,
        tls=material,
        tlsFiles=files,
        tlsSignature=signature,
    )


#: Endpoint types that carry a byte stream h2site can wrap in TLS itself.
WRAPPABLE = frozenset({"tcp", "tcp6", "unix", "systemd"})


def wrapInTLS(specs: Sequence[ListenSpec], files: TLSFiles) -> tuple[ListenSpec, ...]:
    """
    Put TLS (from C{--tls-cert}/C{--tls-key}) on every listener that is not
    TLS already and carries a byte stream: C{tcp:}, C{unix:}, C{systemd:},
    also behind C{haproxy:} (the PROXY header stays outside TLS, where the
    balancer writes it).

    @raise ConfigError: if no listener can take it, since the options would
        then silently do nothing.
    """
    signature = files.signature()
    material = files.load()
    wrapped = tuple(
        replace(spec, tls=material, tlsFiles=files, tlsSignature=signature)
        if spec.tls is None and spec.kind in WRAPPABLE
        else spec
        for spec in specs
    )
    if wrapped == tuple(specs):
        raise ConfigError(
            "--tls-cert/--tls-key apply to tcp:, unix: and systemd: endpoints "
            "(also inside haproxy:) without TLS of their own, and no --port is "
            "one; drop them or add such a --port"
        )
    return wrapped
