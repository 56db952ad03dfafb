"""Password storage: one SCRAM-SHA-256 stored form that every mechanism verifies against.

Implementation notes
- The stored form is RFC 5803's authPassword value for SCRAM, with SHA-256 (RFC 7677):
  ``SCRAM-SHA-256$<iteration count>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>``.
  The server never keeps the password nor SaltedPassword: StoredKey lets it check a SCRAM
  ClientProof, ServerKey lets it prove itself (RFC 5802 §3), and neither is enough to
  impersonate the user (RFC 5802 Appendix B).
- PLAIN and LOGIN verify against the same form: SaltedPassword, ClientKey and StoredKey are
  recomputed from the presented password and StoredKey is compared in constant time
  (``hmac.compare_digest``). Costs one PBKDF2 per attempt, like the SCRAM client.
- Passwords are prepared before hashing, RFC 5802 §2.2 Normalize(): SASLprep with
  unassigned code points prohibited ("stored strings"). A presented password is prepared as
  a "query" string (RFC 4616 §2); one that fails preparation or is empty never verifies.
- Hi() is PBKDF2 with HMAC-SHA-256 and dkLen = 32 (RFC 5802 §2.2: "Hi() is, essentially,
  PBKDF2 [RFC2898] with HMAC() as the pseudorandom function"), so ``hashlib.pbkdf2_hmac``
  computes it.
- Parsing is strict: canonical base64 (RFC 4648), a positive iteration count without
  leading zeros (RFC 5802 §7 posit-number), 32-octet keys. Any other string raises
  ``MalformedCredentials``, a ``ValueError``, naming what is wrong.
- PBKDF2 is the point of the stored form and costs ~1 ms of CPU per verification: a
  client that logs in over and over (one connection per folder, a load test) would pay
  it each time. ``RECENTLY_VERIFIED`` remembers successful verifications for a while, as
  Dovecot's auth_cache does; see ``VerifiedPasswords``.
- RFC 5803 is not among the vendored RFC texts, so it is cited without section numbers.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from reference.directory.saslprep import SaslPrepError, saslprep

__all__ = [
    "DEFAULT_ITERATIONS",
    "KEY_OCTETS",
    "MAXIMUM_ITERATIONS",
    "MINIMUM_ITERATIONS",
    "RECENTLY_VERIFIED",
    "SALT_OCTETS",
    "SCHEME",
    "MalformedCredentials",
    "ScramCredentials",
    "VerifiedPasswords",
    "client_key_from",
    "derive_credentials",
    "format_credentials",
    "hash_password",
    "hmac_sha256",
    "parse_credentials",
    "salted_password",
    "server_key_from",
    "sha256",
    "stored_key_from",
    "verify_password",
]

# RFC 5803 scheme name: the SASL mechanism name (RFC 7677 §3 "SCRAM-SHA-256").
SCHEME = "SCRAM-SHA-256"
# RFC 7677 §3 and §4: "the hash iteration-count announced by a server SHOULD be at least 4096".
MINIMUM_ITERATIONS = 4096
DEFAULT_ITERATIONS = MINIMUM_ITERATIONS
# A stored count above this is taken for corruption: one verification would take minutes.
# (RFC 5802 §9 warns of the same attack against clients.)
MAXIMUM_ITERATIONS = 10_000_000
# RFC 5802 §9: "it is important to use randomly generated salt values"; 16 octets as in
# RFC 7677 §3's example salt.
SALT_OCTETS = 16
# SHA-256 output length: the size of ClientKey, StoredKey, ServerKey (RFC 5802 §2.2 HMAC()).
KEY_OCTETS = 32

# RFC 5802 §7: posit-number = %x31-39 *DIGIT; ten digits already exceed MAXIMUM_ITERATIONS.
_POSITIVE_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


class MalformedCredentials(ValueError):
    """A stored credentials string that is not a valid SCRAM-SHA-256 authPassword value."""


@dataclass(frozen=True, slots=True)
class ScramCredentials:
    """What the server keeps for one user (RFC 5802 §3): salt, iteration count, StoredKey
    and ServerKey. The keys are left out of ``repr`` so they never reach a log by accident."""

    iterations: int
    salt: bytes
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.iterations <= MAXIMUM_ITERATIONS:
            raise MalformedCredentials(
                f"iteration count {self.iterations} is outside 1..{MAXIMUM_ITERATIONS}")
        if not self.salt:
            raise MalformedCredentials("the salt is empty")
        for name, key in (("StoredKey", self.stored_key), ("ServerKey", self.server_key)):
            if len(key) != KEY_OCTETS:
                raise MalformedCredentials(
                    f"{name} has {len(key)} octets; SHA-256 keys have {KEY_OCTETS}")


# --- RFC 5802 §2.2 and §3 primitives, with SHA-256 (RFC 7677 §3) -----------------------


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """RFC 5802 §2.2 HMAC(key, str) with SHA-256."""
    return hmac.digest(key, data, "sha256")


def sha256(data: bytes) -> bytes:
    """RFC 5802 §2.2 H(str) with SHA-256."""
    return hashlib.sha256(data).digest()


def salted_password(normalized_password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i).

    ``normalized_password`` must already be SASLprep'd (the caller chooses query or stored).
    """
    return hashlib.pbkdf2_hmac("sha256", normalized_password.encode("utf-8"), salt, iterations)


