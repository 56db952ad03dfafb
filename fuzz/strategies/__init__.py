"""Hypothesis strategies, one module per grammar (``from fuzz.strategies import smtp``):
``smtp`` and ``smtp_hostile`` (RFC 5321 and extensions; near-valid lines and the attack
families), ``imap`` (RFC 9051, hostile forms included), ``messages`` (RFC 5322 and MIME,
with ``rendered_messages``, ``hostile_messages`` and ``mime_bombs``), ``sasl`` (RFC 4616,
RFC 5802 messages)."""
