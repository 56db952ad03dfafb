"""RFC 9051 protocol-level rules: §4.3 the literals a server sends (synchronizing only)
and RFC 7888 LITERAL- refusals; §4.3.1 UTF-8 in quoted strings; §6.2.1 and §11 STARTTLS
and TLS (offered on a cleartext port, no command injection, TLS 1.2 or newer and the
mandatory cipher suite, BAD on an implicit TLS port); §6.3.1 ENABLE of what cannot be
enabled (RFC 5161); §9 the capability list; §6.5 no untagged responses nobody asked
for."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable

import pytest

from conformance.drivers import TargetClosed, TargetTimeout
from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.conftest import rev2_mode
from conformance.suites.imap.support import (
    Scratch,
    expect_ok,
    list_names,
    load,
    search_result,
)
from conformance.targets import TargetSpec
from reference.imap.response_data import (
    CapabilityData,
    EnabledData,
    EsearchData,
    IdData,
    ModSeqItem,
    VanishedData,
)
from reference.imap.responses import Condition, FetchData, Response

pytestmark = pytest.mark.protocol("imap")


# --- literals (§4.3, RFC 7888) ------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="4.3", level="MUST NOT",
                         ids=("RFC9051-4.3-2", "RFC9051-4.3-3"))
@pytest.mark.requirement(rfc=9051, section="4.3", level="MUST", ids=("RFC9051-4.3-4",))
@pytest.mark.requirement(rfc=7888, section="3", level="MUST NOT", ids=("RFC7888-3-1",))
@pytest.mark.requirement(rfc=7888, section="5", level="MUST", ids=("RFC7888-5-2",))
def test_server_sends_only_synchronizing_literals(session: ImapDriver,
                                                  scratch: Scratch) -> None:
    """§4.3: "The non-synchronizing literal form MUST NOT be sent from server to client",
    and "Any literal larger than 4096 bytes MUST be sent as a synchronizing literal": a
    message of 10000 octets comes back as {10000}, whatever LITERAL+ says."""
    body = b"".join(b"line %04d of a long conformance message\r\n" % n for n in range(250))
    message = b"Subject: long literal\r\n\r\n" + body
    loaded = load(session, scratch.create(session, "long"), [(message, ())])
    done = expect_ok(loaded.driver.command("FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT])"),
                     "FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT])")
    heads = re.findall(rb"~?\{(\d+)(\+?)\}\r\n", done.raw)
    assert (str(len(message)).encode(), b"") in heads, (
        f"FETCH BODY[] of {len(message)} octets: literal headers {heads} (expected "
        f"{{{len(message)}}})")
    plus = [count for count, mark in heads if mark]
    assert not plus, f"the server sent non-synchronizing literals of {plus} octets"


@pytest.mark.requirement(rfc=7888, section="5", level="MUST", ids=("RFC7888-5-3",))
def test_literal_minus_refuses_a_large_append_literal(session: ImapDriver,
                                                      scratch: Scratch) -> None:
    """RFC 7888 §5: a LITERAL- server that "encounters a non-synchronizing literal larger
    than 4096 bytes" refuses it, and "If responding to an APPEND command, the tagged BAD
    response MUST contain the TOOBIG response code" (or it says BYE). IMAP4rev2 has
    LITERAL- built in (§4.3) unless LITERAL+ is advertised."""
    caps = session.capabilities
    if "LITERAL+" in caps or not ("LITERAL-" in caps or "IMAP4REV2" in caps):
        pytest.skip("UNSUPPORTED: no LITERAL- semantics (LITERAL+ advertised, or neither "
                    "LITERAL- nor IMAP4rev2)")
    name = scratch.create(session, "literal-minus")
    message = b"Subject: too big\r\n\r\n" + b"x" * 5000 + b"\r\n"
    # One piece of text: the driver would send a synchronizing literal without LITERAL+.
    tag, _ = session.start(f"APPEND {quote(name)} {{{len(message)}+}}\r\n".encode() + message)
    try:
        while True:
            response = session.read_response()
            if getattr(response, "tag", None) == tag or (
                    getattr(response, "condition", None) is Condition.BYE):
                break
    except (TargetClosed, TargetTimeout):
        pytest.fail("the server closed the connection without a BAD [TOOBIG] or a BYE")
    condition = getattr(response, "condition", None)
    if condition is Condition.BYE:
        return
    code = getattr(response, "code", None)
    assert condition is Condition.BAD and getattr(code, "value", code) == "TOOBIG", (
        f"APPEND with a {len(message)}-octet non-synchronizing literal: expected BAD "
        f"[TOOBIG], got {response}")


# --- strings (§4.3.1) ----------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="4.3.1", level="MUST", ids=("RFC9051-4.3.1-2",))
@pytest.mark.needs("IMAP4rev2")
def test_utf8_in_quoted_strings(session: ImapDriver, scratch: Scratch) -> None:
    """§4.3.1: "IMAP4rev2 implementations MUST accept and MAY transmit [UTF-8] text in
    quoted-strings": a quoted UTF-8 mailbox name creates that mailbox, and a quoted UTF-8
    SEARCH string finds the message whose subject has it."""
    if not rev2_mode(session):
        pytest.skip("UNSUPPORTED: IMAP4rev2 could not be enabled on this connection")
    name = scratch.name(session, "quoted") + "-Grüße"
    done = session.command(f"CREATE {quote(name)}")
    expect_ok(done, f"CREATE {quote(name)} (UTF-8 in a quoted string)")
    assert name in list_names(session, "", name), f"LIST does not show {name!r}"
    message = (b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n\r\nHallo.\r\n")
    load(session, name, [(message, ())])
    found = search_result(session.command('SEARCH SUBJECT "Grüße aus Köln"'),
                          'SEARCH SUBJECT "Grüße aus Köln"')
    assert found == {1}, f'SEARCH SUBJECT "Grüße aus Köln" (quoted UTF-8) found {found}'


# --- STARTTLS and TLS (§6.2.1, §11) ---------------------------------------------------


def _cleartext(target: TargetSpec) -> None:
    if target.tls != "none":
        pytest.skip("UNSUPPORTED: the target is an Implicit TLS port, not a cleartext one")


def raw_lines_until(driver: ImapDriver, *tags: bytes) -> list[bytes]:
    """Raw lines read (and recorded) until one tagged with one of ``tags`` ("+" for a
    continuation request), or the end of the connection."""
    lines: list[bytes] = []
    wire = driver.wire
    while True:
        line = wire.take_line()
        if line is None:
            if not wire.fill():
                return lines
            continue
        wire.received(line)
        lines.append(line)
        if line.startswith(tuple(tag + b" " for tag in tags)):
            return lines


def _tls_context(*, maximum: ssl.TLSVersion | None = None,
                 ciphers: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum is not None:
        context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def _starttls_with(driver: ImapDriver, context: ssl.SSLContext) -> ssl.SSLSocket | None:
    """STARTTLS, then the handshake with ``context``: the TLS socket, or None when the
    handshake fails."""
    expect_ok(driver.command("STARTTLS"), "STARTTLS")
    try:
        tls = context.wrap_socket(driver.wire.sock, server_hostname=driver.wire.host)
    except (ssl.SSLError, OSError):
        return None
    driver.wire.sock = tls
    return tls


@pytest.mark.requirement(rfc=9051, section="11.2", level="MUST", ids=("RFC9051-11.2-4",))
@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST", ids=("RFC9051-6.1.1-3",))
@pytest.mark.requirement(rfc=3501, section="6.1.1", level="MUST", ids=("RFC3501-6.1.1-3",))
@pytest.mark.requirement(rfc=3501, section="7.2.1", level="MUST", ids=("RFC3501-7.2.1-2",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST", ids=("RFC3501-9-11",))
def test_cleartext_port_allows_starttls(target: TargetSpec, imap: ImapDriver) -> None:
    """§11.2: "If the server listens on a cleartext port, it MUST allow the STARTTLS
    command on it": advertised, answered OK, and TLS negotiated (§6.1.1: servers "MUST
    implement the STARTTLS ... and LOGINDISABLED capabilities on cleartext ports"; the
    STARTTLS half; LOGINDISABLED is the operator's choice)."""
    _cleartext(target)
    assert "STARTTLS" in imap.capabilities, (
        f"a cleartext port without STARTTLS: {sorted(imap.capabilities)}")
    done = imap.starttls()
    expect_ok(done, "STARTTLS")
    expect_ok(imap.command("NOOP"), "NOOP over TLS")


