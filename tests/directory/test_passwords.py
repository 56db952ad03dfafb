"""SASLprep (RFC 4013) and the SCRAM-SHA-256 stored form (RFC 5803 style, RFC 7677)."""

from __future__ import annotations

import base64
import re
import stringprep

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.directory.passwords import (
    DEFAULT_ITERATIONS,
    SALT_OCTETS,
    SCHEME,
    MalformedCredentials,
    ScramCredentials,
    VerifiedPasswords,
    derive_credentials,
    format_credentials,
    hash_password,
    parse_credentials,
    verify_password,
)
from reference.directory.saslprep import SaslPrepError, saslprep

# --- SASLprep ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "prepared"), [
    ("I\u00adX", "IX"),        # 1: SOFT HYPHEN mapped to nothing
    ("user", "user"),          # 2: no transformation
    ("USER", "USER"),          # 3: case preserved, will not match #2
    ("\u00aa", "a"),           # 4: output is NFKC, input in ISO 8859-1
    ("\u2168", "IX"),          # 5: output is NFKC, will match #1
])
def test_rfc4013_section3_examples_prepare(text: str, prepared: str) -> None:
    """RFC 4013 §3, examples 1 to 5."""
    assert saslprep(text) == prepared
    assert saslprep(text, allow_unassigned=True) == prepared


@pytest.mark.parametrize("text", [
    "\u0007",          # 6: Error - prohibited character
    "\u0627\u0031",    # 7: Error - bidirectional check
])
def test_rfc4013_section3_examples_fail(text: str) -> None:
    """RFC 4013 §3, examples 6 and 7."""
    with pytest.raises(SaslPrepError):
        saslprep(text)


def test_non_ascii_space_maps_to_space() -> None:
    """RFC 4013 §2.1: C.1.2 characters are mapped to SPACE (so §2.3 never sees them)."""
    assert saslprep("pass\u00a0word\u3000") == "pass word "


@pytest.mark.parametrize(("character", "table"), [
    ("\u0000", "C.2.1"), ("\u007f", "C.2.1"), ("\u0085", "C.2.2"), ("\ue000", "C.3"),
    ("\ufdd0", "C.4"), ("\ud800", "C.5"), ("\ufffd", "C.6"), ("\u2ff0", "C.7"),
    ("\u200e", "C.8"), ("\U000e0001", "C.9"),
])
def test_prohibited_output_names_the_table(character: str, table: str) -> None:
    """RFC 4013 §2.3: each prohibited table, and the message says which."""
    with pytest.raises(SaslPrepError, match=re.escape(f"table {table}")):
        saslprep(f"a{character}b", allow_unassigned=True)


def test_unassigned_code_points_only_in_queries() -> None:
    """RFC 4013 §2.5 and RFC 3454 §7: A.1 is allowed in queries, prohibited when stored."""
    unassigned = "\u0221"    # assigned in Unicode 4.0, so unassigned for stringprep
    assert stringprep.in_table_a1(unassigned)
    assert saslprep(f"x{unassigned}", allow_unassigned=True) == f"x{unassigned}"
    with pytest.raises(SaslPrepError, match="unassigned"):
        saslprep(f"x{unassigned}")


def test_bidirectional_rules() -> None:
    """RFC 3454 §6: RandALCat strings are fine alone, not mixed with LCat, and must begin
    and end with a RandALCat character."""
    assert saslprep("\u0627\u0628") == "\u0627\u0628"
    assert saslprep("\u0627\u0031\u0628") == "\u0627\u0031\u0628"
    with pytest.raises(SaslPrepError, match="requirement 2"):
        saslprep("\u0627a\u0628")
    with pytest.raises(SaslPrepError, match="requirement 3"):
        saslprep("1\u0627")


def test_empty_string_is_not_an_error() -> None:
    assert saslprep("") == ""
    assert saslprep("\u00ad") == ""


@given(st.text())
def test_saslprep_returns_or_raises_its_own_error(text: str) -> None:
    try:
        prepared = saslprep(text, allow_unassigned=True)
    except SaslPrepError:
        return
    # Preparation is idempotent on its own output.
    assert saslprep(prepared, allow_unassigned=True) == prepared


# --- the stored form -----------------------------------------------------------------------

STORED = hash_password("tanstaaftanstaaf")


