"""Canonical forms of the names the store keys on, shared by every backend.

Writes validate strictly and raise ``StoreError`` with the reason; lookups only fold case
(``lookup_*``), because a malformed name simply does not exist and "not found" is the
honest answer.

Implementation notes:
- Addresses are folded to lower case, local-part included. RFC 5321 §2.4 lets the host
  that owns a mailbox decide: "for some hosts, the user "smith" is different from the
  user "Smith"". We are that host and decide case-insensitively, like nearly every mail
  server, so "Alice@" and "alice@" cannot be two accounts.
- Alias *targets* may be remote, and there RFC 5321 §2.4 MUST applies ("SMTP
  implementations MUST take care to preserve the case of mailbox local-parts"): only
  their domain is folded here; the backend folds the local-part too when the domain is
  one of ours.
- Domains are ASCII: internationalised names must arrive in A-label form (RFC 6531 §3.2:
  "transform the internationalized domain name to A-label form"); converting
  U-labels needs IDNA 2008, which belongs to the directory layer.
- Keywords: IMAP system flags keep their RFC 9051 §2.3.2 spelling ("\\Seen") whatever
  case the client used; JMAP's "$seen"/"$answered"/"$flagged"/"$draft" are the same
  flags (RFC 8621 §4.1.1) and are stored as the IMAP flag, so the two protocols cannot
  disagree. The keywords RFC 9051 §2.3.2 defines ($Forwarded, $MDNSent, $Junk,
  $NotJunk, $Phishing) keep that registered spelling. Every other keyword keeps the
  spelling it was first used with in the account, as Dovecot keeps a keyword list per
  mailbox: IMAP clients look for their own spelling ("$Label1", "$MailFlagBit0",
  "NonJunk"). Keywords are case-insensitive (RFC 8621 §4.1.1: "a keyword is a
  case-insensitive string"), so a later use in another case is the same keyword and maps
  to the first spelling; ``keyword_key`` is the identity they compare by. Choosing the
  first spelling needs the account's keywords, so the backend's write does it (SQLite:
  the ``keywords`` table, ``sqlite_writes_messages.account_keywords``); this module only
  validates. JMAP output lower-cases (RFC 8621 §4.1.1: "servers MUST return keywords in
  lowercase").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from reference.store.interface import StoreError

# RFC 5321 §2.3.5: labels "consist of a sequence of letters, digits, and hyphens drawn
# from the ASCII character set"; RFC 1123 §2.1: "allow either a letter or a digit" first;
# 63 octets per label is the DNS limit.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
# RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255 octets."
_MAX_DOMAIN_OCTETS = 255
# RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part is
# 64 octets."
_MAX_LOCAL_PART_OCTETS = 64

# RFC 9051 §2.3.2 system flags, by their case-insensitive name. \Recent is missing on
# purpose: it "is now deprecated" and was never client-settable (RFC 3501 §2.3.2).
SYSTEM_FLAGS = {flag.lower(): flag for flag in
                ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")}
SEEN = "\\Seen"
# RFC 8621 §4.1.1: "The following four keywords have their first character changed from
# "\" in IMAP to "$" in JMAP".
_JMAP_SYSTEM_KEYWORDS = {"$seen": "\\Seen", "$answered": "\\Answered",
                         "$flagged": "\\Flagged", "$draft": "\\Draft"}
# RFC 9051 §2.3.2: keywords this specification defines, with their registered spelling.
_REGISTERED_KEYWORDS = {keyword.lower(): keyword for keyword in
                        ("$Forwarded", "$MDNSent", "$Junk", "$NotJunk", "$Phishing")}
# RFC 8621 §4.1.1: "a keyword is a case-insensitive string of 1-255 characters in the
# ASCII subset %x21-%x7e (excludes control chars and space), and it MUST NOT include any
# of these characters: ( ) { ] % * " \"
_KEYWORD = re.compile(r'[\x21-\x7e]{1,255}\Z')
_KEYWORD_FORBIDDEN = set('(){]%*"\\')

INBOX = "INBOX"


def normalise_domain(name: str) -> str:
    """A domain as stored: lower case, ASCII, syntactically a host name."""
    domain = name.lower()
    if not domain.isascii():
        raise StoreError(f"domain {name!r} is not ASCII; give its A-label form")
    if len(domain) > _MAX_DOMAIN_OCTETS or not all(
            _LABEL.match(label) for label in domain.split(".")):
        raise StoreError(f"not a valid domain name: {name!r}")
    return domain


def normalise_address(address: str, *, catch_all: bool = False) -> str:
    """A local address as stored: ``local@domain``, lower case. With ``catch_all``, the
    domain catch-all form ``@domain`` is accepted too."""
    local, at, domain = address.rpartition("@")
    if not at:
        raise StoreError(f"not an address (no '@'): {address!r}")
    if not local and not catch_all:
        raise StoreError(f"address without a local-part: {address!r}")
    _check_local_part(local, address)
    return f"{local.lower()}@{normalise_domain(domain)}"


def normalise_target(address: str) -> str:
    """An alias target: the domain folded, the local-part kept (RFC 5321 §2.4)."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise StoreError(f"alias target is not an address: {address!r}")
    _check_local_part(local, address)
    return f"{local}@{normalise_domain(domain)}"


