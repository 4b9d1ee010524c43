"""
Shared test helpers: a test certificate authority, a site folder, headless
Chromium, the real C{twistd h2site} process on a port the kernel picks, and
what can be read of a process from C{/proc}.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import SkipTest, SynchronousTestCase

REPO = Path(__file__).resolve().parent.parent
DEMO_SITE = REPO / "site"

#: Every asset of the demo home page, in the order h2site announces it.
DEMO_ASSETS = [
    "/static/css/app.css",
    "/static/css/base.css",
    "/static/fonts/h2display.woff2",
    "/static/js/main.mjs",
    "/static/js/lib/timing.mjs",
    "/static/js/lib/ui.mjs",
    "/static/js/lib/format.mjs",
    "/static/img/favicon.svg",
    "/static/img/hero.svg",
]

#: The key usage of a certificate authority's own certificate.
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)

#: How long a server may take to start; generous for a loaded CI machine.
START_TIMEOUT = 60.0

#: Every other wait on a server has this deadline.
TIMEOUT = 30.0

#: C{twistd} run by this interpreter (there is no C{python -m} form of it).
_TWISTD = "from twisted.scripts.twistd import run; run()"

_LISTENING = re.compile(r"h2site listening on (https?)://(\S+?):(\d+)/")


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Certificates:
    """
    Files of a test CA and a server certificate it signed for localhost,
    127.0.0.1 and ::1.
    """

    directory: Path
    caCert: Path
    key: Path
    cert: Path
    otherKey: Path

    def sslContext(self, alpn: Sequence[str] = ("h2", "http/1.1")) -> ssl.SSLContext:
        """
        A client context that trusts only the test CA, checks the name, and
        offers the ALPN protocols C{alpn}.
        """
        ctx = ssl.create_default_context(cafile=str(self.caCert))
        ctx.set_alpn_protocols(list(alpn))
        return ctx

    def endpoint(self, port: int = 0, interface: str = "127.0.0.1") -> str:
        """
        An C{ssl:} endpoint string for this certificate.
        """
        iface = interface.replace(":", "\\:")
        keys = f"privateKey={self.key}:certKey={self.cert}"
        return f"ssl:port={port}:interface={iface}:{keys}"


def makeCertificates(
    directory: Path, names: Sequence[str] = ("localhost",)
) -> Certificates:
    """
    Write a test CA, a server key and certificate signed by it, and an
    unrelated key (for mismatch tests) into C{directory}.
    """
    now = datetime.now(UTC)
    caKey = ec.generate_private_key(ec.SECP256R1())
    caName = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "h2site test CA")])
    caCert = (
        x509.CertificateBuilder()
        .subject_name(caName)
        .issuer_name(caName)
        .public_key(caKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            CA_KEY_USAGE,
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(caKey.public_key()),
            critical=False,
        )
        .sign(caKey, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(caName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(caKey.public_key()),
            critical=False,
        )
        .sign(caKey, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(
        directory=directory,
        caCert=directory / "ca.pem",
        key=directory / "key.pem",
        cert=directory / "cert.pem",
        otherKey=directory / "other-key.pem",
    )
    files.caCert.write_bytes(caCert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(_pem(key))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.otherKey.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    return files


@cache
def sharedCertificates() -> Certificates:
    """
    One set of test certificates for the whole run (in a temporary folder
    removed at exit).
    """
    directory = Path(tempfile.mkdtemp(prefix="h2site-certs-"))
    atexit.register(shutil.rmtree, directory, True)
    return makeCertificates(directory)


def copySite(destination: Path, source: Path = DEMO_SITE) -> Path:
    """
    Copy a site folder (by default the demo site) so a test may change it.
    """
    shutil.copytree(source, destination, symlinks=True)
    return destination


def makeSite(
    directory: Path, templates: dict[str, str], static: dict[str, bytes]
) -> Path:
    """
    Write a small site: template texts and static file bytes by relative path.
    """
    for name, text in templates.items():
        path = directory / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for name, data in static.items():
        path = directory / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return directory


#: Headless Chromium as root on a machine with no network but loopback:
#: no sandbox, no GPU, no QUIC, and no background calls to Google's hosts.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def spkiHash(certificate: Path) -> str:
    """
    The base64 SHA-256 of a certificate's public key, as Chromium's
    C{--ignore-certificate-errors-spki-list} wants it.
    """
    key = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def startChromium(
    chromium: str,
    driver: str,
    profile: Path,
    certificate: Path | None,
    latency: int,
    cacheDisabled: bool,
    pageLoadTimeout: float = 60,
    home: Path | None = None,
    forceQuic: str | None = None,
) -> Any:
    """
    A fresh headless Chromium under selenium (a C{WebDriver}; the caller
    quits it) that trusts C{certificate}'s key, with C{latency} milliseconds
    added to every request and the HTTP cache on or off (DevTools).

    The key is trusted by its hash rather than with
    C{--ignore-certificate-errors}: Chromium does not cache responses from a
    connection with certificate errors, so Early Hints preloads would be
    useless.

    @param certificate: L{None} to trust only what Chromium itself trusts.
    @param home: C{HOME} for Chromium, whose NSS database
        (C{HOME/.pki/nssdb}) holds the certificate authorities the user
        added; by default the test's own.
    @param forceQuic: an origin's C{HOST:PORT} that Chromium reaches over
        HTTP/3 from the first request (QUIC is otherwise off).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    flags = list(CHROMIUM_FLAGS)
    if forceQuic is not None:
        flags.remove("--disable-quic")
        flags.append(f"--origin-to-force-quic-on={forceQuic}")
    for flag in [
        *flags,
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(flag)
    if certificate is not None:
        options.add_argument(
            f"--ignore-certificate-errors-spki-list={spkiHash(certificate)}"
        )
    environ = {**os.environ, "HOME": str(home)} if home is not None else None
    browser = webdriver.Chrome(options=options, service=Service(driver, env=environ))
    browser.set_page_load_timeout(pageLoadTimeout)
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.setCacheDisabled", {"cacheDisabled": cacheDisabled}
    )
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    return browser


