# -*- test-case-name: tests.unit.test_config,tests.unit.test_tap -*-
"""
Building the L{Config} from the options given: each option's row of
L{h2site.config.options.OPTIONS} parses its value, and the few rules that
depend on several options (where to listen, the TLS files, redirects, the
compression cache) are here.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar, cast

from h2site.config.options import OPTIONS, Flag
from h2site.config.values import DEFAULT_PLAIN_PORT, Config, DevCertificate
from h2site.errors import ConfigError
from h2site.tls.devcert import stateDirectory
from h2site.tls.endpoints import TLSFiles, parseListen, wrapInTLS

__all__ = ["buildConfig"]


_T = TypeVar("_T")


def _given(arguments: Mapping[str, object], name: str) -> str | None:
    """
    The string given for option C{name}, or L{None}.
    """
    value = arguments.get(name)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"option {name!r} holds {value!r}, not a string")
    return value


def _values(arguments: Mapping[str, object]) -> dict[str, object]:
    """
    Parse each option given (or with a default) in table order, by its
    dotted field.
    """
    values: dict[str, object] = {}
    for option in OPTIONS:
        if isinstance(option, Flag):
            values[option.field] = bool(arguments.get(option.name, option.default))
            continue
        parse, path = option.parse, option.field
        if parse is None or path is None:
            continue
        flag = f"--{option.name}"
        if option.repeatable:
            given = arguments.get(option.name) or ()
            assert isinstance(given, list | tuple), given
            values[path] = tuple(parse(str(item), flag) for item in given)
            continue
        value = _given(arguments, option.name)
        if value is None:
            value = option.default
        if value is not None:
            values[path] = parse(value, flag)
    return values


def _filled(instance: _T, values: Mapping[str, object]) -> _T:
    """
    A copy of the dataclass C{instance} with each (dotted) field of
    C{values} set.
    """
    own: dict[str, object] = {}
    nested: defaultdict[str, dict[str, object]] = defaultdict(dict)
    for path, value in values.items():
        head, _, rest = path.partition(".")
        if rest:
            nested[head][rest] = value
        else:
            own[head] = value
    for head, inner in nested.items():
        own[head] = _filled(getattr(instance, head), inner)
    dataclass: Any = instance
    return cast(_T, replace(dataclass, **own))


def _tlsFiles(cert: str | None, key: str | None, chain: str | None) -> TLSFiles | None:
    if cert is None and key is None:
        if chain is not None:
            raise ConfigError("--tls-chain needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise ConfigError("--tls-cert and --tls-key go together; give both")
    return TLSFiles(
        key=os.path.abspath(key),
        cert=os.path.abspath(cert),
        chain=os.path.abspath(chain) if chain else None,
    )


def _listen(
    config: Config, arguments: Mapping[str, object], environ: Mapping[str, str]
) -> Config:
    """
    Where to listen: the C{--port}s, with TLS from C{--tls-cert} put on
    those without (or on L{DEFAULT_PLAIN_PORT}); with neither, the
    development certificate on L{DEFAULT_PORT}, and then no HSTS unless
    asked for: it would bind C{localhost} on every port to HTTPS in the
    developer's browser for the whole max-age.
    """
    tls = _tlsFiles(
        _given(arguments, "tls-cert"),
        _given(arguments, "tls-key"),
        _given(arguments, "tls-chain"),
    )
    if tls is not None:
        listen = config.listen or (parseListen(DEFAULT_PLAIN_PORT),)
        return replace(config, listen=wrapInTLS(listen, tls))
    if config.listen:
        return config
    hsts = config.hstsMaxAge if _given(arguments, "hsts-max-age") is not None else 0
    return replace(
        config,
        devCertificate=DevCertificate(str(stateDirectory(environ))),
        hstsMaxAge=hsts,
    )


def _checkRedirect(config: Config) -> None:
    """
    Redirects send clients to HTTPS: there must be a port to send them to.
    """
    hasTLS = config.devCertificate is not None or any(
        spec.tls is not None for spec in config.listen
    )
    if config.redirect and config.redirectPort is None and not hasTLS:
        raise ConfigError(
            "--redirect needs an HTTPS listener to send clients to: add "
            "--port ssl:... (or --tls-cert) or give the port with --redirect-port"
        )


def buildConfig(arguments: Mapping[str, object], environ: Mapping[str, str]) -> Config:
    """
    Check the options and build the L{Config}.

    @param arguments: the strings given, by option name (C{"port"}): a list
        of them for a repeatable option, a C{bool} for a L{Flag}; an option
        missing or L{None} was not given.
    @param environ: where the state folder is found (C{XDG_STATE_HOME},
        C{HOME}).

    @raise ConfigError: with a sentence saying what is wrong and what to do.
    """
    values = _values(arguments)
    siteDir = values.pop("siteDir")
    assert isinstance(siteDir, str)
    config = _filled(Config(siteDir=siteDir), values)
    config = _listen(config, arguments, environ)
    _checkRedirect(config)
    cache = stateDirectory(environ) / "compressed"
    key = hashlib.sha256(siteDir.encode("utf-8", "surrogateescape")).hexdigest()
    return replace(config, compressionCache=str(cache / key[:16]))
