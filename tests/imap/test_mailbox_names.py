"""Mailbox names on the wire: modified UTF-7 (RFC 9051 §5.1.3 / Appendix A.1, RFC 3501
§5.1.3) and the INBOX rule (§9 mailbox)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.imap.grammar import Cursor, GrammarError, WireWriter
from reference.imap.grammar_values import parse_mailbox, write_mailbox
from reference.imap.mailbox_names import (
    MailboxNameError,
    canonical_mailbox,
    decode_modified_utf7,
    encode_modified_utf7,
    is_inbox,
)


@pytest.mark.parametrize(("name", "wire"), [
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),   # RFC 9051 App. A.1
    ("Entwürfe", "Entw&APw-rfe"),
    ("A&B", "A&-B"),
    ("&", "&-"),
    ("plain ASCII ~!", "plain ASCII ~!"),
    ("日", "&ZeU-"),
    ("\U0001F600", "&2D3eAA-"),                  # a surrogate pair in UTF-16
    ("a\tb", "a&AAk-b"),
    ("a/b+c", "a/b+c"),                           # "+" and "/" stand for themselves
])
def test_modified_utf7_examples(name: str, wire: str) -> None:
    """RFC 9051 Appendix A.1: printable US-ASCII except "&" represents itself; "&" is
    "&-"; other characters are modified base64 of UTF-16 with "," for "/", ending "-"."""
    assert encode_modified_utf7(name) == wire
    assert decode_modified_utf7(wire) == name


@pytest.mark.parametrize("wire", [
    "&ZeVnLIqe",        # "&" without the closing "-": no implicit shift back
    "&Jjo!",            # not modified base64
    "&AGE-",            # base64 of printable US-ASCII ("a") MUST NOT be used
    "&U,BTFw-&ZeVnLIqe-",  # "-&" null shift between two base64 runs
    "&U,BTF2-",         # non-zero padding bits
    "&AA-",             # not a whole UTF-16 unit
    "&2D0-",            # a lone high surrogate
    "Entwürfe",         # 8-bit is not modified UTF-7
])
def test_invalid_modified_utf7_is_rejected(wire: str) -> None:
    """RFC 9051 Appendix A.1 (RFC 3501 §5.1.3): "Modified BASE64 MUST NOT be used to
    represent any printing US-ASCII character that can represent itself"; "null shifts
    ... are not permitted"; "all names start in US-ASCII and MUST end in US-ASCII"."""
    with pytest.raises(MailboxNameError):
        decode_modified_utf7(wire)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_every_name_has_one_modified_utf7_form(name: str) -> None:
    """Decoding is strict, so the wire form is unique: decode(encode(x)) == x."""
    wire = encode_modified_utf7(name)
    assert wire.isascii()
    assert decode_modified_utf7(wire) == name


def test_inbox_is_case_insensitive_only_as_a_whole_name() -> None:
    """RFC 9051 §9: "All case variants of INBOX (e.g., "iNbOx") MUST be interpreted as
    INBOX, not as an astring"."""
    assert is_inbox("iNbOx") and canonical_mailbox("inbox") == "INBOX"
    assert not is_inbox("INBOX/sub") and canonical_mailbox("Inbox.x") == "Inbox.x"


def _parse(wire: bytes, *, utf8: bool) -> str:
    cursor = Cursor([wire])
    name = parse_mailbox(cursor, utf8=utf8)
    assert cursor.at_end()
    return name


def test_the_mode_decides_the_wire_form() -> None:
    """RFC 9051 §5.1: IMAP4rev2 names are UTF-8; RFC 6855 §3 likewise after UTF8=ACCEPT;
    otherwise modified UTF-7 (7-bit: 8-bit octets are a BAD)."""
    assert _parse(b"Entw&APw-rfe", utf8=False) == "Entwürfe"
    assert _parse('"Entwürfe"'.encode(), utf8=True) == "Entwürfe"
    assert _parse(b"Entw&APw-rfe", utf8=True) == "Entw&APw-rfe"     # no decoding in UTF-8
    with pytest.raises(GrammarError, match="7-bit"):
        _parse('"Entwürfe"'.encode(), utf8=False)
    with pytest.raises(GrammarError, match="modified UTF-7"):
        _parse(b"A&B", utf8=False)
    for utf8 in (False, True):
        writer = WireWriter(utf8=utf8)
        write_mailbox(writer, "inbox")
        assert writer.getvalue() == b"INBOX"
