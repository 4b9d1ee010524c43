# -*- test-case-name: tests.unit.test_config -*-
"""
Every option of C{twistd h2site}, declared once: a row of L{OPTIONS} gives
its name, help, default, the parser that turns the string given into a
value (or into one line saying what is wrong), and the L{Config} field the
value fills.  The command line (L{h2site.tap.Options}) and
L{h2site.config.build.buildConfig} are both derived from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from h2site.acme.settings import parseDirectory, parseDomain, parseEmail
from h2site.config.values import DEFAULT_SHUTDOWN_TIMEOUT, MAX_WORKERS
from h2site.errors import ConfigError
from h2site.ops.accesslog import FORMATS
from h2site.preload.policy import EARLY_HINTS_MODES, EarlyHintsMode
from h2site.sites.kinds import siteKind
from h2site.tls.endpoints import ListenSpec, parseListen
from h2site.web.headers import (
    DEFAULT_HSTS_MAX_AGE,
    MANAGED_HEADERS,
    isFieldName,
    isFieldValue,
)

__all__ = [
    "OPTIONS",
    "Flag",
    "Option",
    "Parser",
    "checkSiteDir",
    "parseHeader",
    "parseSeconds",
    "parseShutdownTimeout",
    "parseSize",
    "parseWorkers",
]

#: Reads the string given for an option into its value, or raises
#: L{ConfigError} with one line; it is also given the option as written
#: (C{--preload-depth}), to name it in that line.
Parser = Callable[[str, str], object]


@dataclass(frozen=True)
class Option:
    """
    One option that takes a value.

    @ivar name: the long name, without C{--}.
    @ivar help: what C{--help} says about it, one paragraph.
    @ivar parse: turns the string given into the value; L{None} for
        options only a rule of L{buildConfig} reads (C{--tls-cert}).
    @ivar field: the L{Config} field the value fills, dotted for a field of
        a field (C{preload.limits.maxDepth}); L{None} with C{parse}.
    @ivar default: the string used when the option is not given (C{--help}
        shows it), or L{None} to leave the field's own default.
    @ivar short: a one-letter alias, if any.
    @ivar repeatable: whether it may be given several times; the values
        fill the field as a tuple, in order.
    """

    name: str
    help: str
    parse: Parser | None = None
    field: str | None = None
    default: str | None = None
    short: str | None = None
    repeatable: bool = False


@dataclass(frozen=True)
class Flag:
    """
    An option that is on or off: C{--NAME} and C{--no-NAME}, the last given
    winning.

    @ivar name: the long name of the C{on} spelling, without C{--}.
    @ivar help: what C{--help} says about C{--NAME}.
    @ivar offHelp: what it says about C{--no-NAME}.
    @ivar field: the L{Config} field (dotted) the C{bool} fills.
    @ivar default: the value when neither is given.
    """

    name: str
    help: str
    offHelp: str
    field: str
    default: bool = True


def _plain(parse: Callable[[str], object]) -> Parser:
    """A parser whose messages name its option by themselves."""
    return lambda value, option: parse(value)


def checkSiteDir(siteDir: str) -> str:
    """
    Check that C{siteDir} is a site h2site can serve, of either kind
    (L{h2site.sites.kinds}).

    @return: its absolute path.
    @raise ConfigError: if it is missing, not a folder, unreadable, empty,
        or a template site without C{templates/index.html}.
    """
    path = os.path.abspath(siteDir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(
            f"--site {path!r} is a file, not a folder; pass --site DIR, the "
            f"folder that holds it (or a template site)"
        )
    if not os.path.isdir(path):
        raise ConfigError(
            f"site folder {path!r} does not exist; pass --site DIR "
            f"(a folder of files to serve, or a template site)"
        )
    try:
        empty = not os.listdir(path)
    except PermissionError:
        raise ConfigError(
            f"site folder {path!r} is not readable by this user"
        ) from None
    if empty:
        raise ConfigError(
            f"site folder {path!r} is empty; put the files to serve in it "
            f"(or a template site's templates/index.html)"
        )
    siteKind(path)
    return path


def _accessLog(accessLog: str) -> str:
    if accessLog == "-":
        return accessLog
    path = os.path.abspath(accessLog)
    parent = os.path.dirname(path)
    if os.path.isdir(path):
        raise ConfigError(f"--access-log {accessLog!r} is a folder; give a file path")
    if not os.path.isdir(parent):
        raise ConfigError(
            f"--access-log {accessLog!r}: folder {parent!r} does not exist"
        )
    if not os.access(path if os.path.exists(path) else parent, os.W_OK):
        raise ConfigError(f"--access-log {accessLog!r} is not writable by this user")
    return path


def _accessLogFormat(value: str) -> str:
    if value not in FORMATS:
        raise ConfigError(
            f"--access-log-format {value!r} is not one of {', '.join(sorted(FORMATS))}"
        )
    return value


def _healthPath(value: str) -> str:
    if not value.startswith("/") or value.startswith("/static/"):
        raise ConfigError(
            f"--health-path {value!r} must be an absolute path outside "
            f"/static/, e.g. /healthz"
        )
    return value


_SIZE = re.compile(r"(\d+)\s*([KMG]?)i?B?", re.IGNORECASE)

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parseSize(value: str, option: str) -> int:
    """
    A byte count such as C{262144}, C{256K}, C{64M} or C{1G} (powers of 1024).

    @raise ConfigError: if it is not one.
    """
    m = _SIZE.fullmatch(value.strip())
    if m is None:
        raise ConfigError(
            f"{option} {value!r} is not a size; give bytes, or a number with "
            f"K, M or G (e.g. 256K)"
        )
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def _parseNumber(value: str, option: str, maximum: int) -> int:
    if not value.strip().isdigit() or int(value) > maximum:
        raise ConfigError(f"{option} {value!r} is not a number from 0 to {maximum}")
    return int(value)


def _number(maximum: int) -> Parser:
    """A count from 0 to C{maximum}, digits only."""
    return lambda value, option: _parseNumber(value, option, maximum)


def _wholeNumber(low: int, high: int) -> Parser:
    """
    An integer from C{low} to C{high}: the preload limits, whose bounds are
    where a header becomes more likely to be refused by a proxy than to help.
    """

    def parse(value: str, option: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(
                f"{option} {value!r} is not a whole number from {low} to {high}"
            )
        return number

    return parse


def parseSeconds(value: str, option: str, low: float, high: float) -> float:
    """
    A number of seconds from C{low} to C{high}, for a timeout option.

    @raise ConfigError: if it is not one.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not low <= seconds <= high:
        raise ConfigError(
            f"{option} {value!r} is not a number of seconds from {low:g} to {high:g}"
        )
    return seconds


