# -*- test-case-name: tests.unit.test_tap,tests.integration.test_end_to_end -*-
"""
The two exceptions that turn every mistake an operator can make into one
line, never a traceback: L{ConfigError} where something is checked,
L{StartupError} where twistd is stopped.
"""

__all__ = ["ConfigError", "StartupError"]


class ConfigError(Exception):
    """
    The configuration (options, site folder, certificate, endpoint) is wrong.

    The message is a full sentence for the operator: what is wrong and what to
    do about it.  It never carries a traceback to the terminal.
    """


class StartupError(SystemExit, Exception):
    """
    Stop twistd with a one-line message on standard error and exit status 1.

    Why both bases: twistd removes its PID file only for L{Exception}s raised
    while the application starts, and only L{SystemExit} leaves Python without
    printing a traceback.  Being both, the error cleans up and stays one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"h2site: error: {message}")
