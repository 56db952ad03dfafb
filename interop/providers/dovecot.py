"""A private Dovecot (Debian's 2.3 packages) in a temporary directory, on loopback.

Endpoints: ``imap`` (plaintext LOGIN and AUTHENTICATE PLAIN allowed, no TLS), ``lmtp``
(RCPT ``user@any.domain`` delivers to ``user``; Sieve runs when dovecot-sieve is
installed) and ``managesieve`` (when dovecot-managesieved is installed). Users: a
passwd-file with ``TEST_USERS`` and one password, stored as {PLAIN} so that password
hashing does not weigh on load tests. Mail in maildir (default) or sdbox under
``<workdir>/mail/<user>/``.

Nothing of the system's Dovecot is used: ``-c`` points at a generated configuration whose
base_dir, state_dir and log file are all inside the temporary directory, and the master
runs in the foreground (``-F``) as our child, so stopping it is a signal to its pid.

Privileges: started as root, Dovecot drops to its ``dovecot`` user for the auth worker
(the passwd-file must be readable by it), to ``dovenull`` for login processes, and mail
is written as Debian's ``mail`` user (uid 8). Started as another user, every service runs
as that user.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
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
from reference.net.tls import CertificatePaths, write_self_signed

DOVECOT = "/usr/sbin/dovecot"
_LIBEXEC = Path("/usr/lib/dovecot")
# What each part needs, and the Debian package that brings it.
_IMAP_LMTP_FILES = {DOVECOT: "dovecot-core", str(_LIBEXEC / "imap"): "dovecot-imapd",
                    str(_LIBEXEC / "lmtp"): "dovecot-lmtpd"}
_MANAGESIEVE_FILE = str(_LIBEXEC / "managesieve-login")
_SIEVE_PLUGIN_FILE = str(_LIBEXEC / "modules" / "lib90_sieve_plugin.so")

MAIL_LOCATIONS = {"maildir": "maildir:~/Maildir", "sdbox": "sdbox:~/sdbox"}


def dovecot_version() -> str | None:
    if not os.access(DOVECOT, os.X_OK):
        return None
    completed = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True,
                               timeout=10, check=False)
    return completed.stdout.strip() or None


def missing_packages() -> list[str]:
    """Debian packages the IMAP + LMTP part needs and that are not installed."""
    return sorted({package for path, package in _IMAP_LMTP_FILES.items()
                   if not os.path.exists(path)})


class DovecotProvider(Provider):
    """A private Dovecot. ``managesieve`` and ``sieve`` (Sieve during LMTP delivery)
    default to "when installed"; asking for one that is not installed is an error."""

    name = "dovecot"

    def __init__(self, *, mail_format: str = "maildir", users: Sequence[str] = TEST_USERS,
                 password: str = TEST_PASSWORD, managesieve: bool | None = None,
                 sieve: bool | None = None, tls: bool = True, **options: Any) -> None:
        """``tls``: STARTTLS offered with a self-signed certificate (RFC 9051 §11.2: a
        cleartext port MUST allow STARTTLS); plaintext LOGIN stays allowed either way."""
        super().__init__(**options)
        self.tls = tls
        if mail_format not in MAIL_LOCATIONS:
            raise ValueError(f"mail_format must be one of {sorted(MAIL_LOCATIONS)}")
        self.mail_format = mail_format
        self.users = tuple(users)
        self.password = password
        self.managesieve = _wanted(managesieve, _MANAGESIEVE_FILE, "dovecot-managesieved")
        self.sieve = _wanted(sieve, _SIEVE_PLUGIN_FILE, "dovecot-sieve")

    @property
    def mail_root(self) -> Path:
        """Holds one home directory per user: ``<mail_root>/<user>/``."""
        return self.workdir / "mail"

    def stored_messages(self) -> int:
        """Messages in every user's mailboxes, counted from the files Dovecot wrote: one
        file per message in a maildir's new/ and cur/, or ``u.<uid>`` in sdbox."""
        count = 0
        for directory, _subdirectories, files in os.walk(self.mail_root):
            name = os.path.basename(directory)
            if self.mail_format == "maildir" and name in ("new", "cur"):
                count += len(files)
            elif self.mail_format == "sdbox" and name == "dbox-Mails":
                count += sum(1 for f in files if f.startswith("u."))
        return count

    def _launch(self) -> dict[str, Endpoint]:
        missing = missing_packages()
        if missing:
            raise ProviderUnavailable(
                f"Dovecot is not installed (missing {', '.join(missing)}): "
                "run scripts/install-peers.sh")
        endpoints = {"imap": Endpoint(LOOPBACK, free_port()),
                     "lmtp": Endpoint(LOOPBACK, free_port())}
        if self.managesieve:
            endpoints["managesieve"] = Endpoint(LOOPBACK, free_port())
        config = self._write_files(endpoints)
        self._spawn([DOVECOT, "-F", "-c", str(config)])
        for endpoint in endpoints.values():
            self._wait_for(endpoint)
        return endpoints

    def _write_files(self, endpoints: dict[str, Endpoint]) -> Path:
        """Directories, the passwd-file and dovecot.conf; returns the configuration's path."""
        root = self.workdir
        accounts = _Accounts.for_current_user()
        # mkdtemp made the directory private; Dovecot's unprivileged processes walk it.
        root.chmod(0o755)
        for sub in ("etc", "base", "state"):
            (root / sub).mkdir(mode=0o755)
        self.mail_root.mkdir(mode=0o755)
        os.chown(self.mail_root, accounts.mail_uid, accounts.mail_gid)

        users_file = root / "etc" / "users"
        users_file.write_text("".join(f"{user}:{{PLAIN}}{self.password}\n"
                                      for user in self.users))
        if accounts.auth_gid is not None:
            # The auth worker runs as "dovecot", not root: let its group read the file.
            os.chown(users_file, -1, accounts.auth_gid)
        users_file.chmod(0o640)

        if self.tls:
            # Read by the master, which runs as root (or as the user who started it).
            write_self_signed(self._certificate, "localhost")
            for path in (self._certificate.certificate, self._certificate.private_key):
                path.chmod(0o600)

        config = root / "etc" / "dovecot.conf"
        config.write_text(self._configuration(endpoints, accounts, users_file))
        return config

    @property
    def _certificate(self) -> CertificatePaths:
        return CertificatePaths(self.workdir / "etc" / "certificate.pem",
                                self.workdir / "etc" / "private-key.pem")

    def _configuration(self, endpoints: dict[str, Endpoint], accounts: _Accounts,
                       users_file: Path) -> str:
        root = self.workdir
        protocols = "imap lmtp" + (" sieve" if self.managesieve else "")
        lines = [
            "# Generated by interop/providers/dovecot.py: a private instance on loopback.",
            f"instance_name = rfcmail-peer-{endpoints['imap'].port}",
            f"base_dir = {root / 'base'}",
            f"state_dir = {root / 'state'}",
            f"log_path = {self.log_path}",
            *accounts.run_as_lines,
            f"protocols = {protocols}",
            f"listen = {LOOPBACK}",
            *(["ssl = yes", f"ssl_cert = <{self._certificate.certificate}",
               f"ssl_key = <{self._certificate.private_key}"] if self.tls else ["ssl = no"]),
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "hostname = localhost",
            "postmaster_address = postmaster@localhost",
            f"first_valid_uid = {accounts.mail_uid}",
            f"first_valid_gid = {accounts.mail_gid}",
            f"mail_location = {MAIL_LOCATIONS[self.mail_format]}",
            # Dovecot's default, stated because benchmarks depend on it: saved mail is
            # fsync'd before the OK to APPEND or the 250 to LMTP DATA, as rfcmail does.
            "mail_fsync = optimized",
            # Load tests open many connections per user, all from 127.0.0.1.
            "mail_max_userip_connections = 1000",
            "default_process_limit = 1000",
            "default_client_limit = 4000",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {users_file}",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={accounts.mail_uid} gid={accounts.mail_gid} "
            f"home={self.mail_root}/%u",
            "}",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
            *(f"  mailbox {box} {{\n    special_use = \\{box}\n  }}"
              for box in ("Drafts", "Junk", "Sent", "Trash")),
            "}",
            # Login processes serve many connections each (Dovecot's "high-performance
            # mode"), as a deployment under load would be configured.
            "service imap-login {",
            f"  inet_listener imap {{\n    address = {LOOPBACK}\n"
            f"    port = {endpoints['imap'].port}\n  }}",
            "  inet_listener imaps {\n    port = 0\n  }",
            "  service_count = 0",
            f"  process_min_avail = {os.cpu_count() or 1}",
            "}",
            "service lmtp {",
            f"  inet_listener lmtp {{\n    address = {LOOPBACK}\n"
            f"    port = {endpoints['lmtp'].port}\n  }}",
            "}",
            "protocol lmtp {",
            # RCPT TO:<user0000@example.test> delivers to the passwd-file's "user0000".
            "  auth_username_format = %Ln",
            *(["  mail_plugins = $mail_plugins sieve"] if self.sieve else []),
            "}",
        ]
        if self.managesieve:
            lines += [
                "service managesieve-login {",
                f"  inet_listener sieve {{\n    address = {LOOPBACK}\n"
                f"    port = {endpoints['managesieve'].port}\n  }}",
                "}",
            ]
        if self.sieve or self.managesieve:
            lines += ["plugin {", "  sieve = file:~/sieve;active=~/.dovecot.sieve", "}"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Accounts:
    """The system users Dovecot runs as, and the lines of configuration that follow."""

    mail_uid: int
    mail_gid: int
    auth_gid: int | None            # the auth worker's group, when it is not ours
    run_as_lines: tuple[str, ...]

    @classmethod
    def for_current_user(cls) -> _Accounts:
        if os.geteuid() == 0:
            # Dovecot refuses to write mail as root: Debian's "mail" user does it.
            try:
                mail = pwd.getpwnam("mail")
                auth_gid = grp.getgrnam("dovecot").gr_gid
            except KeyError as exc:
                raise ProviderError(f"system user or group missing: {exc}") from exc
            return cls(mail.pw_uid, mail.pw_gid, auth_gid, ())
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        return cls(os.geteuid(), os.getegid(), None, (
            f"default_internal_user = {user}",
            f"default_login_user = {user}",
            f"default_internal_group = {group}",
        ))


def _wanted(requested: bool | None, needed_file: str, package: str) -> bool:
    installed = os.path.exists(needed_file)
    if requested and not installed:
        raise ProviderUnavailable(f"{package} is not installed: run scripts/install-peers.sh")
    return installed if requested is None else requested
