# -*- test-case-name: tests.unit.test_tap -*-
"""
C{twistd h2site}: the options, and C{makeService}, which only wires.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.application import service
from twisted.python import usage

from h2site import server
from h2site.config import (
    DEFAULT_PORT,
    DEFAULT_SHUTDOWN_TIMEOUT,
    Config,
    buildConfig,
)
from h2site.errors import ConfigError, StartupError
from h2site.preload.policy import preloadSettings
from h2site.web.headers import DEFAULT_HSTS_MAX_AGE

__all__ = ["Options", "makeService"]


_F = TypeVar("_F", bound=Callable[..., object])


def _helpText(f: _F) -> _F:
    """
    Join a wrapped C{opt_*} docstring into one paragraph: C{--help} shows
    the docstring as it is, indentation and all.
    """
    f.__doc__ = " ".join((f.__doc__ or "").split())
    return f


class Options(usage.Options):
    """
    The command line of C{twistd h2site}.
    """

    synopsis = "[--port ENDPOINT ...] [--site DIR] [--access-log PATH|-]"
    longdesc = (
        "Serve a static site over HTTP/2 and TLS: Jinja2 pages from "
        "DIR/templates (index.html at /, about.html at /about), files from "
        "DIR/static under /static/, with Link preload headers for the assets "
        f"each page needs. With no --port, listen on {DEFAULT_PORT} with a "
        "development certificate that h2site generates once."
    )
    optParameters = [
        ["site", "s", "site", "The site folder (with templates/ and static/)."],
        [
            "access-log",
            None,
            None,
            "Write the access log (Combined Log Format) to PATH, or to standard "
            "output with '-'. Default: twistd's log.",
        ],
        [
            "tls-cert",
            None,
            None,
            "PEM certificate (or full chain, leaf first) to serve TLS with on "
            "every tcp:, unix: and systemd: --port (also inside haproxy:).",
        ],
        ["tls-key", None, None, "PEM private key for --tls-cert (unencrypted)."],
        ["tls-chain", None, None, "PEM intermediates to send after --tls-cert."],
        [
            "access-log-format",
            None,
            "combined",
            "Access log format: combined (Combined Log Format) or json (one "
            "object per line, with protocol and duration).",
        ],
        [
            "workers",
            None,
            "1",
            "Serving processes: a number, or 'auto' for one per CPU. With more "
            "than one, this process listens and supervises them.",
        ],
        [
            "health-path",
            None,
            None,
            "Answer health checks at this path (e.g. /healthz) with 200, "
            "without access-log lines. Default: off.",
        ],
        [
            "hsts-max-age",
            None,
            None,
            "Strict-Transport-Security max-age in seconds on HTTPS responses; 0 "
            f"sends none. Default: {DEFAULT_HSTS_MAX_AGE} (two years), or 0 with "
            "the development certificate.",
        ],
        ["csp", None, None, "Send this Content-Security-Policy on every response."],
        [
            "redirect-port",
            None,
            None,
            "The HTTPS port --redirect sends clients to. Default: the port of "
            "the first TLS --port (443 if that is a Unix socket).",
        ],
        [
            "static-memory-file",
            None,
            None,
            "Keep static files up to this size in memory, precompressed "
            "(e.g. 256K, the default).",
        ],
        [
            "static-memory",
            None,
            None,
            "Keep at most this much of the static files in memory, all codings "
            "together (e.g. 64M, the default); the rest stream from disk.",
        ],
        [
            "shutdown-timeout",
            None,
            str(DEFAULT_SHUTDOWN_TIMEOUT),
            "On stop, give open connections this many seconds to finish the "
            "responses they are sending (HTTP/2 clients get GOAWAY at once).",
        ],
        [
            "header-timeout",
            None,
            None,
            "Seconds a client has to complete the TLS handshake, and each "
            "request head (HTTP/1.1 request line and headers, HTTP/2 preface "
            "and header blocks) from its first byte; then 408 and close. "
            "Default: 20.",
        ],
        [
            "idle-timeout",
            None,
            None,
            "Close a connection after this many seconds without progress: no "
            "request arriving and no response bytes leaving. Default: 60.",
        ],
        [
            "early-hints",
            None,
            "h2",
            "When to send a 103 Early Hints response (the page's preload links) "
            "before a page a browser navigates to: off, h2 (over HTTP/2 only), "
            "or all (HTTP/2 and HTTP/1.1; some old HTTP/1.1 clients mishandle it).",
        ],
        [
            "preload-depth",
            None,
            None,
            "How many levels of references below a page's own assets to follow "
            "(stylesheet imports, fonts, images, module imports); 0 to 32, "
            "default 8.",
        ],
        [
            "preload-max-links",
            None,
            None,
            "At most this many preload links per page (1 to 256, default 32).",
        ],
        [
            "preload-max-header-bytes",
            None,
            None,
            "At most this many bytes of Link header per page (128 to 65536, "
            "default 8192).",
        ],
    ]

    config: Config
    #: The arguments as given, which worker processes are started with.
    argv: list[str]

    def __init__(self) -> None:
        super().__init__()
        self["port"] = []
        self["header"] = []
        self["redirect"] = []
        self.argv = []
        self["preload"] = True

    def opt_preload(self) -> None:
        """
        Announce each page's assets, found in the page and followed through
        its stylesheets and modules, in Link headers (the default).
        """
        self["preload"] = True

    def opt_no_preload(self) -> None:
        """
        Send pages without Link preload headers or 103 Early Hints.
        """
        self["preload"] = False

    @_helpText
    def opt_header(self, header: str) -> None:
        """
        Add a header to every response, as "Name: value" (repeatable), e.g.
        --header "Permissions-Policy: camera=()".
        """
        self["header"].append(header)

    @_helpText
    def opt_redirect(self, description: str) -> None:
        """
        Also listen on this plain-HTTP endpoint (e.g. tcp:80) and answer
        every request there with a 308 redirect to the same host and path
        over HTTPS. Repeatable.
        """
        self["redirect"].append(description)

    @_helpText
    def opt_port(self, description: str) -> None:
        """
        Listen on a Twisted endpoint, e.g. ssl:port=443:privateKey=key.pem:
        certKey=fullchain.pem, tcp:8080, systemd:domain=INET6:index=0.
        Repeat to listen on several. ssl: endpoints offer HTTP/2 (ALPN h2).
        Behind a load balancer that sends a PROXY header, put haproxy: in
        front (haproxy:ssl:..., haproxy:tcp:443 with --tls-cert).
        """
        self["port"].append(description)

    opt_p = opt_port

    def postOptions(self) -> None:
        try:
            self.config = buildConfig(
                self["site"],
                self["port"],
                self["access-log"],
                os.environ,
                tlsCert=self["tls-cert"],
                tlsKey=self["tls-key"],
                tlsChain=self["tls-chain"],
                accessLogFormat=self["access-log-format"],
                healthPath=self["health-path"],
                workers=self["workers"],
                hstsMaxAge=self["hsts-max-age"],
                csp=self["csp"],
                headers=self["header"],
                redirect=self["redirect"],
                redirectPort=self["redirect-port"],
                memoryFileMax=self["static-memory-file"],
                memoryTotalMax=self["static-memory"],
                shutdownTimeout=self["shutdown-timeout"],
                preload=preloadSettings(
                    self["preload"],
                    self["early-hints"],
                    self["preload-depth"],
                    self["preload-max-links"],
                    self["preload-max-header-bytes"],
                ),
                headerTimeout=self["header-timeout"],
                idleTimeout=self["idle-timeout"],
            )
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None

    def parseOptions(self, options: Any = None) -> None:
        """
        Parse, turning any usage error into one line and exit status 1,
        instead of twistd's full usage text followed by the error.
        """
        self.argv = list(options) if options is not None else []
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            raise StartupError(f"{e} (see 'twistd h2site --help')") from None


def makeService(options: Options) -> service.IService:
    """
    The service C{twistd h2site} runs (see L{h2site.server.makeService}).
    """
    return server.makeService(options.config, options.argv)
