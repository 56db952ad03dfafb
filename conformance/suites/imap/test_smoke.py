"""Smoke tests of the pipeline: the greeting and CAPABILITY, strictly parsed by the driver."""

import pytest

from conformance.drivers.imap import ImapDriver
from reference.imap.responses import CapabilityData, Condition

pytestmark = pytest.mark.protocol("imap")


@pytest.mark.requirement(rfc=9051, section="7.1", level="MUST")
def test_greeting_is_ok_preauth_or_bye(imap: ImapDriver) -> None:
    # RFC 9051 §9: greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF (the driver
    # has parsed it); a server that accepts the connection greets with OK or PREAUTH.
    assert imap.greeting is not None
    assert imap.greeting.condition in (Condition.OK, Condition.PREAUTH)


@pytest.mark.requirement(rfc=9051, section="6.1.1", level="MUST",
                         ids=("RFC9051-6.1.1-2",))
@pytest.mark.requirement(rfc=9051, section="7.2.2", level="MUST",
                         ids=("RFC9051-7.2.2-1",))
def test_capability_answers_one_untagged_capability(imap: ImapDriver) -> None:
    # RFC 9051 §6.1.1: "The server MUST send a single untagged CAPABILITY response with
    # "IMAP4rev2" as one of the listed capabilities before the (tagged) OK response."
    # An IMAP4rev1 server (RFC 3501 §6.1.1) lists IMAP4rev1 instead.
    done = imap.capability()
    assert done.ok, f"CAPABILITY answered {done.tagged}"
    listings = done.of_type(CapabilityData)
    assert len(listings) == 1, f"{len(listings)} untagged CAPABILITY responses"
    names = {c.upper() for c in listings[0].capabilities}
    assert names & {"IMAP4REV2", "IMAP4REV1"}, f"neither IMAP4rev2 nor IMAP4rev1 in {names}"


@pytest.mark.requirement(rfc=9051, section="6.2.3", level="MUST")
def test_login_then_logout(imap_login: ImapDriver) -> None:
    # RFC 9051 §6.1.3: LOGOUT answers an untagged BYE before the tagged OK.
    done = imap_login.logout()
    assert done.ok
    assert any(getattr(r, "condition", None) is Condition.BYE for r in done.untagged)
