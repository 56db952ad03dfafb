"""RFC 9051 FETCH of a deeper MIME tree (a multipart inside a multipart, a message/rfc822
whose body is multipart): §6.4.5.1 part numbers and the MIME part specifier, §7.5.2 and
§9 what BODY and BODYSTRUCTURE may carry (no extension data in BODY, no undefined
extension data, MESSAGE/RFC822 as a body-type-msg); §7.5.2 BINARY: CRLF lines, an
unknown transfer encoding refused with UNKNOWN-CTE; §9 static items the same in another
session, system flags parsed before flag-extension, no flag-extension flags invented."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from conformance.drivers.imap import ImapDriver
from conformance.suites.imap.conftest import KNOWN
from conformance.suites.imap.support import (
    SYSTEM_FLAGS,
    Loaded,
    Scratch,
    code_of,
    expect_bad,
    expect_no,
    expect_ok,
    fetched,
    flag_set,
    load,
    one_fetch,
    search_result,
    untagged_codes,
)
from reference.imap.response_data import BinaryItem, BinarySizeItem
from reference.imap.responses import FetchData, FlagsData
from reference.imap.values import Value

pytestmark = pytest.mark.protocol("imap")

CRLF = b"\r\n"


def _lines(*lines: str) -> bytes:
    return b"".join(line.encode("ascii") + CRLF for line in lines)


# A message whose part 2 is a multipart/alternative and part 3 a message/rfc822 whose
# body is multipart/mixed: every section below is sliced from these octets.
ALT_1_HEADER = _lines("Content-Type: text/plain; charset=us-ascii", "")
ALT_1_BODY = _lines("Alternative plain text.")
ALT_2_HEADER = _lines("Content-Type: text/html; charset=us-ascii",
                      "Content-Disposition: inline", "Content-Language: en", "")
ALT_2_BODY = _lines("<p>Alternative html.</p>")
ALTERNATIVE = (_lines("--=_alt") + ALT_1_HEADER + ALT_1_BODY + _lines("", "--=_alt")
               + ALT_2_HEADER + ALT_2_BODY + _lines("", "--=_alt--"))
INNER_1_HEADER = _lines("Content-Type: text/plain; charset=us-ascii", "")
INNER_1_BODY = _lines("Inner part one.")
INNER_2_HEADER = _lines("Content-Type: application/octet-stream",
                        "Content-Transfer-Encoding: base64", "")
INNER_2_BODY = _lines("AAECAw==")
INNER_MESSAGE = (_lines("From: Kim <kim@example.org>", "To: Lee <lee@example.net>",
                        "Subject: Nested inner", "Date: Thu, 20 Jul 2023 08:00:00 +0000",
                        "Message-ID: <nested.inner@conformance.example.org>",
                        "MIME-Version: 1.0",
                        'Content-Type: multipart/mixed; boundary="=_inner"', "")
                 + _lines("--=_inner") + INNER_1_HEADER + INNER_1_BODY
                 + _lines("", "--=_inner") + INNER_2_HEADER + INNER_2_BODY
                 + _lines("", "--=_inner--"))
PART_1_BODY = _lines("Outer part one.")
PART_2_HEADER = _lines('Content-Type: multipart/alternative; boundary="=_alt"', "")
PART_3_HEADER = _lines("Content-Type: message/rfc822", "")
NESTED = (_lines("From: Ivy <ivy@example.org>", "To: Jack <jack@example.net>",
                 "Subject: Nested conformance", "Date: Fri, 21 Jul 2023 10:00:00 +0000",
                 "Message-ID: <nested@conformance.example.org>", "MIME-Version: 1.0",
                 'Content-Type: multipart/mixed; boundary="=_outer"', "")
          + _lines("--=_outer", "Content-Type: text/plain; charset=us-ascii", "")
          + PART_1_BODY + _lines("", "--=_outer") + PART_2_HEADER + ALTERNATIVE
          + _lines("", "--=_outer") + PART_3_HEADER + INNER_MESSAGE
          + _lines("", "--=_outer--"))
NESTED_SECTIONS = {
    "1": PART_1_BODY,
    "2.1": ALT_1_BODY,
    "2.1.MIME": ALT_1_HEADER,
    "2.2": ALT_2_BODY,
    "2.2.MIME": ALT_2_HEADER,
    "3.1": INNER_1_BODY,
    "3.2": INNER_2_BODY,
    "3.2.MIME": INNER_2_HEADER,
}


def _nested(session: ImapDriver, scratch: Scratch) -> Loaded:
    return load(session, scratch.create(session, "nested"), [(NESTED, ())])


def _is_multipart(body: Value) -> bool:
    return isinstance(body, tuple) and bool(body) and isinstance(body[0], tuple)


def _walk(body: Value, where: str = "message") -> Iterator[tuple[str, Value, tuple[Value, ...]]]:
    """Every body of the tree: (where, the body, its extension data)."""
    assert isinstance(body, tuple), f"{where}: expected a body, got {body!r}"
    if _is_multipart(body):
        count = 0
        while count < len(body) and isinstance(body[count], tuple):
            yield from _walk(body[count], f"{where}.{count + 1}" if where != "message"
                             else f"part {count + 1}")
            count += 1
        # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
        yield where, body, body[count + 1:]
        return
    kind = (str(body[0]).upper(), str(body[1]).upper())
    if kind in (("MESSAGE", "RFC822"), ("MESSAGE", "GLOBAL")):
        # body-type-msg: basic fields, envelope, body, lines
        assert len(body) >= 10 and isinstance(body[8], tuple), (
            f"{where}: MESSAGE/{kind[1]} reported without envelope, body and lines (§9: "
            f'media-basic\'s "MESSAGE subtype MUST NOT be "RFC822" or "GLOBAL""): {body!r}')
        yield from _walk(body[8], f"{where} (encapsulated)")
        yield where, body, body[10:]
    elif kind[0] == "TEXT":
        yield where, body, body[8:]
    else:
        yield where, body, body[7:]


def _extension_order(where: str, extension: tuple[Value, ...]) -> list[str]:
    """The shapes of body-ext-1part (md5, disposition, language, location) and
    body-ext-mpart (parameters, disposition, language, location), field by field."""
    problems: list[str] = []
    if not extension:
        return problems
    first, *rest = extension
    if not (first is None or isinstance(first, str | tuple)):
        problems.append(f"first extension field {first!r}")
    if rest:
        disposition = rest[0]
        if not (disposition is None or (isinstance(disposition, tuple) and len(disposition) == 2
                                        and isinstance(disposition[0], str))):
            problems.append(f"body disposition (second) {disposition!r}")
    if len(rest) >= 2:
        language = rest[1]
        if not (language is None or isinstance(language, str) or (
                isinstance(language, tuple) and all(isinstance(v, str) for v in language))):
            problems.append(f"body language (third) {language!r}")
    if len(rest) >= 3 and not (rest[2] is None or isinstance(rest[2], str)):
        problems.append(f"body location (fourth) {rest[2]!r}")
    return problems


@pytest.mark.requirement(rfc=9051, section="6.4.5.1", level="MUST",
                         ids=("RFC9051-6.4.5.1-1", "RFC9051-6.4.5.1-2"))
@pytest.mark.requirement(rfc=3501, section="6.4.5", level="MUST",
                         ids=("RFC3501-6.4.5-3", "RFC3501-6.4.5-4"))
def test_nested_part_numbers(session: ImapDriver, scratch: Scratch) -> None:
    """§6.4.5.1: "If a particular part is of type message or multipart, its parts MUST be
    indicated by a period followed by the part number within that nested multipart part"
    (2.1 inside the alternative, 3.1 inside the encapsulated message's multipart), and
    "The MIME part specifier MUST be prefixed by one or more numeric part specifiers":
    BODY[MIME] alone is not a section."""
    loaded = _nested(session, scratch)
    items = " ".join(f"BODY.PEEK[{name}]" for name in NESTED_SECTIONS)
    view = one_fetch(expect_ok(session.command(f"FETCH 1 ({items})"), f"FETCH 1 ({items})"), 1)
    for name, expected in NESTED_SECTIONS.items():
        assert view.section(name) == expected, (
            f"BODY[{name}]: expected {expected!r}, got {view.section(name)!r}")
    expect_bad(loaded.driver.command("FETCH 1 (BODY.PEEK[MIME])"),
               "FETCH 1 (BODY.PEEK[MIME]) (MIME without a part number)")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST NOT", ids=("RFC9051-7.5.2-16",))
@pytest.mark.requirement(rfc=9051, section="9", level="MUST NOT",
                         ids=("RFC9051-9-6", "RFC9051-9-7", "RFC9051-9-8", "RFC9051-9-9"))
@pytest.mark.requirement(rfc=3501, section="7.4.2", level="MUST NOT", ids=("RFC3501-7.4.2-9",))
@pytest.mark.requirement(rfc=3501, section="7.4.2", level="MUST",
                         ids=("RFC3501-7.4.2-7", "RFC3501-7.4.2-10"))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST NOT",
                         ids=("RFC3501-9-6", "RFC3501-9-7", "RFC3501-9-8", "RFC3501-9-9"))
def test_nested_structure_extension_data(session: ImapDriver, scratch: Scratch) -> None:
    """§7.5.2: extension data beyond the defined fields MUST NOT be sent "until it has
    been defined by a revision of this protocol" (body-ext-1part / body-ext-mpart: at most
    4 fields; §9 body-extension MUST NOT be generated); §9: the extension fields "MUST NOT
    be returned on non-extensible "BODY" fetch"; a MESSAGE/RFC822 part is a body-type-msg
    (media-basic's subtype "MUST NOT be "RFC822" or "GLOBAL""), at every depth. RFC 3501
    §7.4.2: "Extension data, if present, MUST be in the defined order": the disposition
    and language of part 2.2 where they belong."""
    _nested(session, scratch)
    command = "FETCH 1 (BODYSTRUCTURE BODY)"
    done = expect_ok(session.command(command), command)
    view = one_fetch(done, 1)
    assert view.bodystructure is not None and view.body is not None, (
        f"FETCH 1 (BODYSTRUCTURE BODY): got items {view.names}")
    walked = list(_walk(view.bodystructure))
    assert [where for where, _, _ in walked] == [
        "part 1", "part 2.1", "part 2.2", "part 2", "part 3 (encapsulated).1",
        "part 3 (encapsulated).2", "part 3 (encapsulated)", "part 3", "message"], (
        f"BODYSTRUCTURE of the nested message has another shape: {view.bodystructure!r}")
    for where, _, extension in walked:
        # md5/param, disposition, language, location: nothing more is defined.
        assert len(extension) <= 4, (
            f"BODYSTRUCTURE {where}: {len(extension)} extension fields {extension!r}, "
            "more than the 4 RFC 9051 defines")
        problems = _extension_order(where, extension)
        assert not problems, f"BODYSTRUCTURE {where}: " + "; ".join(problems)
    part = dict((where, extension) for where, _, extension in walked)["part 2.2"]
    if len(part) >= 3:
        assert isinstance(part[1], tuple) and str(part[1][0]).upper() == "INLINE", (
            f"part 2.2: body disposition (second extension field) {part[1]!r}, expected "
            '("INLINE" NIL)')
        language = part[2] if isinstance(part[2], tuple) else (part[2],)
        assert [str(v).lower() for v in language] == ["en"], (
            f"part 2.2: body language (third extension field) {part[2]!r}, expected \"en\"")
    for where, _, extension in _walk(view.body):
        assert not extension, f"BODY {where} carries extension data {extension!r}"


@pytest.mark.requirement(rfc=9051, section="9", level="MUST NOT", ids=("RFC9051-9-18",))
@pytest.mark.requirement(rfc=3501, section="6.4.5", level="MUST NOT", ids=("RFC3501-6.4.5-1",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST NOT", ids=("RFC3501-9-17",))
def test_static_items_same_in_another_session(loaded: Loaded,
                                              another: Callable[[], ImapDriver]) -> None:
    """§9 msg-att-static (ENVELOPE, INTERNALDATE, RFC822.SIZE, BODY, BODYSTRUCTURE, BODY[],
    UID, BINARY.SIZE): "MUST NOT change for a message": another session selecting the
    mailbox later gets the very same values."""
    items = "(ENVELOPE INTERNALDATE RFC822.SIZE BODY BODYSTRUCTURE BODY.PEEK[] UID)"
    first = fetched(expect_ok(loaded.driver.command(f"FETCH 1:* {items}"), "FETCH"))
    other = another()
    expect_ok(other.select(loaded.name), f"SELECT {loaded.name} in another session")
    second = fetched(expect_ok(other.command(f"FETCH 1:* {items}"), "FETCH (other session)"))
    assert set(first) == set(second) == {1, 2, 3}
    for msn in first:
        for name in ("envelope", "internal_date", "size", "body", "bodystructure",
                     "sections", "uid"):
            before, after = getattr(first[msn], name), getattr(second[msn], name)
            assert before == after, (
                f"message {msn}'s {name} differs between two sessions: {before!r} -> "
                f"{after!r}")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST", ids=("RFC9051-7.5.2-2",))
@pytest.mark.needs("BINARY|IMAP4rev2")
def test_binary_text_lines_end_in_crlf(loaded: Loaded) -> None:
    """§7.5.2 BINARY: "servers MUST ensure that textual line-oriented sections are always
    transmitted using the IMAP CRLF line termination syntax, regardless of the underlying
    storage representation": the decoded text parts (7bit, quoted-printable) have no bare
    LF or CR. (Not BINARY[] of the whole message: its decoded octet-stream part may hold
    any octet.)"""
    command = "FETCH 3 (BINARY.PEEK[1] BINARY.PEEK[3.1])"
    done = expect_ok(loaded.driver.command(command), command)
    items = {item.part: item.data for data in done.of_type(FetchData) if data.msn == 3
             for item in data.items if isinstance(item, BinaryItem)}
    assert set(items) == {(1,), (3, 1)}, f"{command}: BINARY items for {sorted(items)}"
    for part, data in items.items():
        assert data is not None
        name = ".".join(map(str, part))
        assert data.count(b"\n") == data.count(CRLF) and data.count(b"\r") == data.count(CRLF), (
            f"BINARY[{name}] has a bare LF or CR: {data!r}")
        assert data.count(CRLF) >= 2, f"BINARY[{name}]: expected several lines, got {data!r}"


UNKNOWN_CTE = (b"From: Conformance <conformance@example.org>\r\n"
               b"Subject: unknown transfer encoding\r\n"
               b"Date: Fri, 21 Jul 2023 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: x-conformance-unknown\r\n\r\n"
               b"!!encoded-somehow!!\r\n")


@pytest.mark.requirement(rfc=9051, section="7.5.2", level="MUST",
                         ids=("RFC9051-7.5.2-3", "RFC9051-7.5.2-5"))
@pytest.mark.needs("BINARY|IMAP4rev2")
def test_binary_of_unknown_transfer_encoding_is_unknown_cte(session: ImapDriver,
                                                            scratch: Scratch) -> None:
    """§7.5.2 BINARY / BINARY.SIZE: "If the server does not know how to decode the
    section's Content-Transfer-Encoding, it MUST fail the request and issue a "NO"
    response that contains the "UNKNOWN-CTE" response code"."""
    _ = load(session, scratch.create(session, "unknown-cte"), [(UNKNOWN_CTE, ())])
    for item in ("BINARY.PEEK[1]", "BINARY.SIZE[1]"):
        done = expect_no(session.command(f"FETCH 1 ({item})"), f"FETCH 1 ({item})")
        assert code_of(done.tagged) == "UNKNOWN-CTE", (
            f"FETCH 1 ({item}) of an x-conformance-unknown part: the NO lacks "
            f"[UNKNOWN-CTE]: {done.tagged}")
        assert not [i for data in done.of_type(FetchData) for i in data.items
                    if isinstance(i, BinaryItem | BinarySizeItem)], (
            f"FETCH 1 ({item}) failed, yet returned the item")


@pytest.mark.requirement(rfc=9051, section="9", level="MUST", ids=("RFC9051-9-1",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST", ids=("RFC3501-9-1",))
def test_system_flag_names_win_over_flag_extension(loaded: Loaded) -> None:
    """§9: "the rule that is listed earlier MUST take priority. For example, "\\Seen"
    when parsed as a flag is the \\Seen flag name and not a flag-extension": a STORE of
    "\\sEEN" sets the system flag that SEARCH SEEN and FETCH FLAGS know."""
    imap = loaded.driver
    expect_ok(imap.command("STORE 3 +FLAGS.SILENT (\\sEEN \\dRAFT)"), "STORE 3 +FLAGS")
    view = one_fetch(expect_ok(imap.command("FETCH 3 (FLAGS)"), "FETCH 3 (FLAGS)"), 3)
    assert view.flags is not None and flag_set(view.flags) == {"\\SEEN", "\\DRAFT"}, (
        f"after STORE +FLAGS (\\sEEN \\dRAFT), message 3 has flags {view.flags}")
    assert 3 in search_result(imap.command("SEARCH SEEN DRAFT"), "SEARCH SEEN DRAFT"), (
        "SEARCH SEEN DRAFT does not find message 3, stored with \\sEEN \\dRAFT")


# RFC 9051 §2.3.2 system flags; \Recent is RFC 3501's (an IMAP4rev1 session may see it);
# "\*" is PERMANENTFLAGS' "new keywords may be created" (§7.1).
_DEFINED = {f.upper() for f in SYSTEM_FLAGS} | {"\\RECENT", "\\*"}


@pytest.mark.requirement(rfc=9051, section="9", level="MUST NOT", ids=("RFC9051-9-14",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST NOT", ids=("RFC3501-9-14",))
def test_no_flag_extension_flags_invented(session: ImapDriver, scratch: Scratch) -> None:
    """§9 flag-extension: "Server implementations MUST NOT generate flag-extension flags
    except as defined by a future Standard or Standards Track revisions": the flags of
    FLAGS, PERMANENTFLAGS and FETCH FLAGS that begin with "\\" are the system flags."""
    loaded = load(session, scratch.create(session, "flags"), KNOWN)
    done = expect_ok(session.command("FETCH 1:* (FLAGS)"), "FETCH 1:* (FLAGS)")
    seen = [f for data in loaded.select.of_type(FlagsData) for f in data.flags]
    permanent = untagged_codes(loaded.select).get("PERMANENTFLAGS")
    if permanent is not None and isinstance(permanent.code_data, tuple):
        seen += [str(f) for f in permanent.code_data]
    seen += [f for view in fetched(done).values() for f in view.flags or ()]
    invented = sorted({f for f in seen if f.startswith("\\") and f.upper() not in _DEFINED})
    assert not invented, f"the server generated flag-extension flags {invented}"