@pytest.mark.requirement(rfc=9051, section="6.2.1", level="MUST", ids=("RFC9051-6.2.1-3",))
@pytest.mark.needs("STARTTLS")
def test_no_command_injection_before_tls(target: TargetSpec, imap: ImapDriver) -> None:
    """§6.2.1: data "received in the same TCP buffer after the CRLF that starts the
    STARTTLS command" MUST be taken as the start of the TLS handshake (which then fails)
    or thrown away: a CAPABILITY sent with STARTTLS in one segment is never answered."""
    _cleartext(target)
    imap.send(b"inj1 STARTTLS\r\ninj2 CAPABILITY\r\n")
    lines = raw_lines_until(imap, b"inj1")
    assert lines and lines[-1].startswith(b"inj1 OK"), f"STARTTLS: {lines}"
    assert not imap.wire.buffer, (
        f"cleartext after the OK to STARTTLS: {bytes(imap.wire.buffer)!r}")
    try:
        imap.wire.start_tls()
    except (TargetClosed, TargetTimeout):
        return                  # option 1: the injected line was taken as a handshake
    try:
        imap.send(b"inj3 NOOP\r\n")
        after = raw_lines_until(imap, b"inj3")
    except (TargetClosed, TargetTimeout):
        return                  # the server gave up on the connection: nothing executed
    injected = [line for line in after if line.startswith((b"inj2 ", b"* CAPABILITY"))]
    assert not injected, (
        f"the CAPABILITY sent in cleartext with STARTTLS was executed inside TLS: {injected}")


