"""Deterministic generated messages for the IMAP benchmarks, with known search hits.

Message ``i`` depends only on the seed and on ``i`` (each has its own random generator),
so any message can be made again without the ones before it, and two runs with the same
seed store byte-identical mailboxes in every server.

Sizes are mixed like real mail: ~60% plain text of 1-4 KiB, ~30% plain text of 4-32 KiB,
~10% multipart/mixed with a short text part and a 16-128 KiB base64 attachment
(~17 KiB on average). ~70% are \\Seen (~8% \\Seen \\Answered), the rest have no flag.
Every Subject is unique (it ends with ``#i``); Date and INTERNALDATE are 7 minutes apart.

Marker words with hit counts known in advance (``Markers.expected``):
  SUBJECT_RARE  in the Subject of 10 messages spread over the mailbox
  BODY_RARE     in the body (text part) of 10 other messages
  BODY_COMMON   in the body of every third message (i % 3 == 0)
They are long words that no other text contains, not even as a substring (IMAP SEARCH
matches substrings, RFC 9051 §6.4.4), and that random base64 is vanishingly unlikely to
contain (10+ letters: under 1e-5 for a 1.6 GiB mailbox even when searched undecoded).
"""

from __future__ import annotations

import base64
import random
import time
from dataclasses import dataclass
from email.utils import formatdate

SUBJECT_RARE = "periwinkle"
BODY_RARE = "harpsichord"
BODY_COMMON = "milestones"
RARE_HITS = 10

_WORDS = """
    account agenda alpha approval archive backlog balance benchmark board branch budget
    calendar change client coffee commit contract cost customer dashboard data deadline
    delivery deploy design detail draft estimate feedback figure file forecast goal handover
    holiday invoice issue kickoff launch ledger lunch memo merge metric minutes network
    office onboarding order outage owner payroll plan policy priority proposal quarter quote
    release report request review risk roadmap sales schedule server shipment signoff slide
    sprint staffing status summary supplier survey team ticket timeline training travel
    update vendor version weekly workshop please thanks regards attached confirm today
    tomorrow monday friday soon later again about after before during with without from into
    over under the a an and or but if we you they it is are was will can should could would
    might must not only also
"""
_VOCABULARY = tuple(_WORDS.split())
_NAMES = ("Ada", "Basil", "Cleo", "Dmitri", "Esme", "Farid", "Greta", "Hugo", "Ines",
          "Jonas", "Kira", "Lars", "Mina", "Nils", "Odile", "Pavel", "Quinn", "Rosa",
          "Soren", "Tilde", "Ugo", "Vera", "Wim", "Yara")
_FIRST_DATE = 1672531200           # 2023-01-01 00:00:00 UTC
_DATE_STEP = 7 * 60                # seconds between two messages
_LINE_POOL_SIZE = 2048

for _marker in (SUBJECT_RARE, BODY_RARE, BODY_COMMON):
    # The hit counts are only known if no other word contains a marker.
    assert not any(_marker in word for word in (*_VOCABULARY, *_NAMES)), _marker