def _check_local_part(local: str, address: str) -> None:
    if len(local.encode()) > _MAX_LOCAL_PART_OCTETS:
        raise StoreError(f"local-part longer than 64 octets (RFC 5321 §4.5.3.1.1): {address!r}")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in local):
        raise StoreError(f"white space or control character in address: {address!r}")


def lookup_address(address: str) -> str:
    """The key to look an address up by (no validation: bad names are just absent)."""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{domain}".lower()


def normalise_mailbox_name(name: str) -> str:
    """A mailbox name as stored and as looked up."""
    # RFC 9051 §5.1: "servers MAY accept a denormalized UTF-8 mailbox name and convert it
    # to Unicode Normalization Form C (NFC)" -- and then MUST accept it everywhere, which
    # is why lookups go through this function too.
    name = unicodedata.normalize("NFC", name)
    # RFC 9051 §5.1: "The case-insensitive mailbox name INBOX is a special name".
    if name.upper() == INBOX:
        return INBOX
    return name


def validate_new_mailbox_name(name: str) -> str:
    """``normalise_mailbox_name`` plus the checks a new name must pass."""
    name = normalise_mailbox_name(name)
    if not name:
        raise StoreError("empty mailbox name")
    # RFC 9051 §5.1: "Servers MAY refuse to create mailbox names containing Unicode CTL
    # characters."
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise StoreError(f"control character in mailbox name: {name!r}")
    return name


def normalise_keyword(keyword: str) -> str:
    """One IMAP flag or JMAP keyword, validated, in the spelling a write starts from:
    system flags and the RFC 9051 §2.3.2 keywords in their RFC spelling, any other
    keyword as given (the write maps it to the account's spelling, see the notes)."""
    folded = keyword.lower()
    if folded in SYSTEM_FLAGS:
        return SYSTEM_FLAGS[folded]
    if folded in _JMAP_SYSTEM_KEYWORDS:
        return _JMAP_SYSTEM_KEYWORDS[folded]
    if keyword.startswith("\\"):
        # RFC 9051 §2.3.2: "Keywords do not begin with "\"" -- and no other system flag
        # exists (\Recent is deprecated and never stored).
        raise StoreError(f"not a settable system flag: {keyword!r}")
    if not _KEYWORD.match(keyword) or _KEYWORD_FORBIDDEN.intersection(keyword):
        raise StoreError(f"not a valid keyword (RFC 8621 §4.1.1): {keyword!r}")
    return _REGISTERED_KEYWORDS.get(folded, keyword)


def keyword_key(keyword: str) -> str:
    """What keywords compare by. RFC 8621 §4.1.1: "a keyword is a case-insensitive
    string"; RFC 9051 §9 (flag-keyword is an atom): "Unless otherwise noted, all
    alphabetic characters are case insensitive." Valid keywords are ASCII
    (%x21-%x7e), so ``str.lower`` is exactly ASCII case folding."""
    return keyword.lower()


def is_custom_keyword(keyword: str) -> bool:
    """Whether a normalised keyword takes the account's spelling: not a system flag
    (RFC 9051 §2.3.2 "\\"-prefixed) and not one of the keywords §2.3.2 defines."""
    return not keyword.startswith("\\") and keyword.lower() not in _REGISTERED_KEYWORDS


def normalise_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    """A keyword set, validated, sorted, with one spelling per keyword: of several
    spellings of one keyword in the same request (RFC 8621 §4.1.1: they are one
    keyword) the first in sort order is kept, so the choice does not depend on set
    order."""
    chosen: dict[str, str] = {}
    for keyword in sorted(normalise_keyword(keyword) for keyword in keywords):
        chosen.setdefault(keyword_key(keyword), keyword)
    return tuple(sorted(chosen.values()))


def normalise_message_id(value: str | None) -> str | None:
    """A Message-ID (RFC 5322 §3.6.4 msg-id) as a lookup key: without the angle brackets
    and surrounding white space, which are framing and not part of the id."""
    if value is None:
        return None
    value = value.strip().removeprefix("<").removesuffix(">").strip()
    return value or None