def _seconds(low: float, high: float) -> Parser:
    return lambda value, option: parseSeconds(value, option, low, high)


def parseShutdownTimeout(value: str) -> float:
    """
    Read C{--shutdown-timeout}: a number of seconds, 0 or more.

    @raise ConfigError: if it is not such a number.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(
            f"--shutdown-timeout {value!r} is not a number of seconds; "
            f"give e.g. 10 (0 closes connections at once)"
        )
    return seconds


def parseWorkers(value: str, cpus: int | None = None) -> int:
    """
    The C{--workers} value: a count from 1 to L{MAX_WORKERS}, or C{auto} for
    the number of CPUs this process may run on.
    """
    if value == "auto":
        if cpus is None:
            cpus = len(os.sched_getaffinity(0))
        return max(1, min(cpus, MAX_WORKERS))
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise ConfigError(
            f"--workers {value!r} is not a number from 1 to {MAX_WORKERS} or 'auto'"
        )
    return int(value)


def _printable(value: str, what: str) -> str:
    if not isFieldValue(value):
        raise ConfigError(
            f"{what} value {value!r} must be printable ASCII "
            f"(no line breaks, no leading or trailing space)"
        )
    return value


def _csp(value: str) -> str:
    policy = value.strip()
    if not policy:
        raise ConfigError(
            "--csp is empty; give a policy such as \"default-src 'self'\""
        )
    return _printable(policy, "--csp")


#: Headers with an option of their own.
_HEADER_OPTIONS = {
    "strict-transport-security": "--hsts-max-age",
    "content-security-policy": "--csp",
}


def parseHeader(option: str) -> tuple[str, str]:
    """
    Read one C{--header "Name: value"}.

    @raise ConfigError: if it is not C{Name: value}, the name is not a
        token, the value could end the header line, or the header is one
        h2site sets itself.
    """
    name, sep, value = option.partition(":")
    name, value = name.strip(), value.strip(" \t")
    if not sep or not name or not value:
        raise ConfigError(f'--header {option!r} is not "Name: value"')
    if not isFieldName(name):
        raise ConfigError(f"--header {option!r}: {name!r} is not a header name")
    lower = name.lower()
    if lower in _HEADER_OPTIONS:
        raise ConfigError(f"--header {option!r}: use {_HEADER_OPTIONS[lower]} instead")
    if lower in MANAGED_HEADERS:
        raise ConfigError(
            f"--header {option!r}: h2site sets {name} itself for each response"
        )
    return name, _printable(value, f"--header {name}")


def _redirect(value: str) -> ListenSpec:
    spec = parseListen(value, "--redirect")
    if spec.tls is not None or spec.devCertificate:
        example = "haproxy:tcp:80" if spec.proxy else "tcp:80"
        raise ConfigError(
            f"--redirect {spec.description!r}: the redirect listener speaks "
            f"plain HTTP; give e.g. {example}"
        )
    return spec


def _redirectPort(value: str, option: str) -> int:
    port = _parseNumber(value, option, 65535)
    if port == 0:
        raise ConfigError("--redirect-port must be the HTTPS port, not 0")
    return port


def _earlyHints(value: str) -> EarlyHintsMode:
    given = value.strip().lower()
    mode = next((m for m in EARLY_HINTS_MODES if m == given), None)
    if mode is None:
        raise ConfigError(
            f"--early-hints {value!r} is not one of "
            f"{', '.join(EARLY_HINTS_MODES)} (h2: over HTTP/2 and HTTP/3, the default)"
        )
    return mode


#: Every option of C{twistd h2site}, in the order they are checked.
OPTIONS: tuple[Option | Flag, ...] = (
    Option(
        "site",
        "The site folder: any folder of files, served as it is, or a template "
        "site (templates/index.html, static/, public/).",
        _plain(checkSiteDir),
        "siteDir",
        default="site",
        short="s",
    ),
    Option(
        "port",
        "Where to listen: a port number (9000: HTTPS on 127.0.0.1 with the "
        "development certificate, or with --tls-cert's), or a Twisted "
        "endpoint: ssl:port=443:privateKey=key.pem:certKey=fullchain.pem "
        "(without the keys, like a port number), tcp:8080 (cleartext "
        "HTTP/1.1, or TLS with --tls-cert), systemd:domain=INET6:index=0. "
        "Repeat to listen on several. TLS listeners offer HTTP/2 (ALPN h2). "
        "Behind a load balancer that sends a PROXY header, put haproxy: in "
        "front (haproxy:ssl:..., haproxy:tcp:443 with --tls-cert).",
        _plain(parseListen),
        "listen",
        short="p",
        repeatable=True,
    ),
    Option(
        "tls-cert",
        "PEM certificate (or full chain, leaf first) to serve TLS with on "
        "every port number, ssl: without keys, tcp:, unix: and systemd: --port "
        "(also inside haproxy:).",
    ),
    Option("tls-key", "PEM private key for --tls-cert (unencrypted)."),
    Option("tls-chain", "PEM intermediates to send after --tls-cert."),
    Option(
        "acme-domain",
        "Automatic HTTPS: obtain a certificate for this name from an ACME CA "
        "(Let's Encrypt by default) and renew it; repeat for more names, all "
        "in one certificate. Port numbers, ssl: without keys and plain "
        "--port listeners then serve it (on every interface unless told); the "
        "CA's challenge is answered on --redirect (HTTP-01), else on TLS.",
        _plain(parseDomain),
        "acme.domains",
        repeatable=True,
    ),
    Option(
        "acme-email",
        "Contact address for the ACME account, which the CA may write to.",
        _plain(parseEmail),
        "acme.email",
    ),
    Option(
        "acme-directory",
        "The ACME CA's directory URL (https://...), letsencrypt (the default) "
        "or letsencrypt-staging (for trials: untrusted certificates).",
        _plain(parseDirectory),
        "acme.directory",
    ),
    Option(
        "acme-ca-bundle",
        "PEM file of the CAs to trust for a private ACME CA's own HTTPS.",
    ),
    Flag(
        "acme-agree-tos",
        "Agree to the ACME CA's terms of service (needed with --acme-domain; "
        "read them first: the CA's directory links them).",
        "Do not agree to them (the default: --acme-domain then refuses to start).",
        "acme.agreed",
        default=False,
    ),
    Option(
        "hsts-max-age",
        "Strict-Transport-Security max-age in seconds on HTTPS responses; 0 "
        f"sends none. Default: {DEFAULT_HSTS_MAX_AGE} (two years). Never sent "
        "when a listener serves the development certificate.",
        _number(2**31 - 1),
        "hstsMaxAge",
    ),
    Option(
        "csp",
        "Send this Content-Security-Policy on every response.",
        _plain(_csp),
        "csp",
    ),
    Option(
        "header",
        'Add a header to every response, as "Name: value" (repeatable), e.g. '
        '--header "Permissions-Policy: camera=()".',
        _plain(parseHeader),
        "extraHeaders",
        repeatable=True,
    ),
    Option(
        "redirect",
        "Also listen on this plain-HTTP endpoint (e.g. tcp:80) and answer every "
        "request there with a 308 redirect to the same host and path over "
        "HTTPS. Repeatable.",
        _plain(_redirect),
        "redirect",
        repeatable=True,
    ),
    Option(
        "redirect-port",
        "The HTTPS port --redirect sends clients to. Default: the port of the "
        "first TLS --port (443 if that is a Unix socket).",
        _redirectPort,
        "redirectPort",
    ),
    Option(
        "static-memory-file",
        "Keep static files up to this size in memory, precompressed "
        "(e.g. 256K, the default).",
        parseSize,
        "staticLimits.maxFileSize",
    ),
    Option(
        "static-memory",
        "Keep at most this much of the static files in memory, all codings "
        "together (e.g. 64M, the default); the rest stream from disk.",
        parseSize,
        "staticLimits.maxTotalSize",
    ),
    Option(
        "access-log-format",
        "Access log format: combined (Combined Log Format) or json (one "
        "object per line, with protocol and duration).",
        _plain(_accessLogFormat),
        "accessLogFormat",
        default="combined",
    ),
    Option(
        "health-path",
        "Answer health checks at this path (e.g. /healthz) with 200, "
        "without access-log lines. Default: off.",
        _plain(_healthPath),
        "healthPath",
    ),
    Option(
        "workers",
        "Serving processes: a number, or 'auto' for one per CPU. With more "
        "than one, this process listens and supervises them.",
        _plain(parseWorkers),
        "workers",
        default="1",
    ),
    Option(
        "access-log",
        "Write the access log (Combined Log Format) to PATH, or to standard "
        "output with '-'. Default: twistd's log.",
        _plain(_accessLog),
        "accessLog",
    ),
    Option(
        "shutdown-timeout",
        "On stop, give open connections this many seconds to finish the "
        "responses they are sending (HTTP/2 clients get GOAWAY at once).",
        _plain(parseShutdownTimeout),
        "shutdownTimeout",
        default=str(DEFAULT_SHUTDOWN_TIMEOUT),
    ),
    Flag(
        "follow-symlinks",
        "Serve files that symlinks in the site folder lead to outside it "
        "(files and folders only; dot-names are still never served).",
        "Never serve what a symlink out of the site folder leads to, and "
        "name such links at start-up (the default).",
        "followSymlinks",
        default=False,
    ),
    Flag(
        "check",
        "Do not serve: index the site, print the symlinks refused and the "
        "references that nothing answers, and exit 1 if there are any (for "
        "a site's own CI).",
        "Serve the site (the default).",
        "check",
        default=False,
    ),
    Flag(
        "dev",
        "Development mode, for editing the site: watch the folder and serve "
        "each saved change at once, reload open pages by themselves, show a "
        "template error as the page; on this machine only, one process, no "
        "HSTS, nothing compressed.",
        "Serve the site as it was at start-up, until a reload (the default).",
        "dev",
        default=False,
    ),
    Flag(
        "http3",
        "Serve HTTP/3 (QUIC) too, on each TLS listener's UDP port, with Alt-Svc.",
        "Serve no HTTP/3 (the default).",
        "http3",
        default=False,
    ),
    Flag(
        "preload",
        "Announce each page's assets, found in the page and followed through "
        "its stylesheets and modules, in Link headers (the default).",
        "Send pages without Link preload headers or 103 Early Hints.",
        "preload.enabled",
    ),
    Option(
        "early-hints",
        "When to send a 103 Early Hints response (the page's preload links) "
        "before a page a browser navigates to: off, h2 (HTTP/2 and HTTP/3), "
        "or all (those and HTTP/1.1; some old HTTP/1.1 clients mishandle it).",
        _plain(_earlyHints),
        "preload.earlyHints",
        default="h2",
    ),
    Option(
        "preload-depth",
        "How many levels of references below a page's own assets to follow "
        "(stylesheet imports, fonts, images, module imports); 0 to 32, "
        "default 8.",
        _wholeNumber(0, 32),
        "preload.limits.maxDepth",
    ),
    Option(
        "preload-max-links",
        "At most this many preload links per page (1 to 256, default 32).",
        _wholeNumber(1, 256),
        "preload.limits.maxLinks",
    ),
    Option(
        "preload-max-header-bytes",
        "At most this many bytes of Link header per page (128 to 65536, default 8192).",
        _wholeNumber(128, 65536),
        "preload.limits.maxHeaderBytes",
    ),
    Option(
        "header-timeout",
        "Seconds a client has to complete the TLS handshake, and each request "
        "head (HTTP/1.1 request line and headers, HTTP/2 preface and header "
        "blocks) from its first byte; then 408 and close. Default: 20.",
        _seconds(1, 3600),
        "connectionLimits.headerTimeout",
    ),
    Option(
        "idle-timeout",
        "Close a connection after this many seconds without progress: no "
        "request arriving and no response bytes leaving. Default: 60.",
        _seconds(1, 86400),
        "connectionLimits.idleTimeout",
    ),
)
