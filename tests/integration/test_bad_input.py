"""
What a new user gets wrong, run through the real C{twistd -n h2site}: each
mistake is one line (what is wrong, what to do) and a non-zero exit, never
a traceback; files that cannot be served are named at start-up; and the
port shorthand serves HTTPS with the development certificate, never with
HSTS.

Root reads every file, so the tests that need a file this user cannot read
run h2site as root without the capabilities that let it (C{setpriv
--bounding-set}): the permission checks then apply to it as to any user.
"""

from __future__ import annotations

import os
import re
import ssl
import subprocess
from pathlib import Path

import httpx
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    START_TIMEOUT,
    RunResult,
    copySite,
    requireTool,
    sharedCertificates,
    startServer,
    testEnvironment,
    twistdCommand,
)


def unprivileged() -> list[str]:
    """
    What to run h2site under so that a file it may not read is not read:
    nothing for a user, and for root, C{setpriv} dropping the capabilities
    that override file permissions.
    """
    if os.getuid() != 0:
        return []
    setpriv = requireTool("setpriv")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def run(cwd: Path, *args: str, prefix: list[str] | None = None) -> RunResult:
    """
    Run C{twistd h2site ARGS}, expecting it to stop by itself.
    """
    done = subprocess.run(
        [*(prefix or []), *twistdCommand(*args)],
        cwd=cwd,
        env=testEnvironment(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    return RunResult(done.returncode, done.stdout, done.stderr)


class BadInputTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.site = copySite(self.tmp / "site")

    def assertOneLine(self, result: RunResult, expected: str) -> None:
        """
        h2site stopped with status 1 and exactly one error line, which is
        C{expected}, and no traceback.
        """
        output = result.stdout + result.stderr
        self.assertEqual(result.code, 1, output)
        self.assertNotIn("Traceback", output)
        errors = [line for line in output.splitlines() if "error:" in line]
        self.assertEqual(errors, [f"h2site: error: {expected}"], output)


class OneLineErrorTests(BadInputTestCase):
    """
    Each mistake stops h2site with one line saying what is wrong.
    """

    def test_unreadableTemplate(self) -> None:
        """
        A template h2site may not read.
        """
        (self.site / "templates" / "about.html").chmod(0)
        self.assertOneLine(
            run(self.tmp, "--port", "tcp:0", prefix=unprivileged()),
            "template 'about.html': not readable by this user; fix its permissions",
        )

    def test_unreadableLayout(self) -> None:
        """
        A layout h2site may not read is named, not the page extending it.
        """
        (self.site / "templates" / "_layout.html").chmod(0)
        self.assertOneLine(
            run(self.tmp, "--port", "tcp:0", prefix=unprivileged()),
            "template '_layout.html': not readable by this user; fix its "
            "permissions (rendering 'about.html')",
        )

    def test_templateNotUTF8(self) -> None:
        """
        A template saved in another encoding names its first bad line.
        """
        path = self.site / "templates" / "about.html"
        path.write_bytes(b"<p>ok</p>\n<p>Caf\xe9</p>\n")
        self.assertOneLine(
            run(self.tmp, "--port", "tcp:0"),
            "template 'about.html' line 2: not UTF-8 text (invalid continuation "
            "byte); save it as UTF-8",
        )

    def test_undefinedInLayout(self) -> None:
        """
        An undefined name in the layout names the layout and its line.
        """
        layout = self.site / "templates" / "_layout.html"
        first, rest = layout.read_text().split("\n", 1)
        layout.write_text(f"{first}\n<!-- {{{{ site_name }}}} -->\n{rest}")
        self.assertOneLine(
            run(self.tmp, "--port", "tcp:0"),
            "template '_layout.html' line 2: 'site_name' is undefined "
            "(rendering 'about.html')",
        )

    def test_portNotANumber(self) -> None:
        """
        C{--port tcp:abc} says in words what is wrong.
        """
        self.assertOneLine(
            run(self.tmp, "--port", "tcp:abc"),
            "--port 'tcp:abc': the port 'abc' is not a number from 0 to 65535 "
            "(see 'twistd h2site --help')",
        )

    def test_siteIsAFile(self) -> None:
        """
        C{--site} naming a file says it is not a folder.
        """
        page = self.site / "templates" / "index.html"
        self.assertOneLine(
            run(self.tmp, "--site", str(page), "--port", "0"),
            f"--site '{page}' is a file, not a folder; pass --site DIR, the "
            f"folder that holds it (or a template site) (see 'twistd h2site "
            f"--help')",
        )

    def test_tlsCertMissing(self) -> None:
        """
        A missing C{--tls-cert} file is named with C{--tls-cert}, not with
        the C{certKey=} it becomes inside.
        """
        certs = sharedCertificates()
        missing = self.tmp / "cert.pem"
        result = run(self.tmp, "--tls-cert", str(missing), "--tls-key", str(certs.key))
        self.assertOneLine(
            result,
            f"certificate file '{missing}' (--tls-cert) does not exist (see "
            f"'twistd h2site --help')",
        )

    def test_tlsKeyMismatch(self) -> None:
        """
        A key that does not match names C{--tls-key} and C{--tls-cert}.
        """
        certs = sharedCertificates()
        result = run(
            self.tmp,
            "--port",
            "0",
            "--tls-cert",
            str(certs.cert),
            "--tls-key",
            str(certs.otherKey),
        )
        self.assertOneLine(
            result,
            f"private key '{certs.otherKey}' (--tls-key) does not match "
            f"certificate '{certs.cert}' (--tls-cert); give the key the "
            f"certificate was issued for (see 'twistd h2site --help')",
        )
        self.assertNotIn("Key=", result.stdout + result.stderr)


class UnservableFilesTests(BadInputTestCase):
    """
    Files in the static folder that cannot be served are named at start-up
    in one warning line, not silently left out.
    """

    def test_named(self) -> None:
        """
        A file h2site may not read, a FIFO and a broken symlink are named,
        with why, in one line, and everything else is served.
        """
        static = self.site / "static"
        (static / "css" / "secret.css").write_text("p{}")
        (static / "css" / "secret.css").chmod(0)
        os.mkfifo(static / "pipe")
        (static / "img" / "old.svg").symlink_to(static / "img" / "gone.svg")
        server = startServer(
            self, "--port", "tcp:0", cwd=self.tmp, prefix=unprivileged()
        )
        expected = (
            f"h2site cannot serve 3 files in {os.path.realpath(static)} "
            "(css/secret.css (cannot be read: permission denied), img/old.svg "
            "(a broken symlink), pipe (a FIFO)); make them regular files this "
            "user can read, or remove them"
        )
        server.waitForOutput(re.escape(expected))
        with httpx.Client() as client:
            response = client.get(server.url + "/static/css/app.css")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(client.get(server.url + "/static/pipe").status_code, 404)
        self.assertEqual(server.output().count("h2site cannot serve"), 1)


class PortShorthandTests(BadInputTestCase):
    """
    C{--port N} and C{--port ssl:port=N} serve HTTPS on 127.0.0.1 with the
    development certificate, without HSTS even when asked for; C{tcp:}
    serves cleartext and says so.
    """

    def client(self) -> httpx.Client:
        """
        A client that accepts exactly the development certificate h2site
        made in this test's state folder.
        """
        cert = self.tmp / "state" / "h2site" / "dev-cert.pem"
        ctx = ssl.create_default_context(cafile=str(cert))
        # The certificate itself is the trust anchor, whoever issued it.
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        return httpx.Client(http2=True, verify=ctx)

    def assertDevelopmentHTTPS(self, *args: str) -> None:
        """
        h2site started with C{args} listens on 127.0.0.1 with HTTPS and the
        development certificate, and sends no HSTS, though asked to in
        C{--hsts-max-age}, which one warning line says.
        """
        server = startServer(self, *args, "--hsts-max-age", "600", cwd=self.tmp)
        server.waitForOutput(
            r"h2site listening on https://127\.0\.0\.1:\d+/ \(HTTP/2 and HTTP/1\.1"
        )
        with self.client() as client:
            response = client.get(server.url + "/")
        self.assertEqual((response.status_code, response.http_version), (200, "HTTP/2"))
        self.assertNotIn("strict-transport-security", response.headers)
        self.assertIn("x-content-type-options", response.headers)
        self.assertEqual(
            server.output().count("--hsts-max-age is ignored: "), 1, server.output()
        )

    def test_portNumber(self) -> None:
        """
        A port number alone (0: the kernel picks one).
        """
        self.assertDevelopmentHTTPS("--port", "0")

    def test_sslWithoutKey(self) -> None:
        """
        C{ssl:} without a key.
        """
        self.assertDevelopmentHTTPS("--port", "ssl:port=0")

    def test_cleartext(self) -> None:
        """
        C{tcp:} serves HTTP/1.1 in cleartext, and one warning line says so
        and how to get TLS.
        """
        server = startServer(self, "--port", "tcp:0", cwd=self.tmp)
        with httpx.Client() as client:
            response = client.get(server.url + "/")
        self.assertEqual(
            (response.status_code, response.http_version), (200, "HTTP/1.1")
        )
        self.assertEqual(
            server.output().count("--port 'tcp:0' serves cleartext HTTP/1.1 only"), 1
        )
        self.assertIn("give --port 0 (the development certificate", server.output())
