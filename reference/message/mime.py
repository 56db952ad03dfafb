"""RFC 2045/2046 MIME part tree with byte offsets, parsed once (DESIGN.md principle 6).

``parse_message(raw)`` reads a message once and returns a ``ParsedMessage`` (see
``model``): every part located by offsets into ``raw``, with its Content-* fields parsed,
the envelope fields of the message and of each encapsulated message read. Nothing is
copied out of ``raw`` and ``raw`` is never rewritten: sections are slices of it.

Implementation notes:

- Never fails. Every input gets a structure: RFC 2045 §5.2 (no or invalid Content-Type:
  text/plain; charset=us-ascii), RFC 2046 §5.1.5 (message/rfc822 by default in a
  multipart/digest), RFC 2045 §6.1 (no Content-Transfer-Encoding: 7bit); irregularities
  are recorded as ``Defect`` values on the part (``notes``, or ``opaque`` when a
  composite part is not looked into).
- Limits are explicit (``MessageLimits``); past them composite parts become opaque
  leaves (``Defect.DEPTH_LIMIT``, ``Defect.PART_LIMIT``), extra header fields are not
  recorded (``Defect.HEADER_FIELD_LIMIT``).
- Linear time per nesting level: a header section is read line by line once
  (``headers.scan_header``); a multipart body is searched for its delimiters with
  ``bytes.find`` from a moving offset; line counts use ``bytes.count``. A part nested n
  deep is scanned by its n enclosing multiparts, so the total is O(size x depth), and
  depth is bounded by ``max_depth``.
- Boundary delimiters follow RFC 2046 §5.1.1 exactly, including its "NOTE TO
  IMPLEMENTORS": a line that starts with "--" boundary is a delimiter whatever follows
  ("it is sufficient that the boundary appear in its entirety following the CRLF"). The
  CRLF before the delimiter belongs to it ("the initial CRLF is considered to be attached
  to the boundary delimiter line"). A bare LF is accepted as a line end.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.message.addresses import Address, parse_address_list
from reference.message.encoded_words import (
    Parameter,
    find_parameter,
    parse_parameters,
    read_token,
    skip_cfws,
)
from reference.message.headers import FieldSpan, HeaderScan, field_text, scan_header
from reference.message.model import BodyPart, Defect, Envelope, ParsedMessage

# RFC 9051 §6.4.5.1: "A part of type MESSAGE/RFC822 or MESSAGE/GLOBAL also has nested part
# numbers"; RFC 6532 §3.7: message/global "is otherwise identical to that of a
# message/rfc822 part".
MESSAGE_SUBTYPES = frozenset({"rfc822", "global"})
# RFC 2045 §6.4: composite types allow no encoding "other than "7bit", "8bit", or
# "binary"" (an absent field means 7bit, RFC 2045 §6.1).
IDENTITY_ENCODINGS = frozenset({None, "7bit", "8bit", "binary"})
# RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii". The value is written as in
# RFC 9051 §7.5.2's example ("CHARSET" "US-ASCII"); charset names are case-insensitive.
DEFAULT_PARAMETERS = (Parameter("charset", "US-ASCII"),)


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """Bounds on the work one message may cause; beyond them the parse degrades, it
    never fails (DESIGN.md principle 8). No RFC sets minimums; the defaults are far above
    any legitimate message.

    ``max_depth`` must stay below Python's recursion limit: each level costs a few stack
    frames in the parser, ``structure`` and the JSON codec; 200 is the cap.
    """
    max_depth: int = 64
    """Nesting of multipart and message parts; a composite part deeper is opaque."""
    max_parts: int = 10_000
    """Parts in the whole tree (encapsulated messages included)."""
    max_header_fields: int = 10_000
    """Fields recorded per header section; later fields stay in the raw bytes only."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= 200:
            raise ValueError("max_depth must be between 1 and 200")
        if self.max_parts < 1 or self.max_header_fields < 0:
            raise ValueError("max_parts must be positive and max_header_fields not negative")


@dataclass(slots=True)
class _Budget:
    limits: MessageLimits
    parts: int = 0                                    # parts built so far


def parse_message(raw: bytes, limits: MessageLimits | None = None) -> ParsedMessage:
    """Parse ``raw`` (a whole RFC 5322 message) once. Any bytes give a ``ParsedMessage``."""
    return _parse_message(raw, 0, len(raw), 0, _Budget(limits or MessageLimits()))


def _parse_message(raw: bytes, start: int, end: int, depth: int,
                   budget: _Budget) -> ParsedMessage:
    scan = scan_header(raw, start, end, budget.limits.max_header_fields)
    envelope = read_envelope(raw, scan.fields)
    body = _build_part(raw, scan, start, end, depth, "text", budget)
    return ParsedMessage(scan.fields, envelope, body)


def _parse_part(raw: bytes, start: int, end: int, depth: int, default_type: str,
                budget: _Budget) -> BodyPart:
    scan = scan_header(raw, start, end, budget.limits.max_header_fields)
    return _build_part(raw, scan, start, end, depth, default_type, budget)


