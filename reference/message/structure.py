"""ENVELOPE and BODYSTRUCTURE / BODY (RFC 9051 §7.5.2, formal syntax §9) as plain values.

The IMAP serializer turns an ``ImapValue`` into bytes:

- ``None`` is NIL, an ``int`` a number;
- a ``str`` is an IMAP string (quoted or literal, the serializer chooses; encoded as
  UTF-8), a ``bytes`` an IMAP string of exactly those octets (used for field values that
  are not UTF-8, so that the raw header octets reach the client unchanged);
- a ``tuple`` is a parenthesised list.

Nothing in ENVELOPE or BODYSTRUCTURE is an atom: every ``str`` and ``bytes`` here is a
string (RFC 9051 §9: body-fld-*, media-*, env-* and addr-* are all string / nstring /
number productions), so the serializer never needs to tell atoms from strings.

Implementation notes:

- Case: RFC 9051 §7.5.2's examples write the type, subtype, parameter names and
  encoding in upper case (``"TEXT" "PLAIN" ("CHARSET" "US-ASCII") ... "7BIT"``,
  ``"MIXED"``); so do we, and the disposition type too. Values (parameter values,
  languages, ids) are returned as written. All these tokens are case-insensitive (RFC
  2045 §5.1, §6.1; RFC 2183 §2).
- Strings taken from header fields are the unfolded field values, as written: no RFC 2047
  decoding (RFC 9051 §9 addr-name "holds phrase from [RFC5322] mailbox after removing
  [RFC5322] quoting"; env-subject, body-fld-desc are the field values; the client
  decodes).
- A missing domain (an address "root") is reported as the empty string, not NIL: a NIL
  host with a non-NIL mailbox would announce the start of a group (RFC 9051 §7.5.2).
- An opaque part (``model.Defect``) is described as "APPLICATION" "OCTET-STREAM": RFC
  2046 §4.5.1 ("The "octet-stream" subtype is used to indicate that a body contains
  arbitrary binary data") and RFC 6532 §3.7 (a reader that does not look into a
  message/global "is supposed to treat it as "application/octet-stream""). BODY[n]
  still returns its raw bytes.
"""

from __future__ import annotations

from reference.message.addresses import Address, Group, Mailbox
from reference.message.encoded_words import Parameter
from reference.message.model import BodyPart, Envelope, ParsedMessage

ImapValue = None | int | str | bytes | tuple["ImapValue", ...]


def text_value(text: str | None) -> ImapValue:
    """A string, or the raw octets when ``text`` carries non-UTF-8 octets (kept as lone
    surrogates by ``headers.field_text``)."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")
    return text


# --- ENVELOPE ----------------------------------------------------------------------------

def envelope_structure(envelope: Envelope) -> ImapValue:
    """envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
    env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"."""
    from_ = address_list_structure(envelope.from_)
    # RFC 9051 §7.5.2: "If the Sender or Reply-To header fields are absent in the [RFC5322]
    # header, or are present but empty, the server sets the corresponding member of the
    # envelope to be the same value as the from member".
    sender = address_list_structure(envelope.sender)
    reply_to = address_list_structure(envelope.reply_to)
    # RFC 9051 §7.5.2: "If the Date, Subject, In-Reply-To, and Message-ID header fields are
    # absent ... NIL; if these header fields are present but empty, ... the empty string."
    return (text_value(envelope.date), text_value(envelope.subject), from_,
            from_ if sender is None else sender, from_ if reply_to is None else reply_to,
            address_list_structure(envelope.to), address_list_structure(envelope.cc),
            address_list_structure(envelope.bcc), text_value(envelope.in_reply_to),
            text_value(envelope.message_id))


def address_list_structure(addresses: tuple[Address, ...] | None) -> ImapValue:
    """env-from = "(" 1*address ")" / nil (likewise sender ... bcc). RFC 9051 §7.5.2: "If
    the From, To, Cc, and Bcc header fields are absent ..., or are present but empty, the
    corresponding member of the envelope is NIL"."""
    structures: list[ImapValue] = []
    for address in addresses or ():
        if isinstance(address, Group):
            # RFC 9051 §7.5.2: "[RFC5322] group syntax is indicated by a special form of
            # address structure in which the hostname field is NIL. If the mailbox name
            # field is also NIL, this is an end-of-group marker ... If the mailbox name
            # field is non-NIL, this is the start of a group marker, and the mailbox name
            # field holds the group name phrase."
            structures.append((None, None, text_value(address.name), None))
            structures.extend(address_structure(member) for member in address.members)
            structures.append((None, None, None, None))
        else:
            structures.append(address_structure(address))
    return tuple(structures) if structures else None


