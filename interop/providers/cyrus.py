"""A private Cyrus IMAP (Debian 12's 3.6 binaries, unpacked, not installed), on loopback.

Why unpacked: Debian's ``cyrus-common`` conflicts with ``imap-server``, so installing it
with apt REMOVES ``dovecot-imapd``. Instead ``install_cyrus()`` fetches the packages with
``apt-get download`` and unpacks them with ``dpkg-deb -x`` into a cache directory
(``$RFCMAIL_CYRUS_CACHE``, default ``/var/cache/rfcmail/cyrus/<version>``), together with
the library packages they need that are not installed (followed through their own
dependencies) and ``sasl2-bin`` for ``saslpasswd2``. Nothing is installed or upgraded on
the system: the binaries run with ``LD_LIBRARY_PATH`` pointing into the cache. The first
start downloads (a few MB); later ones reuse the cache. ``python -m
interop.providers.cyrus`` (run by scripts/install-peers.sh) fetches it ahead of time.

Endpoints: ``imap`` (STARTTLS offered with a self-signed certificate; plaintext LOGIN
and AUTHENTICATE PLAIN/LOGIN allowed without it),
``lmtp`` (RCPT ``user@any.domain`` delivers to ``user``) and, with ``jmap=True``,
``jmap`` (HTTP: session ``/.well-known/jmap``, Basic auth). Users: ``TEST_USERS`` with one
password in a sasldb; INBOX is created at the first login or delivery, with Drafts,
Sent, Trash and Junk (special-use). ``altnamespace`` and ``unixhierarchysep`` are on
(Cyrus 3's defaults): personal mailboxes are at the top level, separator "/".

Nothing of a system Cyrus is used: imapd.conf and cyrus.conf are generated in the
temporary directory, every path they name is in there, and the master runs in the
foreground as our child (no ``-d``), so stopping it is a signal to its pid; it takes its
services down with it. Cyrus logs only to syslog: without a syslog daemon the log is lost.

Privileges: needs root, to start the master as ``cyrus_user`` (Debian's ``mail``, so no
system user is created) through ``setpriv``, with a parent-death signal that its own
setuid would have cleared; its services get one too, so nothing outlives a caller killed
without stopping it (but for a service forked in that very moment). Started as another
user this provider is unavailable.
"""

from __future__ import annotations

import fcntl
import imaplib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interop.providers.base import (
    LOOPBACK,
    TEST_PASSWORD,
    TEST_USERS,
    Endpoint,
    Provider,
    ProviderError,
    ProviderUnavailable,
    free_port,
)

# The packages unpacked: the IMAP server and its common parts, httpd (JMAP), saslpasswd2.
PACKAGES = ("cyrus-common", "cyrus-imapd", "cyrus-caldav", "sasl2-bin")
# What a start runs, relative to the unpacked root; their libraries are checked.
_BINARIES = ("usr/lib/cyrus/bin/master", "usr/lib/cyrus/bin/imapd",
             "usr/lib/cyrus/bin/lmtpd", "usr/lib/cyrus/bin/ctl_cyrusdb",
             "usr/lib/cyrus/bin/idled", "usr/lib/cyrus/bin/httpd", "usr/sbin/saslpasswd2")
_MASTER = "usr/lib/cyrus/bin/master"
_SETPRIV = "/usr/bin/setpriv"          # util-linux
_BIN = "usr/lib/cyrus/bin"
_REALM = "localhost"                  # servername, and the sasldb realm of every user
_COMMAND_TIMEOUT = 300.0
_INSTALLED = "install ok installed"


def cache_root() -> Path:
    """Where the unpacked packages live (one subdirectory per Cyrus version)."""
    configured = os.environ.get("RFCMAIL_CYRUS_CACHE")
    if configured:
        return Path(configured)
    # Not root's home (mode 0700): the services run as "mail" and exec from here.
    return Path("/var/cache/rfcmail/cyrus")