@pytest.mark.requirement(rfc=9051, section="11.1", level="MUST", ids=("RFC9051-11.1-2",))
@pytest.mark.needs("STARTTLS")
def test_tls_1_2_or_newer(target: TargetSpec, imap: ImapDriver) -> None:
    """§11.1: "Clients and servers MUST implement TLS 1.2 [TLS-1.2] or newer": a client
    that offers TLS 1.2 and 1.3 only gets a session."""
    _cleartext(target)
    tls = _starttls_with(imap, _tls_context())
    assert tls is not None, "no TLS session with a client offering TLS 1.2 and 1.3"
    assert tls.version() in ("TLSv1.2", "TLSv1.3"), f"negotiated {tls.version()}"
    expect_ok(imap.command("NOOP"), "NOOP over TLS")


@pytest.mark.requirement(rfc=9051, section="11.1", level="MUST", ids=("RFC9051-11.1-4",))
@pytest.mark.needs("STARTTLS")
def test_tls_1_2_mandatory_cipher_suite(target: TargetSpec,
                                        imap_factory: Callable[..., ImapDriver]) -> None:
    """§11.1: "when using TLS 1.2, IMAP implementations MUST implement the
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 cipher suite" (for a server with an RSA
    certificate: the suite needs one)."""
    _cleartext(target)
    probe = _starttls_with(imap_factory(), _tls_context(maximum=ssl.TLSVersion.TLSv1_2))
    if probe is None or probe.version() != "TLSv1.2":
        pytest.skip("UNSUPPORTED: the target does not speak TLS 1.2 (TLS 1.3 only)")
    cipher = probe.cipher()
    if cipher is None or "ECDSA" in cipher[0] or "RSA" not in cipher[0]:
        pytest.skip(f"UNSUPPORTED: the certificate is not RSA (negotiated {cipher})")
    tls = _starttls_with(imap_factory(), _tls_context(
        maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES128-GCM-SHA256"))
    negotiated = tls.cipher() if tls is not None else None
    assert negotiated is not None, (
        "TLS 1.2 with only ECDHE-RSA-AES128-GCM-SHA256 offered: no handshake")
    assert negotiated[0] == "ECDHE-RSA-AES128-GCM-SHA256", f"negotiated {negotiated}"


@pytest.mark.requirement(rfc=9051, section="6.2.1", level="MUST", ids=("RFC9051-6.2.1-1",))
@pytest.mark.requirement(rfc=9051, section="11.2", level="MUST", ids=("RFC9051-11.2-2",))
def test_implicit_tls_port(target: TargetSpec, imap: ImapDriver) -> None:
    """§11.2: "The server MUST implement TLS negotiation on an Implicit TLS port" (the
    driver connected through it), and §6.2.1: "The server MUST always respond with a
    tagged BAD response when the STARTTLS command is received on an Implicit TLS
    port"."""
    if target.tls != "implicit":
        pytest.skip("UNSUPPORTED: the target is not an Implicit TLS port (imaps://)")
    assert isinstance(imap.wire.sock, ssl.SSLSocket)
    done = imap.command("STARTTLS")
    assert done.tagged.condition is Condition.BAD, (
        f"STARTTLS on an Implicit TLS port: expected BAD, got {done.tagged}")


# --- ENABLE (§6.3.1, RFC 5161) ------------------------------------------------------


def _enabled(done_untagged: list[Response]) -> set[str]:
    return {name.upper() for data in done_untagged if isinstance(data, EnabledData)
            for name in data.capabilities}


@pytest.mark.requirement(rfc=9051, section="6.3.1", level="MUST", ids=("RFC9051-6.3.1-2",))
@pytest.mark.requirement(rfc=5161, section="3.1", level="MUST", ids=("RFC5161-3.1-2",))
def test_enable_ignores_extensions_that_need_no_enabling(imap_login: ImapDriver) -> None:
    """§6.3.1: "If the argument is an extension known to the server, and it is not
    specifically permitted to be enabled using ENABLE, the server MUST ignore the
    argument": ENABLE of advertised extensions such as IDLE and NAMESPACE is OK and
    enables nothing."""
    known = [name for name in ("IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "CHILDREN")
             if name in imap_login.capabilities]
    if not known:
        pytest.skip("UNSUPPORTED: none of IDLE, NAMESPACE, UNSELECT, UIDPLUS, CHILDREN")
    done = expect_ok(imap_login.command("ENABLE " + " ".join(known)), f"ENABLE {known}")
    wrongly = _enabled(done.untagged) & set(known)
    assert not wrongly, f"ENABLE {' '.join(known)}: the server says ENABLED {wrongly}"


@pytest.mark.requirement(rfc=5161, section="3.1", level="MUST", ids=("RFC5161-3.1-3",))
@pytest.mark.requirement(rfc=5161, section="4", level="MUST", ids=("RFC5161-4-1",))
def test_enable_in_lower_case_enables(imap_login: ImapDriver) -> None:
    """RFC 5161 §3.1: "If the argument is an extension that is supported by the server and
    that needs to be enabled, the server MUST enable the extension and emit that
    extension in the ENABLED response"; §4: keywords in any case."""
    caps = imap_login.capabilities
    candidates = ["CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "METADATA"]
    if "IMAP4REV1" in caps:
        candidates.append("IMAP4REV2")
    wanted = next((name for name in candidates if name in caps), None)
    if wanted is None:
        pytest.skip("UNSUPPORTED: no extension that ENABLE enables is advertised")
    done = expect_ok(imap_login.command(f"enable {wanted.lower()}"), f"enable {wanted.lower()}")
    assert wanted in _enabled(done.untagged), (
        f"enable {wanted.lower()}: the ENABLED response lists {_enabled(done.untagged)}")


# --- capabilities (§9) --------------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="9", level="MUST",
                         ids=("RFC9051-9-11", "RFC9051-9-12"))
@pytest.mark.requirement(rfc=3501, section="7.2.1", level="MUST", ids=("RFC3501-7.2.1-1",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST", ids=("RFC3501-9-12",))
def test_capability_list_revisions(imap: ImapDriver) -> None:
    """§9: "Servers that offer RFC 1730 compatibility MUST list "IMAP4" as the first
    capability"; "Servers that offer RFC 3501 compatibility MUST list "IMAP4rev1"": a
    server that is not IMAP4rev2 is an RFC 3501 server, so it lists IMAP4rev1."""
    done = expect_ok(imap.command("CAPABILITY"), "CAPABILITY")
    data = [d for d in done.untagged if isinstance(d, CapabilityData)]
    assert data, "CAPABILITY: no untagged CAPABILITY response"
    names = [name.upper() for name in data[0].capabilities]
    if "IMAP4" in names:
        assert names[0] == "IMAP4", f"IMAP4 is listed, but not first: {names}"
    if "IMAP4REV2" not in names:
        assert "IMAP4REV1" in names, f"neither IMAP4rev2 nor IMAP4rev1 is listed: {names}"


# --- untagged responses (§6.5) --------------------------------------------------------


@pytest.mark.requirement(rfc=9051, section="6.5", level="MUST NOT", ids=("RFC9051-6.5-2",))
@pytest.mark.requirement(rfc=3501, section="6.5.1", level="MUST NOT", ids=("RFC3501-6.5.1-3",))
@pytest.mark.requirement(rfc=3501, section="7.2.1", level="MUST", ids=("RFC3501-7.2.1-4",))
@pytest.mark.requirement(rfc=3501, section="9", level="MUST", ids=("RFC3501-9-2",))
@pytest.mark.needs("IMAP4rev1")
def test_no_untagged_responses_nobody_asked_for(rev1_session: ImapDriver,
                                                scratch: Scratch) -> None:
    """§6.5: "Server implementations MUST NOT send any added untagged responses (not
    specified in this specification), unless the client requested it by issuing the
    associated experimental command ... or the ENABLE command": a client that enabled
    nothing sees no ENABLED, ID, VANISHED (QRESYNC), MODSEQ (CONDSTORE) or ESEARCH
    (without RETURN) through a whole session. RFC 3501 §7.2.1: "Server responses MUST
    conform to this document until the client issues a command that uses [an additional]
    capability", and §9 "[ABNF] rules MUST be followed strictly": the driver checks each
    response against the grammar."""
    imap = rev1_session
    name = scratch.create(imap, "unasked")
    loaded = load(imap, name, [(b"Subject: one\r\n\r\nbody\r\n", ("\\Seen",)),
                               (b"Subject: two\r\n\r\nbody\r\n", ())])
    seen: list[Response] = list(loaded.select.untagged)
    for command in ("NOOP", "FETCH 1:* (FLAGS UID)", "STORE 2 +FLAGS (\\Flagged)",
                    "SEARCH ALL", "UID SEARCH UNSEEN", f"STATUS {quote(name)} (MESSAGES)",
                    f'LIST "" {quote(name)}', "STORE 1 +FLAGS.SILENT (\\Deleted)", "EXPUNGE",
                    "CHECK", "NOOP"):
        seen += expect_ok(imap.command(command), command).untagged
    unasked = [type(r).__name__ for r in seen
               if isinstance(r, EnabledData | IdData | VanishedData | EsearchData)]
    unasked += ["MODSEQ" for r in seen if isinstance(r, FetchData)
                for item in r.items if isinstance(item, ModSeqItem)]
    assert not unasked, f"untagged responses nobody asked for: {unasked}"

