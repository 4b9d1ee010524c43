# -*- test-case-name: tests.unit.test_config,tests.unit.config -*-
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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

from h2site.acme.settings import stateFolderName
from h2site.config.dev import devRules
from h2site.config.options import OPTIONS, Flag
from h2site.config.values import (
    DEFAULT_PLAIN_PORT,
    DEFAULT_PORT,
    Config,
    DevCertificate,
)
from h2site.errors import ConfigError
from h2site.tls.context import TLS_OPTIONS
from h2site.tls.devcert import stateDirectory
from h2site.tls.endpoints import (
    ListenSpec,
    TLSFiles,
    acmeListener,
    parseListen,
    splitDescription,
    wrapInTLS,
)

__all__ = ["ACME_DEFAULT_PORT", "buildConfig"]

#: With --acme-domain and no --port: HTTPS where the public looks for it.
ACME_DEFAULT_PORT = "ssl:port=443"


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
        options=TLS_OPTIONS,
    )


def _named(specs: Sequence[ListenSpec], given: bool) -> str:
    """
    The listeners C{specs} as the operator knows them, for a warning.

    @param given: whether they come from C{--port}s, rather than being
        the default port.
    """
    if not given:
        return "the default port (8443, with no --port)"
    return " and ".join(f"--port {spec.description!r}" for spec in specs)


def _portOf(spec: ListenSpec) -> str | None:
    """
    The port number of a C{tcp:} listener, if it has one.
    """
    args, kwargs = splitDescription(spec.plain)
    port = kwargs.get("port") or (args[1] if len(args) > 1 else "")
    return port if spec.kind in ("tcp", "tcp6") and port.isdigit() else None


def _cleartextWarning(listen: Sequence[ListenSpec]) -> str | None:
    """
    Say that listeners without TLS serve cleartext HTTP/1.1 only (no
    browser speaks HTTP/2 without TLS), and how to get TLS, unless they are
    Unix sockets, which only a proxy on this machine reaches.
    """
    plain = [s for s in listen if s.tls is None and not (s.devCertificate or s.acme)]
    plain = [s for s in plain if s.kind != "unix"]
    if not plain:
        return None
    port = _portOf(plain[0]) or "8443"
    verb = "serves" if len(plain) == 1 else "serve"
    return (
        f"{_named(plain, True)} {verb} cleartext HTTP/1.1 only (no TLS, so no "
        f"HTTP/2 for browsers): right behind a proxy that ends TLS; else, for "
        f"HTTPS, give --port {port} (the development certificate, on this "
        f"machine) or add --tls-cert and --tls-key"
    )


def _hstsWarning(
    listen: Sequence[ListenSpec], given: bool, hstsGiven: bool
) -> str | None:
    """
    Say that no HSTS is sent although it would have been: a listener
    serving the development certificate turns it off for all of them,
    since the header would make the developer's browser insist on HTTPS
    for C{localhost}, on every port, for the whole max-age (a browser
    notes HSTS by host name, whatever the port).

    @param given: whether the listeners come from C{--port}s.
    @param hstsGiven: whether C{--hsts-max-age} asked for it.
    """
    dev = [s for s in listen if s.devCertificate]
    own = [s for s in listen if s.tls is not None]
    if not dev or not (hstsGiven or own):
        return None
    why = (
        f"{_named(dev, given)} {'serves' if len(dev) == 1 else 'serve'} the "
        f"development certificate, and Strict-Transport-Security would make "
        f"the browser use only HTTPS for localhost, on every port"
    )
    fix = "serve them with --tls-cert and --tls-key to send it"
    if hstsGiven:
        return f"--hsts-max-age is ignored: {why}; {fix}"
    return f"no Strict-Transport-Security is sent on any port: {why}; {fix}"


