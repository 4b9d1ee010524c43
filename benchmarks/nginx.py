"""
nginx as a benchmark competitor: where it is, a free port for it, and its
configuration (one worker, HTTP/2 over TLS, everything in a work folder).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

__all__ = ["findNginx", "freePort", "writeNginxConfig"]


def findNginx() -> str | None:
    """
    The nginx binary (Debian puts it in C{/usr/sbin}), or L{None}.
    """
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def freePort() -> int:
    """
    A loopback TCP port nothing listens on right now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def writeNginxConfig(
    work: Path,
    port: int,
    root: Path,
    key: Path,
    cert: Path,
    http: str = "",
    server: str = "",
    workers: int = 1,
) -> Path:
    """
    Write C{work/nginx.conf}: one worker (h2site uses one core), or
    C{workers}, serving C{root} on C{127.0.0.1:port} over HTTP/2 and TLS,
    its pid, logs and temporary files in C{work}.

    @param http: more directives for the C{http} block.
    @param server: more directives for the C{server} block.
    """
    # Its workers would drop to nobody, who cannot read a private
    # temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    temporary = " ".join(
        f"{kind}_temp_path {work};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = work / "nginx.conf"
    config.write_text(
        f"""
{user}
worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    {temporary}
    {http}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {root};
        {server}
    }}
}}
"""
    )
    return config