def client_key_from(salted: bytes) -> bytes:
    """RFC 5802 §3: ClientKey := HMAC(SaltedPassword, "Client Key")."""
    return hmac_sha256(salted, b"Client Key")


def stored_key_from(client_key: bytes) -> bytes:
    """RFC 5802 §3: StoredKey := H(ClientKey)."""
    return sha256(client_key)


def server_key_from(salted: bytes) -> bytes:
    """RFC 5802 §3: ServerKey := HMAC(SaltedPassword, "Server Key")."""
    return hmac_sha256(salted, b"Server Key")


# --- storing -----------------------------------------------------------------------------


def derive_credentials(password: str, *, salt: bytes, iterations: int) -> ScramCredentials:
    """The credentials for ``password`` with a given salt and count (tests use RFC 7677 §3's).

    Raises ``SaslPrepError`` (a ``ValueError``) when the password cannot be prepared as a
    stored string, and ``ValueError`` when it prepares to nothing.
    """
    # RFC 5802 §2.2 Normalize(): SASLprep, "treated as a "stored strings"".
    normalized = saslprep(password, allow_unassigned=False)
    # RFC 4616 §2: "if preparation fails or results in an empty string, verification SHALL
    # fail": an empty prepared password could never be used, so it is never stored.
    if not normalized:
        raise ValueError("the password is empty after SASLprep (RFC 4616 §2)")
    salted = salted_password(normalized, salt, iterations)
    return ScramCredentials(iterations=iterations, salt=salt,
                            stored_key=stored_key_from(client_key_from(salted)),
                            server_key=server_key_from(salted))


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """The stored form of ``password``: SASLprep'd, random 16-octet salt, PBKDF2-SHA-256."""
    # RFC 7677 §4: "the hash iteration-count SHOULD be at least 4096"; we never store less.
    if iterations < MINIMUM_ITERATIONS:
        raise ValueError(f"iteration count {iterations} is below the RFC 7677 §4 minimum "
                         f"of {MINIMUM_ITERATIONS}")
    # RFC 5802 §9: "it is important to use randomly generated salt values."
    salt = secrets.token_bytes(SALT_OCTETS)
    return format_credentials(derive_credentials(password, salt=salt, iterations=iterations))


def format_credentials(credentials: ScramCredentials) -> str:
    """RFC 5803 authPassword: scheme "$" iterations ":" salt "$" StoredKey ":" ServerKey."""
    return (f"{SCHEME}${credentials.iterations}:{_encode_base64(credentials.salt)}"
            f"${_encode_base64(credentials.stored_key)}:{_encode_base64(credentials.server_key)}")


