"""A private Postfix smtpd (Debian's package) in a temporary directory, on loopback.

Endpoint: ``smtp`` (inbound SMTP, RFC 5321, STARTTLS offered with a self-signed
certificate). Recipients: ``TEST_USERS`` at ``domain`` as Postfix virtual mailboxes
(virtual(8) delivers into ``<workdir>/mail/<user>/`` maildirs), postmaster@``domain``
an alias of the first user (RFC 5321 §4.5.1), everything else is refused with 550
5.1.1; no relaying (mynetworks is empty, relay_domains too).

Nothing of the system's Postfix configuration is used: main.cf and master.cf are
generated in ``<workdir>/etc`` (master.cf from Debian's ``master.cf.dist``, no chroot, the
smtpd listener on our port), queue and data directories are ours, the log goes to
``<workdir>/postfix.log`` through postlogd (``maillog_file``). The master runs in the
foreground (``master -d``, in our process group) as our child, so stopping it is a signal.

Privileges: Postfix's master must start as root (it drops to ``mail_owner``); started
as another user this provider is unavailable.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interop.providers.base import (
    LOOPBACK,
    TEST_DOMAIN,
    TEST_USERS,
    Endpoint,
    Provider,
    ProviderError,
    ProviderUnavailable,
    free_port,
)

POSTFIX = "/usr/sbin/postfix"
DAEMON_DIRECTORY = Path("/usr/lib/postfix/sbin")
MASTER = DAEMON_DIRECTORY / "master"
MASTER_CF_DIST = Path("/usr/share/postfix/master.cf.dist")
# postfix-files: the queue's subdirectories, their owner (postfix, or root) and mode.
_QUEUE_DIRECTORIES = {
    **dict.fromkeys(("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                     "incoming", "private", "saved", "trace"), ("postfix", None, 0o700)),
    "maildrop": ("postfix", "postdrop", 0o730),
    "public": ("postfix", "postdrop", 0o710),
    "pid": ("root", None, 0o755),
}
_SERVICE_LINE = re.compile(r"^(\S+)\s+(inet|unix|unix-dgram|fifo|pass)\s")


def postfix_version() -> str | None:
    if not os.access(POSTFIX, os.X_OK):
        return None
    completed = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"],
                               capture_output=True, text=True, timeout=10, check=False)
    return completed.stdout.strip() or None


class PostfixProvider(Provider):
    """A private Postfix accepting mail for ``users`` at ``domain``."""

    name = "postfix"

    def __init__(self, *, users: Sequence[str] = TEST_USERS, domain: str = TEST_DOMAIN,
                 tls: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.users = tuple(users)
        self.domain = domain
        self.tls = tls

    @property
    def mail_root(self) -> Path:
        return self.workdir / "mail"

    @property
    def log_path(self) -> Path:
        # postlogd writes the mail log here; the master's own output goes there too.
        return self.workdir / "postfix.log"

    def stored_messages(self) -> int:
        """Messages delivered into the maildirs (new/ and cur/)."""
        return sum(len(files) for directory, _, files in os.walk(self.mail_root)
                   if os.path.basename(directory) in ("new", "cur"))

    def _launch(self) -> dict[str, Endpoint]:
        if not (os.access(POSTFIX, os.X_OK) and MASTER.exists() and MASTER_CF_DIST.exists()):
            raise ProviderUnavailable("Postfix is not installed: run scripts/install-peers.sh")
        if os.geteuid() != 0:
            raise ProviderUnavailable("a private Postfix needs root (its master starts as "
                                      "root and drops to the postfix user)")
        try:
            owner = pwd.getpwnam("postfix")
        except KeyError as exc:
            raise ProviderError("system user 'postfix' missing") from exc
        endpoint = Endpoint(LOOPBACK, free_port())
        config_dir = self._write_files(endpoint, owner)
        self._spawn([str(MASTER), "-c", str(config_dir), "-d"])
        self._wait_for(endpoint)
        return {"smtp": endpoint}

    def _write_files(self, endpoint: Endpoint, owner: pwd.struct_passwd) -> Path:
        root = self.workdir
        root.chmod(0o755)          # the postfix user walks it
        etc, queue, data = root / "etc", root / "queue", root / "data"
        for directory in (etc, queue, data, self.mail_root):
            directory.mkdir(mode=0o755)
        os.chown(data, owner.pw_uid, owner.pw_gid)
        os.chown(self.mail_root, owner.pw_uid, owner.pw_gid)
        for name, (user, group, mode) in _QUEUE_DIRECTORIES.items():
            path = queue / name
            path.mkdir()
            uid = owner.pw_uid if user == "postfix" else 0
            gid = grp.getgrnam(group).gr_gid if group else (owner.pw_gid if uid else 0)
            os.chown(path, uid, gid)
            path.chmod(mode)
        (etc / "vmailbox").write_text("".join(f"{user}@{self.domain} {user}/\n"
                                              for user in self.users))
        # RFC 5321 §4.5.1: postmaster at the local domain MUST be accepted; it goes to
        # the first user (lookups are case-insensitive, "<Postmaster>" gets the domain).
        (etc / "virtual").write_text(f"postmaster@{self.domain} {self.users[0]}@{self.domain}\n"
                                     if self.users else "")
        tls_lines: list[str] = []
        if self.tls:
            from reference.net.tls import CertificatePaths, write_self_signed

            paths = CertificatePaths(etc / "certificate.pem", etc / "private-key.pem")
            write_self_signed(paths, f"mx.{self.domain}")
            tls_lines = [f"smtpd_tls_cert_file = {paths.certificate}",
                         f"smtpd_tls_key_file = {paths.private_key}",
                         "smtpd_tls_security_level = may"]
        (etc / "main.cf").write_text("\n".join([
            "# Generated by interop/providers/postfix.py: a private instance on loopback.",
            "compatibility_level = 3.6",
            f"queue_directory = {queue}",
            f"data_directory = {data}",
            "mail_owner = postfix",
            "setgid_group = postdrop",
            f"inet_interfaces = {LOOPBACK}",
            "inet_protocols = ipv4",
            f"myhostname = mx.{self.domain}",
            f"mydomain = {self.domain}",
            f"myorigin = {self.domain}",
            "mydestination =",
            "mynetworks =",
            "relay_domains =",
            "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
            f"virtual_mailbox_domains = {self.domain}",
            f"virtual_mailbox_maps = texthash:{etc / 'vmailbox'}",
            f"virtual_alias_maps = texthash:{etc / 'virtual'}",
            f"virtual_mailbox_base = {self.mail_root}",
            f"virtual_uid_maps = static:{owner.pw_uid}",
            f"virtual_gid_maps = static:{owner.pw_gid}",
            f"maillog_file_prefixes = {root}",
            f"maillog_file = {self.log_path}",
            "smtpd_banner = $myhostname ESMTP",
            "biff = no",
            # No DNS on a test machine: the client's name is not looked up.
            "smtpd_peername_lookup = no",
            *tls_lines,
        ]) + "\n")
        (etc / "master.cf").write_text(_master_cf(endpoint))
        return etc


def _master_cf(endpoint: Endpoint) -> str:
    """Debian's master.cf with the smtpd listener on ``endpoint`` and no chroot (the
    queue directory has no copy of /etc for a chrooted daemon)."""
    lines = []
    for line in MASTER_CF_DIST.read_text().splitlines():
        match = _SERVICE_LINE.match(line)
        if match:
            fields = line.split()
            if match.group(1) == "smtp" and match.group(2) == "inet":
                fields[0] = str(endpoint)
            fields[4] = "n"          # chroot
            line = " ".join(fields)
        lines.append(line)
    return "\n".join(lines) + "\n"
