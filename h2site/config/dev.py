# -*- test-case-name: tests.unit.config.test_dev -*-
"""
The rules of C{--dev}, in one place, applied by
L{h2site.config.build.buildConfig} once the listeners are known.

Development mode is for a person editing a site on their own machine, so:

 - it listens on loopback only.  Its pages carry a script that follows an
   event stream, and its error pages show template source lines and paths:
   nothing to offer a network.  A C{--port} that would listen on another
   interface is refused rather than narrowed, so the address the user
   typed never silently means something else;
 - it never sends HSTS, which would bind C{localhost} (every port of it)
   to HTTPS in the developer's browser for the whole max-age;
 - it is one process: the watcher, the rebuild and the event streams of
   open pages live in the process that serves them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace

from h2site.config.values import Config
from h2site.errors import ConfigError
from h2site.tls.endpoints import ListenSpec, splitDescription

__all__ = ["devRules", "loopbackOnly"]

#: Where the interface sits among the positional arguments of each endpoint
#: type that takes one (after the type itself).
_INTERFACE_POSITION = {"tcp": 2, "tcp6": 2, "ssl": 5}

#: What each of them listens on when no interface is given.
_DEFAULT_INTERFACE = {"tcp": "0.0.0.0", "tcp6": "::", "ssl": "0.0.0.0"}  # noqa: S104


def _isLoopback(interface: str) -> bool:
    if interface.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(interface.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def loopbackOnly(endpoint: str) -> str | None:
    """
    Why an endpoint string would be reachable from other machines, or
    L{None} if it listens on this machine only (a loopback interface, or a
    Unix socket).

    @return: the end of a sentence, e.g. C{"listens on every interface"}.
    """
    args, kwargs = splitDescription(endpoint)
    kind = args[0].strip().lower() if args else ""
    if kind == "unix":
        return None
    if kind not in _INTERFACE_POSITION:
        return f"is a {kind}: endpoint, which --dev cannot tell is local"
    position = _INTERFACE_POSITION[kind]
    interface = kwargs.get("interface")
    if interface is None and len(args) > position:
        interface = args[position]
    if not interface:
        interface = _DEFAULT_INTERFACE[kind]
    if _isLoopback(interface):
        return None
    if interface in ("0.0.0.0", "::"):  # noqa: S104
        return "listens on every interface"
    return f"listens on {interface}"


def _checkLocal(option: str, spec: ListenSpec) -> None:
    why = loopbackOnly(spec.plain)
    if why is not None:
        raise ConfigError(
            f"--dev serves this machine only, but {option} {spec.description!r} "
            f"{why}; give interface=127.0.0.1 (or ::1), or leave out --dev"
        )


def devRules(config: Config, arguments: Mapping[str, object]) -> Config:
    """
    Check and complete a configuration with C{--dev} (unchanged without).

    @param arguments: the options as given, to tell an explicit
        C{--hsts-max-age} from its default.
    @raise ConfigError: for C{--workers} other than 1, a listener that is not
        on loopback, or C{--hsts-max-age} above 0.
    """
    if not config.dev:
        return config
    if config.workers != 1:
        raise ConfigError(
            "--dev runs in one process (it watches, rebuilds and reloads "
            "pages there); leave out --workers"
        )
    if arguments.get("hsts-max-age") is not None and config.hstsMaxAge > 0:
        raise ConfigError(
            "--dev never sends HSTS (it would hold localhost to HTTPS in the "
            "browser for the whole max-age); leave out --hsts-max-age"
        )
    # The default listener is among them (127.0.0.1:8443).
    for spec in config.listen:
        _checkLocal("--port", spec)
    for spec in config.redirect:
        _checkLocal("--redirect", spec)
    return replace(config, hstsMaxAge=0)
