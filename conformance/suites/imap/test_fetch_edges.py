"""RFC 9051 §6.4.5 / §7.5.2 corner cases with messages built for them: a message with no
body and no blank line, empty header fields in the ENVELOPE, RFC 2231 parameters in
BODYSTRUCTURE, partial fetches of a header subset, BINARY of a quoted-printable part
inside a message/rfc822, invalid FETCH arguments."""

from __future__ import annotations

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.support import (
    Loaded,
    Scratch,
    expect_bad,
    expect_ok,
    iter_pairs,
    load,
    one_fetch,
)
from reference.imap.response_data import BinaryItem
from reference.imap.responses import FetchData

pytestmark = pytest.mark.protocol("imap")

NO_BODY = (b"Date: Sat, 22 Jul 2023 08:00:00 +0000\r\n"
           b"From: Header Only <only@example.org>\r\n"
           b"Subject: no body\r\n")
EMPTY_FIELDS = (b"Date: Sat, 22 Jul 2023 09:00:00 +0000\r\n"
                b"From: Empty Fields <empty@example.org>\r\n"
                b"Subject:\r\n"
                b"To: someone@example.net\r\n"
                b"Cc:\r\n"
                b"\r\n"
                b"Empty subject and Cc.\r\n")
RFC2231 = (b"Date: Sat, 22 Jul 2023 10:00:00 +0000\r\n"
           b"From: Params <params@example.org>\r\n"
           b"Subject: RFC 2231 parameters\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream;\r\n"
           b" name*0=\"long-file\";\r\n"
           b" name*1=\"-name.bin\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n"
           b"\r\n"
           b"AAEC\r\n")


def _loaded(session: ImapDriver, scratch: Scratch, raw: bytes, label: str) -> Loaded:
    return load(session, scratch.create(session, label), [(raw, ())])


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST")
def test_message_without_body(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.5.1: "the blank line is included in all header fetches, except in the case of
    a message that has no body and no blank line": BODY[HEADER] of such a message is the
    message itself, BODY[TEXT] is empty, RFC822.SIZE its length."""
    loaded = _loaded(session, scratch, NO_BODY, "no-body")
    view = one_fetch(expect_ok(session.command("FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
                                               "RFC822.SIZE)"), "FETCH 1"), 1)
    assert view.section("HEADER") == NO_BODY, (
        f"BODY[HEADER] of a message with no body and no blank line: expected {NO_BODY!r}, "
        f"got {view.section('HEADER')!r}")
    assert view.section("TEXT") in (b"", None), (
        f"BODY[TEXT] of a message without a body: got {view.section('TEXT')!r}")
    assert view.size == len(NO_BODY), f"RFC822.SIZE {view.size}, APPENDed {len(NO_BODY)}"
    del loaded


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST")
def test_envelope_empty_address_fields_are_nil(session: ImapDriver, scratch: Scratch) -> None:
    """§7.5.2: "If the From, To, Cc, and Bcc header fields are absent in the [RFC5322]
    header, or are present but empty, the corresponding member of the envelope is NIL"
    (an empty Cc:)."""
    _loaded(session, scratch, EMPTY_FIELDS, "empty-fields")
    view = one_fetch(expect_ok(session.command("FETCH 1 (ENVELOPE)"), "FETCH ENVELOPE"), 1)
    envelope = view.envelope
    assert isinstance(envelope, tuple) and len(envelope) == 10
    assert envelope[6] is None, f"ENVELOPE cc of an empty Cc: field: expected NIL, got " \
                                f"{envelope[6]!r}"
    assert envelope[7] is None, f"ENVELOPE bcc of an absent Bcc: expected NIL, got " \
                                f"{envelope[7]!r}"


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="SHOULD", ids=("RFC9051-7.5.2-18",))
def test_envelope_empty_subject_is_empty_string(session: ImapDriver, scratch: Scratch) -> None:
    """§7.5.2: "if these header fields are present but empty, the corresponding member of
    the envelope is the empty string" ("some servers may return a NIL envelope member in
    the "present but empty" case. Clients SHOULD treat NIL and the empty string as
    identical", so a NIL here is a deviation of SHOULD weight)."""
    _loaded(session, scratch, EMPTY_FIELDS, "empty-subject")
    view = one_fetch(expect_ok(session.command("FETCH 1 (ENVELOPE)"), "FETCH ENVELOPE"), 1)
    envelope = view.envelope
    assert isinstance(envelope, tuple) and len(envelope) == 10
    assert envelope[1] == "", (
        f"ENVELOPE subject of an empty Subject: field: expected \"\", got {envelope[1]!r}")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="SHOULD",
                         ids=("RFC9051-7.5.2-13",))
