"""FETCH (RFC 9051 §6.4.5, §7.5.2): which data a request needs, and the FETCH items of one
message. Pure: the session reads the store, this module only computes.

Two steps, so the session reads no more than it must:

1. ``plan_fetch`` expands the request once per command: macros, the UID that UID FETCH
   always returns, MODSEQ under CONDSTORE; and says what each message will need (raw
   bytes, the stored ``ParsedMessage``) and whether the request sets ``\\Seen``.
2. ``fetch_items`` answers the plan for one message from a ``FetchSource``.

Implementation notes:

- Section bytes come from ``reference.message.sections`` (one place for section
  extraction): BODY[...] is a slice of the raw message, BINARY the decoded content.
- A section naming nothing in the message (a part number beyond the parts there are,
  HEADER/TEXT below a part that is not message/rfc822 or message/global, BINARY of a
  multipart or message part) is answered with NIL. RFC 9051 does not say what a server
  answers there; it gives NIL exactly this meaning in §4.5: "* FETCH 1 (BODY[1] NIL)
  ... The former indicates absence of the body part". So the FETCH succeeds (one message
  without a part 3 does not fail a FETCH over many messages) and the client can tell
  "absent" from "empty". BINARY.SIZE has no NIL form (§9 ``"BINARY.SIZE" section-binary
  SP number``) and "MUST match the size of the <nstring> or <literal8> that will be
  returned by the corresponding FETCH BINARY request": 0 there, the size of no content.
  (Dovecot and Cyrus answer an empty string for BODY[99]; NIL is the RFC's own example.)
- An unknown Content-Transfer-Encoding under BINARY or BINARY.SIZE raises ``FetchError``
  with ``ResponseCode.UNKNOWN_CTE``: RFC 9051 §7.5.2 / RFC 3516 §4.3 "it MUST fail the
  request and issue a "NO" response that contains the "UNKNOWN-CTE" response code".
- A partial BODY answer names the section as requested and only the origin octet (§7.5.2
  ``BODY[<section>]<<origin octet>>``; §6.4.5 "BODY[]<0.2048> of a 1500-octet message
  will return BODY[]<0>"). A partial BINARY answer names its origin too, as §7.5.2's
  ``BINARY[<section-binary>]<<number>>`` and RFC 3516 §4.3 give it (§9's ABNF leaves
  it out; see ``BinaryItem``).
- Item order: UID first when UID FETCH adds it, MODSEQ next when CONDSTORE adds it, then
  the items in the order requested (a repeated item once). The response may hold the
  items in any order (§7.5.2 "pairs of data item names").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from reference.imap.grammar_fetch import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchAtt,
    FetchAttName,
    FetchMacro,
    Section,
    SectionText,
    SimpleAtt,
)
from reference.imap.grammar_values import flag_order
from reference.imap.response_data import (
    BinaryItem,
    BinarySizeItem,
    BodySectionItem,
    BodyStructureItem,
    EnvelopeItem,
    FetchItem,
    FlagsItem,
    InternalDateItem,
    ModSeqItem,
    Rfc822Item,
    Rfc822SizeItem,
    UidItem,
)
from reference.imap.responses import ResponseCode
from reference.message import sections
from reference.message.headers import HeaderScan
from reference.message.model import ParsedMessage
from reference.message.structure import body, bodystructure, envelope_structure

__all__ = ["MACROS", "FetchError", "FetchPlan", "FetchSource", "fetch_items", "plan_fetch"]

_FLAGS = SimpleAtt(FetchAttName.FLAGS)
_UID = SimpleAtt(FetchAttName.UID)
_MODSEQ = SimpleAtt(FetchAttName.MODSEQ)

# RFC 9051 §6.4.5: "ALL Macro equivalent to: (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)",
# "FAST ... (FLAGS INTERNALDATE RFC822.SIZE)", "FULL ... (FLAGS INTERNALDATE RFC822.SIZE
# ENVELOPE BODY)".
MACROS: dict[FetchMacro, tuple[FetchAtt, ...]] = {
    FetchMacro.ALL: (_FLAGS, SimpleAtt(FetchAttName.INTERNALDATE),
                     SimpleAtt(FetchAttName.RFC822_SIZE), SimpleAtt(FetchAttName.ENVELOPE)),
    FetchMacro.FAST: (_FLAGS, SimpleAtt(FetchAttName.INTERNALDATE),
                      SimpleAtt(FetchAttName.RFC822_SIZE)),
    FetchMacro.FULL: (_FLAGS, SimpleAtt(FetchAttName.INTERNALDATE),
                      SimpleAtt(FetchAttName.RFC822_SIZE), SimpleAtt(FetchAttName.ENVELOPE),
                      SimpleAtt(FetchAttName.BODY)),
}

# Items answered from the stored ParsedMessage alone (no raw bytes).
_STRUCTURE_ONLY = frozenset({FetchAttName.ENVELOPE, FetchAttName.BODY,
                             FetchAttName.BODYSTRUCTURE})
# BODY[]: the whole message.
_WHOLE_MESSAGE = Section()
# RFC 3501 §6.4.5: RFC822 is "Functionally equivalent to BODY[]", RFC822.HEADER to
# "BODY.PEEK[HEADER]", RFC822.TEXT to "BODY[TEXT]".
_RFC822_SECTIONS = {
    FetchAttName.RFC822: _WHOLE_MESSAGE,
    FetchAttName.RFC822_HEADER: Section(text=SectionText.HEADER),
    FetchAttName.RFC822_TEXT: Section(text=SectionText.TEXT),
}


class FetchError(Exception):
    """The FETCH cannot be answered: the session sends a tagged NO with ``code``."""

    def __init__(self, code: ResponseCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What a FETCH asks for, expanded, and what answering it takes.

    ``atts``: the fetch-atts in response order. ``needs_raw``: the message's raw bytes
    are needed (any BODY[...], BINARY, BINARY.SIZE, RFC822*). ``needs_structure``: the
    stored ``ParsedMessage`` is needed (ENVELOPE, BODY, BODYSTRUCTURE, any section other
    than BODY[] / BINARY[] and the message's own header). ``needs_header``: a section of
    the message's own header is asked for (BODY[HEADER], BODY[HEADER.FIELDS (...)],
    RFC822.HEADER: what a client's message list fetches); without ``needs_structure``
    a scan of the header answers it (``FetchSource.header``), cheaper than decoding the
    stored structure. ``headers_only``: those header sections are all it needs of the
    message's bytes (no other section, no BINARY), so ``FetchSource.raw`` may be a
    prefix holding the header section (``MailStore.message_contents(headers_only=
    True)``). ``sets_seen``: RFC 9051 §6.4.5 "The \\Seen flag is implicitly set" (a
    BODY[...] or BINARY[...] without .PEEK, RFC822, RFC822.TEXT); the session sets it
    when the mailbox is read-write. ``reports_flags``: FLAGS is among
    ``atts``; when it is not and setting \\Seen changed the flags, ``fetch_items(...,
    flags_changed=True)`` adds them ("if this causes the flags to change, they SHOULD be
    included as part of the FETCH responses").
    """

    atts: tuple[FetchAtt, ...]
    needs_raw: bool
    needs_structure: bool
    sets_seen: bool
    reports_flags: bool
    needs_header: bool = False
    headers_only: bool = False
    # How each of ``atts`` is answered for one message, worked out once per plan (a
    # message list's FETCH answers the same atts for each of its messages).
    answers: tuple[Callable[[FetchSource], FetchItem], ...] = field(
        init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(map(_answerer, self.atts)))


