"""The ``rfcmail`` command line.

  rfcmail serve [--config FILE] [--data-dir DIR] [--smtp ADDR] [--imap ADDR] ...
  rfcmail domain add|list|remove
  rfcmail account add|list|remove|passwd
  rfcmail alias add|list|remove
  rfcmail mailbox ls ADDRESS [MAILBOX]
  rfcmail message show ADDRESS UID [--mailbox NAME] [--headers]
  rfcmail conform --target URL|NAME [...]      (conformance/run.py: the RFC suites)
  rfcmail fuzz --target URL|NAME [...]         (fuzz/wire/run.py: the wire fuzzer)
  rfcmail report coverage [--rfc N] [--json]   (conformance/coverage.py: MUST coverage)

Every command takes ``--config`` and ``--data-dir``; administration commands work on the
same store file as a running server (SQLite in WAL mode lets them share it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from reference import __version__
from reference.app import serve_forever, store_path
from reference.config import Config, ConfigError, Endpoint, load_config
from reference.delivery.indexing import index_message
from reference.delivery.local import a_label_domain
from reference.directory.passwords import hash_password
from reference.logs import configure_logging
from reference.message.headers import first_field, header_section, parse_header_fields
from reference.smtp.grammar import GrammarError, parse_domain, parse_mailbox
from reference.store import open_store
from reference.store.interface import MailStore, StoreError


class UsageError(Exception):
    """A command-line argument is wrong; printed without a traceback."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["conform"]:
        return _conform(argv[1:])
    if argv[:1] == ["fuzz"]:
        return _fuzz(argv[1:])
    if argv[:1] == ["report"]:
        return _report(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        config = _config(args)
        configure_logging(config.log.level, config.log.format)
        if args.command == "serve":
            return serve_forever(config)
        return asyncio.run(_with_store(config, args))
    except (ConfigError, UsageError, StoreError) as exc:
        print(f"rfcmail: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _conform(argv: list[str]) -> int:
    """``rfcmail conform``: its options are conformance.run's own (it parses them). The
    suites live in the checkout beside ``reference``, which an editable install may not
    put on the path."""
    try:
        from conformance import run
    except ImportError:
        checkout = Path(__file__).resolve().parents[1]
        if not (checkout / "conformance" / "run.py").is_file():
            print("rfcmail: conform needs the rfcmail checkout (conformance/)", file=sys.stderr)
            return 2
        sys.path.insert(0, str(checkout))
        from conformance import run
    return run.main(argv)


def _fuzz(argv: list[str]) -> int:
    """``rfcmail fuzz``: its options are fuzz.wire.run's own (it parses them); like
    ``conform`` it needs the checkout (fuzz/, conformance/)."""
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "fuzz" / "wire" / "run.py").is_file():
        print("rfcmail: fuzz needs the rfcmail checkout (fuzz/)", file=sys.stderr)
        return 2
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    from fuzz.wire import run

    return run.main(argv)


def _report(argv: list[str]) -> int:
    """``rfcmail report coverage``: how many MUST-level requirements of each indexed RFC
    the conformance suites check (conformance/coverage.py parses the options)."""
    if argv[:1] != ["coverage"]:
        print("usage: rfcmail report coverage [--rfc N] [--json] [--summary] "
              "(rfcmail report coverage --help)", file=sys.stderr)
        return 2
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "conformance" / "coverage.py").is_file():
        print("rfcmail: report needs the rfcmail checkout (conformance/)", file=sys.stderr)
        return 2
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    from conformance import coverage

    return coverage.main(argv[1:])


def _config(args: argparse.Namespace) -> Config:
    config = load_config(Path(args.config) if args.config else None)
    if args.data_dir:
        config = config.replace("server", data_dir=args.data_dir)
    if args.command != "serve":
        return config
    server: dict[str, object] = {}
    if args.hostname:
        server["hostname"] = args.hostname
    if args.workers is not None:
        if args.workers < 0:
            raise UsageError("--workers must be 0 (one per CPU) or more")
        server["workers"] = args.workers
    if server:
        config = config.replace("server", **server)
    smtp: dict[str, object] = {}
    for name in ("smtp", "submission", "submissions"):
        value = getattr(args, name)
        if value is not None:
            if value:
                Endpoint.parse(value)           # fail early on a bad address
            smtp["listen" if name == "smtp" else name] = value
    if smtp:
        config = config.replace("smtp", **smtp)
    imap: dict[str, object] = {}
    for name in ("imap", "imaps"):
        value = getattr(args, name)
        if value is not None:
            if value:
                Endpoint.parse(value)
            imap["listen" if name == "imap" else name] = value
    if imap:
        config = config.replace("imap", **imap)
    log: dict[str, object] = {}
    if args.trace:
        log["trace"] = True
    if args.trace_file:
        log.update(trace=True, trace_file=args.trace_file)
    if args.log_level:
        log["level"] = args.log_level
    if args.log_format:
        log["format"] = args.log_format
    if log:
        config = config.replace("log", **log)
    return config