def unavailable_reason() -> str | None:
    """Why Cyrus cannot be started here without trying (None: it may be); no download."""
    if os.geteuid() != 0:
        return ("a private Cyrus needs root: its master is started as the 'mail' user")
    if _unpacked_roots():
        return None
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return ("Cyrus is not unpacked in the cache and apt-get/dpkg-deb are missing "
                f"(not Debian?): nothing to fetch it with ({cache_root()})")
    return None


def cyrus_version() -> str | None:
    """The unpacked Cyrus's Debian version, None before the first download."""
    roots = _unpacked_roots()
    return (roots[0] / "VERSION").read_text().strip() if roots else None


def _unpacked_roots() -> list[Path]:
    cache = cache_root()
    if not cache.is_dir():
        return []
    return sorted((p for p in cache.iterdir() if _complete(p)), reverse=True)


def _complete(root: Path) -> bool:
    """Unpacked whole, with every binary a start may run (a cache made before httpd was
    part of it is not)."""
    return (root / "VERSION").exists() and all((root / b).exists() for b in _BINARIES)


def install_cyrus() -> Path:
    """The unpacked root of the candidate Cyrus version, downloaded on first use.

    Raises ProviderUnavailable when it cannot be fetched (no apt, no network, no package
    lists and not root to update them) or when a library is still missing afterwards.
    """
    version = _candidate_version("cyrus-common")
    if version is None:
        cached = _unpacked_roots()
        if cached:
            return _checked(cached[0])
        raise ProviderUnavailable(
            "apt knows no cyrus-common package (no package lists: run apt-get update as "
            "root, or not a Debian machine)")
    root = cache_root() / version
    if _complete(root):
        return _checked(root)
    root.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    # One download at a time across processes; the root appears whole (rename) or not.
    with open(root.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(root):
            shutil.rmtree(root, ignore_errors=True)
            try:
                _download_and_unpack(root, version)
            except ProviderUnavailable:
                # Offline, with an older version cached (the candidate moved on): use it.
                cached = _unpacked_roots()
                if not cached:
                    raise
                return _checked(cached[0])
    return _checked(root)


def _candidate_version(package: str) -> str | None:
    if not shutil.which("apt-cache"):
        raise ProviderUnavailable("apt-cache is missing (not a Debian machine?): Cyrus is "
                                  "fetched from Debian's packages")
    for attempt in range(2):
        policy = _run(["apt-cache", "policy", package], check=False).stdout
        match = re.search(r"Candidate:\s*(\S+)", policy)
        if match and match.group(1) != "(none)":
            return match.group(1)
        if attempt == 0 and not _has_package_lists():
            _run(["apt-get", "update", "-q"])
        else:
            break
    return None


def _has_package_lists() -> bool:
    lists = Path("/var/lib/apt/lists")
    return lists.is_dir() and any("Packages" in p.name for p in lists.iterdir())


def _download_and_unpack(root: Path, version: str) -> None:
    """apt-get download PACKAGES and every uninstalled library they need (recursively),
    dpkg-deb -x each into a fresh directory, then rename it to ``root``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=root.parent))
    debs = staging / "debs"
    tree = staging / "root"
    debs.mkdir()
    tree.mkdir()
    try:
        wanted, seen = list(PACKAGES), set(PACKAGES)
        while wanted:
            _download(wanted, debs)
            following: list[str] = []
            for deb in sorted(debs.glob("*.deb")):
                for dependency in _library_dependencies(deb):
                    if dependency not in seen and not _installed(dependency):
                        seen.add(dependency)
                        following.append(dependency)
                _run(["dpkg-deb", "-x", str(deb), str(tree)])
                deb.rename(deb.with_suffix(".unpacked"))
            wanted = following
        (tree / "VERSION").write_text(version + "\n")
        tree.chmod(0o755)                  # mkdtemp's 0700 would keep "mail" out
        tree.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download(packages: Sequence[str], directory: Path) -> None:
    try:
        _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *packages],
             cwd=directory)
    except ProviderError as exc:
        raise ProviderUnavailable(f"cannot download {' '.join(packages)}: {exc}") from exc


def _library_dependencies(deb: Path) -> list[str]:
    """The ``lib*`` packages of a .deb's Depends (the first of alternatives, versions and
    :any dropped); programs it depends on (an MTA, perl, adduser) are not needed here."""
    depends = _run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
    names = []
    for clause in depends.split(","):
        name = re.sub(r"\(.*?\)|:any", "", clause.split("|")[0]).strip()
        if name.startswith("lib"):
            names.append(name)
    return names


def _installed(package: str) -> bool:
    status = _run(["dpkg-query", "-W", "-f=${Status}", package], check=False).stdout
    return status.strip() == _INSTALLED


def _library_path(root: Path) -> str:
    return os.pathsep.join(str(d) for d in sorted(root.glob("usr/lib/*-linux-gnu"))
                           + sorted(root.glob("lib/*-linux-gnu")))


def _checked(root: Path) -> Path:
    """``root`` when every binary a start runs finds its libraries."""
    env = {**os.environ, "LD_LIBRARY_PATH": _library_path(root)}
    missing: set[str] = set()
    for binary in _BINARIES:
        listing = _run(["ldd", str(root / binary)], env=env, check=False).stdout
        missing.update(line.split()[0] for line in listing.splitlines()
                       if "not found" in line)
    if missing:
        raise ProviderUnavailable(
            f"Cyrus in {root} misses libraries: {', '.join(sorted(missing))} (delete that "
            "directory to fetch it again)")
    return root


def _run(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
         check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        completed = subprocess.run(argv, cwd=cwd, env=env, input=stdin, capture_output=True,
                                   text=True, timeout=_COMMAND_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise ProviderUnavailable(f"{argv[0]} is missing") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"{' '.join(argv)} took more than {_COMMAND_TIMEOUT:.0f} s") \
            from exc
    if check and completed.returncode != 0:
        raise ProviderError(f"{' '.join(argv)} exited {completed.returncode}: "
                            f"{completed.stderr.strip()[-500:]}")
    return completed


class CyrusProvider(Provider):
    """A private Cyrus IMAP with ``users`` (password ``password``) in a sasldb."""

    name = "cyrus"

    def __init__(self, *, users: Sequence[str] = TEST_USERS, password: str = TEST_PASSWORD,
                 altnamespace: bool = True, jmap: bool = False, tls: bool = True,
                 **options: Any) -> None:
        """``altnamespace=False``: Cyrus's traditional layout, personal mailboxes under
        INBOX (NAMESPACE personal prefix "INBOX/"). ``jmap=True``: also the ``jmap``
        endpoint, Cyrus's httpd with JMAP (session ``/.well-known/jmap``, API ``/jmap/``,
        Basic auth); every user logs in once over IMAP at the start, since JMAP answers
        accountNotFound for an account that never did. ``tls``: STARTTLS offered with a
        self-signed certificate (plaintext LOGIN stays allowed without it)."""
        options.setdefault("start_timeout", 60.0)
        super().__init__(**options)
        self.users = tuple(users)
        self.password = password
        self.altnamespace = altnamespace
        self.jmap = jmap
        self.tls = tls
        self.root: Path | None = None

    @property
    def spool(self) -> Path:
        return self.workdir / "spool"

    def stored_messages(self) -> int:
        """Messages in every mailbox: Cyrus keeps one file ``<uid>.`` per message."""
        return sum(1 for _, _, files in os.walk(self.spool)
                   for name in files if name[:-1].isdigit() and name.endswith("."))

    def _launch(self) -> dict[str, Endpoint]:
        reason = unavailable_reason()
        if reason:
            raise ProviderUnavailable(reason)
        self.root = root = install_cyrus()
        run_as = _run_as()
        endpoints = {"imap": Endpoint(LOOPBACK, free_port()),
                     "lmtp": Endpoint(LOOPBACK, free_port())}
        if self.jmap:
            endpoints["jmap"] = Endpoint(LOOPBACK, free_port())
        env = {**os.environ, "LD_LIBRARY_PATH": _library_path(root)}
        config, services = self._write_files(root, endpoints, run_as, env)
        # The master runs as "mail" from the start (setpriv), not as root dropping to it
        # itself: a change of credentials clears the parent-death signal, and with it the
        # master would outlive a caller killed without stopping it.
        self._spawn([_SETPRIV, "--reuid", str(run_as.pw_uid), "--regid", str(run_as.pw_gid),
                     "--init-groups", "--pdeathsig", "SIGKILL", "--",
                     str(root / _MASTER), "-C", str(config), "-M", str(services),
                     "-p", str(self.workdir / "run" / "master.pid")], env=env)
        for endpoint in endpoints.values():
            self._wait_for(endpoint)
        if self.jmap:
            self._log_everyone_in(endpoints["imap"])
        return endpoints

    def _log_everyone_in(self, imap: Endpoint) -> None:
        """One IMAP login per user: creates INBOX and the special-use mailboxes, without
        which Cyrus's JMAP knows no account."""
        for user in self.users:
            with imaplib.IMAP4(imap.host, imap.port, timeout=10) as client:
                try:
                    client.login(user, self.password)
                except imaplib.IMAP4.error as exc:
                    raise ProviderError(f"IMAP login as {user} failed: {exc}") from exc
                client.logout()

    def _write_files(self, root: Path, endpoints: dict[str, Endpoint],
                     run_as: pwd.struct_passwd, env: dict[str, str]) -> tuple[Path, Path]:
        """Directories, the sasldb, imapd.conf and cyrus.conf; returns the two configs."""
        work = self.workdir
        work.chmod(0o755)                  # the cyrus user walks it
        (work / "etc").mkdir()
        owned = [work / "conf", self.spool, work / "sieve", work / "run"]
        owned += [work / "conf" / d for d in ("db", "log", "msg", "proc", "ptclient",
                                              "quota", "sieve", "socket", "user")]
        owned += [work / "run" / d for d in ("proc", "lock", "socket")]
        for directory in owned:
            directory.mkdir(mode=0o750)

        sasldb = work / "conf" / "sasldb2"
        for user in self.users:
            _run([str(root / "usr/sbin/saslpasswd2"), "-p", "-c", "-f", str(sasldb),
                  "-u", _REALM, user], env=env, stdin=self.password)
        for directory in owned:
            os.chown(directory, run_as.pw_uid, run_as.pw_gid)
        os.chown(sasldb, run_as.pw_uid, run_as.pw_gid)
        sasldb.chmod(0o640)
        if self.tls:
            from reference.net.tls import CertificatePaths, write_self_signed

            paths = CertificatePaths(work / "conf" / "certificate.pem",
                                     work / "conf" / "private-key.pem")
            write_self_signed(paths, _REALM)
            for path in (paths.certificate, paths.private_key):
                os.chown(path, run_as.pw_uid, run_as.pw_gid)
                path.chmod(0o600)

        config = work / "etc" / "imapd.conf"
        config.write_text(self._imapd_conf(run_as))
        services = work / "etc" / "cyrus.conf"
        services.write_text(_cyrus_conf(root / _BIN, config, endpoints))
        return config, services

    def _imapd_conf(self, run_as: pwd.struct_passwd) -> str:
        work = self.workdir
        return "\n".join([
            "# Generated by interop/providers/cyrus.py: a private instance on loopback.",
            f"cyrus_user: {run_as.pw_name}",
            f"configdirectory: {work / 'conf'}",
            f"proc_path: {work / 'run' / 'proc'}",
            f"mboxname_lockpath: {work / 'run' / 'lock'}",
            "defaultpartition: default",
            f"partition-default: {self.spool}",
            f"sievedir: {work / 'sieve'}",
            f"lmtpsocket: {work / 'run' / 'socket' / 'lmtp'}",
            f"idlesocket: {work / 'run' / 'socket' / 'idle'}",
            f"notifysocket: {work / 'run' / 'socket' / 'notify'}",
            f"servername: {_REALM}",
            f"altnamespace: {'yes' if self.altnamespace else 'no'}",
            "unixhierarchysep: yes",
            "virtdomains: off",
            "lmtp_downcase_rcpt: yes",
            "allowplaintext: yes",
            "sasl_pwcheck_method: auxprop",
            "sasl_auxprop_plugin: sasldb",
            f"sasl_sasldb_path: {work / 'conf' / 'sasldb2'}",
            "sasl_mech_list: PLAIN LOGIN",
            # INBOX and the special-use mailboxes appear at the first login or delivery.
            "autocreate_quota: 0",
            "autocreate_post: yes",
            "autocreate_inbox_folders: Drafts|Sent|Trash|Junk",
            "autocreate_subscribe_folders: Drafts|Sent|Trash|Junk",
            "specialuse_extra: \\Junk",
            "xlist-drafts: Drafts",
            "xlist-sent: Sent",
            "xlist-trash: Trash",
            "xlist-junk: Junk",
            # The default, "delayed", renames a deleted mailbox to DELETED.<name>.<time>:
            # DELETE then CREATE then DELETE of one name within a second fails.
            "delete_mode: immediate",
            # IDLE hears of other sessions' changes through idled at once, else polls.
            "imapidlepoll: 1",
            "hashimapspool: true",
            *(["httpmodules: jmap", "conversations: yes", "conversations_db: twoskip",
               "httpallowcompress: no"] if self.jmap else []),
            # STARTTLS on the cleartext ports (RFC 9051 §11.2), a self-signed certificate.
            *([f"tls_server_cert: {work / 'conf' / 'certificate.pem'}",
               f"tls_server_key: {work / 'conf' / 'private-key.pem'}"] if self.tls else []),
        ]) + "\n"