class FetchSource(NamedTuple):
    """One message, as much of it as the plan needs (``raw`` and ``parsed`` may be None
    when ``needs_raw`` / ``needs_structure`` are false; ``header``, the scan of the
    message's own header, stands in for ``parsed`` for the header sections). A named
    tuple: a FETCH makes one per message."""

    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internal_date: datetime
    raw: bytes | None = None
    parsed: ParsedMessage | None = None
    header: HeaderScan | None = None


def plan_fetch(items: FetchMacro | tuple[FetchAtt, ...], *, uid_command: bool,
               modseq: bool) -> FetchPlan:
    """Expand ``items`` and plan the FETCH.

    ``uid_command``: UID FETCH; RFC 9051 §6.4.9 "the UID FETCH command ... MUST include
    the UID message data item" in its FETCH responses. ``modseq``: CONDSTORE is enabled
    or CHANGEDSINCE was given; RFC 7162 §3.1.4.1 "the server MUST include the MODSEQ
    FETCH response data items in all subsequent unsolicited FETCH responses" once
    CONDSTORE is enabled, and CHANGEDSINCE "also ... MUST add MODSEQ".
    """
    requested = MACROS[items] if isinstance(items, FetchMacro) else items
    atts: list[FetchAtt] = []
    if uid_command and _UID not in requested:
        atts.append(_UID)
    if modseq and _MODSEQ not in requested:
        atts.append(_MODSEQ)
    for att in requested:
        if att not in atts:
            atts.append(att)
    needs_structure = any(_needs_structure(att) for att in atts)
    needs_header = any(_is_top_header(att) for att in atts)
    return FetchPlan(
        atts=tuple(atts),
        needs_raw=any(_needs_raw(att) for att in atts),
        needs_structure=needs_structure,
        sets_seen=any(_sets_seen(att) for att in atts),
        reports_flags=_FLAGS in atts,
        needs_header=needs_header,
        headers_only=needs_header and not needs_structure and all(
            _is_top_header(att) for att in atts if _needs_raw(att)))