async def _with_store(config: Config, args: argparse.Namespace) -> int:
    path = store_path(config)
    if not path.exists() and args.handler not in _CREATES_STORE:
        raise UsageError(f"no store at {path}: add a domain first "
                         "(`rfcmail domain add example.test`)")
    path.parent.mkdir(parents=True, exist_ok=True)
    store = await open_store(path)
    try:
        await args.handler(store, args)
    finally:
        await store.close()
    return 0


# --- domains ------------------------------------------------------------------------


async def _domain_add(store: MailStore, args: argparse.Namespace) -> None:
    name = _domain(args.name)
    await store.add_domain(name)
    print(f"domain {name} added")


async def _domain_list(store: MailStore, args: argparse.Namespace) -> None:
    for domain in await store.list_domains():
        print(domain.name)


async def _domain_remove(store: MailStore, args: argparse.Namespace) -> None:
    name = _domain(args.name)
    await store.remove_domain(name)
    print(f"domain {name} removed")


def _domain(text: str) -> str:
    """A domain name in the form the store keys on: lower case, U-labels (RFC 6531 §3.3)
    converted to A-labels."""
    try:
        name, end = parse_domain(text, utf8=True)
    except GrammarError as exc:
        raise UsageError(f"{text!r} is not a domain name (RFC 5321 §4.1.2 Domain)") from exc
    if end != len(text):
        raise UsageError(f"{text!r} is not a domain name (RFC 5321 §4.1.2 Domain)")
    return a_label_domain(name)


# --- accounts -----------------------------------------------------------------------


def _address(text: str, *, allow_catch_all: bool = False) -> str:
    if allow_catch_all and text.startswith("@"):
        return "@" + _domain(text[1:])
    try:
        mailbox, end = parse_mailbox(text, utf8=True)
    except GrammarError as exc:
        raise UsageError(f"{text!r} is not an email address: {exc.detail}") from exc
    if end != len(text) or mailbox.domain is None or mailbox.domain.startswith("["):
        raise UsageError(f"{text!r} is not an email address on a domain")
    return f"{mailbox.local_part.lower()}@{a_label_domain(mailbox.domain)}"


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if args.password_file:
        return Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise UsageError("the passwords differ")
    return first


def _credentials(password: str) -> str:
    """The stored SCRAM credentials for ``password``, or a UsageError saying why the
    password cannot be used (RFC 4013 SASLprep prohibits control characters, and RFC 4616
    §2: "if preparation fails or results in an empty string, verification SHALL fail")."""
    if not password:
        raise UsageError("the password is empty")
    try:
        return hash_password(password)
    except ValueError as exc:           # SaslPrepError is a ValueError too
        raise UsageError(f"the password cannot be used: {exc}") from exc


async def _account_add(store: MailStore, args: argparse.Namespace) -> None:
    address = _address(args.address)
    credentials = _credentials(_password(args))
    account = await store.add_account(address, credentials, display_name=args.name or "")
    print(f"account {account.address} added")


async def _account_list(store: MailStore, args: argparse.Namespace) -> None:
    for account in await store.list_accounts():
        name = f"  ({account.display_name})" if account.display_name else ""
        print(f"{account.address}{name}")


async def _account_remove(store: MailStore, args: argparse.Namespace) -> None:
    address = _address(args.address)
    await store.remove_account(address)
    print(f"account {address} removed")


async def _account_passwd(store: MailStore, args: argparse.Namespace) -> None:
    address = _address(args.address)
    await store.set_credentials(address, _credentials(_password(args)))
    print(f"password of {address} changed")


# --- aliases ------------------------------------------------------------------------


