# -*- test-case-name: tests.unit.tls.test_trust,tests.integration.test_local_ca -*-
"""
C{twistd h2site --trust-local-ca} (and C{--untrust-local-ca}): put h2site's
local CA (L{h2site.tls.localca}) where this machine's browsers look, or take
it out again, saying what was done in each store.

On Linux, Chromium and Chrome read the user's NSS database
(C{~/.pki/nssdb}) and Firefox one per profile; both are changed with
C{certutil} from Debian's C{libnss3-tools}.  The system store
(C{/usr/local/share/ca-certificates} and C{update-ca-certificates}, for
curl, wget, Python and most command-line tools) is changed when this user
may write it; otherwise the commands are printed.  Other systems (macOS, or
a browser on Windows talking to h2site in WSL) get printed instructions.

Every location comes from the environment given (C{HOME}, C{PATH},
C{H2SITE_SYSTEM_CA_DIR}) and every command goes through an injected runner,
so tests change only folders of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from cryptography import x509
from cryptography.x509.oid import NameOID

from h2site.errors import ConfigError
from h2site.tls.context import utcNow
from h2site.tls.devcert import ensureLocalCA, stateDirectory
from h2site.tls.localca import (
    LocalAuthority,
    authorityCommonName,
    currentOwner,
    loadAuthority,
)

__all__ = [
    "SYSTEM_STORE",
    "SYSTEM_STORE_VARIABLE",
    "NSSDatabase",
    "Run",
    "nickname",
    "nssDatabases",
    "otherSystems",
    "systemStore",
    "trustLocalCA",
    "untrustLocalCA",
]

#: Debian's folder for locally added CAs, read by C{update-ca-certificates}.
SYSTEM_STORE = Path("/usr/local/share/ca-certificates")

#: Names another folder for the system store; empty leaves it alone.
SYSTEM_STORE_VARIABLE = "H2SITE_SYSTEM_CA_DIR"

#: Runs a command, returning its exit status and what it printed.
Run = Callable[[Sequence[str]], tuple[int, str]]

#: What to install for a browser's NSS database: the Debian package.
_CERTUTIL_MISSING = (
    "certutil is not installed; install it with 'apt install libnss3-tools' "
    "(Debian, Ubuntu; 'dnf install nss-tools' on Fedora) and run "
    "'twistd h2site --trust-local-ca' again"
)

#: Trusted to issue server certificates; nothing else (no e-mail, no code).
_TRUST = "C,,"


@dataclass(frozen=True)
class NSSDatabase:
    """
    One NSS database a browser reads.

    @ivar path: its folder (holding C{cert9.db}).
    @ivar label: who reads it, for the report.
    @ivar create: whether to create it when missing (the user's shared
        one, which Chromium creates itself on first start anyway).
    """

    path: Path
    label: str
    create: bool = False


def nssDatabases(home: Path) -> list[NSSDatabase]:
    """
    The NSS databases under C{home}: the user's shared one, which Chromium
    and Chrome read on Linux (always, created if missing), the snap
    Chromium's, and each Firefox profile's that exists.
    """
    found = [NSSDatabase(home / ".pki" / "nssdb", "Chromium and Chrome", True)]
    snap = home / "snap" / "chromium" / "current" / ".pki" / "nssdb"
    if (snap / "cert9.db").exists():
        found.append(NSSDatabase(snap, "Chromium (snap)"))
    for profiles in (
        home / ".mozilla" / "firefox",
        home / "snap" / "firefox" / "common" / ".mozilla" / "firefox",
    ):
        for database in sorted(profiles.glob("*/cert9.db")):
            found.append(
                NSSDatabase(database.parent, f"Firefox profile {database.parent.name}")
            )
    return found


def systemStore(environ: Mapping[str, str]) -> Path | None:
    """
    The folder of the system store: C{$H2SITE_SYSTEM_CA_DIR} if set (empty:
    none), else L{SYSTEM_STORE}.
    """
    given = environ.get(SYSTEM_STORE_VARIABLE)
    if given is None:
        return SYSTEM_STORE
    return Path(given) if given else None


def nickname(certificate: x509.Certificate) -> str:
    """
    The name the CA is kept under in NSS: its common name, which says whose
    and which machine's it is, and stays the same when the CA is renewed,
    so installing again replaces the old one.
    """
    [common] = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common.value)


def _systemFile(store: Path, owner: str) -> Path:
    """
    The CA's file in the system store: one per user, so two users of one
    machine do not replace each other's.  C{update-ca-certificates} reads
    only C{.crt} files.
    """
    user = owner.partition("@")[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
    return store / f"h2site-local-ca-{safe}.crt"


def otherSystems(caPath: Path) -> list[str]:
    """
    How to trust the CA where this command cannot: other systems, and
    browsers on another machine or in Windows around WSL.
    """
    return [
        "Other systems, with the file above copied there:",
        f"  macOS: sudo security add-trusted-cert -d -r trustRoot "
        f"-k /Library/Keychains/System.keychain {caPath}",
        f"  Windows (also a browser outside WSL): certutil -user -addstore "
        f"Root {caPath.name}",
        f"  Fedora, RHEL: sudo cp {caPath} /etc/pki/ca-trust/source/anchors/ "
        f"&& sudo update-ca-trust",
        "  Firefox anywhere: Settings, Privacy & Security, View Certificates, "
        "Authorities, Import",
    ]


def _which(name: str, environ: Mapping[str, str]) -> str | None:
    return shutil.which(name, path=environ.get("PATH", os.defpath))


def _runner(environ: Mapping[str, str]) -> Run:
    def run(command: Sequence[str]) -> tuple[int, str]:
        done = subprocess.run(
            list(command),
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, (done.stdout + done.stderr).strip()

    return run


def _firstLine(output: str) -> str:
    return output.splitlines()[0] if output else "no output"


def _removeFromNSS(run: Run, certutil: str, where: str, name: str) -> int:
    """
    Delete every certificate named C{name}: NSS keeps a renewed CA beside
    the old one under the same nickname.

    @return: how many were deleted.
    """
    deleted = 0
    while deleted < 16:
        status, _ = run([certutil, "-d", where, "-D", "-n", name])
        if status != 0:
            break
        deleted += 1
    return deleted


def _trustNSS(
    run: Run, certutil: str, database: NSSDatabase, authority: LocalAuthority
) -> str | None:
    """
    Install the CA into one database, replacing an older one of the same
    name.

    @return: L{None}, or what went wrong.
    """
    where = f"sql:{database.path}"
    if database.create and not (
        (database.path / "cert9.db").exists() or (database.path / "cert8.db").exists()
    ):
        try:
            database.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            return f"cannot create {database.path}: {e.strerror}"
        status, output = run([certutil, "-d", where, "-N", "--empty-password"])
        if status != 0:
            return f"certutil -N failed: {_firstLine(output)}"
    name = nickname(authority.certificate)
    _removeFromNSS(run, certutil, where, name)
    add = [certutil, "-d", where, "-A", "-t", _TRUST, "-n", name]
    status, output = run([*add, "-i", str(authority.path)])
    if status != 0:
        return f"certutil -A failed: {_firstLine(output)}"
    return None


def _updateSystem(run: Run, environ: Mapping[str, str]) -> str | None:
    """
    Run C{update-ca-certificates}.

    @return: L{None}, or what went wrong.
    """
    update = _which("update-ca-certificates", environ)
    if update is None:
        return "update-ca-certificates is not installed (apt install ca-certificates)"
    status, output = run([update])
    if status != 0:
        return f"update-ca-certificates failed: {_firstLine(output)}"
    return None


def _trustSystem(
    run: Run,
    environ: Mapping[str, str],
    store: Path | None,
    authority: LocalAuthority,
    out: TextIO,
) -> bool:
    """
    Copy the CA into the system store and update it, when this user may.

    @return: whether it went wrong.
    """
    if store is None:
        print(f"system store: left alone ({SYSTEM_STORE_VARIABLE} is empty)", file=out)
        return False
    target = _systemFile(store, currentOwner())
    if not store.is_dir():
        print(
            f"system store: {store} does not exist (not Debian or Ubuntu); see below",
            file=out,
        )
        return False
    if not os.access(store, os.W_OK):
        print(
            f"system store: not writable by this user; to add it (for curl, "
            f"wget, Python): sudo cp {authority.path} {target} && sudo "
            f"update-ca-certificates",
            file=out,
        )
        return False
    try:
        data = authority.path.read_bytes()
        tmp = target.with_name("." + target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except OSError as e:
        print(f"system store: cannot write {target}: {e.strerror}", file=out)
        return True
    problem = _updateSystem(run, environ)
    if problem is not None:
        print(f"system store: copied to {target}, but {problem}", file=out)
        return True
    print(f"system store: {target}, update-ca-certificates ran", file=out)
    return False


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    if not home:
        raise ConfigError("HOME is not set; cannot find the browsers' NSS databases")
    return Path(home)


def trustLocalCA(
    environ: Mapping[str, str],
    out: TextIO,
    run: Run | None = None,
    now: datetime | None = None,
) -> int:
    """
    Install the local CA (made first if need be) into every NSS database of
    L{nssDatabases} and, when writable, the system store; print one line
    per store, then how to trust it elsewhere.

    @param environ: C{HOME} (the NSS databases), C{PATH} (C{certutil},
        C{update-ca-certificates}), C{XDG_STATE_HOME} (the CA), and
        L{SYSTEM_STORE_VARIABLE}.
    @param run: runs the commands (default: in C{environ}).
    @return: the exit status: 0 if every store that was tried took it.
    @raise ConfigError: without C{certutil} (one line saying what to
        install), without C{HOME}, or if the CA cannot be written.
    """
    home = _home(environ)
    certutil = _which("certutil", environ)
    if certutil is None:
        raise ConfigError(_CERTUTIL_MISSING)
    run = run if run is not None else _runner(environ)
    authority, created = ensureLocalCA(stateDirectory(environ), now or utcNow())
    print(
        f"h2site local CA: {authority.path}"
        + (" (created now)" if created else "")
        + ", valid for localhost, 127.0.0.0/8 and ::1 only",
        file=out,
    )
    failed = False
    for database in nssDatabases(home):
        problem = _trustNSS(run, certutil, database, authority)
        if problem is None:
            print(f"NSS {database.path} ({database.label}): trusted", file=out)
        else:
            print(f"NSS {database.path} ({database.label}): {problem}", file=out)
            failed = True
    failed |= _trustSystem(run, environ, systemStore(environ), authority, out)
    print("Restart running browsers to pick it up.", file=out)
    for line in otherSystems(authority.path):
        print(line, file=out)
    return 1 if failed else 0


def untrustLocalCA(
    environ: Mapping[str, str],
    out: TextIO,
    run: Run | None = None,
    now: datetime | None = None,
) -> int:
    """
    Take the local CA out of every store L{trustLocalCA} puts it in (the
    CA's own files stay, so the development certificate still works, as an
    untrusted one).

    @return: the exit status: 0 if nothing failed.
    @raise ConfigError: without C{certutil} or C{HOME}.
    """
    home = _home(environ)
    certutil = _which("certutil", environ)
    if certutil is None:
        raise ConfigError(_CERTUTIL_MISSING.replace("--trust", "--untrust"))
    run = run if run is not None else _runner(environ)
    directory = stateDirectory(environ)
    authority = loadAuthority(directory, now or utcNow())
    name = (
        nickname(authority.certificate)
        if authority is not None
        else authorityCommonName(currentOwner())
    )
    for database in nssDatabases(home):
        if not (database.path / "cert9.db").exists():
            continue
        deleted = _removeFromNSS(run, certutil, f"sql:{database.path}", name)
        print(
            f"NSS {database.path} ({database.label}): "
            + ("removed" if deleted else "was not there"),
            file=out,
        )
    store = systemStore(environ)
    if store is None:
        return 0
    target = _systemFile(store, currentOwner())
    if not target.exists():
        print(f"system store: {target} was not there", file=out)
        return 0
    try:
        target.unlink()
    except OSError as e:
        print(
            f"system store: cannot remove {target} ({e.strerror}); run: sudo rm "
            f"{target} && sudo update-ca-certificates",
            file=out,
        )
        return 1
    problem = _updateSystem(run, environ)
    if problem is not None:
        print(f"system store: removed {target}, but {problem}", file=out)
        return 1
    print(f"system store: removed {target}, update-ca-certificates ran", file=out)
    return 0