def test_bodystructure_decodes_rfc2231_continuations(session: ImapDriver,
                                                     scratch: Scratch) -> None:
    """§7.5.2: "Servers SHOULD decode parameter-value continuations and parameter-value
    character sets as described in [RFC2231], for example, if the message contains
    parameters "baz*0", "baz*1", and "baz*2", the server should decode them per [RFC2231],
    concatenate, and return the resulting value as a parameter "baz"." """
    _loaded(session, scratch, RFC2231, "rfc2231")
    view = one_fetch(expect_ok(session.command("FETCH 1 (BODYSTRUCTURE)"),
                               "FETCH BODYSTRUCTURE"), 1)
    body = view.bodystructure
    assert isinstance(body, tuple) and len(body) > 2
    params = dict(iter_pairs(body[2]))
    assert params.get("NAME") == "long-file-name.bin", (
        f"name*0/name*1: expected a parameter NAME \"long-file-name.bin\", got {body[2]!r}")


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
def test_partial_of_header_fields(loaded: Loaded) -> None:
    """§6.4.5: "A substring fetch of a HEADER.FIELDS or HEADER.FIELDS.NOT part specifier
    is calculated after subsetting the header." """
    full = b"Subject: Conformance simple\r\n\r\n"
    view = one_fetch(expect_ok(loaded.driver.command(
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)]<9.11>)"), "FETCH partial HEADER.FIELDS"),
        1)
    name = "HEADER.FIELDS (SUBJECT)"
    assert name in view.sections, f"no BODY[{name}] item (items: {view.names})"
    data, origin = view.sections[name]
    assert (data, origin) == (full[9:20], 9), (
        f"BODY[{name}]<9.11>: expected {full[9:20]!r} at origin 9, got {data!r} at {origin}")


@pytest.mark.requirement(rfc=9051, section="6.4.5", level="MUST")
@pytest.mark.needs("BINARY|IMAP4rev2")
def test_binary_of_nested_quoted_printable(loaded: Loaded) -> None:
    """§6.4.5 BINARY: "the specified section ... after performing decoding of the
    section's Content-Transfer-Encoding": part 3.1 (quoted-printable "two=3D2") decodes to
    "two=2"."""
    done = expect_ok(loaded.driver.command("FETCH 3 (BINARY.PEEK[3.1])"),
                     "FETCH 3 (BINARY.PEEK[3.1])")
    items = [item for data in done.of_type(FetchData) if data.msn == 3
             for item in data.items if isinstance(item, BinaryItem)]
    assert items, "FETCH BINARY.PEEK[3.1] returned no BINARY item"
    expected = b"Inner body line one.\r\nInner body line two=2.\r\n"
    assert items[0].data == expected, f"BINARY[3.1]: expected {expected!r}, got " \
                                      f"{items[0].data!r}"


@pytest.mark.requirement(rfc=9051, section="2.2.2", level="SHOULD", ids=("RFC9051-2.2.2-3",))
@pytest.mark.parametrize("command", ["FETCH 0 (FLAGS)", "FETCH 1 (BODY[0])",
                                     "FETCH 1 (BODY[1.MIME.TEXT])", "FETCH 1 FLAGS)",
                                     "FETCH 1:x (FLAGS)"])
def test_invalid_fetch_is_bad(loaded: Loaded, command: str) -> None:
    """§2.2.2: "Any client command with a protocol syntax error ... SHOULD be rejected and
    the client given a BAD server completion response" (seq-number and section-part are
    nz-number; MIME only as the last part specifier)."""
    expect_bad(loaded.driver.command(command), f"{command} (not in the grammar)")


EXTENSIONS = (b"Date: Sat, 22 Jul 2023 12:00:00 +0000\r\n"
              b"From: \"Quote \\\"Q\\\" Back\\\\slash\" <q@example.org>\r\n"
              b"Subject: extension fields\r\n"
              b"MIME-Version: 1.0\r\n"
              b"Content-Type: text/plain; charset=us-ascii\r\n"
              b"Content-Language: en, de\r\n"
              b"Content-Location: http://example.org/conformance/x\r\n"
              b"\r\n"
              b"Body.\r\n")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST",
                         ids=("RFC9051-7.5.2-17",))