async def _alias_add(store: MailStore, args: argparse.Namespace) -> None:
    alias = _address(args.alias, allow_catch_all=True)
    domain = alias.rpartition("@")[2]
    if not await store.is_local_domain(domain):
        raise UsageError(f"{domain} is not a local domain (add it with `rfcmail domain add`)")
    targets = [_address(t) for t in args.targets]
    for target in targets:
        # This server delivers locally only: an alias may name accounts or other aliases.
        if await store.get_account(target) is None and await store.get_alias(target) is None:
            raise UsageError(f"{target} is neither an account nor an alias here")
    await store.add_alias(alias, targets)
    print(f"alias {alias} -> {', '.join(targets)} added")


async def _alias_list(store: MailStore, args: argparse.Namespace) -> None:
    for alias in await store.list_aliases():
        print(f"{alias.address} -> {', '.join(alias.targets)}")


async def _alias_remove(store: MailStore, args: argparse.Namespace) -> None:
    alias = _address(args.alias, allow_catch_all=True)
    await store.remove_alias(alias)
    print(f"alias {alias} removed")


# --- what an account received -------------------------------------------------------


async def _mailbox_ls(store: MailStore, args: argparse.Namespace) -> None:
    account = await store.get_account(_address(args.address))
    if account is None:
        raise UsageError(f"no account {args.address}")
    if args.mailbox is None:
        print(f"{'MAILBOX':<20} {'MESSAGES':>8} {'UNSEEN':>6} {'SIZE':>10}  SPECIAL-USE")
        for box in await store.list_mailboxes(account.id):
            special = box.special_use.value if box.special_use else ""
            print(f"{box.name:<20} {box.messages:>8} {box.unseen:>6} "
                  f"{box.size:>10}  {special}")
        return
    mailbox = await store.get_mailbox(account.id, args.mailbox)
    if mailbox is None:
        raise UsageError(f"{account.address} has no mailbox {args.mailbox!r}")
    print(f"{'UID':>6}  {'RECEIVED (UTC)':<19} {'SIZE':>8}  {'FROM':<30} SUBJECT")
    for message in await store.list_messages(mailbox.id):
        raw = await store.read_blob(message.blob_id) or b""
        header = parse_header_fields(header_section(raw)[0])
        sender = first_field(header, "From")
        subject = first_field(header, "Subject")
        print(f"{message.uid:>6}  {message.internal_date:%Y-%m-%d %H:%M:%S} "
              f"{message.size:>8}  {(sender.value if sender else '')[:30]:<30} "
              f"{subject.value if subject else ''}")


async def _message_show(store: MailStore, args: argparse.Namespace) -> None:
    account = await store.get_account(_address(args.address))
    if account is None:
        raise UsageError(f"no account {args.address}")
    mailbox = await store.get_mailbox(account.id, args.mailbox)
    if mailbox is None:
        raise UsageError(f"{account.address} has no mailbox {args.mailbox!r}")
    found = [m for m in await store.list_messages(mailbox.id) if m.uid == args.uid]
    if not found:
        raise UsageError(f"no message with UID {args.uid} in {args.mailbox}")
    message = found[0]
    raw = await store.read_blob(message.blob_id)
    if raw is None:
        raise StoreError(f"the blob of message {message.id} is missing")
    if args.envelope:
        if message.envelope is not None:
            for key, value in dataclasses.asdict(message.envelope).items():
                print(f"{key}: {value}")
        print()
    if args.headers:
        raw = raw[: header_section(raw)[1]]
    sys.stdout.buffer.write(raw)
    sys.stdout.flush()


async def _message_reindex(store: MailStore, args: argparse.Namespace) -> None:
    """Parse and index again what an older version stored without (schema migrations
    that could not convert the index), or everything with --all (after a change of the
    parser or of what is indexed)."""
    indexed = await store.reindex(index_message, everything=args.all)
    print(f"{indexed} message{'' if indexed == 1 else 's'} indexed")


# --- the parser ---------------------------------------------------------------------

