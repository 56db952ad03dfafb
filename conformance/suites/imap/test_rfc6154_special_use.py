"""RFC 6154 SPECIAL-USE: §2 the capability and the SPECIAL-USE selection and return options
of the extended LIST (RFC 5258), §3 CREATE with a USE parameter (CREATE-SPECIAL-USE),
§4 special uses set through METADATA (RFC 5464), §6 no extension attributes beyond the
standards.

The special-use mailboxes of the account are found with LIST (SPECIAL-USE); a target
whose account has none gets one made through the protocol (CREATE ... (USE ...) when
CREATE-SPECIAL-USE is advertised, else the names servers commonly give a special use),
removed after the test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from conformance.drivers import GrammarViolation
from conformance.drivers.imap import ImapDriver, quote
from conformance.suites.imap.support import (
    Scratch,
    capabilities_now,
    expect_no,
    list_names,
    show,
)
from conformance.suites.imap.test_rfc9051_list import _listed, _upper
from reference.imap.responses import (
    Condition,
    ListData,
    ResponseCode,
    StatusResponse,
)

pytestmark = pytest.mark.protocol("imap")

EXTENDED = "LIST-EXTENDED|IMAP4rev2"
# §2 use-attr, and RFC 8457's "\Important" (Standards Track, extending use-attr).
USE_ATTRIBUTES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
                  "\\Trash", "\\Important")
USES = {use.upper() for use in USE_ATTRIBUTES}
# The other mailbox attributes the standards define: RFC 9051 §7.3.1 / RFC 3501 §7.2.2,
# RFC 5258 §3 (\NonExistent, \Subscribed, \Remote) and §4 (RFC 3348 children).
BASE_ATTRIBUTES = {"\\NOINFERIORS", "\\NOSELECT", "\\MARKED", "\\UNMARKED", "\\NONEXISTENT",
                   "\\SUBSCRIBED", "\\REMOTE", "\\HASCHILDREN", "\\HASNOCHILDREN"}
# A special use no standard defines: use-attr-ext = "\" atom, syntactically valid.
UNKNOWN_USE = "\\XConformanceUnknownUse"
# Names servers commonly give a special use by configuration (Dovecot's example config).
COMMON_NAMES = ("Sent", "Drafts", "Trash", "Junk", "Archive")


def _uses(item: ListData) -> set[str]:
    return _upper(item.attributes) & USES


def _special(session: ImapDriver) -> dict[str, ListData]:
    return _listed(session, 'LIST (SPECIAL-USE) "" "*"')


def _created_with_use(session: ImapDriver, name: str, use: str) -> bool:
    """CREATE ``name`` (USE (``use``)): whether the server says OK."""
    return session.command(f"CREATE {quote(name)} (USE ({use}))").ok


@contextlib.contextmanager
def _some_special_use(session: ImapDriver, scratch: Scratch) -> Iterator[dict[str, ListData]]:
    """The existing special-use mailboxes (LIST (SPECIAL-USE), \\NonExistent ones left
    out); when there are none, one is made for the block: with CREATE (USE ...) if
    CREATE-SPECIAL-USE is advertised, else by creating a missing common name (deleted
    after the block, by its exact name)."""
    found = {n: item for n, item in _special(session).items()
             if "\\NONEXISTENT" not in _upper(item.attributes)}
    made: list[str] = []
    try:
        if not found and "CREATE-SPECIAL-USE" in session.capabilities:
            for use in USE_ATTRIBUTES[:-1]:
                if _created_with_use(session, scratch.name(session, "use"), use):
                    break
        if not found and "CREATE-SPECIAL-USE" not in session.capabilities:
            for name in COMMON_NAMES:
                if name not in list_names(session, "", name) and session.create(name).ok:
                    made.append(name)
        if not found:
            found = {n: item for n, item in _special(session).items()
                     if "\\NONEXISTENT" not in _upper(item.attributes)}
        if not found:
            pytest.skip("UNSUPPORTED: the account has no special-use mailbox, and none "
                        "could be made through the protocol")
        yield found
    finally:
        for name in made:
            session.delete(name)


@pytest.mark.requirement(rfc=6154, section="2", level="MUST", ids=("RFC6154-2-2",))
@pytest.mark.needs(EXTENDED)
def test_special_use_list_options_come_with_the_capability(session: ImapDriver) -> None:
    """§2: "Supporting implementations MUST include the "SPECIAL-USE" capability string in
    response to an IMAP CAPABILITY command": a server that takes the SPECIAL-USE selection
    and return options (a server that does not know them answers BAD, RFC 5258 §3) lists
    SPECIAL-USE in its CAPABILITY response."""
    selection = session.command('LIST (SPECIAL-USE) "" "INBOX"')
    returns = session.command('LIST "" "INBOX" RETURN (SPECIAL-USE)')
    capabilities = capabilities_now(session)
    if not selection.ok and not returns.ok:
        if "SPECIAL-USE" in capabilities:
            pytest.fail(f"SPECIAL-USE is advertised, yet LIST (SPECIAL-USE) gives "
                        f"{show(selection)!r} and RETURN (SPECIAL-USE) {show(returns)!r}")
        pytest.skip("UNSUPPORTED: the target takes neither SPECIAL-USE LIST option")
    assert "SPECIAL-USE" in capabilities, (
        f"the target takes the SPECIAL-USE LIST options (selection: {show(selection)!r}, "
        f"return: {show(returns)!r}) but its CAPABILITY response lacks SPECIAL-USE: "
        f"{sorted(capabilities)}")


@pytest.mark.requirement(rfc=6154, section="2", level="MUST", ids=("RFC6154-2-3",))
@pytest.mark.needs("SPECIAL-USE")
def test_special_use_selection_lists_only_special_use_mailboxes(session: ImapDriver,
                                                               scratch: Scratch) -> None:
    """§2: "If the client specifies the "SPECIAL-USE" selection option, the LIST command
    MUST return only those mailboxes that have a special-use attribute set" (each listed
    with its attribute: "The "SPECIAL-USE" return option is implied by the "SPECIAL-USE"
    selection option"): never the plain mailbox the test created, and exactly the
    mailboxes that LIST RETURN (SPECIAL-USE) shows with one (plus \\NonExistent names,
    RFC 9051 §6.3.9.8's example)."""
    plain = scratch.create(session, "plain")
    with _some_special_use(session, scratch):
        for pattern in ("*", "%", plain):
            command = f'LIST (SPECIAL-USE) "" {quote(pattern)}'
            listed = _listed(session, command)
            assert plain not in listed, f"{command}: lists the plain mailbox {plain}"
            without = [n for n, item in listed.items() if not _uses(item)]
            assert not without, f"{command}: mailboxes without a special use: {without}"
        selected = _special(session)
        command = 'LIST "" "*" RETURN (SPECIAL-USE)'
        shown = {n for n, item in _listed(session, command).items() if _uses(item)}
        existing = {n for n, item in selected.items()
                    if "\\NONEXISTENT" not in _upper(item.attributes)}
        assert existing == shown, (
            f'LIST (SPECIAL-USE) "" "*" lists {sorted(existing)}, but {command} shows a '
            f"special use on {sorted(shown)}")


@pytest.mark.requirement(rfc=6154, section="2", level="MUST", ids=("RFC6154-2-4",))
@pytest.mark.needs("SPECIAL-USE")
def test_special_use_return_option_shows_the_attributes(session: ImapDriver,
                                                        scratch: Scratch) -> None:
    """§2: "If the client specifies the "SPECIAL-USE" return option, the LIST command MUST
    return the new special-use attributes on those mailboxes that have them set": each
    special-use mailbox, listed by its own name, by "*", and with other return options
    beside, has the same special uses LIST (SPECIAL-USE) gives it."""
    with _some_special_use(session, scratch) as special:
        everything = _listed(session, 'LIST "" "*" RETURN (SPECIAL-USE)')
        for name, item in special.items():
            for command, listed in (
                    ('LIST "" "*" RETURN (SPECIAL-USE)', everything),
                    (f'LIST "" {quote(name)} RETURN (SPECIAL-USE)', None),
                    (f'LIST "" {quote(name)} RETURN (CHILDREN SPECIAL-USE SUBSCRIBED)', None)):
                listed = listed if listed is not None else _listed(session, command)
                assert name in listed, f"{command}: the special-use mailbox {name} is missing"
                assert _uses(listed[name]) == _uses(item), (
                    f"{command}: {name} has {listed[name].attributes}; LIST (SPECIAL-USE) "
                    f"gives it {item.attributes}")


@pytest.mark.requirement(rfc=6154, section="3", level="MUST NOT", ids=("RFC6154-3-5",))
@pytest.mark.needs("CREATE-SPECIAL-USE")
def test_create_that_cannot_set_the_use_creates_nothing(session: ImapDriver,
                                                        scratch: Scratch) -> None:
    """§3: "If the server cannot create a mailbox with the designated special use defined,
    for whatever reason, it MUST NOT create the mailbox, and MUST respond to the CREATE
    command with a tagged NO response": a use no standard defines (valid syntax, §6
    use-attr-ext) is refused with NO and leaves no mailbox; every other request either
    succeeds with all the uses asked for, or is a NO that leaves no mailbox."""
    name = scratch.name(session, "unknown-use")
    command = f"CREATE {quote(name)} (USE ({UNKNOWN_USE}))"
    expect_no(session.command(command), f"{command} (a special use no server supports)")
    assert not list_names(session, "", name), f"{command} was refused, yet {name} exists"
    requests = [(use,) for use in USE_ATTRIBUTES] + [("\\Drafts", "\\Sent")]
    for uses in requests:
        name = scratch.name(session, "use")
        command = f"CREATE {quote(name)} (USE ({' '.join(uses)}))"
        done = session.command(command)
        listed = _listed(session, f'LIST "" {quote(name)} RETURN (SPECIAL-USE)')
        if done.ok:
            assert name in listed, f"{command}: OK, yet LIST does not find {name}"
            missing = {u.upper() for u in uses} - _uses(listed[name])
            assert not missing, (
                f"{command}: OK, but {name} is {listed[name].attributes}, without "
                f"{sorted(missing)}: a CREATE that cannot set the use must be a NO")
        else:
            expect_no(done, command)
            assert not listed, f"{command} was refused ({show(done)}), yet {name} exists"


@pytest.mark.requirement(rfc=6154, section="3", level="SHOULD", ids=("RFC6154-3-6",))
@pytest.mark.needs("CREATE-SPECIAL-USE")
def test_create_refused_for_its_use_says_useattr(session: ImapDriver, scratch: Scratch) -> None:
    """§3: "If the reason for the failure is related to the special-use attribute (the
    specified special use is not supported or cannot be assigned to the specified
    mailbox), the server SHOULD include the new "USEATTR" response code in the tagged
    response": for each CREATE with USE refused where the same name is then created
    without USE (so the name was not the reason)."""
    refused = 0
    for uses in [(UNKNOWN_USE,), *((use,) for use in USE_ATTRIBUTES), ("\\Drafts", "\\Sent")]:
        name = scratch.name(session, "use")
        command = f"CREATE {quote(name)} (USE ({' '.join(uses)}))"
        done = session.command(command)
        if done.ok or not session.create(name).ok:
            continue
        refused += 1
        assert done.tagged.code is ResponseCode.USEATTR, (
            f"{command}: refused with {show(done)!r}, though CREATE {name} without USE "
            "succeeds: the special use is the reason, and [USEATTR] says so")
    assert refused, "no CREATE with USE was refused (the unknown use at least must be)"


@pytest.mark.requirement(rfc=6154, section="3", level="MUST", ids=("RFC6154-3-9",))
@pytest.mark.needs("SPECIAL-USE|CREATE-SPECIAL-USE")
def test_a_server_doing_both_advertises_both(session: ImapDriver, scratch: Scratch) -> None:
    """§3: "a server that supports both functions MUST advertise both capability strings":
    one that advertises CREATE-SPECIAL-USE and takes the SPECIAL-USE LIST options lists
    SPECIAL-USE; one that advertises SPECIAL-USE and sets a special use given on CREATE
    lists CREATE-SPECIAL-USE. (Finding that out sends USE unadvertised, which §3 forbids
    clients: a server that does not do it may answer NO or BAD, or ignore it.)"""
    capabilities = capabilities_now(session)
    if "CREATE-SPECIAL-USE" in capabilities:
        done = session.command('LIST "" "INBOX" RETURN (SPECIAL-USE)')
        if done.ok:
            assert "SPECIAL-USE" in capabilities, (
                "the target advertises CREATE-SPECIAL-USE and takes RETURN (SPECIAL-USE), "
                f"but does not advertise SPECIAL-USE: {sorted(capabilities)}")
        return
    for use in USE_ATTRIBUTES[:-1]:
        name = scratch.name(session, "use")
        if not _created_with_use(session, name, use):
            continue
        listed = _listed(session, f'LIST "" {quote(name)} RETURN (SPECIAL-USE)')
        assert name not in listed or use.upper() not in _uses(listed[name]), (
            f"CREATE {name} (USE ({use})) set the special use {use} "
            f"({listed[name].attributes}), but CREATE-SPECIAL-USE is not advertised: "
            f"{sorted(capabilities)}")


def _setmetadata(session: ImapDriver, mailbox: str, value: str) -> StatusResponse:
    """SETMETADATA ``mailbox`` (/private/specialuse "``value``"), its tagged response.
    Untagged METADATA responses (RFC 5464 §4.4, §5.4's unsolicited ones) are not in the
    driver's grammar: they are read past."""
    escaped = value.replace("\\", "\\\\")
    tag, early = session.start(
        f'SETMETADATA {quote(mailbox)} (/private/specialuse "{escaped}")')
    if early is not None:
        return early.tagged
    while True:
        try:
            response = session.read_response()
        except GrammarViolation:
            if not session.last_raw.startswith(b"* METADATA "):
                raise
            continue
        if isinstance(response, StatusResponse) and response.tag == tag:
            return response


@pytest.mark.requirement(rfc=6154, section="4", level="MUST", ids=("RFC6154-4-3",))
@pytest.mark.requirement(rfc=6154, section="4", level="MUST NOT", ids=("RFC6154-4-4",))
@pytest.mark.needs("SPECIAL-USE", "METADATA")
def test_metadata_special_use_is_checked_like_create(session: ImapDriver,
                                                     scratch: Scratch) -> None:
    """§4: a server "MUST check the validity of changes to the special-use attributes that
    are done through the metadata in the same way that it checks validity for the CREATE
    command ... It MUST NOT just blindly accept setting of these metadata by clients,
    which might result in the setting of special uses that the implementation does not
    support": /private/specialuse set to a use no standard defines is refused and not
    shown by LIST; with CREATE-SPECIAL-USE, a use CREATE refuses is refused here too."""
    name = scratch.create(session, "metadata")
    refused = [UNKNOWN_USE]
    if "CREATE-SPECIAL-USE" in session.capabilities:
        for use in USE_ATTRIBUTES[:-1]:
            probe = scratch.name(session, "use")
            if not _created_with_use(session, probe, use):
                refused.append(use)
    for use in refused:
        status = _setmetadata(session, name, use)
        assert status.condition is not Condition.OK, (
            f'SETMETADATA {name} (/private/specialuse "{use}"): OK, but '
            + ("no server supports it" if use == UNKNOWN_USE
               else f"CREATE (USE ({use})) is refused"))
        listed = _listed(session, f'LIST "" {quote(name)} RETURN (SPECIAL-USE)')
        assert name in listed and use.upper() not in _upper(listed[name].attributes), (
            f"after the refused SETMETADATA, {name} is {listed.get(name)}")


@pytest.mark.requirement(rfc=6154, section="6", level="MUST NOT", ids=("RFC6154-6-2",))
@pytest.mark.needs("SPECIAL-USE")
def test_no_extension_attributes_beyond_the_standards(session: ImapDriver,
                                                      scratch: Scratch) -> None:
    """§6 use-attr-ext: "Server implementations MUST NOT generate extension attributes
    except as defined by future Standards-Track revisions of or extensions to this
    specification": every attribute of every mailbox, with the SPECIAL-USE options, is
    one the standards define, even for a mailbox a client asked to give an unknown use
    (CREATE ... (USE (\\XConformanceUnknownUse)) when CREATE-SPECIAL-USE is advertised)."""
    if "CREATE-SPECIAL-USE" in session.capabilities:
        asked = scratch.name(session, "unknown-use")
        session.command(f"CREATE {quote(asked)} (USE ({UNKNOWN_USE}))")
    known = USES | BASE_ATTRIBUTES
    for command in ('LIST "" "*" RETURN (SPECIAL-USE)', 'LIST (SPECIAL-USE) "" "*"',
                    'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE CHILDREN)'):
        listed = _listed(session, command)
        unknown = {n: sorted(_upper(item.attributes) - known) for n, item in listed.items()
                   if _upper(item.attributes) - known}
        assert not unknown, f"{command}: attributes no standard defines: {unknown}"