def test_hash_password_has_the_rfc5803_shape() -> None:
    scheme, auth_info, auth_value = STORED.split("$")
    assert scheme == SCHEME == "SCRAM-SHA-256"
    iterations, salt = auth_info.split(":")
    assert iterations == str(DEFAULT_ITERATIONS) == "4096"
    assert len(base64.b64decode(salt, validate=True)) == SALT_OCTETS
    stored_key, server_key = auth_value.split(":")
    assert len(base64.b64decode(stored_key, validate=True)) == 32
    assert len(base64.b64decode(server_key, validate=True)) == 32


def test_hash_password_round_trips_and_rejects_wrong_passwords() -> None:
    assert verify_password(STORED, "tanstaaftanstaaf")
    assert not verify_password(STORED, "tanstaaftanstaaF")
    assert not verify_password(STORED, "")
    assert not verify_password(STORED, "tanstaaf\u0007tanstaaf")   # fails SASLprep


def test_each_hash_has_its_own_salt() -> None:
    """RFC 5802 §9: "it is important to use randomly generated salt values"."""
    again = hash_password("tanstaaftanstaaf")
    assert parse_credentials(again).salt != parse_credentials(STORED).salt
    assert verify_password(again, "tanstaaftanstaaf")


def test_passwords_are_saslprepped_before_hashing() -> None:
    """RFC 5802 §2.2 Normalize(): "I<SOFT HYPHEN>X", "IX" and "<ROMAN NUMERAL NINE>" are
    one password (RFC 4013 §3 examples 1 and 5)."""
    stored = hash_password("I\u00adX")
    assert verify_password(stored, "IX")
    assert verify_password(stored, "\u2168")
    assert not verify_password(stored, "ix")


def test_unpreparable_or_empty_passwords_are_refused() -> None:
    with pytest.raises(SaslPrepError):
        hash_password("bell\u0007")
    with pytest.raises(SaslPrepError, match="unassigned"):
        hash_password("\u0221")
    with pytest.raises(ValueError, match="empty"):
        hash_password("\u00ad")


def test_iteration_count_below_rfc7677_minimum_is_refused() -> None:
    """RFC 7677 §4: "the hash iteration-count SHOULD be at least 4096"."""
    with pytest.raises(ValueError, match="4096"):
        hash_password("pencil", iterations=4095)


def test_format_and_parse_are_inverse() -> None:
    credentials = derive_credentials(
        "pencil", salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), iterations=4096)
    stored = format_credentials(credentials)
    assert stored.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    assert parse_credentials(stored) == credentials
    assert verify_password(credentials, "pencil")


def test_keys_stay_out_of_repr() -> None:
    credentials = parse_credentials(STORED)
    assert "stored_key" not in repr(credentials)
    assert "server_key" not in repr(credentials)


_KEY = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize("stored", [
    "",
    "SCRAM-SHA-256",
    f"SCRAM-SHA-256$4096:c2FsdA==${_KEY}",                      # no ServerKey
    f"SCRAM-SHA-256$4096:c2FsdA==${_KEY}:{_KEY}$extra",          # four parts
    f"SCRAM-SHA-1$4096:c2FsdA==${_KEY}:{_KEY}",                  # another scheme
    f"scram-sha-256$4096:c2FsdA==${_KEY}:{_KEY}",                # scheme is exact
    f"SCRAM-SHA-256$4096c2FsdA==${_KEY}:{_KEY}",                 # no ':' in authInfo
    f"SCRAM-SHA-256$0:c2FsdA==${_KEY}:{_KEY}",                   # not positive
    f"SCRAM-SHA-256$04096:c2FsdA==${_KEY}:{_KEY}",               # leading zero
    f"SCRAM-SHA-256$-1:c2FsdA==${_KEY}:{_KEY}",
    f"SCRAM-SHA-256$\u0664\u0660\u0669\u0666:c2FsdA==${_KEY}:{_KEY}",   # Arabic digits
    f"SCRAM-SHA-256${'9' * 5000}:c2FsdA==${_KEY}:{_KEY}",        # absurdly long count
    f"SCRAM-SHA-256$99999999:c2FsdA==${_KEY}:{_KEY}",            # above the maximum
    f"SCRAM-SHA-256$4096:${_KEY}:{_KEY}",                        # empty salt
    f"SCRAM-SHA-256$4096:c2FsdA=${_KEY}:{_KEY}",                 # bad padding
    f"SCRAM-SHA-256$4096:c2F sdA==${_KEY}:{_KEY}",               # space in base64
    f"SCRAM-SHA-256$4096:c2FsdA==\u00e9${_KEY}:{_KEY}",          # non-ASCII
    f"SCRAM-SHA-256$4096:c2FsdA==${_KEY}{_KEY}",                 # no ':' in authValue
    f"SCRAM-SHA-256$4096:c2FsdA==$c2FsdA==:{_KEY}",              # StoredKey too short
    f"SCRAM-SHA-256$4096:c2FsdA==${_KEY}:{_KEY[:-4]}",           # ServerKey too short
    # RFC 5803's own SCRAM-SHA-1 example: SHA-1 keys are 20 octets.
    "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
])
def test_malformed_stored_strings_raise_a_value_error(stored: str) -> None:
    with pytest.raises(MalformedCredentials) as caught:
        parse_credentials(stored)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)
    with pytest.raises(MalformedCredentials):
        verify_password(stored, "pencil")