_CREATES_STORE = {_domain_add}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML configuration file")
    common.add_argument("--data-dir", metavar="DIR",
                        help="data directory (default: server.data_dir, or $RFCMAIL_DATA_DIR)")
    parser = argparse.ArgumentParser(
        prog="rfcmail", description="rfcmail: a spec-faithful reference mail server")
    parser.add_argument("--version", action="version", version=f"rfcmail {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--hostname", help="name in greetings and Received fields")
    serve.add_argument("--smtp", metavar="HOST:PORT", help="inbound SMTP listener ('' = off)")
    serve.add_argument("--submission", metavar="HOST:PORT",
                       help="submission (STARTTLS) listener ('' = off)")
    serve.add_argument("--submissions", metavar="HOST:PORT",
                       help="submissions (implicit TLS) listener ('' = off)")
    serve.add_argument("--imap", metavar="HOST:PORT",
                       help="IMAP (STARTTLS) listener ('' = off)")
    serve.add_argument("--imaps", metavar="HOST:PORT",
                       help="IMAPS (implicit TLS) listener ('' = off)")
    serve.add_argument("--workers", type=int,
                       help="server processes sharing the listeners (0: one per CPU, the default)")
    serve.add_argument("--trace", action="store_true",
                       help="log every byte of every connection, with timestamps")
    serve.add_argument("--trace-file", metavar="FILE", help="write the trace here")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-format", choices=["text", "json"])
    serve.set_defaults(command="serve")
    # Listed for --help; main() hands its arguments to conformance.run before parsing.
    commands.add_parser("conform", add_help=False,
                        help="run the RFC conformance suites against targets "
                             "(rfcmail conform --help)")
    commands.add_parser("fuzz", add_help=False,
                        help="fuzz a live SMTP or IMAP server (rfcmail fuzz --help)")
    commands.add_parser("report", add_help=False,
                        help="MUST-level coverage of the RFC suites "
                             "(rfcmail report coverage --help)")

    def group(name: str, help_text: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        sub = commands.add_parser(name, help=help_text)
        return sub.add_subparsers(title=f"{name} commands", metavar="ACTION")

    def action(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               handler: Callable[[MailStore, argparse.Namespace], Awaitable[None]],
               help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, parents=[common], help=help_text)
        sub.set_defaults(command=name, handler=handler)
        return sub

    domains = group("domain", "local domains")
    action(domains, "add", _domain_add, "add a local domain").add_argument("name")
    action(domains, "list", _domain_list, "list local domains")
    action(domains, "remove", _domain_remove, "remove a local domain").add_argument("name")

    accounts = group("account", "accounts")
    add = action(accounts, "add", _account_add, "add an account")
    add.add_argument("address")
    add.add_argument("--password", help="the password (else --password-file, stdin or a prompt)")
    add.add_argument("--password-file", metavar="FILE")
    add.add_argument("--name", help="display name")
    action(accounts, "list", _account_list, "list accounts")
    action(accounts, "remove", _account_remove, "remove an account and its mail"
           ).add_argument("address")
    passwd = action(accounts, "passwd", _account_passwd, "change a password")
    passwd.add_argument("address")
    passwd.add_argument("--password")
    passwd.add_argument("--password-file", metavar="FILE")

    aliases = group("alias", "aliases and catch-all addresses")
    alias_add = action(aliases, "add", _alias_add,
                       "deliver mail for ALIAS (or @domain: catch-all) to TARGETs")
    alias_add.add_argument("alias")
    alias_add.add_argument("targets", nargs="+", metavar="TARGET")
    action(aliases, "list", _alias_list, "list aliases")
    action(aliases, "remove", _alias_remove, "remove an alias").add_argument("alias")

    mailboxes = group("mailbox", "what an account received")
    ls = action(mailboxes, "ls", _mailbox_ls,
                "list an account's mailboxes, or the messages of one")
    ls.add_argument("address")
    ls.add_argument("mailbox", nargs="?")

    messages = group("message", "stored messages")
    reindex = action(messages, "reindex", _message_reindex,
                     "parse and index again the messages stored without search text")
    reindex.add_argument("--all", action="store_true",
                         help="every message (after an upgrade that changed what is indexed)")
    show = action(messages, "show", _message_show, "print a stored message, byte for byte")
    show.add_argument("address")
    show.add_argument("uid", type=int)
    show.add_argument("--mailbox", default="INBOX")
    show.add_argument("--headers", action="store_true", help="the header section only")
    show.add_argument("--envelope", action="store_true",
                      help="first print the SMTP envelope it arrived with")
    return parser


if __name__ == "__main__":
    sys.exit(main())
