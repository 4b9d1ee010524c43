# -*- test-case-name: tests.unit.test_tap -*-
"""
C{twistd h2site}: the command line, derived from the option table of
L{h2site.config} (so an option is declared once, there), and
C{makeService}, which hands the configuration to the assembly
(L{h2site.server}).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from twisted.application import service
from twisted.python import usage

from h2site import __version__, server
from h2site.config import DEFAULT_PORT, OPTIONS, Config, Flag, buildConfig
from h2site.errors import ConfigError, StartupError
from h2site.tls import trust

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    """
    The command line of C{twistd h2site}: the options of
    L{h2site.config.OPTIONS}, and C{--version}.

    Parameters keep the string given (a list of them for repeatable
    options, a C{bool} for flags), under the option's name, until
    L{postOptions} builds L{config} from them.
    """

    synopsis = "[--port ENDPOINT ...] [--site DIR] [--access-log PATH|-]"
    longdesc = (
        "Serve a static site over HTTP/2 and TLS: Jinja2 pages from "
        "DIR/templates (index.html at /, about.html at /about), files from "
        "DIR/static under /static/, with Link preload headers for the assets "
        f"each page needs. With no --port, listen on {DEFAULT_PORT} with a "
        "development certificate that h2site generates once."
    )
    # Repeatable options and flags are opt_* methods, added below.
    optParameters = [
        [option.name, option.short, option.default, option.help]
        for option in OPTIONS
        if not isinstance(option, Flag) and not option.repeatable
    ]

    config: Config
    #: The arguments as given, which worker processes are started with.
    argv: list[str]

    def __init__(self) -> None:
        super().__init__()
        for option in OPTIONS:
            if isinstance(option, Flag):
                self[option.name] = option.default
            elif option.repeatable:
                self[option.name] = []
        self.argv = []

    def opt_version(self) -> None:
        """
        Display h2site's version and exit.
        """
        print(f"h2site {__version__}")
        sys.exit(0)

    # What --help shows is the handler's __doc__, as it is: one line each.

    def opt_trust_local_ca(self) -> None:
        sys.exit(_localCA(trust.trustLocalCA))

    opt_trust_local_ca.__doc__ = (
        "Install h2site's local CA, which issues the development certificate, "
        "where this machine's browsers look (NSS databases via certutil; the "
        "system store if writable), print what was done, and exit."
    )

    def opt_untrust_local_ca(self) -> None:
        sys.exit(_localCA(trust.untrustLocalCA))

    opt_untrust_local_ca.__doc__ = (
        "Remove h2site's local CA from the browsers' and the system's trust "
        "stores again, and exit."
    )

    def postOptions(self) -> None:
        """
        Check everything and build L{config}, writing nothing.
        """
        try:
            self.config = buildConfig(self, os.environ)
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


def _localCA(command: Callable[[Mapping[str, str], TextIO], int]) -> int:
    """
    Run C{--trust-local-ca} or C{--untrust-local-ca}: at once, while the
    options are read, like C{--version}, so no site folder is needed.

    @raise StartupError: with the one line of a L{ConfigError}.
    """
    try:
        return command(os.environ, sys.stdout)
    except ConfigError as e:
        raise StartupError(str(e)) from None


def _appender(name: str, text: str) -> Callable[[Options, str], None]:
    def opt(self: Options, value: str) -> None:
        self[name].append(value)

    opt.__doc__ = text  # what --help shows
    return opt


def _switch(name: str, on: bool, text: str) -> Callable[[Options], None]:
    def opt(self: Options) -> None:
        self[name] = on

    opt.__doc__ = text
    return opt


def _handlerName(name: str) -> str:
    """
    The method name usage.Options reads C{--name} from.
    """
    return "opt_" + name.replace("-", "_")


def _addHandlers(options: type[Options]) -> None:
    """
    Give C{options} a handler for each repeatable option and flag of the
    table: usage.Options finds them on the class.  A repeatable option
    appends (one function for its long and short name, which C{--help}
    shows as one entry); a flag's two spellings set one key.
    """
    for option in OPTIONS:
        if isinstance(option, Flag):
            on = _switch(option.name, True, option.help)
            off = _switch(option.name, False, option.offHelp)
            setattr(options, _handlerName(option.name), on)
            setattr(options, _handlerName("no-" + option.name), off)
        elif option.repeatable:
            handler = _appender(option.name, option.help)
            setattr(options, _handlerName(option.name), handler)
            if option.short is not None:
                setattr(options, _handlerName(option.short), handler)


_addHandlers(Options)


def makeService(options: Options) -> service.IService:
    """
    The service C{twistd h2site} runs (see L{h2site.server.makeService}).
    """
    return server.makeService(options.config, options.argv)