def test_single_part_extension_data_in_order(session: ImapDriver, scratch: Scratch) -> None:
    """§7.5.2: the extension data of a non-multipart part, "if present, MUST be in the
    defined order": body MD5, body disposition, body language ("A string or parenthesized
    list giving the body language value"), body location ("A string giving the body
    content URI")."""
    _loaded(session, scratch, EXTENSIONS, "extensions")
    view = one_fetch(expect_ok(session.command("FETCH 1 (BODYSTRUCTURE)"), "FETCH"), 1)
    body = view.bodystructure
    assert isinstance(body, tuple) and len(body) >= 8
    extension = body[8:]               # after type ... size and lines (TEXT)
    if len(extension) < 3:
        pytest.skip(f"the target sends no body language ({extension!r}); extension data is "
                    "optional")
    md5, disposition, language = extension[:3]
    assert md5 is None, f"body MD5 (first extension field): expected NIL, got {md5!r}"
    assert disposition is None, (
        f"body disposition (second extension field): the part has no Content-Disposition, "
        f"got {disposition!r}")
    languages = list(language) if isinstance(language, tuple) else [language]
    assert [str(v).lower() for v in languages] == ["en", "de"], (
        f"body language (third extension field): expected (\"en\" \"de\"), got {language!r}")
    if len(extension) >= 4:
        assert extension[3] == "http://example.org/conformance/x", (
            f"body location (fourth extension field): got {extension[3]!r}")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST")
def test_envelope_display_name_with_quoted_pairs(session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """§7.5.2: the address structure's first field is the "display name"; a quoted-string
    phrase "Quote \\"Q\\" Back\\\\slash" has the display name Quote "Q" Back\\slash (RFC 5322
    §3.2.4: quoted-pairs stand for the character after the backslash), sent back as an
    IMAP string the driver checks."""
    _loaded(session, scratch, EXTENSIONS, "quoted-name")
    view = one_fetch(expect_ok(session.command("FETCH 1 (ENVELOPE)"), "FETCH ENVELOPE"), 1)
    envelope = view.envelope
    assert isinstance(envelope, tuple) and isinstance(envelope[2], tuple)
    name = envelope[2][0][0]            # type: ignore[index]
    assert name == 'Quote "Q" Back\\slash', (
        f"ENVELOPE from display name: expected 'Quote \"Q\" Back\\\\slash', got {name!r}")


UTF8_HEADER = ("Date: Sat, 22 Jul 2023 13:00:00 +0000\r\n"
               "From: Jürgen <juergen@example.org>\r\n"
               "Subject: Grüße aus Köln\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n"
               "\r\n"
               "Hallo.\r\n").encode()


@pytest.mark.requirement(rfc=9051, section="A", level="MUST NOT", ids=("RFC9051-A-2",))
@pytest.mark.needs("IMAP4rev1")
def test_rev1_client_gets_no_utf8_quoted_strings(rev1_session: ImapDriver,
                                                 scratch: Scratch) -> None:
    """Appendix A: "Servers advertising both IMAP4rev1 and IMAP4rev2 MUST NOT generate
    UTF-8-quoted strings unless the client has issued "ENABLE IMAP4rev2"" (RFC 3501 §9:
    quoted strings are 7-bit). A message with raw UTF-8 in Subject and From, FETCHed
    ENVELOPE by a rev1 client: 8-bit values must come as literals or be made 7-bit (the
    driver's grammar check refuses an 8-bit quoted string from a rev1 session)."""
    _loaded(rev1_session, scratch, UTF8_HEADER, "utf8-header")
    view = one_fetch(expect_ok(rev1_session.command("FETCH 1 (ENVELOPE)"), "FETCH"), 1)
    envelope = view.envelope
    assert isinstance(envelope, tuple)
    subject = envelope[1]
    # The requirement forbids only 8-bit quoted strings. RFC 3501 leaves headers in raw
    # 8-bit undefined (RFC 5322 forbids them), so a rev1 server may send the value as a
    # literal, or transliterated to 7 bits (Cyrus 3.6 puts an "X" for each 8-bit octet).
    text = subject.decode("utf-8", "replace") if isinstance(subject, bytes) else subject
    assert text == "Grüße aus Köln" or (isinstance(text, str) and text.isascii()), (
        f"ENVELOPE subject of a raw UTF-8 Subject: got {subject!r}")
