"""Command syntax, example by example (RFC 9051 §6 and §9 formal syntax, the extensions
the core folds in). Each input is what a client puts on the wire; the expected value is
the typed command, or the response the core answers with."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from reference.imap.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Command,
    Create,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    List,
    ListReturnOption,
    ListSelectOption,
    Login,
    Lsub,
    Move,
    QresyncParameters,
    Search,
    SearchReturnOption,
    Select,
    Status,
    StatusAtt,
    Store,
    StoreAction,
)
from reference.imap.grammar_fetch import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchAtt,
    FetchAttName,
    FetchMacro,
    Partial,
    Section,
    SectionText,
    SimpleAtt,
)
from reference.imap.grammar_search import (
    DateKey,
    DateKeyName,
    GroupKey,
    HeaderKey,
    KeywordKey,
    ModSeqKey,
    NotKey,
    OrKey,
    SequenceKey,
    SimpleKey,
    SimpleKeyName,
    SizeKey,
    SizeKeyName,
    TextKey,
    TextKeyName,
    UidKey,
)
from reference.imap.limits import ImapLimits
from reference.imap.responses import (
    Condition,
    EnabledData,
    ResponseCode,
    StatusResponse,
    ok,
)
from reference.imap.sequence_sets import STAR, SequenceSet
from reference.imap.states import State

from .helpers import REV1, REV1_LITERAL_PLUS, REV2, events, fed_three_ways, server

ALL = SimpleKey(SimpleKeyName.ALL)


def parse(data: bytes, state: State = State.SELECTED,
          capabilities: tuple[str, ...] = REV1_LITERAL_PLUS,
          limits: ImapLimits | None = None) -> Command | StatusResponse:
    """The one event (or refusal) ``data`` gives, checked fed whole, byte by byte and
    with trailing data (h11's ``tr()``)."""
    def make() -> object:
        return server(state, capabilities, limits)
    results = fed_three_ways(make, data)
    assert results[0] == results[1] == results[2], results
    assert len(results[0]) == 1, results[0]
    item = results[0][0]
    if isinstance(item, tuple):
        response = item[1]
        assert isinstance(response, StatusResponse)
        return response
    assert not isinstance(item, StatusResponse)
    return item  # type: ignore[return-value]


def bad(data: bytes, state: State = State.SELECTED, **kwargs: object) -> StatusResponse:
    result = parse(data, state, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, StatusResponse) and result.condition is Condition.BAD, result
    return result


# --- lexical rules ---------------------------------------------------------------------


def test_command_names_and_keywords_are_case_insensitive() -> None:
    """RFC 9051 §9 note 1: "Implementations MUST accept these strings in a
    case-insensitive fashion."""
    assert parse(b"a1 fetch 1 (flags body.peek[header.fields (subject)])\r\n") == Fetch(
        "a1", SequenceSet.of(1), (SimpleAtt(FetchAttName.FLAGS), BodySection(
            Section((), SectionText.HEADER_FIELDS, ("subject",)), peek=True)))


def test_sp_is_exactly_one_space() -> None:
    """RFC 9051 §9 note 2: "SP refers to exactly one space."""
    assert bad(b"a1  NOOP\r\n").tag == "a1"
    assert bad(b"a1 SELECT  INBOX\r\n").tag == "a1"
    assert bad(b"a1 NOOP \r\n").tag == "a1"


def test_quoted_strings_with_escapes() -> None:
    """RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; "\\" quoted-specials."""
    assert parse(b'a1 LOGIN "al\\"ice" "p\\\\w"\r\n', State.NOT_AUTHENTICATED) == Login(
        "a1", 'al"ice', "p\\w")


def test_an_escape_of_another_character_is_bad() -> None:
    """QUOTED-CHAR allows only "\\" followed by DQUOTE or "\\"."""
    assert bad(b'a1 LOGIN "a\\x" pw\r\n', State.NOT_AUTHENTICATED).tag == "a1"


def test_atom_astring_and_literal_forms_of_one_argument() -> None:
    """astring = 1*ASTRING-CHAR / string: the same value three ways; "]" is an
    ASTRING-CHAR (resp-specials), not an ATOM-CHAR."""
    for wire in (b"a1 LOGIN al]ce pw\r\n", b'a1 LOGIN "al]ce" pw\r\n',
                 b"a1 LOGIN {5+}\r\nal]ce pw\r\n"):
        assert parse(wire, State.NOT_AUTHENTICATED) == Login("a1", "al]ce", "pw")


def test_atom_specials_are_not_astring_chars() -> None:
    for wire in (b"a1 LOGIN al(ce pw\r\n", b"a1 LOGIN al%ce pw\r\n", b"a1 LOGIN al*ce pw\r\n"):
        assert bad(wire, State.NOT_AUTHENTICATED).tag == "a1"


def test_tag_excludes_plus() -> None:
    """RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">."""
    assert bad(b"a+1 NOOP\r\n").tag is None


def test_eight_bit_quoted_string_only_in_utf8_mode() -> None:
    """RFC 6855 §3: UTF-8 in quoted strings after UTF8=ACCEPT / IMAP4rev2; mailbox names
    in modified UTF-7 before (RFC 9051 Appendix A.1)."""
    assert parse('a1 SELECT "Entwürfe"\r\n'.encode(), State.AUTHENTICATED, REV2) == Select(
        "a1", "Entwürfe")
    assert bad('a1 SELECT "Entwürfe"\r\n'.encode(), State.AUTHENTICATED,
               capabilities=REV1).tag == "a1"
    assert parse(b"a1 SELECT Entw&APw-rfe\r\n", State.AUTHENTICATED, REV1) == Select(
        "a1", "Entwürfe")


def test_invalid_utf8_is_bad() -> None:
    """RFC 6855 §3 MUST: reject "any octet sequences with the high bit set that fail to
    comply with the formal syntax requirements of UTF-8" with BAD."""
    assert bad(b'a1 SELECT "\xc3("\r\n', State.AUTHENTICATED, capabilities=REV2).tag == "a1"


def test_inbox_is_case_insensitive() -> None:
    """RFC 9051 §9 mailbox: "All case variants of INBOX (e.g., "iNbOx") MUST be
    interpreted as INBOX"."""
    for wire in (b"a1 SELECT iNbOx\r\n", b'a1 SELECT "inbox"\r\n'):
        assert parse(wire, State.AUTHENTICATED) == Select("a1", "INBOX")
    assert parse(b"a1 SELECT INBOX.sub\r\n", State.AUTHENTICATED) == Select("a1", "INBOX.sub")


# --- §6.1-6.2 --------------------------------------------------------------------------


def test_id_with_parameters_and_nil() -> None:
    """RFC 2971 §3.1 id ::= "ID" SPACE id_params_list."""
    assert parse(b'a1 ID ("name" "x" "version" NIL)\r\n') == Id(
        "a1", (("name", "x"), ("version", None)))
    assert parse(b"a1 ID NIL\r\n") == Id("a1", None)


def test_id_limits() -> None:
    """RFC 2971 §3.3: "Field strings MUST NOT be longer than 30 octets" and at most 30
    field-value pairs."""
    assert bad(b'a1 ID ("' + b"k" * 31 + b'" "v")\r\n').tag == "a1"
    assert bad(b"a1 ID (" + b" ".join(b'"k%d" "v"' % i for i in range(31)) + b")\r\n").tag


def test_authenticate_with_and_without_initial_response() -> None:
    """RFC 9051 §6.2.2 (SASL-IR): initial-resp = (base64 / "="); "=" is a zero-length
    initial response (MUST)."""
    na = State.NOT_AUTHENTICATED
    assert parse(b"a1 AUTHENTICATE PLAIN\r\n", na) == Authenticate("a1", "PLAIN")
    assert parse(b"a1 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n", na) == Authenticate(
        "a1", "PLAIN", b"\x00alice\x00pw")
    assert parse(b"a1 AUTHENTICATE EXTERNAL =\r\n", na) == Authenticate("a1", "EXTERNAL", b"")
    for wire in (b"a1 AUTHENTICATE PLAIN AGFs=aWNl\r\n", b"a1 AUTHENTICATE PLAIN ==\r\n",
                 b"a1 AUTHENTICATE PLAIN QQ\r\n"):
        assert bad(wire, na).tag == "a1"


# --- §6.3 ----------------------------------------------------------------------------


def test_enable_takes_at_least_one_capability() -> None:
    """RFC 9051 §6.3.1: enable = "ENABLE" 1*(SP capability)."""
    assert parse(b"a1 ENABLE CONDSTORE UTF8=ACCEPT\r\n", State.AUTHENTICATED) == Enable(
        "a1", ("CONDSTORE", "UTF8=ACCEPT"))
    assert bad(b"a1 ENABLE\r\n", State.AUTHENTICATED).tag == "a1"


def test_select_params_condstore_and_qresync() -> None:
    """RFC 7162 §3.1.8 CONDSTORE and §3.2.5 QRESYNC select-params."""
    auth = State.AUTHENTICATED
    assert parse(b"a1 SELECT INBOX (CONDSTORE)\r\n", auth) == Select("a1", "INBOX", True)
    assert parse(b"a1 EXAMINE x (QRESYNC (67890007 20050715194045000 41,43:211,214:541 "
                 b"(1:7 100:106)))\r\n", auth) == Examine(
        "a1", "x", qresync=QresyncParameters(
            67890007, 20050715194045000, SequenceSet.of(41, (43, 211), (214, 541)),
            (SequenceSet.of((1, 7)), SequenceSet.of((100, 106)))))
    assert bad(b"a1 SELECT INBOX (FROB)\r\n", auth).tag == "a1"
    assert bad(b"a1 SELECT INBOX (QRESYNC (1 0))\r\n", auth).tag == "a1"   # modseq > 0


def test_create_with_special_use() -> None:
    """RFC 6154 §3: CREATE mailbox (USE (use-attr ...))."""
    assert parse(b"a1 CREATE Sent (USE (\\Sent))\r\n", State.AUTHENTICATED) == Create(
        "a1", "Sent", ("\\Sent",))
    assert bad(b"a1 CREATE Sent (USE (Sent))\r\n", State.AUTHENTICATED).tag == "a1"


def test_list_basic_and_extended() -> None:
    """RFC 9051 §6.3.9: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    [SP list-return-opts]."""
    auth = State.AUTHENTICATED
    assert parse(b'a1 LIST "" %\r\n', auth) == List("a1", "", "%")
    assert parse(b'a1 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" Archive/*) '
                 b"RETURN (CHILDREN STATUS (MESSAGES UIDNEXT))\r\n", auth) == List(
        "a1", "", ("INBOX", "Archive/*"),
        (ListSelectOption.SUBSCRIBED, ListSelectOption.RECURSIVEMATCH),
        (ListReturnOption.CHILDREN,), (StatusAtt.MESSAGES, StatusAtt.UIDNEXT))
    assert List("a1", "", ("%",)).extended and not List("a1", "", "%").extended


def test_list_option_rules() -> None:
    """RFC 9051 §6.3.9: "A server MUST respond to options it does not recognize with a
    BAD response"; §6.3.9.1: RECURSIVEMATCH needs a base option."""
    auth = State.AUTHENTICATED
    assert bad(b'a1 LIST (FROB) "" %\r\n', auth).tag == "a1"
    assert bad(b'a1 LIST (RECURSIVEMATCH) "" %\r\n', auth).tag == "a1"
    assert bad(b'a1 LIST "" % RETURN (FROB)\r\n', auth).tag == "a1"


def test_lsub_and_status() -> None:
    auth = State.AUTHENTICATED
    assert parse(b'a1 LSUB "" *\r\n', auth) == Lsub("a1", "", "*")
    assert parse(b"a1 STATUS blurdybloop (UIDNEXT MESSAGES SIZE)\r\n", auth) == Status(
        "a1", "blurdybloop", (StatusAtt.UIDNEXT, StatusAtt.MESSAGES, StatusAtt.SIZE))
    assert bad(b"a1 STATUS x ()\r\n", auth).tag == "a1"
    assert bad(b"a1 STATUS x (FROB)\r\n", auth).tag == "a1"


def test_append_with_flags_and_date_time() -> None:
    """RFC 9051 §6.3.12: APPEND mailbox [SP flag-list] [SP date-time] SP literal."""
    wire = (b'a1 APPEND saved-messages (\\Seen $Junk) " 7-Feb-1994 21:52:25 -0800" {5+}\r\n'
            b"hello\r\n")
    assert parse(wire, State.AUTHENTICATED) == Append("a1", "saved-messages", (AppendMessage(
        b"hello", ("\\Seen", "$Junk"),
        datetime(1994, 2, 7, 21, 52, 25, tzinfo=timezone(-timedelta(hours=8)))),))


def test_multiappend() -> None:
    """RFC 3502 §6.3.11: 1*append-message."""
    wire = b"a1 APPEND x {1+}\r\na () {1+}\r\nb\r\n"
    assert parse(wire, State.AUTHENTICATED) == Append(
        "a1", "x", (AppendMessage(b"a"), AppendMessage(b"b", ())))


def test_append_date_time_must_exist_and_be_well_formed() -> None:
    auth = State.AUTHENTICATED
    assert bad(b'a1 APPEND x "30-Feb-1994 21:52:25 -0800" {1+}\r\na\r\n', auth).tag == "a1"
    assert bad(b'a1 APPEND x "7-Feb-1994 21:52:25 -0800" {1+}\r\na\r\n', auth).tag == "a1"
    assert bad(b"a1 APPEND x\r\n", auth).tag == "a1"


def test_system_flags_are_spelled_canonically() -> None:
    """RFC 9051 §9 note 1: system flags are case-insensitive."""
    command = parse(b"a1 STORE 1 FLAGS \\seen \\DELETED kw\r\n")
    assert isinstance(command, Store) and command.flags == ("\\Seen", "\\Deleted", "kw")


# --- §6.4 ----------------------------------------------------------------------------


def test_store_forms() -> None:
    """RFC 9051 §6.4.6 store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list /
    (flag *(SP flag))); RFC 7162 §3.1.3 UNCHANGEDSINCE."""
    assert parse(b"a1 STORE 2:4 +FLAGS (\\Deleted)\r\n") == Store(
        "a1", SequenceSet.of((2, 4)), StoreAction.ADD, ("\\Deleted",))
    assert parse(b"a1 UID STORE 1 -FLAGS.SILENT \\Seen $Junk\r\n") == Store(
        "a1", SequenceSet.of(1), StoreAction.REMOVE, ("\\Seen", "$Junk"), silent=True,
        uid=True)
    assert parse(b"a1 STORE 1 (UNCHANGEDSINCE 0) FLAGS ()\r\n") == Store(
        "a1", SequenceSet.of(1), StoreAction.REPLACE, (), unchangedsince=0)
    assert bad(b"a1 STORE 1 *FLAGS (\\Seen)\r\n").tag == "a1"
    assert bad(b"a1 STORE 1 FLAGS.LOUD (\\Seen)\r\n").tag == "a1"


def test_fetch_macros_atts_and_modifiers() -> None:
    """RFC 9051 §6.4.5 (ALL/FAST/FULL, fetch-att); RFC 7162 CHANGEDSINCE, VANISHED."""
    assert parse(b"a1 FETCH 2:4 ALL\r\n") == Fetch("a1", SequenceSet.of((2, 4)),
                                                    FetchMacro.ALL)
    assert parse(b"a1 FETCH 1 BODYSTRUCTURE\r\n") == Fetch(
        "a1", SequenceSet.of(1), (SimpleAtt(FetchAttName.BODYSTRUCTURE),))
    assert parse(b"a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n") == Fetch(
        "a1", SequenceSet.of((1, STAR)), (SimpleAtt(FetchAttName.FLAGS),), uid=True,
        changedsince=12345, vanished=True)
    # RFC 7162 §3.2.6 MUST: VANISHED "MUST only be specified together with the
    # CHANGEDSINCE UID FETCH modifier" (and only for UID FETCH).
    assert bad(b"a1 UID FETCH 1 FLAGS (VANISHED)\r\n").tag == "a1"
    assert bad(b"a1 FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n").tag == "a1"


@pytest.mark.parametrize(("wire", "att"), [
    (b"BODY[]", BodySection()),
    (b"BODY.PEEK[HEADER]", BodySection(Section((), SectionText.HEADER), peek=True)),
    (b"BODY[1.2.MIME]", BodySection(Section((1, 2), SectionText.MIME))),
    (b"BODY[3.TEXT]<0.2048>", BodySection(Section((3,), SectionText.TEXT),
                                          partial=Partial(0, 2048))),
    (b"BODY[HEADER.FIELDS.NOT (To \"X-Y\")]",
     BodySection(Section((), SectionText.HEADER_FIELDS_NOT, ("To", "X-Y")))),
    (b"BINARY.PEEK[1]<5.10>", BinarySection((1,), peek=True, partial=Partial(5, 10))),
    (b"BINARY.SIZE[2]", BinarySize((2,))),
    (b"RFC822.HEADER", SimpleAtt(FetchAttName.RFC822_HEADER)),
    (b"MODSEQ", SimpleAtt(FetchAttName.MODSEQ)),
])
def test_fetch_sections_and_partials(wire: bytes, att: FetchAtt) -> None:
    """RFC 9051 §9 section, section-binary, partial = "<" number64 "." nz-number64 ">"."""
    assert parse(b"a1 FETCH 1 (" + wire + b")\r\n") == Fetch("a1", SequenceSet.of(1), (att,))


@pytest.mark.parametrize("wire", [b"BODY[MIME]", b"BODY[0]", b"BODY[1.0]", b"BODY[]<0.0>",
                                  b"BODY[HEADER.FIELDS ()]", b"BODY[HEADER.FIELDS (a:b)]",
                                  b"BODY[1.4294967296]", b"BODY[TEXT", b"FROB", b"BINARY[TEXT]"])
def test_bad_fetch_atts(wire: bytes) -> None:
    """MIME needs a section-part; section-part numbers are nz-number; a partial's length
    is nz-number64; a header-list holds at least one field name (RFC 5322 ftext)."""
    assert bad(b"a1 FETCH 1 (" + wire + b")\r\n").tag == "a1"


def test_search_key_grammar() -> None:
    """RFC 9051 §6.4.4: OR, NOT, parentheses, sequence sets, dates, sizes, HEADER,
    KEYWORD, UID, and RFC 7162's MODSEQ."""
    wire = (b'a1 SEARCH OR (FROM "Smith" SINCE 1-Feb-1994) NOT UNSEEN 2:4,* '
            b'HEADER X-Mailer "mutt" LARGER 4294967296 KEYWORD $Junk UID 1:5 '
            b'MODSEQ "/flags/\\\\Draft" all 620162338\r\n')
    assert parse(wire) == Search("a1", (
        OrKey(GroupKey((TextKey(TextKeyName.FROM, "Smith"),
                        DateKey(DateKeyName.SINCE, date(1994, 2, 1)))),
              NotKey(SimpleKey(SimpleKeyName.UNSEEN))),
        SequenceKey(SequenceSet(((2, 4), (STAR, STAR)))),
        HeaderKey("X-Mailer", "mutt"), SizeKey(SizeKeyName.LARGER, 4294967296),
        KeywordKey("$Junk"), UidKey(SequenceSet.of((1, 5))),
        ModSeqKey(620162338, "/flags/\\Draft", "all")))


def test_search_return_options_and_charset() -> None:
    """RFC 9051 §6.4.4: search-return-opts; CHARSET; "$" (§6.4.4.1)."""
    assert parse(b"a1 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 TEXT x $\r\n") == Search(
        "a1", (TextKey(TextKeyName.TEXT, "x"), SequenceKey(SequenceSet(last_result=True))),
        "UTF-8", (SearchReturnOption.MIN, SearchReturnOption.COUNT), uid=True)
    assert parse(b"a1 SEARCH RETURN () ALL\r\n") == Search("a1", (ALL,), None, ())
    # §6.4.4 MUST: "Any options not defined by extensions that the server supports MUST
    # be rejected with a BAD response."
    assert bad(b"a1 SEARCH RETURN (FROB) ALL\r\n").tag == "a1"


def test_search_charset_literal_is_decoded_in_that_charset() -> None:
    assert parse(b"a1 SEARCH CHARSET ISO-8859-1 SUBJECT {3+}\r\n\xe9t\xe9\r\n") == Search(
        "a1", (TextKey(TextKeyName.SUBJECT, "été"),), "ISO-8859-1")


def test_unknown_search_charset_is_no_badcharset() -> None:
    """RFC 9051 §6.4.4 MUST: "If the server does not support the specified [CHARSET], it
    MUST return a tagged NO response (not a BAD). This response SHOULD contain the
    BADCHARSET response code"."""
    response = parse(b"a1 SEARCH CHARSET KOI9-X TEXT abc\r\n")
    assert isinstance(response, StatusResponse)
    assert (response.condition, response.code, response.tag) == (
        Condition.NO, ResponseCode.BADCHARSET, "a1")


def test_search_charset_after_utf8_accept_is_bad() -> None:
    """RFC 6855 §3 SHOULD: a SEARCH with CHARSET after ENABLE UTF8=ACCEPT "SHOULD reject
    the command with a "BAD" response"; without it, CHARSET UTF-8 is fine."""
    conn = server(State.AUTHENTICATED, ("IMAP4rev1", "UTF8=ACCEPT"))
    conn.receive_data(b"e1 ENABLE UTF8=ACCEPT\r\n")
    assert conn.next_event() == Enable("e1", ("UTF8=ACCEPT",))
    conn.send(EnabledData(("UTF8=ACCEPT",)))
    conn.send(ok("e1", "enabled"))
    assert events(conn, b"s1 SELECT INBOX\r\n") == [Select("s1", "INBOX")]
    result = events(conn, b"a1 SEARCH CHARSET UTF-8 ALL\r\n")
    assert isinstance(result[0], tuple) and result[0][1].condition is Condition.BAD
    assert parse(b"a1 SEARCH CHARSET UTF-8 ALL\r\n") == Search("a1", (ALL,), "UTF-8")


@pytest.mark.parametrize("wire", [b"a1 SEARCH\r\n", b"a1 SEARCH FROB\r\n",
                                  b"a1 SEARCH OR ALL\r\n", b"a1 SEARCH (ALL\r\n",
                                  b"a1 SEARCH ()\r\n", b"a1 SEARCH SINCE 1-Fob-1994\r\n",
                                  b"a1 SEARCH HEADER \"a:b\" x\r\n",
                                  b"a1 SEARCH LARGER 99999999999999999999\r\n"])
def test_bad_search_programs(wire: bytes) -> None:
    assert bad(wire).tag == "a1"


def test_search_nesting_is_bounded() -> None:
    """ImapLimits.nesting against "((((..." and "NOT NOT NOT ..." bombs."""
    limits = ImapLimits(nesting=8)
    assert parse(b"a1 SEARCH " + b"(" * 8 + b"ALL" + b")" * 8 + b"\r\n", limits=limits) == (
        Search("a1", (_nested(8),)))
    assert bad(b"a1 SEARCH " + b"(" * 9 + b"ALL" + b")" * 9 + b"\r\n", limits=limits).tag
    assert bad(b"a1 SEARCH " + b"NOT " * 9 + b"ALL\r\n", limits=limits).tag == "a1"


def _nested(depth: int) -> GroupKey:
    key: GroupKey | SimpleKey = ALL
    for _ in range(depth):
        key = GroupKey((key,))
    assert isinstance(key, GroupKey)
    return key


def test_sequence_set_size_is_bounded() -> None:
    """ImapLimits.sequence_set_ranges (RFC 2683 §3.2.1.5 asks clients for ranges)."""
    limits = ImapLimits(sequence_set_ranges=100)
    numbers = b",".join(b"%d" % i for i in range(1, 101))
    assert isinstance(parse(b"a1 FETCH " + numbers + b" FLAGS\r\n", limits=limits), Fetch)
    assert bad(b"a1 FETCH " + numbers + b",101 FLAGS\r\n", limits=limits).tag == "a1"


def test_copy_move_and_uid_expunge() -> None:
    """RFC 9051 §6.4.7-6.4.9; UID EXPUNGE takes a sequence set (RFC 4315)."""
    assert parse(b"a1 UID MOVE 1:3 Trash\r\n") == Move("a1", SequenceSet.of((1, 3)), "Trash",
                                                         uid=True)
    assert parse(b"a1 UID EXPUNGE 3:5\r\n") == Expunge("a1", SequenceSet.of((3, 5)), uid=True)
    assert parse(b"a1 EXPUNGE\r\n") == Expunge("a1")
    assert bad(b"a1 EXPUNGE 1\r\n").tag == "a1"
    assert bad(b"a1 UID NOOP\r\n").tag == "a1"
    assert bad(b"a1 COPY 0 Trash\r\n").tag == "a1"