def _listen(
    config: Config, arguments: Mapping[str, object], environ: Mapping[str, str]
) -> Config:
    """
    Where to listen: the C{--port}s (or L{DEFAULT_PORT}), with the
    certificate of C{--tls-cert} put on those without one (or on
    L{DEFAULT_PLAIN_PORT}); those that asked for TLS without a certificate
    get the development certificate, and then no HSTS is sent at all.
    Also the warnings about what these options mean.
    """
    tls = _tlsFiles(
        _given(arguments, "tls-cert"),
        _given(arguments, "tls-key"),
        _given(arguments, "tls-chain"),
    )
    given = bool(config.listen)
    default = DEFAULT_PORT if tls is None else DEFAULT_PLAIN_PORT
    if config.acme.enabled:
        default = ACME_DEFAULT_PORT
        if tls is not None:
            raise ConfigError(
                "--acme-domain and --tls-cert both give the certificate; "
                "choose one (or give --tls-cert's files to ssl: listeners)"
            )
    listen = config.listen or (parseListen(default),)
    if tls is not None:
        listen = wrapInTLS(listen, tls)
    if config.acme.enabled:
        listen = tuple(acmeListener(spec) for spec in listen)
    hstsGiven = _given(arguments, "hsts-max-age") is not None and config.hstsMaxAge > 0
    warnings = [
        w
        for w in (_cleartextWarning(listen), _hstsWarning(listen, given, hstsGiven))
        if w is not None
    ]
    config = replace(config, listen=listen, warnings=config.warnings + tuple(warnings))
    if not any(spec.devCertificate for spec in listen):
        return config
    return replace(
        config,
        devCertificate=DevCertificate(str(stateDirectory(environ))),
        hstsMaxAge=0,
    )


def _checkRedirect(config: Config) -> None:
    """
    Redirects send clients to HTTPS: there must be a port to send them to.
    """
    hasTLS = config.devCertificate is not None or any(
        spec.tls is not None or spec.acme for spec in config.listen
    )
    if config.redirect and config.redirectPort is None and not hasTLS:
        raise ConfigError(
            "--redirect needs an HTTPS listener to send clients to: add "
            "--port ssl:... (or --tls-cert) or give the port with --redirect-port"
        )


def _acme(
    config: Config, arguments: Mapping[str, object], environ: Mapping[str, str]
) -> Config:
    """
    The rules of automatic HTTPS: the terms agreed to, a CA bundle that
    exists, a listener to serve the certificate, not with C{--dev}; the
    challenges answered (HTTP-01 first when there is a C{--redirect}
    listener, else TLS-ALPN-01 alone) and the state folder.
    """
    acme = config.acme
    bundle = _given(arguments, "acme-ca-bundle")
    if not acme.enabled:
        for name in ("acme-email", "acme-directory", "acme-ca-bundle"):
            if _given(arguments, name) is not None:
                raise ConfigError(f"--{name} goes with --acme-domain; give the names")
        return config
    if not acme.agreed:
        raise ConfigError(
            f"--acme-domain needs your agreement to the CA's terms of service: "
            f"read those linked from {acme.directory}, then add --acme-agree-tos"
        )
    if config.dev:
        raise ConfigError(
            "--acme-domain and --dev do not go together: --dev serves this "
            "machine only, with the development certificate"
        )
    if bundle is not None:
        bundle = os.path.abspath(bundle)
        if not os.path.isfile(bundle) or not os.access(bundle, os.R_OK):
            raise ConfigError(f"--acme-ca-bundle {bundle!r} is not a readable file")
    if not any(spec.acme for spec in config.listen):
        raise ConfigError(
            "--acme-domain: no --port serves its certificate; give a port "
            "number, ssl:port=443 (without keys) or a tcp: endpoint"
        )
    kinds = ("http-01", "tls-alpn-01") if config.redirect else ("tls-alpn-01",)
    if not config.redirect and config.workers > 1:
        raise ConfigError(
            "--acme-domain with --workers needs --redirect tcp:port=80 for the "
            "CA's HTTP-01 challenge: the TLS-ALPN-01 one is answered by a "
            "single process only"
        )
    folder = stateDirectory(environ) / "acme" / stateFolderName(acme.directory)
    acme = replace(acme, caBundle=bundle, folder=str(folder), challenges=kinds)
    return replace(config, acme=acme)


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
    config = _acme(config, arguments, environ)
    _checkRedirect(config)
    config = devRules(config, arguments)
    cache = stateDirectory(environ) / "compressed"
    key = hashlib.sha256(siteDir.encode("utf-8", "surrogateescape")).hexdigest()
    return replace(config, compressionCache=str(cache / key[:16]))
