"""Targets: what a conformance run talks to, given as a URL or as a name.

A URL names one listener of a server somebody else runs (loopback or a host the user
gives); a name (``reference``, ``dovecot``, ``cyrus``, ``postfix``) is a server this run starts on
loopback through ``interop/providers`` and stops at its end. Either way the suites get
``TargetSpec``s, one per protocol the target offers:

    smtp://host:port                 inbound SMTP (RFC 5321), plaintext (STARTTLS if offered)
    smtps://host:port                SMTP over implicit TLS (RFC 8314 §3)
    submission://user:pw@host:port   message submission (RFC 6409): STARTTLS, then AUTH
    imap://user:pw@host:port         IMAP (RFC 9051), plaintext (STARTTLS if offered)
    imaps://user:pw@host:port        IMAP over implicit TLS (RFC 8314 §3)

User and password are percent-decoded (RFC 3986 §2.1), so ``p%40ss`` is ``p@ss``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

Protocol = Literal["smtp", "imap"]
PROTOCOLS: tuple[Protocol, ...] = ("smtp", "imap")


class TargetError(ValueError):
    """A target URL or account that cannot be used (the user's mistake)."""


class TargetUnavailable(RuntimeError):
    """A named target that cannot be started here (software missing, start failed)."""


@dataclass(frozen=True, slots=True)
class Account:
    """Credentials of one account on the target, as the protocol's LOGIN/AUTH takes them."""

    user: str
    password: str

    def __repr__(self) -> str:          # keep passwords out of pytest's failure output
        return f"Account(user={self.user!r}, password=***)"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One listener of one target, for one protocol."""

    name: str                           # "reference", or the URL's host:port
    protocol: Protocol
    host: str
    port: int
    tls: Literal["none", "implicit"] = "none"
    submission: bool = False            # RFC 6409 submission: STARTTLS then AUTH
    accounts: tuple[Account, ...] = ()
    domain: str | None = None           # the local recipient domain (SMTP RCPT TO)
    url: str = ""                       # the URL, without its password
    verify_tls: bool = False            # certificates are not verified unless asked for

    def address(self, account: Account) -> str:
        """The mail address of ``account``: its user when that has a domain, else
        ``user@domain``."""
        if "@" in account.user or self.domain is None:
            return account.user
        return f"{account.user}@{self.domain}"

    def with_options(self, *, accounts: Iterable[Account] = (), domain: str | None = None,
                     verify_tls: bool = False) -> TargetSpec:
        """This spec with extra accounts (after its own), another domain, TLS checking."""
        merged = (*self.accounts, *(a for a in accounts if a not in self.accounts))
        domain = domain or self.domain or _domain_of(merged)
        return replace(self, accounts=merged, domain=domain, verify_tls=verify_tls)


# scheme -> (protocol, tls, submission, default port)
_SCHEMES: dict[str, tuple[Protocol, Literal["none", "implicit"], bool, int]] = {
    "smtp": ("smtp", "none", False, 25),
    "smtps": ("smtp", "implicit", False, 465),
    "submission": ("smtp", "none", True, 587),
    "imap": ("imap", "none", False, 143),
    "imaps": ("imap", "implicit", False, 993),
}


def parse_target(url: str) -> TargetSpec:
    """A TargetSpec from a target URL (see the module docstring); TargetError if bad."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise TargetError(f"unknown target scheme {parts.scheme!r} in {url!r}: expected one "
                          f"of {', '.join(sorted(_SCHEMES))}, or a target name "
                          f"({', '.join(NAMED_TARGETS)})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TargetError(f"a target URL is scheme://[user:password@]host[:port]: {url!r}")
    protocol, tls, submission, default_port = _SCHEMES[scheme]
    host = parts.hostname
    if not host:
        raise TargetError(f"no host in target URL {url!r}")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise TargetError(f"bad port in target URL {url!r}: {exc}") from None
    accounts: tuple[Account, ...] = ()
    if parts.username is not None:
        accounts = (Account(unquote(parts.username), unquote(parts.password or "")),)
    shown_host = f"[{host}]" if ":" in host else host
    userinfo = f"{parts.username}@" if parts.username is not None else ""
    return TargetSpec(name=f"{scheme}-{host}-{port}", protocol=protocol, host=host, port=port,
                      tls=tls, submission=submission, accounts=accounts,
                      domain=_domain_of(accounts),
                      url=f"{scheme}://{userinfo}{shown_host}:{port}")


def parse_account(text: str) -> Account:
    """``user:password`` (the first colon separates) from ``--account``."""
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise TargetError(f"--account takes user:password, not {text!r}")
    return Account(user, password)


def _domain_of(accounts: Sequence[Account]) -> str | None:
    for account in accounts:
        if "@" in account.user:
            return account.user.rpartition("@")[2]
    return None


# --- targets started for the run ---------------------------------------------------------


@dataclass
class StartedTarget:
    """A target ready for a run: its specs per protocol, and how to stop it."""

    name: str
    specs: dict[str, TargetSpec]        # "smtp", "imap"; also "submission" when offered
    stop: Callable[[], None] = field(default=lambda: None)
    description: str = ""
    # Where the first account's mail can be read, when the target says so
    # ("maildir:/path"); the wire fuzzer checks acknowledged vs stored there.
    mailbox: str | None = None

    def spec(self, protocol: str) -> TargetSpec | None:
        return self.specs.get(protocol)


@dataclass(frozen=True)
class NamedTarget:
    name: str
    protocols: tuple[Protocol, ...]
    description: str
    start: Callable[[], StartedTarget]


# The accounts every provider creates that the suites use (interop/providers/base.py).
_USERS = ("alice", "bob")


def _provider_target(name: str, provider: Any, specs: Callable[[Any], dict[str, TargetSpec]],
                     description: str) -> StartedTarget:
    """Start ``provider`` and wrap it; ProviderUnavailable/ProviderError become
    TargetUnavailable with the provider's message."""
    from interop.providers.base import ProviderError

    try:
        provider.start()
    except ProviderError as exc:
        raise TargetUnavailable(f"{name}: {exc}") from exc
    try:
        return StartedTarget(name, specs(provider), provider.stop, description)
    except BaseException:
        provider.stop()
        raise


def _start_reference() -> StartedTarget:
    from interop.providers.base import TEST_DOMAIN, TEST_PASSWORD
    from interop.providers.rfcmail import RfcmailProvider

    provider = RfcmailProvider(users=_USERS, submission=True, imap=True, workers=1)
    accounts = tuple(Account(f"{u}@{TEST_DOMAIN}", TEST_PASSWORD) for u in _USERS)

    def specs(p: RfcmailProvider) -> dict[str, TargetSpec]:
        out = {}
        for key, protocol, submission in (("smtp", "smtp", False), ("imap", "imap", False),
                                          ("submission", "smtp", True)):
            host, port = p.endpoints[key]
            out[key] = TargetSpec("reference", protocol, host, port,  # type: ignore[arg-type]
                                  submission=submission, accounts=accounts,
                                  domain=TEST_DOMAIN, url=f"{key}://{host}:{port}")
        return out

    return _provider_target("reference", provider, specs, "rfcmail serve (this checkout)")


def _start_dovecot() -> StartedTarget:
    from interop.providers.base import TEST_DOMAIN, TEST_PASSWORD
    from interop.providers.dovecot import DovecotProvider, dovecot_version

    provider = DovecotProvider(users=_USERS, managesieve=False, sieve=False)
    accounts = tuple(Account(u, TEST_PASSWORD) for u in _USERS)

    def specs(p: DovecotProvider) -> dict[str, TargetSpec]:
        host, port = p.endpoints["imap"]
        return {"imap": TargetSpec("dovecot", "imap", host, port, accounts=accounts,
                                   domain=TEST_DOMAIN, url=f"imap://{host}:{port}")}

    return _provider_target("dovecot", provider, specs, f"Dovecot {dovecot_version() or ''}")


def _start_cyrus() -> StartedTarget:
    from interop.providers.base import TEST_DOMAIN, TEST_PASSWORD
    from interop.providers.cyrus import CyrusProvider, cyrus_version

    provider = CyrusProvider(users=_USERS)
    accounts = tuple(Account(u, TEST_PASSWORD) for u in _USERS)

    def specs(p: CyrusProvider) -> dict[str, TargetSpec]:
        host, port = p.endpoints["imap"]
        return {"imap": TargetSpec("cyrus", "imap", host, port, accounts=accounts,
                                   domain=TEST_DOMAIN, url=f"imap://{host}:{port}")}

    started = _provider_target("cyrus", provider, specs, "Cyrus IMAP")
    started.description = f"Cyrus IMAP {cyrus_version() or ''}"
    return started


def _start_postfix() -> StartedTarget:
    from interop.providers.base import TEST_DOMAIN, TEST_PASSWORD
    from interop.providers.postfix import PostfixProvider, postfix_version

    provider = PostfixProvider(users=_USERS)
    # Inbound SMTP needs no login: the accounts give the recipients' addresses.
    accounts = tuple(Account(f"{u}@{TEST_DOMAIN}", TEST_PASSWORD) for u in _USERS)

    def specs(p: PostfixProvider) -> dict[str, TargetSpec]:
        host, port = p.endpoints["smtp"]
        return {"smtp": TargetSpec("postfix", "smtp", host, port, accounts=accounts,
                                   domain=TEST_DOMAIN, url=f"smtp://{host}:{port}")}

    started = _provider_target("postfix", provider, specs, f"Postfix {postfix_version() or ''}")
    started.mailbox = f"maildir:{provider.mail_root / _USERS[0]}"
    return started


NAMED_TARGETS: dict[str, NamedTarget] = {
    "reference": NamedTarget("reference", ("smtp", "imap"),
                             "rfcmail serve from this checkout (SMTP, submission, IMAP)",
                             _start_reference),
    "dovecot": NamedTarget("dovecot", ("imap",), "a private Dovecot (IMAP)", _start_dovecot),
    "cyrus": NamedTarget("cyrus", ("imap",),
                         "a private Cyrus IMAP, unpacked from Debian's packages (IMAP)",
                         _start_cyrus),
    "postfix": NamedTarget("postfix", ("smtp",), "a private Postfix smtpd (SMTP)",
                           _start_postfix),
}


def target_protocols(target: str) -> tuple[str, ...]:
    """The protocols ``target`` (a name or URL) offers, known without starting it."""
    if target in NAMED_TARGETS:
        return NAMED_TARGETS[target].protocols
    return (parse_target(target).protocol,)


def target_name(target: str) -> str:
    """A short name for reports and directories: the target name, or scheme-host-port."""
    return target if target in NAMED_TARGETS else parse_target(target).name


def open_target(target: str, *, accounts: Iterable[Account] = (), domain: str | None = None,
                verify_tls: bool = False) -> StartedTarget:
    """Start a named target, or wrap a URL; extra ``accounts`` and ``domain`` apply to
    every spec. The caller calls ``stop()`` at the end of the run."""
    accounts = tuple(accounts)
    if target in NAMED_TARGETS:
        started = NAMED_TARGETS[target].start()
    else:
        spec = parse_target(target)
        started = StartedTarget(spec.name, {spec.protocol: spec}, description=spec.url)
    try:
        started.specs = {key: spec.with_options(accounts=accounts, domain=domain,
                                                verify_tls=verify_tls)
                         for key, spec in started.specs.items()}
    except BaseException:
        with contextlib.suppress(Exception):
            started.stop()
        raise
    return started


__all__ = ["NAMED_TARGETS", "PROTOCOLS", "Account", "NamedTarget", "StartedTarget",
           "TargetError", "TargetSpec", "TargetUnavailable", "open_target", "parse_account",
           "parse_target", "target_name", "target_protocols"]
