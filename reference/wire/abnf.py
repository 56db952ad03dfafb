"""RFC 5234 Appendix B.1 core rules, as character sets and byte constants.

Only what the grammars use; each name is the ABNF rule's name.
"""

from __future__ import annotations

import string

# ALPHA          =  %x41-5A / %x61-7A   ; A-Z / a-z
ALPHA = frozenset(string.ascii_letters)
# DIGIT          =  %x30-39
DIGIT = frozenset(string.digits)
# HEXDIG         =  DIGIT / "A" / "B" / "C" / "D" / "E" / "F"
HEXDIG = DIGIT | frozenset("ABCDEF")
# VCHAR          =  %x21-7E  ; visible (printing) characters
VCHAR = frozenset(chr(c) for c in range(0x21, 0x7F))
# CTL            =  %x00-1F / %x7F
CTL = frozenset(chr(c) for c in range(0x00, 0x20)) | {"\x7f"}
# SP             =  %x20
SP = " "
# CRLF           =  CR LF
CR = b"\r"
LF = b"\n"
CRLF = b"\r\n"
