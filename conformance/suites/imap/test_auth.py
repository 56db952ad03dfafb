"""RFC 9051 §6.2: LOGIN (§6.2.3), AUTHENTICATE (§6.2.2) with PLAIN (RFC 4616), the
initial response (SASL-IR, RFC 4959), cancelling and malformed responses, and the
AUTHENTICATIONFAILED response code (§7.1, RFC 5530)."""

from __future__ import annotations

import base64

import pytest

from conformance.drivers.imap import Completion, ImapDriver, quote
from conformance.suites.imap.support import (
    code_of,
    completed,
    expect_bad,
    expect_no,
    expect_ok,
    expect_refused,
    show,
)
from conformance.targets import Account
from reference.imap.responses import Condition, Continuation, Response, StatusResponse

pytestmark = pytest.mark.protocol("imap")

WRONG = "conformance-wrong-password"


def _plain(account: Account, password: str | None = None) -> str:
    """RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, in base64."""
    secret = account.password if password is None else password
    return base64.b64encode(f"\0{account.user}\0{secret}".encode()).decode("ascii")


def _login_disabled(imap: ImapDriver) -> bool:
    if not imap.capabilities:
        imap.capability()
    return "LOGINDISABLED" in imap.capabilities


def _authenticated(imap: ImapDriver) -> bool:
    """Whether the connection is in the authenticated state: LIST is permitted."""
    return imap.command('LIST "" ""').ok


def _exchange(imap: ImapDriver, command: str, *responses: bytes) -> Completion:
    """AUTHENTICATE by hand: each "+" challenge gets the next client response line (the
    test's bytes, CRLF added); the first tagged response ends it."""
    tag, early = imap.start(command)
    assert early is None
    pending = list(responses)
    untagged: list[Response] = []
    while True:
        response = imap.read_response()
        if isinstance(response, Continuation):
            assert pending, (f"{command}: the server sent another challenge "
                             f"{response!r} the test has no response for")
            imap.send(pending.pop(0) + b"\r\n")
            continue
        if isinstance(response, StatusResponse) and response.tag == tag:
            return completed(imap, tag, response, untagged)
        untagged.append(response)


@pytest.mark.requirement(rfc=9051, section="6.2.3", level="MUST")
def test_login_succeeds(imap: ImapDriver, accounts: list[Account]) -> None:
    """§6.2.3: "OK - login completed, now in authenticated state"."""
    if _login_disabled(imap):
        pytest.skip("LOGINDISABLED is advertised (LOGIN is refused by design)")
    account = accounts[0]
    expect_ok(imap.login(account.user, account.password), f"LOGIN as {account.user}")
    assert _authenticated(imap), 'LIST "" "" refused after a successful LOGIN'


@pytest.mark.requirement(rfc=9051, section="6.2.3", level="MUST")
def test_login_wrong_password_is_no(imap: ImapDriver, accounts: list[Account]) -> None:
    """§6.2.3: "NO - login failure: user name or password rejected"; the connection stays
    in the not authenticated state."""
    if _login_disabled(imap):
        pytest.skip("LOGINDISABLED is advertised (LOGIN is refused by design)")
    account = accounts[0]
    done = imap.command(f"LOGIN {quote(account.user)} {quote(WRONG)}")
    expect_no(done, "LOGIN with a wrong password")
    assert not _authenticated(imap), "LIST permitted after a failed LOGIN"


@pytest.mark.requirement(rfc=9051, section="7.1", level="SHOULD")
@pytest.mark.parametrize("how", ["LOGIN", "AUTHENTICATE PLAIN"])
def test_failed_authentication_says_authenticationfailed(imap: ImapDriver,
                                                         accounts: list[Account],
                                                         how: str) -> None:
    """§7.1 AUTHENTICATIONFAILED (RFC 5530 §3): "Authentication failed for some reason on
    which the server is unwilling to elaborate. Typically, this includes "unknown user"
    and "bad password"." """
    account = accounts[0]
    if how == "LOGIN":
        if _login_disabled(imap):
            pytest.skip("LOGINDISABLED is advertised")
        done = imap.command(f"LOGIN {quote(account.user)} {quote(WRONG)}")
    else:
        if "AUTH=PLAIN" not in imap.capabilities:
            pytest.skip("AUTH=PLAIN is not advertised before login")
        done = _exchange(imap, "AUTHENTICATE PLAIN", _plain(account, WRONG).encode())
    expect_no(done, f"{how} with a wrong password")
    assert code_of(done.tagged) == "AUTHENTICATIONFAILED", (
        f"{how} with a wrong password: expected NO [AUTHENTICATIONFAILED], got "
        f"{show(done)!r}")


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST",
                         ids=("RFC9051-6.2.2-10", "RFC9051-6.2.2-20"))
