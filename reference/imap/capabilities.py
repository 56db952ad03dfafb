"""Capability names, and what ENABLE changes on a connection (RFC 5161, RFC 9051 §6.3.1).

The core learns capabilities from what it sees: the CAPABILITY data and response codes
the server sends (which decide, e.g., how large a non-synchronizing literal may be), and
the ENABLED response (which switches the connection to IMAP4rev2 forms, UTF-8 mailbox
names, CONDSTORE or QRESYNC data). ``Modes`` is that knowledge as one immutable value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

from reference.imap.commands import (
    Command,
    Examine,
    Fetch,
    Search,
    Select,
    Status,
    StatusAtt,
    Store,
)
from reference.imap.grammar_fetch import FetchAttName, FetchMacro, SimpleAtt
from reference.imap.grammar_search import (
    GroupKey,
    ModSeqKey,
    NotKey,
    OrKey,
    SearchKey,
)
from reference.imap.limits import NON_SYNCHRONIZING_LITERAL_MAX


class Capability(Enum):
    """Capabilities this core knows (RFC 9051 §6.1.1 and the extensions it folds in)."""

    IMAP4REV1 = "IMAP4rev1"                # RFC 3501
    IMAP4REV2 = "IMAP4rev2"                # RFC 9051
    STARTTLS = "STARTTLS"                  # RFC 9051 §6.2.1
    LOGINDISABLED = "LOGINDISABLED"        # RFC 9051 §6.2.3
    LITERAL_PLUS = "LITERAL+"              # RFC 7888 §3
    LITERAL_MINUS = "LITERAL-"             # RFC 7888 §5
    IDLE = "IDLE"                          # RFC 2177
    NAMESPACE = "NAMESPACE"                # RFC 2342
    UIDPLUS = "UIDPLUS"                    # RFC 4315
    MOVE = "MOVE"                          # RFC 6851
    ENABLE = "ENABLE"                      # RFC 5161
    ID = "ID"                              # RFC 2971
    ESEARCH = "ESEARCH"                    # RFC 4731
    SEARCHRES = "SEARCHRES"                # RFC 5182
    LIST_EXTENDED = "LIST-EXTENDED"        # RFC 5258
    LIST_STATUS = "LIST-STATUS"            # RFC 5819
    SPECIAL_USE = "SPECIAL-USE"            # RFC 6154
    CREATE_SPECIAL_USE = "CREATE-SPECIAL-USE"  # RFC 6154 §3
    CHILDREN = "CHILDREN"                  # RFC 3348
    STATUS_SIZE = "STATUS=SIZE"            # RFC 8438
    BINARY = "BINARY"                      # RFC 3516
    UNSELECT = "UNSELECT"                  # RFC 3691
    MULTIAPPEND = "MULTIAPPEND"            # RFC 3502
    SASL_IR = "SASL-IR"                    # RFC 4959
    CONDSTORE = "CONDSTORE"                # RFC 7162 §3.1
    QRESYNC = "QRESYNC"                    # RFC 7162 §3.2
    UTF8_ACCEPT = "UTF8=ACCEPT"            # RFC 6855 §3
    UTF8_ONLY = "UTF8=ONLY"                # RFC 6855 §6
    APPENDLIMIT = "APPENDLIMIT"            # RFC 7889


# RFC 5161 §3.1 / RFC 9051 §6.3.1: "If the argument is an extension known to the server,
# and it is not specifically permitted to be enabled using ENABLE, the server MUST
# ignore the argument." These are the ones specified as ENABLE-able.
ENABLEABLE = frozenset({"IMAP4REV2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"})


def enableable(requested: Iterable[str], advertised: Iterable[str]) -> tuple[str, ...]:
    """What a server should list in ENABLED for ``ENABLE requested`` (RFC 9051 §6.3.1):
    the requested names that are ENABLE-able and advertised, in the client's spelling.
    RFC 6855 §3: a server advertising UTF8=ONLY supports UTF8=ACCEPT."""
    offered = {name.upper() for name in advertised}
    if "UTF8=ONLY" in offered:
        offered.add("UTF8=ACCEPT")
    out: list[str] = []
    for name in requested:
        upper = name.upper()
        if upper in ENABLEABLE and upper in offered and upper not in {o.upper() for o in out}:
            out.append(name)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Modes:
    """What one connection has advertised and enabled (names upper-cased).

    ``rev2``: IMAP4rev2 forms: after ENABLE IMAP4rev2, or on a server that offers
    IMAP4rev2 without IMAP4rev1 (RFC 9051 Appendix E: "Servers advertising both
    IMAP4rev1 and IMAP4rev2 MUST NOT generate UTF-8-quoted strings unless the client has
    issued "ENABLE IMAP4rev2""). ``utf8``: UTF-8 in quoted strings and mailbox names:
    IMAP4rev2 (RFC 9051 §5.1 "mailbox names are encoded in Net-Unicode") or ENABLE
    UTF8=ACCEPT (RFC 6855 §3). Both are worked out once per change of the modes (they
    are read for every response written), not on each read.
    """

    advertised: frozenset[str] | None = None     # None until the first CAPABILITY
    enabled: frozenset[str] = frozenset()
    condstore_aware: bool = False                # RFC 7162 §3.1 "CONDSTORE-aware client"
    rev2: bool = field(init=False, compare=False, repr=False)
    utf8: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        rev2 = "IMAP4REV2" in self.enabled or (
            self.has(Capability.IMAP4REV2) and not self.has(Capability.IMAP4REV1))
        object.__setattr__(self, "rev2", rev2)
        object.__setattr__(self, "utf8", rev2 or "UTF8=ACCEPT" in self.enabled)

    def advertise(self, capabilities: Iterable[str]) -> Modes:
        return replace(self, advertised=frozenset(c.upper() for c in capabilities))

    def enable(self, capabilities: Iterable[str]) -> Modes:
        names = {c.upper() for c in capabilities}
        if "QRESYNC" in names:
            # RFC 7162 §3.2.3: "ENABLE QRESYNC" and "ENABLE QRESYNC CONDSTORE" "are
            # equivalent"; both are CONDSTORE enabling commands.
            names.add("CONDSTORE")
        return replace(self, enabled=self.enabled | names,
                       condstore_aware=self.condstore_aware or "CONDSTORE" in names)

    def mark_condstore_aware(self) -> Modes:
        """RFC 7162 §3.1: "Once a client issues a CONDSTORE enabling command, it has
        announced itself as a "CONDSTORE-aware client"." """
        return self if self.condstore_aware else replace(self, condstore_aware=True)

    def has(self, capability: Capability) -> bool:
        return self.advertised is not None and capability.value.upper() in self.advertised

    @property
    def condstore(self) -> bool:
        return self.condstore_aware or "CONDSTORE" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    def non_synchronizing_literal_max(self) -> int | None:
        """The largest non-synchronizing literal a client may send; ``None``: any size
        (LITERAL+, RFC 7888 §3). RFC 9051 §4.3 and RFC 7888 §5 (LITERAL-): 4096 octets.
        Before any CAPABILITY is seen the IMAP4rev2 rule applies."""
        if self.has(Capability.LITERAL_PLUS):
            return None
        if (self.advertised is None or self.has(Capability.LITERAL_MINUS)
                or self.has(Capability.IMAP4REV2)):
            return NON_SYNCHRONIZING_LITERAL_MAX
        return 0      # RFC 3501 without LITERAL+/-: only synchronizing literals


def condstore_enabling(command: Command) -> bool:
    """RFC 7162 §3.1: the "CONDSTORE enabling commands" other than ENABLE."""
    match command:
        case Select(condstore=True) | Examine(condstore=True):
            return True
        case Select(qresync=q) | Examine(qresync=q) if q is not None:
            return True
        case Status(attributes=attributes):
            return StatusAtt.HIGHESTMODSEQ in attributes
        case Fetch(items=items, changedsince=changedsince):
            if changedsince is not None:
                return True
            return not isinstance(items, FetchMacro) and SimpleAtt(FetchAttName.MODSEQ) in items
        case Store(unchangedsince=unchangedsince):
            return unchangedsince is not None
        case Search(keys=keys):
            return any(_uses_modseq(key) for key in keys)
    return False


def _uses_modseq(key: SearchKey) -> bool:
    match key:
        case ModSeqKey():
            return True
        case NotKey(key=inner):
            return _uses_modseq(inner)
        case OrKey(left=left, right=right):
            return _uses_modseq(left) or _uses_modseq(right)
        case GroupKey(keys=keys):
            return any(_uses_modseq(inner) for inner in keys)
    return False