def _needs_raw(att: FetchAtt) -> bool:
    if isinstance(att, SimpleAtt):
        return att.name in _RFC822_SECTIONS
    return True


def _needs_structure(att: FetchAtt) -> bool:
    match att:
        case SimpleAtt(name=name):
            return name in _STRUCTURE_ONLY or name is FetchAttName.RFC822_TEXT
        case BodySection(section=section):
            return section != _WHOLE_MESSAGE and not _is_top_header(att)
        case BinarySection(part=part) | BinarySize(part=part):
            return bool(part)
    return False  # pragma: no cover - FetchAtt is exhaustive


def _is_top_header(att: FetchAtt) -> bool:
    """A section of the message's own header: ``FetchSource.header`` answers it."""
    match att:
        case SimpleAtt(name=name):
            return name is FetchAttName.RFC822_HEADER
        case BodySection(section=section):
            return _header_section(section)
    return False


def _header_section(section: Section) -> bool:
    return not section.part and section.text is not None and \
        sections.SectionText(section.text.value) in sections.HEADER_TEXTS


def _sets_seen(att: FetchAtt) -> bool:
    match att:
        case BodySection(peek=peek) | BinarySection(peek=peek):
            return not peek
        case SimpleAtt(name=name):
            return name in (FetchAttName.RFC822, FetchAttName.RFC822_TEXT)
    return False


def fetch_items(plan: FetchPlan, message: FetchSource, *, flags_changed: bool = False
                ) -> tuple[FetchItem, ...]:
    """The msg-att items of ``message`` for ``plan`` (RFC 9051 §7.5.2), in plan order.

    ``flags_changed``: this FETCH set \\Seen and the flags changed; FLAGS is then
    included even if not requested (§6.4.5 SHOULD). Raises ``FetchError`` (UNKNOWN-CTE).
    """
    items = [answer(message) for answer in plan.answers]
    if flags_changed and not plan.reports_flags:
        items.append(_flags(message))
    return tuple(items)


def _flags(message: FetchSource) -> FlagsItem:
    return FlagsItem(flag_order(message.flags))


def _answerer(att: FetchAtt) -> Callable[[FetchSource], FetchItem]:
    """How ``att`` is answered for one message: what depends on the att alone (which
    section, which partial) is looked at here, once."""
    match att:
        case SimpleAtt(name=name):
            if name in _RFC822_SECTIONS:
                rfc822 = _section_answerer(_RFC822_SECTIONS[name], None)
                return lambda message: Rfc822Item(name.value, rfc822(message))
            return functools.partial(_simple, name)
        case BodySection(section=section, partial=partial):
            origin = None if partial is None else partial.offset
            section_data = _section_answerer(
                section, None if partial is None else (partial.offset, partial.length))
            return lambda message: BodySectionItem(section, section_data(message), origin)
        case BinarySection(part=part, partial=partial):
            origin = None if partial is None else partial.offset
            span = None if partial is None else (partial.offset, partial.length)
            return lambda message: BinaryItem(part, _binary(message, part, span), origin)
        case BinarySize(part=part):
            return functools.partial(_binary_size, part)
    raise TypeError(f"not a fetch-att: {att!r}")  # pragma: no cover