def parse_credentials(stored: str) -> ScramCredentials:
    """Parse the stored form; raise ``MalformedCredentials`` naming the first fault."""
    parts = stored.split("$")
    if len(parts) != 3:
        raise MalformedCredentials(
            f"expected scheme$iterations:salt$StoredKey:ServerKey, found {len(parts)} "
            "'$'-separated parts")
    scheme, auth_info, auth_value = parts
    if scheme != SCHEME:
        raise MalformedCredentials(f"unsupported scheme {scheme[:40]!r}; expected {SCHEME!r}")
    iterations_text, colon, salt_text = auth_info.partition(":")
    if not colon:
        raise MalformedCredentials("authInfo must be <iterations>:<base64 salt>")
    if _POSITIVE_NUMBER.fullmatch(iterations_text) is None:
        raise MalformedCredentials(
            f"iteration count {iterations_text[:20]!r} is not a positive decimal number "
            "without leading zeros (RFC 5802 §7 posit-number)")
    stored_key_text, colon, server_key_text = auth_value.partition(":")
    if not colon:
        raise MalformedCredentials("authValue must be <base64 StoredKey>:<base64 ServerKey>")
    return ScramCredentials(iterations=int(iterations_text),
                            salt=_decode_base64(salt_text, "salt"),
                            stored_key=_decode_base64(stored_key_text, "StoredKey"),
                            server_key=_decode_base64(server_key_text, "ServerKey"))


# --- verifying ---------------------------------------------------------------------------


class VerifiedPasswords:
    """Successful password verifications of the last ``seconds``, at most ``size`` of them
    (the oldest forgotten first), so that the same password for the same stored
    credentials is not put through PBKDF2 again. What is kept is an HMAC, under a key
    made when the process starts, of the whole stored form (iteration count, salt,
    StoredKey) and the prepared password: never the password, and changed credentials
    are a new key. Failures
    are never kept, so a wrong password always costs the whole PBKDF2 (and an unknown
    user the same, RFC 4422 §3.6). ``seconds`` = 0 turns it off."""

    def __init__(self, seconds: float = 300.0, size: int = 10_000, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0 or size < 1:
            raise ValueError("seconds must not be negative and size must be positive")
        self.seconds = seconds
        self.size = size
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._until: OrderedDict[bytes, float] = OrderedDict()   # key -> expiry

    def _key(self, credentials: ScramCredentials, normalized: str) -> bytes:
        # The whole stored form (iterations, salt, StoredKey), then the password.
        return hmac.new(self._secret, b"%d$%s$%s\0%s" % (
            credentials.iterations, credentials.salt.hex().encode(),
            credentials.stored_key.hex().encode(), normalized.encode("utf-8")),
            "sha256").digest()

    def verified(self, credentials: ScramCredentials, normalized: str) -> bool:
        if not self.seconds:
            return False
        key = self._key(credentials, normalized)
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            return False
        return True

    def remember(self, credentials: ScramCredentials, normalized: str) -> None:
        if not self.seconds:
            return
        key = self._key(credentials, normalized)
        self._until[key] = self._clock() + self.seconds
        self._until.move_to_end(key)
        while len(self._until) > self.size:
            self._until.popitem(last=False)

    def clear(self) -> None:
        self._until.clear()


# The process's cache of verifications (``[server] password_cache_seconds``).
RECENTLY_VERIFIED = VerifiedPasswords()


def verify_password(stored: str | ScramCredentials, password: str, *,
                    cache: VerifiedPasswords | None = RECENTLY_VERIFIED) -> bool:
    """Whether ``password`` (as a client presented it) matches the stored credentials.
    A success is remembered in ``cache`` (see ``VerifiedPasswords``).

    Raises ``MalformedCredentials`` when ``stored`` is a string that does not parse: a
    corrupt store is not a wrong password.
    """
    credentials = parse_credentials(stored) if isinstance(stored, str) else stored
    # RFC 4616 §2: presented strings are prepared as "query" strings, and "if preparation
    # fails or results in an empty string, verification SHALL fail".
    try:
        normalized = saslprep(password, allow_unassigned=True)
    except SaslPrepError:
        return False
    if not normalized:
        return False
    if cache is not None and cache.verified(credentials, normalized):
        return True
    salted = salted_password(normalized, credentials.salt, credentials.iterations)
    # RFC 5802 §3: the server verifies "the correctness of the ClientKey by applying the
    # hash function and comparing the result to the StoredKey"; constant time.
    verified = hmac.compare_digest(stored_key_from(client_key_from(salted)),
                                   credentials.stored_key)
    if verified and cache is not None:
        cache.remember(credentials, normalized)
    return verified


def _encode_base64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _decode_base64(text: str, what: str) -> bytes:
    # RFC 4648 §4 base64 with padding; RFC 5802 §7 base64 rule. Anything outside the
    # alphabet, or misplaced padding, is rejected rather than skipped.
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedCredentials(f"{what} is not valid base64: {exc}") from exc
