"""RFC 9051 §5.1 mailbox naming: INBOX is case-insensitive, 8-bit names are Net-Unicode
(UTF-8) for an IMAP4rev2 client, and a server offering both revisions shows an IMAP4rev1
client the modified UTF-7 form (Appendix A, A.1) — never UTF-8 quoted strings it has not
enabled."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.conftest import rev2_mode
from conformance.suites.imap.support import (
    Scratch,
    expect_ok,
    expect_refused,
    list_names,
    show,
)
from reference.imap.responses import Condition, ListData

pytestmark = pytest.mark.protocol("imap")

UNICODE = "Entwürfe-€"
# RFC 9051 Appendix A.1 / RFC 3501 §5.1.3: "ü" U+00FC, "€" U+20AC in modified BASE64 of
# UTF-16: &APw- and &IKw-.
MODIFIED_UTF7 = "Entw&APw-rfe-&IKw-"


@pytest.mark.requirement(rfc=9051, section="5.1", level="MUST")
@pytest.mark.parametrize("spelling", ["inbox", "InBox"])
def test_inbox_is_case_insensitive(session: ImapDriver, spelling: str) -> None:
    """§5.1: "The case-insensitive mailbox name INBOX is a special name reserved to mean
    "the primary mailbox for this user on this server"": SELECT and STATUS of "inbox"
    reach INBOX."""
    expect_ok(session.command(f"STATUS {spelling} (MESSAGES)"), f"STATUS {spelling}")
    expect_ok(session.examine(spelling), f"EXAMINE {spelling}")


def _unicode_name(scratch: Scratch, session: ImapDriver) -> tuple[str, str]:
    """(a fresh ASCII base name, base + "-" + UNICODE); cleaned up through the base."""
    base = scratch.name(session, "names")
    return base, f"{base}-{UNICODE}"


@pytest.mark.requirement(rfc=9051, section="5.1", level="MUST")
@pytest.mark.needs("IMAP4rev2")
def test_utf8_mailbox_name(session: ImapDriver, scratch: Scratch) -> None:
    """§5.1: "In IMAP4rev2, mailbox names are encoded in Net-Unicode": a UTF-8 name created
    by a rev2 client (as a literal) is listed and selectable under the same name."""
    if not rev2_mode(session):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    base, name = _unicode_name(scratch, session)
    expect_ok(session.command("CREATE {}", literals=[name.encode()]), f"CREATE {name}")
    listed = list_names(session, "", base + "*")
    assert name in listed, f"LIST does not show the UTF-8 name {name!r}: {sorted(listed)}"
    expect_ok(session.command("SELECT {}", literals=[name.encode()]), f"SELECT {name}")


@pytest.mark.requirement(rfc=9051, section="5.1", level="MUST", ids=("RFC9051-5.1-2",))
@pytest.mark.needs("IMAP4rev2")
def test_invalid_utf8_mailbox_name_refused(session: ImapDriver, scratch: Scratch) -> None:
    """§5.1: "Server implementations MUST prohibit the creation of 8-bit mailbox names that
    do not comply with Net-Unicode" (octets that are not UTF-8)."""
    if not rev2_mode(session):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    base = scratch.name(session, "bad-utf8")
    done = session.command("CREATE {}", literals=[base.encode() + b"-\xff\xfe"])
    assert done.tagged.condition in (Condition.NO, Condition.BAD), (
        f"CREATE of a name with the octets FF FE (not UTF-8): expected NO or BAD, got "
        f"{show(done)!r}")


@pytest.mark.requirement(rfc=9051, section="A", level="MUST NOT", ids=("RFC9051-A-2",))
@pytest.mark.requirement(rfc=9051, section="A", level="MUST", ids=("RFC9051-A-3",))
@pytest.mark.needs("IMAP4rev1", "IMAP4rev2")
def test_rev1_client_sees_modified_utf7(session: ImapDriver, rev1_session: ImapDriver,
                                        scratch: Scratch) -> None:
    """Appendix A: "Servers advertising both IMAP4rev1 and IMAP4rev2 MUST NOT generate
    UTF-8-quoted strings unless the client has issued "ENABLE IMAP4rev2"" and "MUST be
    compatible with the Mailbox International Naming Convention described in Appendix
    A.1": the mailbox a rev2 client named "...Entwürfe-€" is listed to a rev1 client as
    "...Entw&APw-rfe-&IKw-", and that name selects it. (A UTF-8 octet in the rev1 LIST
    response fails the grammar check of the driver.)"""
    if not rev2_mode(session):
        pytest.skip("IMAP4rev2 could not be enabled on this connection")
    base, name = _unicode_name(scratch, session)
    expect_ok(session.command("CREATE {}", literals=[name.encode()]), f"CREATE {name}")
    pattern = base + "*"
    done = expect_ok(rev1_session.command(f"LIST {quote('')} {quote(pattern)}"),
                     f"LIST (rev1 client) {pattern}")
    # The driver decodes modified UTF-7 names to Unicode; the wire form is in done.raw.
    names = [item.mailbox for item in done.of_type(ListData)]
    assert names == [name], f"a rev1 client listing {pattern!r} got {names}, expected {name!r}"
    expected = f"{base}-{MODIFIED_UTF7}"
    assert done.raw.isascii() and expected.encode() in done.raw, (
        f"a rev1 client listing {pattern!r}: expected the modified UTF-7 name {expected!r} "
        f"on the wire, got {done.raw!r}")
    expect_ok(rev1_session.examine(expected), f"EXAMINE {expected} (rev1 client)")


@pytest.mark.requirement(rfc=9051, section="A.1", level="MUST")
@pytest.mark.needs("IMAP4rev1")
def test_rev1_modified_utf7_name_round_trips(rev1_session: ImapDriver,
                                            scratch: Scratch) -> None:
    """Appendix A.1 (RFC 3501 §5.1.3): a rev1 client creates "...Entw&APw-rfe-&IKw-" and
    lists it back unchanged ("server implementations MUST preserve the exact form of the
    modified base64 portion of a modified UTF-7 name")."""
    base = scratch.name(rev1_session, "utf7")
    name = f"{base}-{MODIFIED_UTF7}"
    scratch.track(name)
    expect_ok(rev1_session.create(name), f"CREATE {name}")
    done = expect_ok(rev1_session.command(f'LIST "" {quote(base + "*")}'), "LIST")
    assert name.encode() in done.raw, (
        f"LIST does not return {name!r} as created (the driver decodes it to "
        f"{[item.mailbox for item in done.of_type(ListData)]}): {done.raw!r}")


@pytest.mark.requirement(rfc=9051, section="A.1", level="SHOULD", ids=("RFC9051-A.1-4",))
@pytest.mark.needs("IMAP4rev1")
def test_rev1_malformed_modified_utf7_refused(rev1_session: ImapDriver,
                                             scratch: Scratch) -> None:
    """Appendix A.1: "Server implementations SHOULD verify that any mailbox name with an
    embedded "&" character, used as an argument to CREATE, is: in the correctly modified
    UTF-7 syntax" ("&Jjo!" is not)."""
    base = scratch.name(rev1_session, "bad-utf7")
    name = f"{base}-&Jjo!"
    scratch.track(name)
    expect_refused(rev1_session.create(name), f"CREATE {name} (malformed modified UTF-7)")
