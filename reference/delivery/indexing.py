"""A message as the store takes it, parsed once (DESIGN principle 6): the threading keys,
the parsed structure (reference/message, kept beside the bytes for FETCH) and the text
the full-text index holds (SEARCH BODY/TEXT). Every way in (SMTP, LMTP, IMAP APPEND,
JMAP import) builds its ``NewMessage`` here, so every message is indexed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from reference.message.headers import find_fields, header_section, msg_ids
from reference.message.mime import MessageLimits, parse_message
from reference.message.text import SearchText, index_texts
from reference.store.interface import Delivery, NewMessage, ThreadKeys

_THREAD_FIELDS = ("Message-ID", "In-Reply-To", "References", "Subject")


def thread_keys(raw: bytes) -> ThreadKeys:
    """Message-ID, In-Reply-To, References and Subject."""
    header, _ = header_section(raw)
    found = find_fields(header, _THREAD_FIELDS)
    message_id = found.get("message-id")
    ids = msg_ids(message_id.value) if message_id else []
    # RFC 5322 §3.6.4: References lists the ancestors oldest first and In-Reply-To names
    # the parent, so the parent goes last: the nearest ancestors are kept when the store
    # bounds the list.
    references: list[str] = []
    for name in ("references", "in-reply-to"):
        field_ = found.get(name)
        if field_ is not None:
            references += [i for i in msg_ids(field_.value) if i not in references]
    subject = found.get("subject")
    return ThreadKeys(message_id=ids[0] if ids else None, references=tuple(references),
                      subject=subject.value if subject else "")


def new_message(raw: bytes, internal_date: datetime, deliveries: Sequence[Delivery], *,
                limits: MessageLimits | None = None) -> NewMessage:
    """``raw`` parsed and indexed, ready for ``MailStore.store_message``."""
    structure, search_text = index_message(raw, limits)
    return NewMessage(raw=raw, internal_date=internal_date, deliveries=deliveries,
                      thread_keys=thread_keys(raw), structure=structure,
                      search_text=search_text)


def index_message(raw: bytes, limits: MessageLimits | None = None
                  ) -> tuple[str, SearchText]:
    """The parsed structure (as stored) and the search texts of ``raw``: what delivery
    stores, and what ``MailStore.reindex`` makes again for messages stored before."""
    parsed = parse_message(raw, limits)
    return parsed.to_json(), index_texts(raw, parsed)