def requireTool(name: str) -> str:
    """
    The path of a command-line tool a test needs.  Missing, it skips the
    test on a developer's machine, but fails it under CI (C{CI=true}),
    whose C{.ci/run} must install it.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{name} is not installed; .ci/run must install it")
        from twisted.trial.unittest import SkipTest

        raise SkipTest(f"{name} is not installed")
    return path


def readsEverything(directory: Path) -> bool:
    """
    Whether this process reads files whatever their permissions (root with
    C{CAP_DAC_OVERRIDE}), so that a test of an unreadable file must skip:
    tried on a file made unreadable in C{directory}.
    """
    probe = directory / "unreadable-probe"
    probe.write_bytes(b"")
    probe.chmod(0)
    try:
        probe.open("rb").close()
    except PermissionError:
        return False
    finally:
        probe.unlink()
    return True


def twistdCommand(*args: str) -> list[str]:
    """
    The command line that runs C{twistd -n h2site ARGS} with this Python,
    writing no PID file (so servers started from one folder never collide).
    """
    return [
        sys.executable,
        "-c",
        _TWISTD,
        "--nodaemon",
        "--pidfile=",
        "h2site",
        *args,
    ]


@dataclass
class RunResult:
    """
    What a finished command printed and how it exited.
    """

    code: int
    stdout: str
    stderr: str


def runTwistd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> RunResult:
    """
    Run C{twistd h2site ARGS} expecting it to stop by itself (a start-up
    error, or C{--help}); fail loudly if it is still running after a bound.
    """
    done = subprocess.run(
        twistdCommand(*args),
        cwd=cwd,
        env=env if env is not None else testEnvironment(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    return RunResult(done.returncode, done.stdout, done.stderr)


def testEnvironment(home: Path) -> dict[str, str]:
    """
    The environment for a server under test: its own state folder, so the
    development certificate of the developer's account is never touched.
    """
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(home / "state")
    env.pop("NOTIFY_SOCKET", None)
    env.pop("LISTEN_FDS", None)
    env.pop("LISTEN_PID", None)
    return env


@dataclass
class Server:
    """
    A running C{twistd -n h2site} process.

    Its output is read by a thread into C{lines}; C{start} waits until the
    server logs the address it listens on, which it only does once the port
    is open, so no test ever sleeps to wait for it.
    """

    args: Sequence[str]
    cwd: Path
    env: dict[str, str] | None = None
    #: Run before twistd, e.g. C{systemd-socket-activate -l ADDRESS}.
    prefix: Sequence[str] = ()
    lines: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    #: Whether the output is still being read (the process has not closed it).
    _reading: bool = field(default=True, init=False)

    def start(self, listeners: int = 1) -> Server:
        self.process = subprocess.Popen(
            [*self.prefix, *twistdCommand(*self.args)],
            cwd=self.cwd,
            env=self.env if self.env is not None else testEnvironment(self.cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        with self._changed:
            while len(self.urls) < listeners:
                if self.process.poll() is not None and not self._reading:
                    raise AssertionError(
                        f"h2site exited with {self.process.returncode}:\n"
                        + "".join(self.lines)
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stop()
                    raise AssertionError(
                        "h2site did not start:\n" + "".join(self.lines)
                    )
                self._changed.wait(min(left, 1.0))
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                match = _LISTENING.search(line)
                if match:
                    scheme, host, port = match.groups()
                    host = "localhost" if scheme == "https" else host
                    self.urls.append(f"{scheme}://{host}:{port}")
                self._changed.notify_all()
        with self._changed:
            self._reading = False
            self._changed.notify_all()

    @property
    def url(self) -> str:
        """
        The first listening address, e.g. C{https://localhost:40123}.
        """
        return self.urls[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def waitForOutput(
        self, pattern: str, timeout: float = 30.0, count: int = 1
    ) -> re.Match[str]:
        """
        Wait until the server has printed C{count} lines matching
        C{pattern}; return the last match.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(regex.search, self.lines) if m]
                if len(matches) >= count:
                    return matches[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or not self._reading:
                    raise AssertionError(
                        f"not {count} lines matching {pattern!r}:\n"
                        + "".join(self.lines)
                    )
                self._changed.wait(min(left, 1.0))

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        """
        Stop the server with SIGTERM (SIGKILL if it does not stop in time).

        @return: its exit status.
        """
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def startServer(
    testCase: object,
    *args: str,
    cwd: Path,
    listeners: int = 1,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> Server:
    """
    Start C{twistd h2site ARGS} in C{cwd} and stop it when the test ends.
    """
    server = Server(args=args, cwd=cwd, env=env, prefix=prefix).start(listeners)
    testCase.addCleanup(server.stop)  # type: ignore[attr-defined]
    return server


def startSocketActivated(
    testCase: object, certs: Certificates, *args: str, cwd: Path
) -> tuple[Server, int]:
    """
    Start h2site under C{systemd-socket-activate} on a free port, serving
    TLS with C{certs} on the socket it is given, and make the first request
    (which is what makes systemd-socket-activate start the program).

    @return: the server and the port.
    """
    import httpx

    activate = requireTool("systemd-socket-activate")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = startServer(
        testCase,
        "-p",
        "systemd:domain=INET:name=https",
        "--tls-cert",
        str(certs.cert),
        "--tls-key",
        str(certs.key),
        *args,
        cwd=cwd,
        # Like systemd itself, name the socket: Twisted's systemd: parser
        # ignores sockets passed without LISTEN_FDNAMES.
        prefix=[activate, "--listen", f"127.0.0.1:{port}", "--fdname", "https"],
        listeners=0,
    )
    server.waitForOutput(f"Listening on 127.0.0.1:{port}")
    with httpx.Client(http2=True, verify=certs.sslContext(), timeout=60) as client:
        response = client.get(f"https://localhost:{port}/")
    assert (response.http_version, response.status_code) == ("HTTP/2", 200), response
    return server, port


# Process measurements, from /proc (Linux).  In the default suite they only
# count (bytesRead) or bound a wait (waitIdle: until the server has done all
# it was given); the resource figures, CPU seconds and resident memory, are
# taken by benchmarks/, never asserted in tests, since a shared two-core
# machine makes any threshold on them flaky.


def bytesRead(pid: int) -> int:
    """
    How many bytes a process has read through C{read}-like system calls
    (C{rchar} of C{/proc/PID/io}): a count of the work it did, such as the
    file bytes a server read to answer, whatever the machine's load.
    """
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def cpuSeconds(pid: int) -> float:
    """
    CPU time (user + system) a process has used, from C{/proc}; for
    benchmarks.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rssBytes(pid: int) -> int:
    """
    A process's resident memory, from C{/proc}; for benchmarks.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def waitIdle(pid: int, quiet: float = 0.5, timeout: float = TIMEOUT) -> None:
    """
    Wait until a process has used no CPU for C{quiet} seconds (it has done
    all the work it was given), within C{timeout}: a server that keeps
    spinning fails the wait.
    """
    deadline = time.monotonic() + timeout
    last = cpuSeconds(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = cpuSeconds(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("the server never went idle")


def readToEnd(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    """
    Everything the server sends on C{sock} until it closes the connection
    (or resets it, or breaks TLS: what arrived before is returned).
    """
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


#: Debian's Python documentation (python3-doc): Sphinx's output, 530 pages,
#: two of whose files are symlinks out of the folder, to
#: C{/usr/share/javascript}.
PYTHON_DOCS = Path("/usr/share/doc/python3/html")


def requirePythonDocs() -> Path:
    """
    The folder of Debian's Python documentation, for tests that serve a
    real generator's output.  Missing, it skips the test on a developer's
    machine, but fails it under CI (C{CI=true}), whose C{.ci/run} installs
    python3-doc.
    """
    if not (PYTHON_DOCS / "index.html").is_file():
        if os.environ.get("CI") == "true":
            raise AssertionError(
                f"{PYTHON_DOCS} is missing; .ci/run must install python3-doc"
            )
        raise SkipTest(f"{PYTHON_DOCS} is missing (Debian: apt install python3-doc)")
    return PYTHON_DOCS


def copyPythonDocs(destination: Path) -> Path:
    """
    Copy Debian's Python documentation with its symlinks resolved: files
    only, as a generator writes its output.
    """
    shutil.copytree(requirePythonDocs(), destination, symlinks=False)
    return destination


_LINK_VALUE = re.compile(r"\s*<([^>]*)>")
_LINK_PARAMETER = re.compile(
    r'\s*;\s*([^\s;,=]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?'
)
_LINK_SEPARATOR = re.compile(r"\s*(?:,|$)")


def linkValues(field: str) -> list[tuple[str, dict[str, str]]]:
    """
    The target and parameters of each value of a C{Link} field (RFC 8288),
    in order, as a browser reads a page's C{Link} header or its C{103
    Early Hints}: parameter names in lower case, quoted values unquoted.

    @raise ValueError: if the field is not a list of link values.
    """
    values: list[tuple[str, dict[str, str]]] = []
    position = 0
    while position < len(field):
        target = _LINK_VALUE.match(field, position)
        if target is None:
            raise ValueError(f"not a Link value at {position}: {field!r}")
        parameters: dict[str, str] = {}
        position = target.end()
        while parameter := _LINK_PARAMETER.match(field, position):
            name, value = parameter.group(1).lower(), parameter.group(2) or ""
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            parameters.setdefault(name, value)
            position = parameter.end()
        separator = _LINK_SEPARATOR.match(field, position)
        if separator is None:
            raise ValueError(f"not a Link value at {position}: {field!r}")
        position = separator.end()
        values.append((target.group(1), parameters))
    return values


_T = TypeVar("_T")


class ClassFixture(Generic[_T]):
    """
    Something costly that the tests of one class share, such as a server
    that takes a minute to compress a large site: made when the first of
    them asks for it (L{get}), and closed once the last of them has run.

    Trial has no C{setUpClass}, but it makes every test it is to run (an
    instance of the class per test method) before it runs any of them; so
    each test counts itself in when it is made (L{expect}) and out when it
    has run (L{release}), and the fixture is closed when the count is back
    to zero (L{SharedFixtureTestCase} does both).  Should some tests never
    run (C{--exitfirst}), the fixture is closed when the process exits.
    """

    def __init__(self, make: Callable[[], _T], close: Callable[[_T], object]) -> None:
        self._make = make
        self._close = close
        self._value: _T | None = None
        self._expected = 0
        atexit.register(self._closeNow)

    def expect(self) -> None:
        """
        One more test will use the fixture.
        """
        self._expected += 1

    def get(self) -> _T:
        """
        The fixture, made on the first call since it was last closed.
        """
        if self._value is None:
            self._value = self._make()
        return self._value

    def release(self) -> None:
        """
        A test that counted itself in has run; after the last one, close
        the fixture.
        """
        self._expected -= 1
        if self._expected <= 0:
            self._closeNow()

    def _closeNow(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            self._close(value)


class SharedFixtureTestCase(SynchronousTestCase):
    """
    A test class whose tests share C{fixture} (a L{ClassFixture}): each
    counts itself in when trial makes it and out when it has run, skipped
    or not, so the fixture lives as long as the tests that use it.
    """

    fixture: ClassVar[ClassFixture[Any]]

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self.fixture.expect()

    def run(self, result: Any = None) -> Any:
        try:
            return super().run(result)
        finally:
            self.fixture.release()


def noWorkerProcesses(case: SynchronousTestCase) -> None:
    """
    Make C{makeService} do the store's background work in the test, on a
    clock nobody advances: it would otherwise start worker processes that
    nothing stops, and leave a shutdown trigger waiting for them at the end
    of the test run (which then never ends).
    """
    from twisted.internet.task import Clock

    from h2site import server
    from h2site.files.workers import InlineWorkers

    case.patch(
        server, "ProcessWorkers", lambda reactor, processes: InlineWorkers(Clock())
    )
