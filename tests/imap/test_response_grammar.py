"""Response grammar corners (RFC 9051 §7, §9 and the extensions the core speaks): what
the strict serializer writes and the strict client parser reads, checked against the
ABNF of each RFC, case by case (the round trips over all values are in
test_roundtrip.py)."""

from __future__ import annotations

import pytest

from reference.imap.capabilities import Modes
from reference.imap.framing import ResponseReader
from reference.imap.limits import ImapLimits
from reference.imap.parser_responses import ResponseContext, parse_response
from reference.imap.response_data import EsearchData, VanishedData
from reference.imap.responses import CopyUid, Response, ResponseCode, ok
from reference.imap.sequence_sets import STAR, SequenceSet
from reference.imap.serializer import write_response
from reference.wire.buffer import ReceiveBuffer

REV1 = Modes(advertised=frozenset({"IMAP4REV1"}))
REV2 = Modes(advertised=frozenset({"IMAP4REV2"}))


def read(wire: bytes, modes: Modes = REV2) -> Response:
    buffer = ReceiveBuffer()
    buffer.feed(wire)
    segments = ResponseReader(ImapLimits()).read(buffer)
    assert segments is not None and not buffer
    return parse_response(segments, ResponseContext(modes))


# --- RFC 7162 §3.1.3 MODIFIED ------------------------------------------------------------


@pytest.mark.parametrize(("wire", "uids"), [
    (b"d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n", SequenceSet.of(7, 9)),
    (b"a1 OK [MODIFIED 5:*] Conditional STORE failed\r\n", SequenceSet.of((5, STAR))),
    (b"a1 OK [MODIFIED *] Conditional STORE failed\r\n", SequenceSet.of((STAR, STAR))),
    (b"a1 OK [MODIFIED *:4,9] Conditional STORE failed\r\n",
     SequenceSet.of((STAR, 4), 9)),
    (b"a1 OK [MODIFIED $] Conditional STORE failed\r\n", SequenceSet(last_result=True)),
])
def test_modified_carries_any_sequence_set(wire: bytes, uids: SequenceSet) -> None:
    """RFC 7162 §7: resp-text-code =/ "MODIFIED" SP sequence-set (erratum 3506), and RFC
    9051 §9: sequence-set = (seq-number / seq-range) ["," sequence-set], seq-number =
    nz-number / "*", sequence-set =/ seq-last-command; §3.1.3 MUST: "the server MUST
    return in the tagged response a MODIFIED response code". The client reads every form
    the grammar allows, and the serializer writes it back unchanged."""
    response = ok(wire.split(b" ")[0].decode(), "Conditional STORE failed",
                  ResponseCode.MODIFIED, uids)
    assert read(wire) == response
    assert write_response(response, REV1) == wire


_MANY = SequenceSet.of(*range(1, 2 * 20_001, 2))     # 20,001 ranges


@pytest.mark.parametrize("response", [
    ok("a1", "Conditional STORE failed", ResponseCode.MODIFIED, _MANY),
    ok("a1", "done", ResponseCode.COPYUID, CopyUid(7, _MANY, _MANY)),
    VanishedData(_MANY, earlier=True),
    EsearchData("a1", uid=True, all=_MANY),
], ids=["MODIFIED", "COPYUID", "VANISHED", "ESEARCH"])
def test_response_sets_with_more_ranges_than_a_command_may_carry_are_read(
        response: Response) -> None:
    """RFC 7162 §3.1.3: MODIFIED lists "all messages that failed the UNCHANGEDSINCE test"
    (likewise COPYUID, RFC 4315 §3; VANISHED, RFC 7162 §3.2.10; ESEARCH ALL, RFC 4731
    §3.1): a set in a response is bounded by the response line
    (ImapLimits.response_line), not by the server's bound on what a command may ask
    (ImapLimits.sequence_set_ranges)."""
    assert read(write_response(response, REV2)) == response
