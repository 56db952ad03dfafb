"""The parsed form of a message: what is stored beside the raw bytes (DESIGN.md principle 6).

A ``ParsedMessage`` locates everything by byte offsets into the raw message (which is
never rewritten) and holds, already parsed, what IMAP and JMAP ask for again and again:
the envelope fields, the MIME part tree with each part's Content-* fields, line counts.
``reference.message.mime.parse_message`` builds it; ``structure`` turns it into ENVELOPE
and BODYSTRUCTURE, ``sections`` into BODY[section] and BINARY[section] bytes.

Implementation notes:

- Everything is a frozen dataclass of ints, strs, tuples and enums, so equality is
  structural and the JSON round trip can be checked exactly.
- Text taken from header fields is ``str`` decoded as UTF-8 (RFC 6532 §3.2); octets that
  are not UTF-8 are kept as lone surrogates (``surrogateescape``), so the raw octets can
  always be recovered (``structure`` hands such values to IMAP as ``bytes``).

JSON form (``to_json``/``from_json``), version 1, compact and stable (keys in a fixed
order, defaults omitted)::

    {"v": 1, "m": MESSAGE}
    MESSAGE  = {"f": [[name, start, value_start, value_end, end], ...],   header fields
                "e": ENVELOPE, "b": PART}
    ENVELOPE = [date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to,
                message_id]                    TEXT or null; address lists ADDRESSES or null
    ADDRESSES = [MAILBOX or GROUP, ...]
    MAILBOX  = [name, route, local_part, domain] (+ [display_name] if it differs from name)
    GROUP    = {"g": name, "d": display_name (if it differs), "m": [MAILBOX, ...]}
    PART     = {"o": [header_start, header_end, body_start, body_end],
                "t": "type/subtype",
                "p": [[name, value] or [name, value, 1] when extended, ...],   Content-Type
                "id": content_id, "ds": description, "cte": transfer_encoding,
                "dsp": [disposition, [[name, value(, 1)], ...]], "lang": [tag, ...],
                "loc": location, "md5": md5, "n": lines,
                "c": [PART, ...],                 multipart children
                "msg": MESSAGE,                   message/rfc822 or message/global
                "opq": reason, "nt": [note, ...]} (Defect values)
    TEXT     = "a string" or {"x": "<base64 of the raw octets>"} when not UTF-8, or
               {"w": "<base64 of UTF-32-LE code points>"} when the escaped octets would
               not read back as the same text (adjacent escapes that spell UTF-8)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reference.message.addresses import Address, Group, Mailbox
from reference.message.encoded_words import Parameter, find_parameter
from reference.message.headers import FieldSpan

FORMAT_VERSION = 1


class Defect(StrEnum):
    """What was irregular about a part, or why it was not looked into (``opaque``)."""

    DEPTH_LIMIT = "depth-limit"
    """``MessageLimits.max_depth`` reached: this composite part is kept as one opaque leaf."""
    PART_LIMIT = "part-limit"
    """``MessageLimits.max_parts`` reached: opaque, or (a note) later children not split."""
    HEADER_FIELD_LIMIT = "header-field-limit"
    """More than ``MessageLimits.max_header_fields`` fields: the rest were not read."""
    NO_BOUNDARY = "no-boundary"
    """RFC 2046 §5.1.1: "The Content-Type field for multipart entities requires one
    parameter, "boundary"": without one (or with an empty one) the part is opaque."""
    ENCODED_COMPOSITE = "encoded-composite"
    """RFC 2045 §6.4: "it is EXPRESSLY FORBIDDEN to use any encodings other than "7bit",
    "8bit", or "binary" with any composite media type": such a part is opaque (for
    message/global RFC 6532 §3.5 permits it, but offsets into the raw bytes cannot
    address the encoded message either)."""
    NO_BODY_PARTS = "no-body-parts"
    """A multipart body without a body-part between delimiter lines; it gets one empty
    part (the ABNF of RFC 2046 §5.1.1 and RFC 9051 §9 body-type-mpart want at least one)."""
    NO_CLOSE_DELIMITER = "no-close-delimiter"
    """No close-delimiter (RFC 2046 §5.1.1): the last part runs to the end of the body."""
    INVALID_CONTENT_TYPE = "invalid-content-type"
    """RFC 2045 §5.2: "It is also recommend that this default be assumed when a
    syntactically invalid Content-Type header field is encountered" (text/plain)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The RFC 5322 fields of RFC 9051 §7.5.2's ENVELOPE, as they are in the message.

    Text fields are the unfolded field values (encoded-words not decoded); None when the
    field is absent. Address lists are None when the field is absent, () when present
    but with no address. IMAP's defaults (Sender and Reply-To fall back to From) are
    applied by ``structure.envelope_structure``, not stored.
    """
    date: str | None = None
    subject: str | None = None
    from_: tuple[Address, ...] | None = None
    sender: tuple[Address, ...] | None = None
    reply_to: tuple[Address, ...] | None = None
    to: tuple[Address, ...] | None = None
    cc: tuple[Address, ...] | None = None
    bcc: tuple[Address, ...] | None = None
    in_reply_to: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One MIME entity (RFC 2045 §2.4), located by offsets into the raw message.

    ``raw[header_start:header_end]`` are its header fields, ``raw[header_end:body_start]``
    the blank line (empty when there is none), ``raw[body_start:body_end]`` its body. The
    root part of a message has the message's header (the MIME fields are in it).
    ``media_type``/``subtype`` are lower case, after RFC 2045 §5.2 / RFC 2046 §5.1.5
    defaults. ``parameters`` are RFC 2231-decoded, in order. Field values are unfolded
    and stripped, as written (not RFC 2047-decoded). ``lines`` is counted for text/* and
    message/* (RFC 9051 §7.5.2 body-fld-lines). ``opaque`` says why a composite part was
    not looked into (it is then a leaf); ``notes`` list other irregularities.
    """
    header_start: int
    header_end: int
    body_start: int
    body_end: int
    media_type: str = "text"
    subtype: str = "plain"
    parameters: tuple[Parameter, ...] = ()
    content_id: str | None = None
    description: str | None = None
    transfer_encoding: str | None = None       # lower case, as written; None if absent
    disposition: str | None = None             # lower case
    disposition_parameters: tuple[Parameter, ...] = ()
    languages: tuple[str, ...] = ()
    location: str | None = None
    md5: str | None = None
    lines: int | None = None
    children: tuple[BodyPart, ...] = ()
    message: ParsedMessage | None = None
    opaque: Defect | None = None
    notes: tuple[Defect, ...] = ()

    @property
    def size(self) -> int:
        """Octets of the body as written, in its transfer encoding (RFC 9051 §7.5.2)."""
        return self.body_end - self.body_start

    @property
    def content_type(self) -> str:
        return f"{self.media_type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        return self.media_type == "multipart" and self.opaque is None

    @property
    def is_message(self) -> bool:
        """An encapsulated message whose parts are numbered (RFC 9051 §6.4.5.1)."""
        return self.message is not None

    def parameter(self, name: str) -> str | None:
        return find_parameter(self.parameters, name)

    def walk(self) -> Iterator[BodyPart]:
        """This part and every part inside it, in the order they occur."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.message is not None:
            yield from self.message.body.walk()


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """An RFC 5322 message: the top-level one or one inside a message/rfc822 part.

    ``fields`` are all header fields in order (up to the field limit), ``body`` is the
    root part; ``raw[body.header_start:body.body_end]`` is the whole message.
    """
    fields: tuple[FieldSpan, ...]
    envelope: Envelope
    body: BodyPart

    @property
    def size(self) -> int:
        return self.body.body_end - self.body.header_start

    def walk(self) -> Iterator[BodyPart]:
        return self.body.walk()

    def to_json(self) -> str:
        document = {"v": FORMAT_VERSION, "m": _message_to_json(self)}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ParsedMessage:
        document = json.loads(text)
        if document.get("v") != FORMAT_VERSION:
            raise ValueError(f"unsupported parsed-message format {document.get('v')!r}")
        return _message_from_json(document["m"])


# --- JSON form ---------------------------------------------------------------------------

def _text_to_json(text: str) -> Any:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        if raw.decode("utf-8", "surrogateescape") == text:
            return {"x": base64.b64encode(raw).decode("ascii")}
        # Escaped octets that were apart in the raw field and are now adjacent (the words
        # of an obs-local-part, RFC 5322 §4.4, joined without the CFWS between them) can
        # spell valid UTF-8 and would come back as other text: keep the code points.
        # (found by fuzz/targets.py: "To: \0\x80\xc2\0\x80\xc2" read back otherwise)
        exact = text.encode("utf-32-le", "surrogatepass")
        return {"w": base64.b64encode(exact).decode("ascii")}
    return text


def _text_from_json(value: Any) -> str:
    if value.__class__ is str:                  # the common case first: FETCH reads many
        return value
    if isinstance(value, dict):
        if "w" in value:
            return base64.b64decode(value["w"]).decode("utf-32-le", "surrogatepass")
        return base64.b64decode(value["x"]).decode("utf-8", "surrogateescape")
    return str(value)


def _optional_text_to_json(text: str | None) -> Any:
    return None if text is None else _text_to_json(text)


def _optional_text_from_json(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    return _text_from_json(value)


def _mailbox_to_json(mailbox: Mailbox) -> list[Any]:
    encoded = [_optional_text_to_json(mailbox.name), _optional_text_to_json(mailbox.route),
               _text_to_json(mailbox.local_part), _optional_text_to_json(mailbox.domain)]
    if mailbox.display_name != mailbox.name:
        encoded.append(_optional_text_to_json(mailbox.display_name))
    return encoded


def _mailbox_from_json(value: list[Any]) -> Mailbox:
    name = _optional_text_from_json(value[0])
    display_name = _optional_text_from_json(value[4]) if len(value) > 4 else name
    return Mailbox(name, _optional_text_from_json(value[1]), _text_from_json(value[2]),
                   _optional_text_from_json(value[3]), display_name)


def _addresses_to_json(addresses: tuple[Address, ...] | None) -> Any:
    if addresses is None:
        return None
    encoded: list[Any] = []
    for address in addresses:
        if isinstance(address, Group):
            group: dict[str, Any] = {"g": _text_to_json(address.name)}
            if address.display_name != address.name:
                group["d"] = _text_to_json(address.display_name)
            group["m"] = [_mailbox_to_json(member) for member in address.members]
            encoded.append(group)
        else:
            encoded.append(_mailbox_to_json(address))
    return encoded


def _addresses_from_json(value: Any) -> tuple[Address, ...] | None:
    if value is None:
        return None
    addresses: list[Address] = []
    for item in value:
        if isinstance(item, dict):
            name = _text_from_json(item["g"])
            display_name = _text_from_json(item["d"]) if "d" in item else name
            addresses.append(Group(name, display_name,
                                   tuple(_mailbox_from_json(m) for m in item["m"])))
        else:
            addresses.append(_mailbox_from_json(item))
    return tuple(addresses)


def _envelope_to_json(envelope: Envelope) -> list[Any]:
    return [_optional_text_to_json(envelope.date), _optional_text_to_json(envelope.subject),
            _addresses_to_json(envelope.from_), _addresses_to_json(envelope.sender),
            _addresses_to_json(envelope.reply_to), _addresses_to_json(envelope.to),
            _addresses_to_json(envelope.cc), _addresses_to_json(envelope.bcc),
            _optional_text_to_json(envelope.in_reply_to),
            _optional_text_to_json(envelope.message_id)]


def _envelope_from_json(value: list[Any]) -> Envelope:
    return Envelope(_optional_text_from_json(value[0]), _optional_text_from_json(value[1]),
                    _addresses_from_json(value[2]), _addresses_from_json(value[3]),
                    _addresses_from_json(value[4]), _addresses_from_json(value[5]),
                    _addresses_from_json(value[6]), _addresses_from_json(value[7]),
                    _optional_text_from_json(value[8]), _optional_text_from_json(value[9]))


def _parameters_to_json(parameters: tuple[Parameter, ...]) -> list[list[Any]]:
    return [[p.name, _text_to_json(p.value), 1] if p.extended else
            [p.name, _text_to_json(p.value)] for p in parameters]


def _parameters_from_json(value: list[list[Any]]) -> tuple[Parameter, ...]:
    return tuple(Parameter(item[0], _text_from_json(item[1]), extended=len(item) > 2)
                 for item in value)


_OPTIONAL_TEXT_KEYS = (("id", "content_id"), ("ds", "description"),
                       ("cte", "transfer_encoding"))
_TRAILING_TEXT_KEYS = (("loc", "location"), ("md5", "md5"))


def _part_to_json(part: BodyPart) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "o": [part.header_start, part.header_end, part.body_start, part.body_end],
        "t": part.content_type}
    if part.parameters:
        encoded["p"] = _parameters_to_json(part.parameters)
    for key, attribute in _OPTIONAL_TEXT_KEYS:
        if (text := getattr(part, attribute)) is not None:
            encoded[key] = _text_to_json(text)
    if part.disposition is not None:
        encoded["dsp"] = [_text_to_json(part.disposition),
                          _parameters_to_json(part.disposition_parameters)]
    if part.languages:
        encoded["lang"] = [_text_to_json(tag) for tag in part.languages]
    for key, attribute in _TRAILING_TEXT_KEYS:
        if (text := getattr(part, attribute)) is not None:
            encoded[key] = _text_to_json(text)
    if part.lines is not None:
        encoded["n"] = part.lines
    if part.children:
        encoded["c"] = [_part_to_json(child) for child in part.children]
    if part.message is not None:
        encoded["msg"] = _message_to_json(part.message)
    if part.opaque is not None:
        encoded["opq"] = part.opaque.value
    if part.notes:
        encoded["nt"] = [note.value for note in part.notes]
    return encoded


def _part_from_json(value: dict[str, Any]) -> BodyPart:
    header_start, header_end, body_start, body_end = value["o"]
    media_type, _, subtype = value["t"].partition("/")
    get = value.get
    disposition: str | None = None
    disposition_parameters: tuple[Parameter, ...] = ()
    if "dsp" in value:
        disposition = _text_from_json(value["dsp"][0])
        disposition_parameters = _parameters_from_json(value["dsp"][1])
    # Absent keys are the defaults: most parts have few of them (FETCH decodes many).
    return BodyPart(
        header_start, header_end, body_start, body_end, media_type, subtype,
        _parameters_from_json(value["p"]) if "p" in value else (),
        _optional_text_from_json(get("id")), _optional_text_from_json(get("ds")),
        _optional_text_from_json(get("cte")), disposition, disposition_parameters,
        tuple(_text_from_json(tag) for tag in value["lang"]) if "lang" in value else (),
        _optional_text_from_json(get("loc")), _optional_text_from_json(get("md5")),
        get("n"),
        tuple(_part_from_json(child) for child in value["c"]) if "c" in value else (),
        _message_from_json(value["msg"]) if "msg" in value else None,
        Defect(value["opq"]) if "opq" in value else None,
        tuple(Defect(note) for note in value["nt"]) if "nt" in value else ())


def _message_to_json(message: ParsedMessage) -> dict[str, Any]:
    return {"f": [[f.name, f.start, f.value_start, f.value_end, f.end] for f in message.fields],
            "e": _envelope_to_json(message.envelope),
            "b": _part_to_json(message.body)}


def _message_from_json(value: dict[str, Any]) -> ParsedMessage:
    return ParsedMessage(tuple(map(FieldSpan._make, value["f"])),
                         _envelope_from_json(value["e"]), _part_from_json(value["b"]))
