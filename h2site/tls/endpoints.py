# -*- test-case-name: tests.unit.tls.test_endpoints -*-
"""
Endpoint strings: read the user's C{--port} values and take TLS into h2site's
own hands, so every TLS listener gets ALPN (C{h2}) and h2site's TLS policy.

Twisted's own C{ssl:} parser builds a C{CertificateOptions} with no ALPN, so a
browser would never be offered HTTP/2.  We therefore read C{ssl:} strings
ourselves, listen on the equivalent C{tcp:} endpoint, and wrap the factory in
TLS with L{h2site.tls.context.certificateOptions}.  Every other endpoint type (C{tcp:},
C{unix:}, C{systemd:}, ...) is passed to Twisted unchanged.

A port number alone (C{9000}), or C{ssl:} without C{privateKey=} or
C{certKey=}, asks for TLS with a certificate h2site supplies: the files of
C{--tls-cert}, else the development certificate, which is only valid for
this machine, so such a listener is on 127.0.0.1 unless C{interface=} says
otherwise.  Reading the options writes nothing, so such a spec only says
so (L{ListenSpec.devCertificate}) until C{--tls-cert} (L{wrapInTLS}) or
start-up (L{h2site.server.listenSpecs}, through L{withTLS}) gives it its
certificate.  C{tcp:} ports are checked here too, so that C{tcp:abc} is a
sentence rather than Twisted's C{int()} error at start-up.

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
from dataclasses import dataclass, field, replace

from h2site.errors import ConfigError
from h2site.tls.context import (
    ENDPOINT_OPTIONS,
    FileOptions,
    KeyAndChain,
    loadKeyAndChain,
)

__all__ = [
    "DEV_INTERFACE",
    "WRAPPABLE",
    "ListenSpec",
    "Signature",
    "TLSFiles",
    "acmeListener",
    "escape",
    "fileSignature",
    "parseListen",
    "splitDescription",
    "withTLS",
    "wrapInTLS",
]

#: Where a listener without a certificate of its own listens unless told:
#: the development certificate is valid for this machine only.  IPv4 alone,
#: as the default port has always been: one socket per C{--port} (so port 0
#: is one port), which binds where IPv6 is off too, and clients that try
#: C{::1} first for C{localhost} are refused at once and fall back.
DEV_INTERFACE = "127.0.0.1"

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

#: Arguments of Twisted's C{tcp:} endpoint, in its order.
_TCP_ARGUMENTS = ("port", "interface", "backlog")


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
    @ivar devCertificate: TLS with h2site's development certificate: a
        port number alone, or C{ssl:} with no key, as read (L{wrapInTLS}
        gives them C{--tls-cert}'s instead, and clears this).  C{tls}
        stays L{None} until start-up loads it (L{withTLS}); the flag
        stays, so that what is served with it (never HSTS) can tell.
    @ivar acme: TLS with the certificate h2site obtains by ACME
        (L{acmeListener}); like C{devCertificate}, C{tls} stays L{None}
        until start-up loads it.
    """

    description: str
    plain: str
    tls: KeyAndChain | None
    tlsFiles: TLSFiles | None = None
    tlsSignature: Signature = ()
    proxy: bool = False
    devCertificate: bool = False
    acme: bool = False

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

    @ivar options: how the operator named them, so that a message (at
        start-up or on reload) names C{--tls-cert} or C{certKey=}; L{None}
        for h2site's own.
    """

    key: str
    cert: str
    chain: str | None = None
    options: FileOptions | None = field(default=None, compare=False)

    def load(self) -> KeyAndChain:
        """
        Read and check the files (again).

        @raise ConfigError: see L{loadKeyAndChain}.
        """
        return loadKeyAndChain(self.key, self.cert, self.chain, self.options)

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


def parseListen(
    description: str, option: str = "--port", defaultInterface: str = DEV_INTERFACE
) -> ListenSpec:
    """
    Check one C{--port} value and load any certificate it names.

    @param option: the option it was given with, for messages.
    @param defaultInterface: where a listener asking for h2site's
        certificate listens unless it says (C{""}: everywhere).

    @raise ConfigError: for an empty or unparsable string, a bad port number,
        an unsupported C{ssl:} or C{tcp:} argument, a C{haproxy:} with
        nothing (or another C{haproxy:}) inside, or a bad key or
        certificate.
    """
    args, _ = splitDescription(description)
    kind = args[0].strip().lower() if args else ""
    if not kind:
        raise ConfigError(
            f"{option} {description!r} has no endpoint type; use e.g. 8443 (HTTPS "
            f"on this machine), ssl:port=8443:privateKey=key.pem:certKey=cert.pem "
            f"or tcp:8080"
        )
    if kind != "haproxy":
        return _parseEndpoint(description, description, option, defaultInterface)
    head, inner = _splitType(description)
    innerArgs, _ = splitDescription(inner)
    innerKind = innerArgs[0].strip().lower() if innerArgs else ""
    if head.strip().lower() != "haproxy" or not innerKind:
        raise ConfigError(
            f"{option} {description!r}: haproxy: needs the endpoint the load "
            f"balancer connects to after it; use e.g. haproxy:tcp:443 or "
            f"haproxy:ssl:port=443:privateKey=key.pem:certKey=cert.pem"
        )
    if innerKind == "haproxy":
        raise ConfigError(
            f"{option} {description!r}: a connection carries one PROXY header; "
            f"write haproxy: once"
        )
    parsed = _parseEndpoint(inner, description, option, defaultInterface)
    return replace(parsed, proxy=True)


def _checkPort(port: str, description: str, option: str) -> None:
    if not port.strip():
        raise ConfigError(
            f"{option} {description!r} names no port; give one, e.g. 8443, "
            f"tcp:8080 or ssl:port=8443"
        )
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"{option} {description!r}: the port {port!r} is not a number "
            f"from 0 to 65535"
        )


def _arguments(
    kind: str, names: Sequence[str], endpoint: str, description: str, option: str
) -> dict[str, str]:
    """
    The arguments of an C{ssl:} or C{tcp:} endpoint by name, positional ones
    named in Twisted's order.

    @raise ConfigError: for too many, twice given, or unknown arguments.
    """
    args, kwargs = splitDescription(endpoint)
    if len(args) - 1 > len(names):
        raise ConfigError(f"{option} {description!r} has too many ':' arguments")
    for name, value in zip(names, args[1:], strict=False):
        if name in kwargs:
            raise ConfigError(f"{option} {description!r} gives {name} twice")
        kwargs[name] = value
    unknown = set(kwargs) - set(names)
    if unknown:
        known = ", ".join(n for n in names if n not in _UNSUPPORTED)
        raise ConfigError(
            f"{option} {description!r}: unknown {kind}: argument "
            f"{sorted(unknown)[0]!r}; known: {known}"
        )
    backlog = kwargs.get("backlog", "50")
    if not backlog.isdigit():
        raise ConfigError(
            f"{option} {description!r}: backlog {backlog!r} is not a number"
        )
    return kwargs


#: C{ssl:} arguments h2site refuses, since it chooses them itself.
_UNSUPPORTED = ("sslmethod", "dhParameters")


def _parseEndpoint(
    endpoint: str, description: str, option: str, defaultInterface: str
) -> ListenSpec:
    """
    Read one endpoint string (without C{haproxy:}): a port number or
    C{ssl:} into C{tcp:} plus h2site's TLS, anything else as it is (C{tcp:}
    checked first).

    @param description: the whole C{--port} value, for messages, with
        C{option}, the option it was given with.
    """
    args, kwargs = splitDescription(endpoint)
    kind = args[0].strip().lower()
    if kind.isdigit():
        if len(args) > 1 or kwargs:
            raise ConfigError(
                f"{option} {description!r}: a port number stands alone; to give "
                f"more, write ssl:port={kind}:... or tcp:port={kind}:..."
            )
        return _parseSSL({"port": kind}, description, option, defaultInterface)
    if kind in ("tcp", "tcp6"):
        named = _arguments(kind, _TCP_ARGUMENTS, endpoint, description, option)
        _checkPort(named.get("port", ""), description, option)
    if kind != "ssl":
        return ListenSpec(description=description, plain=endpoint, tls=None)
    return _parseSSL(
        _arguments("ssl", _SSL_POSITIONAL, endpoint, description, option),
        description,
        option,
        defaultInterface,
    )


def _parseSSL(
    kwargs: dict[str, str], description: str, option: str, defaultInterface: str
) -> ListenSpec:
    """
    An C{ssl:} endpoint's arguments (checked by L{_arguments}) as a C{tcp:}
    listener with h2site's TLS: its own files, or with no key, the
    development certificate on L{DEV_INTERFACE}.
    """
    for ignored in _UNSUPPORTED:
        if ignored in kwargs:
            raise ConfigError(
                f"{option} {description!r}: {ignored}= is not supported; h2site "
                f"chooses TLS versions and key exchange itself (TLS 1.2+, ECDHE)"
            )
    _checkPort(kwargs.get("port", ""), description, option)
    plain = f"tcp:port={kwargs['port']}:backlog={kwargs.get('backlog', '50')}"
    own = bool(kwargs.get("privateKey") or kwargs.get("certKey"))
    interface = kwargs.get("interface", "" if own else defaultInterface)
    if interface:
        plain += f":interface={escape(interface)}"
    if not own:
        if kwargs.get("extraCertChain"):
            raise ConfigError(
                f"{option} {description!r}: extraCertChain= goes with "
                f"privateKey= and certKey=; give those too"
            )
        return ListenSpec(
            description=description, plain=plain, tls=None, devCertificate=True
        )
    if not kwargs.get("privateKey"):
        raise ConfigError(
            f"{option} {description!r}: certKey= needs privateKey=, the key of "
            f"that certificate (or give neither, for h2site's certificate)"
        )
    privateKey = kwargs["privateKey"]
    files = TLSFiles(
        key=os.path.abspath(privateKey),
        cert=os.path.abspath(kwargs.get("certKey", privateKey)),
        chain=os.path.abspath(kwargs["extraCertChain"])
        if kwargs.get("extraCertChain")
        else None,
        options=ENDPOINT_OPTIONS,
    )
    signature = files.signature()
    material = loadKeyAndChain(
        privateKey,
        kwargs.get("certKey", privateKey),
        kwargs.get("extraCertChain"),
        ENDPOINT_OPTIONS,
    )
    return ListenSpec(
        description=description,
        plain=plain,
        tls=material,
        tlsFiles=files,
        tlsSignature=signature,
    )


def withTLS(spec: ListenSpec, files: TLSFiles) -> ListenSpec:
    """
    C{spec} serving TLS from C{files}, read now: how start-up gives the
    development certificate to the listeners that asked for it.

    @raise ConfigError: see L{loadKeyAndChain}.
    """
    signature = files.signature()
    return replace(spec, tls=files.load(), tlsFiles=files, tlsSignature=signature)


#: Endpoint types that carry a byte stream h2site can wrap in TLS itself.
WRAPPABLE = frozenset({"tcp", "tcp6", "unix", "systemd"})


def wrapInTLS(specs: Sequence[ListenSpec], files: TLSFiles) -> tuple[ListenSpec, ...]:
    """
    Put TLS (from C{--tls-cert}/C{--tls-key}) on every listener that is not
    TLS already and carries a byte stream: C{tcp:}, C{unix:}, C{systemd:},
    also behind C{haproxy:} (the PROXY header stays outside TLS, where the
    balancer writes it), and on those that asked for h2site's certificate
    (a port number, C{ssl:} without a key), instead of the development one.

    @raise ConfigError: if no listener can take it, since the options would
        then silently do nothing.
    """
    signature = files.signature()
    material = files.load()
    wrapped = tuple(
        replace(
            spec,
            tls=material,
            tlsFiles=files,
            tlsSignature=signature,
            devCertificate=False,
        )
        if spec.tls is None and spec.kind in WRAPPABLE
        else spec
        for spec in specs
    )
    if wrapped == tuple(specs):
        raise ConfigError(
            "--tls-cert/--tls-key apply to port numbers, ssl: without a key, "
            "and tcp:, unix: and systemd: endpoints (also inside haproxy:), and "
            "no --port is one; drop them or add such a --port"
        )
    return wrapped


def acmeListener(spec: ListenSpec) -> ListenSpec:
    """
    C{spec} serving the ACME certificate if it asked for h2site's (a port
    number, C{ssl:} without a key: then it listens where it said, on every
    interface unless told, since the certificate is for the public name),
    or is a plain listener that can carry TLS; any other as it is.
    """
    if spec.devCertificate:
        public = parseListen(spec.description, "--port", defaultInterface="")
        return replace(public, devCertificate=False, acme=True)
    if spec.tls is None and spec.kind in WRAPPABLE:
        return replace(spec, acme=True)
    return spec