@pytest.mark.parametrize("position", range(0, len(STORED), 3))
def test_a_changed_character_breaks_the_syntax_or_the_verification(position: int) -> None:
    """Tampering with the stored string never leaves a string that still verifies, unless
    only the ServerKey changed (a password check does not use it)."""
    replacement = "A" if STORED[position] != "A" else "B"
    tampered = STORED[:position] + replacement + STORED[position + 1:]
    try:
        credentials = parse_credentials(tampered)
    except MalformedCredentials:
        return
    original = parse_credentials(STORED)
    if (credentials.iterations, credentials.salt, credentials.stored_key) == (
            original.iterations, original.salt, original.stored_key):
        return
    assert not verify_password(credentials, "tanstaaftanstaaf")


def test_credentials_validate_their_fields() -> None:
    with pytest.raises(MalformedCredentials, match="iteration"):
        ScramCredentials(iterations=0, salt=b"s", stored_key=bytes(32), server_key=bytes(32))
    with pytest.raises(MalformedCredentials, match="StoredKey"):
        ScramCredentials(iterations=1, salt=b"s", stored_key=bytes(20), server_key=bytes(32))


# --- remembered verifications -----------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counting_pbkdf2(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the PBKDF2 runs of verify_password."""
    from reference.directory import passwords
    calls: list[int] = []
    original = passwords.salted_password

    def counted(normalized: str, salt: bytes, iterations: int) -> bytes:
        calls.append(iterations)
        return original(normalized, salt, iterations)

    monkeypatch.setattr(passwords, "salted_password", counted)
    return calls


def test_a_verified_password_is_remembered_for_a_while(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that logs in again within ``seconds`` skips the PBKDF2; after, it pays
    it again."""
    stored = hash_password("pencil")
    calls = _counting_pbkdf2(monkeypatch)
    clock = _Clock()
    cache = VerifiedPasswords(60.0, clock=clock)
    assert verify_password(stored, "pencil", cache=cache)
    assert verify_password(stored, "pencil", cache=cache)
    assert len(calls) == 1
    clock.now += 61
    assert verify_password(stored, "pencil", cache=cache)
    assert len(calls) == 2


def test_failures_are_never_remembered_and_a_new_password_is_checked_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong password costs the whole PBKDF2 every time (RFC 4422 §3.6: no faster
    "no"), and a password that has changed (new credentials) is verified afresh: the
    old password no longer passes."""
    old, new = hash_password("pencil"), hash_password("crayon")
    calls = _counting_pbkdf2(monkeypatch)
    cache = VerifiedPasswords(60.0)
    for _ in range(3):
        assert not verify_password(old, "crayon", cache=cache)
    assert len(calls) == 3
    assert verify_password(old, "pencil", cache=cache)
    assert not verify_password(new, "pencil", cache=cache)
    assert verify_password(new, "crayon", cache=cache)
    assert len(calls) == 6


def test_remembered_verifications_are_bounded_and_can_be_turned_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stored = [hash_password(f"secret-{n}") for n in range(3)]
    calls = _counting_pbkdf2(monkeypatch)
    cache = VerifiedPasswords(60.0, size=2)
    for n, credentials in enumerate(stored):
        assert verify_password(credentials, f"secret-{n}", cache=cache)
    assert verify_password(stored[0], "secret-0", cache=cache)      # dropped: the oldest
    assert verify_password(stored[2], "secret-2", cache=cache)      # kept
    assert len(calls) == 4
    off = VerifiedPasswords(0.0)
    assert verify_password(stored[0], "secret-0", cache=off)
    assert verify_password(stored[0], "secret-0", cache=off)
    assert len(calls) == 6
    with pytest.raises(ValueError):
        VerifiedPasswords(-1.0)
