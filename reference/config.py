"""Configuration: a TOML file (every key optional) plus command-line flags.

Defaults work with no file at all. ``rfcmail.example.toml`` at the repository root writes
every default out, and a test keeps it equal to these dataclasses. Unknown keys are an
error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference.imap.limits import ImapLimits
from reference.limits import SmtpLimits
from reference.smtp.parser import Tolerances


class ConfigError(ValueError):
    """The configuration file or a flag is invalid; the message says which key."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """"127.0.0.1:2525", "[::1]:2525" or "localhost:2525"; port 0 lets the system
        choose (the chosen port is announced when the listener starts)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError(f"listener address {text!r} is not host:port")
        return cls(host.strip("[]") or "127.0.0.1", int(port))


# SQLite has one writer at a time; beyond a few processes more of them add contention,
# not throughput.
MAX_AUTO_WORKERS = 8


@dataclass(frozen=True, slots=True)
class ServerConfig:
    # The name in greetings, EHLO replies and Received fields (RFC 5321 §4.1.3 wants a
    # fully-qualified domain name; "localhost" suits a test server on loopback).
    hostname: str = "localhost"
    # Where the store, certificate and traces live ($RFCMAIL_DATA_DIR overrides it).
    data_dir: str = "rfcmail-data"
    # Processes serving the same listeners (SO_REUSEPORT) over the one store (DESIGN
    # principle 7: every core in use). 0 = one per CPU, at most MAX_AUTO_WORKERS.
    workers: int = 0
    # Seconds in-flight SMTP transactions get to finish on SIGTERM before 421 (RFC 5321
    # §3.8), and IMAP commands before BYE (RFC 9051 §7.1.5).
    shutdown_grace: float = 30.0
    # "auto" (uvloop when installed), "uvloop" or "asyncio".
    event_loop: str = "auto"
    # Seconds a successful password verification (LOGIN, AUTH PLAIN/LOGIN) is
    # remembered, so a client logging in again skips the PBKDF2; 0 = never
    # (reference/directory/passwords.py VerifiedPasswords).
    password_cache_seconds: float = 300.0
    # At most this many remembered verifications per process, the oldest forgotten first.
    password_cache_entries: int = 10_000

    def __post_init__(self) -> None:
        if self.password_cache_seconds < 0:
            raise ValueError("password_cache_seconds must not be negative")
        if self.password_cache_entries < 1:
            raise ValueError("password_cache_entries must be positive")


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"             # debug | info | warning | error
    format: str = "text"            # text (key=value) | json
    trace: bool = False             # per-connection protocol trace, exact bytes
    trace_file: str = ""            # "" = standard error


@dataclass(frozen=True, slots=True)
class TlsConfig:
    # PEM files; both empty = a self-signed certificate generated into the data dir.
    certificate: str = ""
    private_key: str = ""
    handshake_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    # Inbound mail for local domains only (an MX); STARTTLS offered.
    listen: str = "127.0.0.1:2525"
    # RFC 6409 message submission: STARTTLS, AUTH required before MAIL (§4.3).
    submission: str = "127.0.0.1:2587"
    # RFC 8314 §3.3 submission over implicit TLS.
    submissions: str = "127.0.0.1:2465"
    # Plaintext SASL mechanisms (PLAIN, LOGIN) before TLS: "never", "loopback" (only on
    # connections from 127.0.0.0/8 or ::1) or "always". RFC 4954 §4: a server "MUST
    # implement a configuration in which it does NOT permit any plaintext password
    # mechanisms" without TLS: that is "never".
    plaintext_auth: str = "loopback"
    auth_mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
    limits: SmtpLimits = field(default_factory=SmtpLimits)
    tolerances: Tolerances = field(default_factory=Tolerances)


@dataclass(frozen=True, slots=True)
class ImapConfig:
    # IMAP with STARTTLS (RFC 9051 §6.2.1).
    listen: str = "127.0.0.1:1143"
    # IMAP over implicit TLS (RFC 8314 §3.2).
    imaps: str = "127.0.0.1:1993"
    # LOGIN and PLAIN/LOGIN before TLS: "never", "loopback" or "always" (RFC 9051
    # §6.2.3: otherwise the server advertises LOGINDISABLED and refuses LOGIN).
    plaintext_auth: str = "loopback"
    auth_mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
    # RFC 9051 §5.4: "at least 30 minutes" once authenticated; seconds.
    autologout: float = 1800.0
    autologout_unauthenticated: float = 120.0
    # Messages of selected mailboxes each server process keeps in memory so that
    # SELECT need not read every message's flags again (~100 bytes each); 0 = none.
    view_cache_messages: int = 500_000
    limits: ImapLimits = field(default_factory=ImapLimits)

    def __post_init__(self) -> None:
        if self.plaintext_auth not in ("never", "loopback", "always"):
            raise ValueError("plaintext_auth must be never, loopback or always")
        if self.autologout < 1800:
            raise ValueError("autologout must be at least 1800 seconds (RFC 9051 §5.4 "
                             "MUST: at least 30 minutes)")
        if self.autologout_unauthenticated <= 0:
            raise ValueError("autologout_unauthenticated must be positive")
        if self.view_cache_messages < 0:
            raise ValueError("view_cache_messages must not be negative")


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    # RFC 5233 subaddress separator: user+detail@domain delivers to user@domain.
    subaddress_separator: str = "+"
    # Where postmaster@<local domain> goes when no account or alias has that address
    # (RFC 5321 §4.5.1); "" = the oldest account of the domain.
    postmaster: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    imap: ImapConfig = field(default_factory=ImapConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    @property
    def workers(self) -> int:
        """Server processes to run: the configured number, or one per CPU."""
        if self.server.workers > 0:
            return self.server.workers
        return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))

    @property
    def data_dir(self) -> Path:
        return Path(os.environ.get("RFCMAIL_DATA_DIR") or self.server.data_dir)

    def replace(self, section: str, **changes: Any) -> Config:
        return dataclasses.replace(self, **{
            section: dataclasses.replace(getattr(self, section), **changes)})


def load_config(path: Path | None) -> Config:
    """Defaults, overlaid with the file at ``path`` when one is given."""
    if path is None:
        return Config()
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    config: Config = _build(Config, data, "")
    return config


def _build(cls: Any, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        spot = f"{where}{key}"
        if name not in known:
            raise ConfigError(f"unknown configuration key {spot!r}")
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{spot!r} must be a table")
            values[name] = _build(type(default), value, spot + ".")
        else:
            values[name] = _coerce(value, default, spot)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where.rstrip('.') or 'configuration'}: {exc}") from exc


def _coerce(value: Any, default: Any, spot: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{spot!r} must be true or false")
        return value
    if isinstance(default, float) and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{spot!r} must be a list of strings")
        return tuple(value)
    if type(value) is not type(default):
        raise ConfigError(f"{spot!r} must be a {type(default).__name__}, "
                          f"not {type(value).__name__}")
    return value