def address_structure(mailbox: Mailbox) -> ImapValue:
    """address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"."""
    return (text_value(mailbox.name), text_value(mailbox.route),
            text_value(mailbox.local_part), text_value(mailbox.domain or ""))


# --- BODYSTRUCTURE and BODY --------------------------------------------------------------

def bodystructure(message: ParsedMessage) -> ImapValue:
    """FETCH BODYSTRUCTURE: the extensible form (RFC 9051 §7.5.2)."""
    return body_structure(message.body, extensible=True)


def body(message: ParsedMessage) -> ImapValue:
    """FETCH BODY: "A form of BODYSTRUCTURE without extension data"."""
    return body_structure(message.body, extensible=False)


def body_structure(part: BodyPart, *, extensible: bool) -> ImapValue:
    """body = "(" (body-type-1part / body-type-mpart) ")". Extension data (body-ext-1part,
    body-ext-mpart) "MUST NOT be returned on non-extensible "BODY" fetch"."""
    if part.is_multipart:
        # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
        fields: list[ImapValue] = [body_structure(child, extensible=extensible)
                                   for child in part.children]
        fields.append(part.subtype.upper())
        if extensible:
            # body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang
            #                  [SP body-fld-loc *(SP body-extension)]]]
            fields += [parameters_structure(part.parameters), disposition_structure(part),
                       language_structure(part), text_value(part.location)]
        return tuple(fields)
    media_type, subtype = part.media_type.upper(), part.subtype.upper()
    if part.opaque is not None:
        media_type, subtype = "APPLICATION", "OCTET-STREAM"
    # body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
    #               body-fld-octets
    fields = [media_type, subtype, parameters_structure(part.parameters),
              text_value(part.content_id), text_value(part.description),
              encoding_structure(part), part.size]
    if part.message is not None:
        # body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
        fields += [envelope_structure(part.message.envelope),
                   body_structure(part.message.body, extensible=extensible), part.lines or 0]
    elif media_type == "TEXT":
        # body-type-text = media-text SP body-fields SP body-fld-lines
        fields.append(part.lines or 0)
    if extensible:
        # body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
        #                  [SP body-fld-loc *(SP body-extension)]]]
        fields += [text_value(part.md5), disposition_structure(part),
                   language_structure(part), text_value(part.location)]
    return tuple(fields)


def parameters_structure(parameters: tuple[Parameter, ...]) -> ImapValue:
    """body-fld-param = "(" string SP string *(SP string SP string) ")" / nil.

    RFC 9051 §7.5.2: "Servers SHOULD decode parameter-value continuations and
    parameter-value character sets as described in [RFC2231] ... if the message contains
    parameters "foo*0*" and "foo*1*", the server should decode them per [RFC2231], convert
    to UTF-8, concatenate, and return the resulting value as a parameter "foo*"."
    """
    pairs: list[ImapValue] = []
    for parameter in parameters:
        name = parameter.name.upper() + ("*" if parameter.extended else "")
        pairs += [name, text_value(parameter.value)]
    return tuple(pairs) if pairs else None


def encoding_structure(part: BodyPart) -> ImapValue:
    """body-fld-enc: "Content-Transfer-Encoding header field value. Defaults to "7BIT" (as
    per RFC 2045) if not present in the body part"."""
    return text_value((part.transfer_encoding or "7bit").upper())


def disposition_structure(part: BodyPart) -> ImapValue:
    """body-fld-dsp = "(" string SP body-fld-param ")" / nil."""
    if part.disposition is None:
        return None
    return (text_value(part.disposition.upper()),
            parameters_structure(part.disposition_parameters))


def language_structure(part: BodyPart) -> ImapValue:
    """body-fld-lang = nstring / "(" string *(SP string) ")"."""
    if not part.languages:
        return None
    if len(part.languages) == 1:
        return text_value(part.languages[0])
    return tuple(text_value(tag) for tag in part.languages)