def _build_part(raw: bytes, scan: HeaderScan, start: int, end: int, depth: int,
                default_type: str, budget: _Budget) -> BodyPart:
    """One entity: its Content-* fields, then its children or encapsulated message."""
    budget.parts += 1
    content = _ContentFields.read(raw, scan.fields, default_type)
    notes = list(content.notes)
    if scan.fields_dropped:
        notes.append(Defect.HEADER_FIELD_LIMIT)
    body_start, body_end = scan.body_start, end
    children: tuple[BodyPart, ...] = ()
    message = None
    opaque = None
    composite = content.media_type == "multipart" or (
        content.media_type == "message" and content.subtype in MESSAGE_SUBTYPES)
    if composite:
        boundary = find_parameter(content.parameters, "boundary")
        if content.media_type == "multipart" and not boundary:
            opaque = Defect.NO_BOUNDARY
        elif content.transfer_encoding not in IDENTITY_ENCODINGS:
            opaque = Defect.ENCODED_COMPOSITE
        elif depth >= budget.limits.max_depth:
            opaque = Defect.DEPTH_LIMIT
        elif budget.parts >= budget.limits.max_parts:
            opaque = Defect.PART_LIMIT
        elif content.media_type == "multipart":
            assert boundary
            child_type = "message" if content.subtype == "digest" else "text"
            children = _parse_multipart_body(raw, body_start, body_end, boundary.encode(
                "utf-8", "surrogateescape"), depth + 1, child_type, budget, notes)
        else:
            message = _parse_message(raw, body_start, body_end, depth + 1, budget)
    lines = None
    if content.media_type in ("text", "message"):
        # RFC 9051 §7.5.2: "the size of the body in text lines"; a last line without a
        # line break (a body part ends where its delimiter's CRLF starts) still counts.
        lines = raw.count(b"\n", body_start, body_end)
        if body_end > body_start and raw[body_end - 1] != 0x0A:
            lines += 1
    return BodyPart(
        start, scan.header_end, body_start, body_end, content.media_type, content.subtype,
        content.parameters, content.text("content-id"), content.text("content-description"),
        content.transfer_encoding, content.disposition, content.disposition_parameters,
        content.languages, content.text("content-location"), content.text("content-md5"),
        lines, children, message, opaque, tuple(notes))


def _parse_multipart_body(raw: bytes, start: int, end: int, boundary: bytes, depth: int,
                          child_type: str, budget: _Budget,
                          notes: list[Defect]) -> tuple[BodyPart, ...]:
    """RFC 2046 §5.1.1 multipart-body := [preamble CRLF] dash-boundary transport-padding
    CRLF body-part *encapsulation close-delimiter transport-padding [CRLF epilogue].

    The preamble and epilogue are ignored ("implementations must ignore anything that
    appears before the first boundary delimiter line or after the last one").
    """
    spans = _body_part_spans(raw, start, end, boundary, budget, notes)
    if not spans:
        notes.append(Defect.NO_BODY_PARTS)
        spans = [(end, end)]
    return tuple(_parse_part(raw, part_start, part_end, depth, child_type, budget)
                 for part_start, part_end in spans)


def _body_part_spans(raw: bytes, start: int, end: int, boundary: bytes, budget: _Budget,
                     notes: list[Defect]) -> list[tuple[int, int]]:
    """The (start, end) of each body-part between delimiter lines, found left to right."""
    dash_boundary = b"--" + boundary                  # dash-boundary := "--" boundary
    spans: list[tuple[int, int]] = []
    part_start: int | None = None                     # after the previous delimiter line
    search_from = start
    # The first dash-boundary may open the body: no preamble and no CRLF before it.
    at = start if raw.startswith(dash_boundary, start, end) else -1
    while True:
        if at < 0:
            found = raw.find(b"\n" + dash_boundary, search_from, end)
            if found < 0:
                break
            at = found + 1
        # delimiter := CRLF dash-boundary: the line break before it belongs to it
        line_begin = at
        if at > start and raw[at - 1] == 0x0A:
            line_begin = at - 2 if at - 2 >= start and raw[at - 2] == 0x0D else at - 1
        after = at + len(dash_boundary)
        is_close = raw.startswith(b"--", after, end)
        line_end = raw.find(b"\n", after, end)
        line_end = end if line_end < 0 else line_end + 1
        if part_start is not None:
            spans.append((part_start, max(part_start, line_begin)))
            if len(spans) + budget.parts >= budget.limits.max_parts and not is_close:
                notes.append(Defect.PART_LIMIT)
                return spans
        if is_close:
            return spans                              # the epilogue follows
        part_start = line_end
        search_from, at = max(line_end - 1, at + 1), -1
    if part_start is not None:
        notes.append(Defect.NO_CLOSE_DELIMITER)
        spans.append((part_start, end))
    return spans


# --- Content-* header fields -------------------------------------------------------------

_CONTENT_FIELDS = frozenset({"content-type", "content-transfer-encoding", "content-id",
                             "content-description", "content-disposition",
                             "content-language", "content-location", "content-md5"})


