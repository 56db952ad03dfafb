"""Mailbox names on the wire: the INBOX rule and modified UTF-7 (RFC 3501 §5.1.3).

In IMAP4rev2 (RFC 9051 §5.1) and after ``ENABLE UTF8=ACCEPT`` (RFC 6855 §3) mailbox names
travel as UTF-8; otherwise they travel in the modified UTF-7 of RFC 3501 §5.1.3 (RFC 9051
Appendix A.1). The typed values everywhere else are the Unicode names; these functions
convert at the edge. Decoding is strict: every rule of Appendix A.1 is checked, so a name
has exactly one wire form and ``decode(encode(name)) == name`` for every name.
"""

from __future__ import annotations

import base64
import binascii
import re

# RFC 9051 §9 mailbox: "INBOX is case insensitive. All case variants of INBOX (e.g.,
# "iNbOx") MUST be interpreted as INBOX, not as an astring."
INBOX = "INBOX"


class MailboxNameError(ValueError):
    """A mailbox name that is not in the form the connection's mode requires."""


def is_inbox(name: str) -> bool:
    """RFC 9051 §9: "An astring that consists of the case-insensitive sequence "I" "N"
    "B" "O" "X" is considered to be an INBOX"."""
    return len(name) == 5 and name.upper() == INBOX


def canonical_mailbox(name: str) -> str:
    """The name a ``mailbox`` production denotes: any case of INBOX is ``"INBOX"``."""
    return INBOX if is_inbox(name) else name


# RFC 9051 Appendix A.1: "printable US-ASCII characters, except for "&", represent
# themselves; that is, characters with octet values 0x20-0x25 and 0x27-0x7e."
_DIRECT = re.compile(r"[\x20-\x25\x27-\x7e]+")
# "... represented in modified base64, with a further modification from [UTF-7] that ","
# is used instead of "/"."
_MODIFIED_BASE64 = re.compile(r"&([A-Za-z0-9+,]*)-")


def encode_modified_utf7(name: str) -> str:
    """RFC 9051 Appendix A.1: the modified UTF-7 form of a Unicode mailbox name."""
    out: list[str] = []
    position = 0
    while position < len(name):
        direct = _DIRECT.match(name, position)
        if direct is not None:
            out.append(direct.group())
            position = direct.end()
            continue
        if name[position] == "&":
            # 'The character "&" (0x26) is represented by the 2-octet sequence "&-".'
            out.append("&-")
            position += 1
            continue
        end = position
        while end < len(name) and not ("\x20" <= name[end] <= "\x7e"):
            end += 1
        utf16 = name[position:end].encode("utf-16-be", errors="surrogatepass")
        encoded = base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",")
        # "all names start in US-ASCII and MUST end in US-ASCII; that is, a name that
        # ends with a non-ASCII ISO-10646 character MUST end with a "-"."
        out.append(f"&{encoded}-")
        position = end
    return "".join(out)


def decode_modified_utf7(wire: str) -> str:
    """The Unicode name of a modified UTF-7 mailbox name; ``MailboxNameError`` if the
    form breaks a rule of RFC 9051 Appendix A.1."""
    out: list[str] = []
    position = 0
    previous_was_base64 = False
    while position < len(wire):
        direct = _DIRECT.match(wire, position)
        if direct is not None:
            out.append(direct.group())
            position = direct.end()
            previous_was_base64 = False
            continue
        if wire[position] != "&":
            raise MailboxNameError(
                f"octet {ord(wire[position]):#04x} at {position} is not printable US-ASCII; "
                "modified UTF-7 (RFC 3501 §5.1.3) encodes it in base64")
        shifted = _MODIFIED_BASE64.match(wire, position)
        if shifted is None:
            # 'There is no implicit shift from base64 to US-ASCII'
            raise MailboxNameError(f'"&" at {position} starts base64 that is not ended by '
                                   '"-" (RFC 3501 §5.1.3)')
        chars = shifted.group(1)
        if not chars:
            out.append("&")
        else:
            if previous_was_base64:
                # 'null shifts ("-&" while in base64 ...) are not permitted'
                raise MailboxNameError(f'superfluous shift "-&" at {position - 1} '
                                       "(RFC 3501 §5.1.3)")
            out.append(_decode_base64_run(chars, position))
        previous_was_base64 = bool(chars)
        position = shifted.end()
    return "".join(out)


def _decode_base64_run(chars: str, position: int) -> str:
    bits = len(chars) * 6
    if bits % 16 >= 6:
        raise MailboxNameError(f"base64 at {position} does not end on a UTF-16 unit")
    padded = chars.replace(",", "/") + "=" * (-len(chars) % 4)
    try:
        utf16 = base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise MailboxNameError(f"invalid modified base64 at {position}") from exc
    if len(utf16) % 2:
        raise MailboxNameError(f"base64 at {position} does not end on a UTF-16 unit")
    if base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",") != chars:
        raise MailboxNameError(f"base64 at {position} has non-zero padding bits")
    try:
        text = utf16.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise MailboxNameError(f"base64 at {position} is not valid UTF-16") from exc
    if any("\x20" <= char <= "\x7e" for char in text):
        # "Modified base64 MUST NOT be used to represent any printing of a US-ASCII
        # character that can represent itself."
        raise MailboxNameError(f"base64 at {position} encodes printable US-ASCII "
                               "(RFC 3501 §5.1.3)")
    return text