def _binary_size(part: tuple[int, ...], message: FetchSource) -> BinarySizeItem:
    data = _binary(message, part, None)
    return BinarySizeItem(part, 0 if data is None else len(data))


def _simple(name: FetchAttName, message: FetchSource) -> FetchItem:
    if name is FetchAttName.FLAGS:
        return _flags(message)
    if name is FetchAttName.UID:
        return UidItem(message.uid)
    if name is FetchAttName.MODSEQ:
        return ModSeqItem(message.modseq)
    if name is FetchAttName.INTERNALDATE:
        return InternalDateItem(message.internal_date)
    if name is FetchAttName.RFC822_SIZE:
        # RFC 9051 §2.3.4: "the number of octets in the message, as expressed in
        # [RFC5322] format"; the store keeps it beside the message.
        return Rfc822SizeItem(message.size)
    parsed = _parsed(message)
    if name is FetchAttName.ENVELOPE:
        return EnvelopeItem(envelope_structure(parsed.envelope))
    if name is FetchAttName.BODY:
        return BodyStructureItem(body(parsed), extensible=False)
    if name is FetchAttName.BODYSTRUCTURE:
        return BodyStructureItem(bodystructure(parsed), extensible=True)
    raise TypeError(f"not a simple fetch-att: {name!r}")  # pragma: no cover


def _raw(message: FetchSource) -> bytes:
    if message.raw is None:
        raise ValueError("the plan needs the raw message (FetchPlan.needs_raw)")
    return message.raw


def _parsed(message: FetchSource) -> ParsedMessage:
    if message.parsed is None:
        raise ValueError("the plan needs the parsed message (FetchPlan.needs_structure)")
    return message.parsed


def _section_answerer(section: Section, partial: tuple[int, int] | None
                      ) -> Callable[[FetchSource], bytes | None]:
    """The octets of ``section`` (and ``partial``) of one message."""
    if section == _WHOLE_MESSAGE:
        # §6.4.5: "If BODY[] is specified ..., the FETCH is requesting the [RFC5322]
        # expression of the entire message." No structure needed.
        return lambda message: sections.apply_partial(_raw(message), partial)
    spec = _section_spec(section)
    top_header = _header_section(section)

    def answer(message: FetchSource) -> bytes | None:
        raw = _raw(message)
        if top_header and message.parsed is None and message.header is not None:
            return sections.top_header_section(raw, message.header, spec, partial)
        try:
            return sections.fetch_section(raw, _parsed(message), spec, partial)
        except sections.SectionError:
            return None     # RFC 9051 §4.5: NIL "indicates absence of the body part"
    return answer


@functools.lru_cache(maxsize=256)
def _section_spec(section: Section) -> sections.SectionSpec:
    """The message model's form of a section, made once per distinct section (a
    client's message lists ask for the same ones, FETCH after FETCH)."""
    return sections.SectionSpec(
        section.part, None if section.text is None else sections.SectionText(
            section.text.value), section.header_fields)


def _binary(message: FetchSource, part: tuple[int, ...], partial: tuple[int, int] | None
            ) -> bytes | None:
    raw = _raw(message)
    if not part:
        # BINARY[]: the whole message; it has no Content-Transfer-Encoding of its own.
        return sections.apply_partial(raw, partial)
    try:
        return sections.fetch_binary(raw, _parsed(message), part, partial)
    except sections.UnknownTransferEncoding as error:
        # RFC 9051 §7.5.2 / RFC 3516 §4.3 MUST: "fail the request and issue a "NO"
        # response that contains the "UNKNOWN-CTE" response code".
        raise FetchError(ResponseCode.UNKNOWN_CTE,
                         f"Unknown Content-Transfer-Encoding {error.encoding!r} in part "
                         f"{'.'.join(map(str, part))}") from error
    except sections.SectionError:
        return None         # RFC 9051 §4.5 (see the module notes)
