"""IMAP4rev2 (RFC 9051) with IMAP4rev1 (RFC 3501) compatibility: the sans-IO core.

Implementation notes
====================

Layout. ``grammar`` (lexical rules, the ``Cursor`` over a framed command, the
``WireWriter``), ``grammar_values`` (flags, dates, mailbox names, sequence sets),
``grammar_search`` (search-key), ``grammar_fetch`` (fetch-att, section), ``grammar_body``
(envelope and body checks), ``values`` (the generic value model of ENVELOPE and
BODYSTRUCTURE), ``commands`` and ``responses``/``response_data`` (typed values),
``parser``/``parser_commands`` (server side) and ``parser_responses``/``parser_data``
(client side), ``serializer``/``serializer_fetch`` (server side) and
``serializer_commands`` (client side), ``framing`` (lines and literals), ``states`` (the
§3 diagram as tables), ``capabilities`` (what CAPABILITY and ENABLE change),
``sequence_sets`` (arithmetic), ``connection``/``client_connection``, ``limits``.

Decisions, with their sources:

- Literals are framed, never parsed: a line ending in ``{n}``, ``{n+}`` or ``~{n}`` is
  followed by n octets of data (RFC 9051 §2.2, RFC 7888 §3 "MUST check the end of every
  received line"); the parser receives the command as lines and literal data and takes
  the data whole when it reaches the header. Bytes inside a literal are never syntax.
- The "+" for a synchronizing literal is sent only when the core will read it: after the
  command's tag and name passed the state table (§2.2.1 note: reject "to prevent the
  client from sending any more of the command") and the size passed the limits. A
  synchronizing literal over the limit gets no "+": APPEND's message gets a tagged
  ``NO [TOOBIG]`` (RFC 7889 §4 "SHALL reject the APPEND command with a tagged TOOBIG
  response code"; RFC 4469 §3 lists TOOBIG under NO), any other literal a tagged
  ``BAD [LIMIT]`` (RFC 5530 LIMIT; RFC 2683 §3.2.1.5 answers an over-long command with
  BAD). The next line is then a new command.
- A non-synchronizing literal the server cannot take (over 4096 octets without LITERAL+,
  RFC 9051 §4.3 / RFC 7888 §5, or over the limits) is already on its way: the command gets
  a tagged BAD at once (with TOOBIG for APPEND, RFC 7888 §5 MUST) and the octets are read
  and dropped, with the rest of the command (RFC 7888 §4 choice 1), up to
  ``ImapLimits.discard_literal``; beyond that the answer is ``* BYE [TOOBIG]`` and the
  connection closes (choice 2; RFC 7888 §5 "SHOULD include the TOOBIG response code").
  There is no ``{n-}`` form: LITERAL- changes the size rule, not the syntax (RFC 7888 §5
  "the form of the non-synchronizing literal does not change").
- How large a non-synchronizing literal may be comes from the capabilities the server
  *sent* (CAPABILITY data or response code): LITERAL+ any size, LITERAL- or IMAP4rev2
  4096 octets.
- One command at a time on the server: the session completes a command before the next
  is read (RFC 9051 §5.5 allows sequential execution). The continuation exchanges inside
  AUTHENTICATE (``AuthenticateResponse``, §6.2.2) and IDLE (``IdleDone``, §6.3.13) are
  events of the command in progress.
- State moves only on responses the core sees (h11's rule): OK greeting → not
  authenticated, PREAUTH → authenticated, BYE → logout; tagged OK to LOGIN/AUTHENTICATE
  → authenticated; OK to SELECT/EXAMINE → selected, NO → authenticated (§6.3.2 "now in
  authenticated state"); OK to CLOSE/UNSELECT → authenticated; an unsolicited untagged
  ``[CLOSED]`` → authenticated (§3 transition 6); OK to STARTTLS → plaintext after it is
  dropped (§6.2.1 MUST, choice 2) until ``tls_established()``.
- Modes: ``ENABLED`` switches IMAP4rev2, UTF8=ACCEPT, CONDSTORE, QRESYNC on; IMAP4rev2
  is also in force on a server that offers IMAP4rev2 without IMAP4rev1 (Appendix E).
  UTF-8 mode (rev2 or UTF8=ACCEPT) sends mailbox names as UTF-8 and may quote UTF-8
  strings; otherwise names are modified UTF-7 (Appendix A.1) and 8-bit strings go as
  literals (RFC 6855 §3). Response text is 7-bit until IMAP4rev2 is in force (§9 text).
- Wrong state: tagged BAD naming the state the command needs (§3 "BAD or NO").
- Errors: ``ImapRemoteProtocolError.response`` is the exact response to send: untagged
  BAD when no tag can be read (§7.1.3), tagged BAD with "Expected X at octet N" otherwise,
  tagged NO [BADCHARSET] for an unknown SEARCH charset (§6.4.4 MUST). After
  ``ImapLimits.errors`` BAD responses the core appends a BYE.
- The serializer is strict: what the grammar cannot carry (CR in a text, NUL outside
  literal8, an EXPUNGE during FETCH, an 8-bit quoted string before ENABLE) is a
  ``LocalProtocolError``.
- rev1 forms are parsed and written (CHECK, LSUB, SEARCH and RECENT responses, RFC822.*
  items, NEW/OLD/RECENT keys, the UNSEEN code); which to send is the session's choice
  given ``Modes.rev2``.
"""
