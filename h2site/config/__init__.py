"""
Every option of C{twistd h2site}, declared once, and the configuration built
from them: one frozen L{Config}, checked completely before anything starts
and passed down explicitly.

An option is one row of L{OPTIONS}: its name, help, default, the parser
that turns the string given into a value (or into one line saying what is
wrong), and the L{Config} field the value fills.  The command line
(L{h2site.tap.Options}) and L{buildConfig} are both derived from the table,
so an option is added in one place; only what depends on several options
(where to listen, the TLS files, redirects) is a rule in L{buildConfig},
and those of C{--dev} in L{h2site.config.dev}.

Reading the options writes nothing: the development certificate is only
named here (L{DevCertificate}); the process that listens creates it at
start-up (L{h2site.server.listenSpecs}).
"""

from h2site.config.build import buildConfig
from h2site.config.options import (
    OPTIONS,
    Flag,
    Option,
    checkSiteDir,
    parseHeader,
    parseSeconds,
    parseShutdownTimeout,
    parseSize,
    parseWorkers,
)
from h2site.config.values import (
    DEFAULT_PLAIN_PORT,
    DEFAULT_PORT,
    DEFAULT_SHUTDOWN_TIMEOUT,
    MAX_WORKERS,
    Config,
    DevCertificate,
)

__all__ = [
    "DEFAULT_PLAIN_PORT",
    "DEFAULT_PORT",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "MAX_WORKERS",
    "OPTIONS",
    "Config",
    "DevCertificate",
    "Flag",
    "Option",
    "buildConfig",
    "checkSiteDir",
    "parseHeader",
    "parseSeconds",
    "parseShutdownTimeout",
    "parseSize",
    "parseWorkers",
]