def _cyrus_conf(bin_dir: Path, config: Path, endpoints: dict[str, Endpoint]) -> str:
    """The master's services; each is passed ``-C`` (services do not inherit it). The
    long-lived ones get SIGKILL when the master dies (setpriv --pdeathsig), so that a
    master killed with its caller takes its preforked children along."""
    die_with_master = f"{_SETPRIV} --pdeathsig SIGKILL --"
    return "\n".join([
        "# Generated by interop/providers/cyrus.py",
        "START {",
        f'  recover cmd="{bin_dir}/ctl_cyrusdb -C {config} -r"',
        "}",
        "SERVICES {",
        f'  imap cmd="{die_with_master} {bin_dir}/imapd -C {config}" '
        f'listen="{endpoints["imap"]}" prefork=1 maxchild=100',
        f'  lmtp cmd="{die_with_master} {bin_dir}/lmtpd -C {config} -a" '
        f'listen="{endpoints["lmtp"]}" prefork=0 maxchild=20',
        *([f'  http cmd="{die_with_master} {bin_dir}/httpd -C {config}" '
           f'listen="{endpoints["jmap"]}" prefork=1 maxchild=100'] if "jmap" in endpoints
          else []),
        "}",
        "EVENTS {",
        f'  checkpoint cmd="{bin_dir}/ctl_cyrusdb -C {config} -c" period=30',
        "}",
        "DAEMON {",
        f'  idled cmd="{die_with_master} {bin_dir}/idled -C {config}"',
        "}",
    ]) + "\n"


def _run_as() -> pwd.struct_passwd:
    """Debian's ``mail`` user, whom the master (started as root) becomes."""
    try:
        return pwd.getpwnam("mail")
    except KeyError as exc:
        raise ProviderError("system user 'mail' missing") from exc


if __name__ == "__main__":          # python -m interop.providers.cyrus: fetch it now
    if unavailable_reason():
        raise SystemExit(f"Cyrus not fetched: {unavailable_reason()}")
    unpacked = install_cyrus()
    print(f"Cyrus {cyrus_version()} unpacked in {unpacked}")