@pytest.mark.needs("AUTH=PLAIN")
def test_authenticate_plain_without_initial_response(imap: ImapDriver,
                                                     accounts: list[Account]) -> None:
    """§6.2.2: the exchange without an initial response "is still valid and MUST be
    supported by the server": "+ " (an empty challenge), then the base64 response."""
    done = _exchange(imap, "AUTHENTICATE PLAIN", _plain(accounts[0]).encode())
    expect_ok(done, "AUTHENTICATE PLAIN with the response after \"+\"")
    assert _authenticated(imap), 'LIST "" "" refused after a successful AUTHENTICATE'


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST")
@pytest.mark.needs("SASL-IR|IMAP4rev2")
@pytest.mark.needs("AUTH=PLAIN")
def test_authenticate_plain_with_initial_response(imap: ImapDriver,
                                                  accounts: list[Account]) -> None:
    """§6.2.2 and RFC 4959: "AUTHENTICATE PLAIN <base64>" authenticates without a
    challenge."""
    done = _exchange(imap, f"AUTHENTICATE PLAIN {_plain(accounts[0])}")
    expect_ok(done, "AUTHENTICATE PLAIN with an initial response")
    assert _authenticated(imap), 'LIST "" "" refused after a successful AUTHENTICATE'


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST", ids=("RFC9051-6.2.2-4",))
@pytest.mark.requirement(rfc=3501, section="6.2.2", level="MUST", ids=("RFC3501-6.2.2-3",))
@pytest.mark.needs("AUTH=PLAIN")
def test_authenticate_cancelled_with_star_is_bad(imap: ImapDriver) -> None:
    """§6.2.2: "If the client wishes to cancel an authentication exchange, it issues a
    line consisting of a single "*". If the server receives such a response ... it MUST
    reject the AUTHENTICATE command by sending a tagged BAD response." """
    done = _exchange(imap, "AUTHENTICATE PLAIN", b"*")
    expect_bad(done, 'AUTHENTICATE PLAIN cancelled with "*"')
    assert not _authenticated(imap), "LIST permitted after a cancelled AUTHENTICATE"


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST", ids=("RFC9051-6.2.2-4",))
@pytest.mark.needs("IMAP4rev2")     # new in RFC 9051 (RFC 3501 §6.2.2 names only "*")
@pytest.mark.needs("AUTH=PLAIN")
@pytest.mark.parametrize("response", [b"not base64!", b"=AAA", b"AAA=BBB"])
def test_authenticate_invalid_base64_is_bad(imap: ImapDriver, response: bytes) -> None:
    """§6.2.2: "if it receives an invalid base64 string (e.g., characters outside the
    base64 alphabet or non-terminal "="), it MUST reject the AUTHENTICATE command by
    sending a tagged BAD response." """
    done = _exchange(imap, "AUTHENTICATE PLAIN", response)
    expect_bad(done, f"AUTHENTICATE PLAIN answered with the invalid base64 {response!r}")


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST", ids=("RFC9051-6.2.2-8",))
@pytest.mark.needs("IMAP4rev2")     # new in RFC 9051 (RFC 4959 leaves it to SASL)
@pytest.mark.needs("SASL-IR|IMAP4rev2")
@pytest.mark.needs("AUTH=PLAIN")
@pytest.mark.parametrize("initial", ["=AAA", "AAA=BBB"])
def test_authenticate_invalid_initial_response_is_bad(imap: ImapDriver,
                                                      initial: str) -> None:
    """§6.2.2: "When decoding the base64 data in the initial response, decoding errors
    MUST be treated as in any normal SASL client response, i.e., with a tagged BAD
    response ... (e.g., "=AAA" and "AAA=BBB" are not allowed)." """
    done = _exchange(imap, f"AUTHENTICATE PLAIN {initial}", b"*")
    expect_bad(done, f"AUTHENTICATE PLAIN with the invalid initial response {initial!r}")


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="SHOULD", ids=("RFC9051-6.2.2-3",))
def test_authenticate_unknown_mechanism_is_no(imap: ImapDriver) -> None:
    """§6.2.2: "If the requested authentication mechanism is not supported, the server
    SHOULD reject the AUTHENTICATE command by sending a tagged NO response." """
    done = _exchange(imap, "AUTHENTICATE X-CONFORMANCE-UNKNOWN", b"*")
    expect_no(done, "AUTHENTICATE with an unsupported mechanism")


@pytest.mark.requirement(rfc=9051, section="6.2.2", level="MUST")
@pytest.mark.needs("AUTH=PLAIN")
def test_authenticate_wrong_password_is_no(imap: ImapDriver, accounts: list[Account]) -> None:
    """§6.2.2: "NO - authenticate failure: ... credentials rejected"; the connection stays
    not authenticated."""
    done = _exchange(imap, "AUTHENTICATE PLAIN", _plain(accounts[0], WRONG).encode())
    assert done.tagged.condition is Condition.NO, (
        f"AUTHENTICATE PLAIN with a wrong password: expected NO, got {show(done)!r}")
    assert not _authenticated(imap), "LIST permitted after a failed AUTHENTICATE"


@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST")
def test_logindisabled_refuses_login(imap: ImapDriver, accounts: list[Account]) -> None:
    """§7.2.2: "The LOGINDISABLED capability indicates that the LOGIN command is disabled,
    and that the server will respond with a tagged NO response to any attempt to use the
    LOGIN command even if the user name and password are valid"."""
    if not _login_disabled(imap):
        pytest.skip("LOGINDISABLED is not advertised")
    account = accounts[0]
    done = imap.command(f"LOGIN {quote(account.user)} {quote(account.password)}")
    expect_refused(done, "LOGIN while LOGINDISABLED is advertised")
    expect_no(done, "LOGIN while LOGINDISABLED is advertised")