@dataclass(slots=True)
class _ContentFields:
    values: dict[str, str]
    media_type: str
    subtype: str
    parameters: tuple[Parameter, ...]
    transfer_encoding: str | None
    disposition: str | None
    disposition_parameters: tuple[Parameter, ...]
    languages: tuple[str, ...]
    notes: tuple[Defect, ...]

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    @classmethod
    def read(cls, raw: bytes, fields: tuple[FieldSpan, ...],
             default_type: str) -> _ContentFields:
        values: dict[str, str] = {}
        for span in fields:
            name = span.name.lower()
            # The first occurrence counts (RFC 2045 allows each field once).
            if name in _CONTENT_FIELDS and name not in values:
                values[name] = field_text(span.raw_value(raw))
        notes: tuple[Defect, ...] = ()
        content_type = values.get("content-type")
        parsed = parse_content_type(content_type) if content_type is not None else None
        if parsed is not None:
            media_type, subtype, parameters = parsed
        elif default_type == "message":
            # RFC 2046 §5.1.5: in a digest "the default Content-Type value for a body part
            # is changed from "text/plain" to "message/rfc822"".
            media_type, subtype, parameters = "message", "rfc822", ()
        else:
            media_type, subtype, parameters = "text", "plain", DEFAULT_PARAMETERS
            if content_type is not None:
                notes = (Defect.INVALID_CONTENT_TYPE,)
        encoding = values.get("content-transfer-encoding")
        disposition, disposition_parameters = parse_content_disposition(
            values.get("content-disposition"))
        return cls(values, media_type, subtype, parameters,
                   parse_content_transfer_encoding(encoding), disposition, disposition_parameters,
                   parse_content_language(values.get("content-language")), notes)


def parse_content_type(value: str) -> tuple[str, str, tuple[Parameter, ...]] | None:
    """RFC 2045 §5.1: content := "Content-Type" ":" type "/" subtype *(";" parameter).

    Type and subtype lower-cased ("Matching of media type and subtype is ALWAYS
    case-insensitive"); None when there is no type "/" subtype ("a subtype specification
    is MANDATORY").
    """
    media_type, pos = read_token(value, 0)
    if media_type is None:
        return None
    pos = skip_cfws(value, pos)
    if not value.startswith("/", pos):
        return None
    subtype, pos = read_token(value, pos + 1)
    if subtype is None:
        return None
    return media_type.lower(), subtype.lower(), parse_parameters(value, pos)


def parse_content_transfer_encoding(value: str | None) -> str | None:
    """RFC 2045 §6.1: encoding := "Content-Transfer-Encoding" ":" mechanism; lower-cased
    ("These values are not case sensitive"). None when absent or empty."""
    if value is None:
        return None
    mechanism, _ = read_token(value, 0)
    return mechanism.lower() if mechanism is not None else None


def parse_content_disposition(value: str | None) -> tuple[str | None, tuple[Parameter, ...]]:
    """RFC 2183 §2: disposition := "Content-Disposition" ":" disposition-type
    *(";" disposition-parm); the type is lower-cased ("not case-sensitive")."""
    if value is None:
        return None, ()
    disposition, pos = read_token(value, 0)
    if disposition is None:
        return None, ()
    return disposition.lower(), parse_parameters(value, pos)


def parse_content_language(value: str | None) -> tuple[str, ...]:
    """RFC 3282 §2: Language-List = Language-Tag [CFWS] *("," [CFWS] Language-Tag [CFWS]),
    the tags as written."""
    if value is None:
        return ()
    tags: list[str] = []
    for item in value.split(","):
        tag, _ = read_token(item, 0)
        if tag is not None:
            tags.append(tag)
    return tuple(tags)


# --- Envelope fields (RFC 9051 §7.5.2 ENVELOPE) ------------------------------------------

_TEXT_FIELDS = {"date": "date", "subject": "subject", "in-reply-to": "in_reply_to",
                "message-id": "message_id"}
_ADDRESS_FIELDS = {"from": "from_", "sender": "sender", "reply-to": "reply_to", "to": "to",
                   "cc": "cc", "bcc": "bcc"}


def read_envelope(raw: bytes, fields: tuple[FieldSpan, ...]) -> Envelope:
    """The first Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To and
    Message-ID field of a header (RFC 5322 §3.6 allows each at most once)."""
    texts: dict[str, str | None] = {}
    lists: dict[str, tuple[Address, ...] | None] = {}
    for span in fields:
        name = span.name.lower()
        if name in _TEXT_FIELDS and _TEXT_FIELDS[name] not in texts:
            texts[_TEXT_FIELDS[name]] = field_text(span.raw_value(raw))
        elif name in _ADDRESS_FIELDS and _ADDRESS_FIELDS[name] not in lists:
            lists[_ADDRESS_FIELDS[name]] = parse_address_list(field_text(span.raw_value(raw)))
    return Envelope(date=texts.get("date"), subject=texts.get("subject"),
                    from_=lists.get("from_"), sender=lists.get("sender"),
                    reply_to=lists.get("reply_to"), to=lists.get("to"), cc=lists.get("cc"),
                    bcc=lists.get("bcc"), in_reply_to=texts.get("in_reply_to"),
                    message_id=texts.get("message_id"))
