"""SASLprep (RFC 4013): the stringprep profile (RFC 3454) for user names and passwords.

Implementation notes
- The tables are the standard library's ``stringprep`` module, which carries RFC 3454's
  appendices for Unicode 3.2. Normalization uses ``unicodedata.ucd_3_2_0`` rather than the
  interpreter's current Unicode database, so mapping, normalization, prohibition and the
  unassigned-code-point test all speak Unicode 3.2, the version RFC 3454's tables are
  drawn from (its Appendix A lists code points unassigned in Unicode 3.2).
- The steps run in the order RFC 3454 §3 prescribes: map (§3), normalize (§4), prohibit
  (§5), check bidirectional text (§6). The unassigned test of §7 runs with the prohibition,
  on the normalized string: code points unassigned in 3.2 are left alone by NFKC, so testing
  before or after normalization gives the same answer.
- "Query" versus "stored" strings (RFC 3454 §7): ``allow_unassigned=True`` prepares what a
  client presents (RFC 4616 §2: presented strings "are to be treated as "query" strings";
  RFC 5802 §5.1 likewise for the SCRAM username); ``allow_unassigned=False`` (the default)
  prepares what is stored or hashed for storage (RFC 5802 §2.2 Normalize(): "treated as a
  "stored strings"").
- An empty result is not an error here. Callers decide: RFC 4616 §2 "if preparation fails
  or results in an empty string, verification SHALL fail"; RFC 5802 §5.1 "the server
  SHOULD abort the authentication exchange".
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

__all__ = ["SaslPrepError", "saslprep"]


class SaslPrepError(ValueError):
    """The string cannot be prepared: a prohibited, unassigned or badly ordered
    bidirectional character. The message names the code point and the rule."""


# RFC 4013 §2.3 Prohibited Output: the tables of RFC 3454 Appendix C that SASLprep lists,
# in the order the RFC lists them, each with the title Appendix C gives it.
_PROHIBITED_TABLES: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("C.1.2", "non-ASCII space character", stringprep.in_table_c12),
    ("C.2.1", "ASCII control character", stringprep.in_table_c21),
    ("C.2.2", "non-ASCII control character", stringprep.in_table_c22),
    ("C.3", "private use character", stringprep.in_table_c3),
    ("C.4", "non-character code point", stringprep.in_table_c4),
    ("C.5", "surrogate code", stringprep.in_table_c5),
    ("C.6", "character inappropriate for plain text", stringprep.in_table_c6),
    ("C.7", "character inappropriate for canonical representation", stringprep.in_table_c7),
    ("C.8", "character that changes display properties or is deprecated",
     stringprep.in_table_c8),
    ("C.9", "tagging character", stringprep.in_table_c9),
)


def saslprep(text: str, *, allow_unassigned: bool = False) -> str:
    """Prepare ``text`` with the SASLprep profile (RFC 4013 §2) and return the result.

    ``allow_unassigned`` selects RFC 3454 §7's "query" treatment (unassigned code points
    pass through); the default is the "stored" treatment (they are prohibited).
    Raises ``SaslPrepError`` when the string cannot be prepared.
    """
    mapped = "".join(_map_character(character) for character in text)
    # RFC 4013 §2.2: "This profile specifies using Unicode normalization form KC, as
    # described in Section 4 of [StringPrep]."
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    for character in prepared:
        _check_prohibited(character, allow_unassigned=allow_unassigned)
    _check_bidirectional(prepared)
    return prepared


def _map_character(character: str) -> str:
    # RFC 4013 §2.1: "non-ASCII space characters [StringPrep, C.1.2] that can be mapped to
    # SPACE (U+0020)"
    if stringprep.in_table_c12(character):
        return " "
    # RFC 4013 §2.1: "the "commonly mapped to nothing" characters [StringPrep, B.1] that can
    # be mapped to nothing."
    if stringprep.in_table_b1(character):
        return ""
    return character


def _check_prohibited(character: str, *, allow_unassigned: bool) -> None:
    for table, title, contains in _PROHIBITED_TABLES:
        if contains(character):
            raise SaslPrepError(
                f"{_code_point(character)} is prohibited: {title} "
                f"(RFC 4013 §2.3, RFC 3454 table {table})")
    # RFC 4013 §2.5: "This profile specifies the [StringPrep, A.1] table as its list of
    # unassigned code points." RFC 3454 §7: stored strings MUST NOT contain them.
    if not allow_unassigned and stringprep.in_table_a1(character):
        raise SaslPrepError(
            f"{_code_point(character)} is unassigned in Unicode 3.2 and not allowed in a "
            "stored string (RFC 4013 §2.5, RFC 3454 §7 and table A.1)")


def _check_bidirectional(prepared: str) -> None:
    # RFC 4013 §2.4: "This profile specifies checking bidirectional strings as described
    # in [StringPrep, Section 6]." (Requirement 1 of §6, prohibiting table C.8, is done by
    # _check_prohibited.)
    right_to_left = [stringprep.in_table_d1(character) for character in prepared]
    if not any(right_to_left):
        return
    # RFC 3454 §6 requirement 2: "If a string contains any RandALCat character, the string
    # MUST NOT contain any LCat character."
    for character in prepared:
        if stringprep.in_table_d2(character):
            raise SaslPrepError(
                f"{_code_point(character)} is a left-to-right character in a string with "
                "right-to-left characters (RFC 4013 §2.4, RFC 3454 §6 requirement 2)")
    # RFC 3454 §6 requirement 3: "a RandALCat character MUST be the first character of the
    # string, and a RandALCat character MUST be the last character of the string."
    if not (right_to_left[0] and right_to_left[-1]):
        raise SaslPrepError(
            "a string with right-to-left characters must begin and end with one "
            "(RFC 4013 §2.4, RFC 3454 §6 requirement 3)")


def _code_point(character: str) -> str:
    return f"U+{ord(character):04X}"