@dataclass(frozen=True)
class Markers:
    """Which of ``count`` messages carry which marker, and how many hits each search has."""

    count: int

    def _rare(self, index: int, phase: int) -> bool:
        # RARE_HITS messages, evenly spread; ``phase`` keeps the subject and body sets apart.
        stride = max(1, self.count // RARE_HITS)
        offset = stride * phase // 3
        return index % stride == offset and index // stride < RARE_HITS

    def subject_rare(self, index: int) -> bool:
        return self._rare(index, 1)

    def body_rare(self, index: int) -> bool:
        return self._rare(index, 2)

    @staticmethod
    def body_common(index: int) -> bool:
        return index % 3 == 0

    def expected(self) -> dict[str, int]:
        """Hits of each marker among messages 0..count-1."""
        indexes = range(self.count)
        return {
            "subject_rare": sum(map(self.subject_rare, indexes)),
            "body_rare": sum(map(self.body_rare, indexes)),
            "body_common": sum(map(self.body_common, indexes)),
        }


@dataclass(frozen=True)
class GeneratedMessage:
    index: int
    content: bytes
    flags: str                       # e.g. "\\Seen \\Answered", or ""
    internal_date: str               # RFC 9051 date-time, "07-Mar-2023 10:21:00 +0000"


class MessageFactory:
    """Makes message ``i`` of a mailbox whose markers are placed by ``markers``."""

    def __init__(self, markers: Markers, seed: int = 1) -> None:
        self.markers = markers
        self.seed = seed
        pool_random = random.Random(seed)
        # Lines drawn from a pool keep generation cheap next to what the server does.
        self._lines = tuple(" ".join(pool_random.choices(_VOCABULARY,
                                                         k=pool_random.randint(5, 13)))
                            for _ in range(_LINE_POOL_SIZE))
        self._average_line = sum(len(line) + 2 for line in self._lines) / len(self._lines)

    def _random(self, index: int) -> random.Random:
        return random.Random((self.seed << 40) | index)

    @staticmethod
    def _flags(draw: float) -> str:
        if draw < 0.08:
            return "\\Seen \\Answered"
        return "\\Seen" if draw < 0.70 else ""

    def flags(self, index: int) -> str:
        """Message ``index``'s flags, without making the message (the first draw)."""
        return self._flags(self._random(index).random())

    def seen_count(self, count: int) -> int:
        return sum(1 for index in range(count) if "\\Seen" in self.flags(index))

    def message(self, index: int) -> GeneratedMessage:
        rng = self._random(index)
        flags = self._flags(rng.random())          # first draw: see flags()
        timestamp = _FIRST_DATE + index * _DATE_STEP
        sender, recipient = rng.sample(_NAMES, 2)
        subject = " ".join(rng.choices(_VOCABULARY, k=rng.randint(2, 7)))
        if self.markers.subject_rare(index):
            subject += " " + SUBJECT_RARE
        if rng.random() < 0.2:
            subject = "Re: " + subject
        header = (f"From: {sender} <{sender.lower()}@example.test>\r\n"
                  f"To: {recipient} <{recipient.lower()}@example.test>\r\n"
                  f"Subject: {subject} #{index}\r\n"
                  f"Date: {formatdate(timestamp, usegmt=True)}\r\n"
                  f"Message-ID: <bench-{self.seed}-{index}@example.test>\r\n"
                  "MIME-Version: 1.0\r\n")
        kind = rng.random()
        if kind < 0.9:
            size = rng.randint(1024, 4096) if kind < 0.6 else rng.randint(4096, 32768)
            content = (header + "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                       + self._text(rng, size, index)).encode("ascii")
        else:
            content = self._multipart(rng, header, index)
        internal_date = time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(timestamp))
        return GeneratedMessage(index, content, flags, internal_date)

    def _text(self, rng: random.Random, size: int, index: int) -> str:
        lines = rng.choices(self._lines, k=max(2, round(size / self._average_line)))
        if self.markers.body_common(index):
            lines.insert(rng.randrange(len(lines)), f"the {BODY_COMMON} were reviewed")
        if self.markers.body_rare(index):
            lines.insert(rng.randrange(len(lines)), f"bring the {BODY_RARE} on friday")
        return "\r\n".join(lines) + "\r\n"

    def _multipart(self, rng: random.Random, header: str, index: int) -> bytes:
        boundary = f"=_part_{self.seed}_{index}"
        attachment = base64.encodebytes(rng.randbytes(rng.randint(16384, 131072)))
        return (header + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                + self._text(rng, 800, index)
                + f"--{boundary}\r\n"
                f'Content-Type: application/octet-stream; name="file{index}.bin"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") \
            + attachment.replace(b"\n", b"\r\n") + f"--{boundary}--\r\n".encode("ascii")
