"""A connection's modes: what IMAP4rev2 forms and UTF-8 it may use (Modes.rev2, .utf8),
as advertising and ENABLE change them."""

from __future__ import annotations

from reference.imap.capabilities import Modes


def test_rev2_forms_follow_enable_and_what_the_server_offers() -> None:
    """RFC 9051 Appendix E: a server "advertising both IMAP4rev1 and IMAP4rev2 MUST NOT
    generate UTF-8-quoted strings unless the client has issued "ENABLE IMAP4rev2""; one
    offering IMAP4rev2 alone speaks it from the start."""
    unknown = Modes()
    assert (unknown.rev2, unknown.utf8) == (False, False)
    both = unknown.advertise(["IMAP4rev1", "IMAP4rev2"])
    assert (both.rev2, both.utf8) == (False, False)
    enabled = both.enable(["IMAP4rev2"])
    assert (enabled.rev2, enabled.utf8) == (True, True)
    assert unknown.advertise(["IMAP4rev2"]).rev2
    # RFC 6855 §3: ENABLE UTF8=ACCEPT allows UTF-8 without the rev2 forms.
    utf8 = both.enable(["UTF8=ACCEPT"])
    assert (utf8.rev2, utf8.utf8) == (False, True)
    # Re-advertising keeps what was enabled, and the modes compare by their settings.
    assert enabled.advertise(["IMAP4rev1", "IMAP4rev2"]).rev2
    assert enabled == Modes(advertised=frozenset({"IMAP4REV1", "IMAP4REV2"}),
                            enabled=frozenset({"IMAP4REV2"}))
