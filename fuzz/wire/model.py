"""What the wire fuzzer sends and what it finds: steps, programs, findings, replay files.

A *program* is one session with the target: a list of ``Step``s, each the bytes of one
rule (a valid command, or one drawn from a hostile family) with the family's name.
Hypothesis draws programs and shrinks a failing one by dropping steps and simplifying
their bytes; the executor (``fuzz.wire.smtp`` / ``fuzz.wire.imap``) sends them, reads
every response strictly with the conformance drivers and checks it against the session
state, and raises ``Finding`` when the target breaks a rule.

A replay file (JSON) holds the protocol, the program and the finding; ``rfcmail fuzz
--replay FILE --target ...`` runs the program again.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

# lost: a message acknowledged (250 after the data) and not stored; smuggled: a message
# stored that the client never sent as one (a smuggled end of data); refused_stored: a
# message refused after its data (4yz/5yz) and stored all the same.
FindingKind = Literal["hang", "crash", "closed", "grammar", "state", "lost", "smuggled",
                      "refused_stored"]
FINDING_KINDS: tuple[FindingKind, ...] = ("hang", "crash", "closed", "grammar", "state",
                                          "lost", "smuggled", "refused_stored")

REPLAY_SCHEMA = 1


@dataclass(frozen=True)
class Step:
    """One rule's bytes. ``family`` names the rule ("valid", "one_byte_off", ...)."""

    family: str
    data: bytes
    # Extra bytes some rules send at a later point (the message of a transaction, the
    # commands injected after STARTTLS): interpreted by the protocol's executor.
    extra: bytes = b""
    # How the executor sends them, where a family has several ways (STARTTLS injection:
    # "same-segment", "before-reply", "before-handshake"; a BDAT lie: the declared size).
    variant: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"family": self.family, "data": _b64(self.data)}
        if self.extra:
            out["extra"] = _b64(self.extra)
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Step:
        return cls(value["family"], base64.b64decode(value["data"]),
                   base64.b64decode(value.get("extra", "")), value.get("variant", ""))

    @property
    def size(self) -> int:
        return len(self.data) + len(self.extra)


Program = list[Step]


def one_family_of(*families: SearchStrategy[Step]) -> SearchStrategy[Step]:
    """A step of one of ``families``, each family as likely as the next. (``st.one_of``
    would not do: it flattens a family that is itself a ``one_of`` (every IMAP command
    type of the valid family, each hostile shape) into branches of its own, and that
    family then takes most of the draws.)"""
    return st.sampled_from(families).flatmap(lambda family: family)


class Finding(Exception):
    """The target broke a rule: ``kind`` (``FINDING_KINDS``), what happened with its RFC,
    the transcript of the session so far, and the family of the step being run (set by
    the executor; "" for the connection's opening)."""

    def __init__(self, kind: FindingKind, message: str, transcript: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.transcript = transcript
        self.family = ""

    @property
    def key(self) -> str:
        """What makes two findings the same: kind, step family, and the message with
        the bytes, numbers and quoted texts that vary from case to case left out."""
        return f"{self.kind}/{self.family or '-'}/{signature(self.message)}"


# Escaped bytes (b'...', b"..."), quoted texts ("..." before '...', which an apostrophe
# inside a double-quoted text would otherwise open) and numbers.
_VARYING = re.compile(r"""b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*"|"[^"]*"|'[^']*'"""
                      r"""|[0-9]+(?:\.[0-9]+)?""")


def signature(message: str) -> str:
    """``message`` without what varies between cases of one finding (see Finding.key)."""
    return _VARYING.sub("_", message.split(" (RFC", 1)[0])[:120]


@dataclass
class Failure:
    """A failing program, as found (and shrunk) by a run."""

    protocol: str
    program: Program
    finding: Finding
    reproduced: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[int, int]:
        return (len(self.program), sum(step.size for step in self.program))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_replay(path: Path, failure: Failure, *, target: str, seed: int | None) -> None:
    document = {
        "schema": REPLAY_SCHEMA,
        "protocol": failure.protocol,
        "target": target,
        "seed": seed,
        "finding": {"kind": failure.finding.kind, "message": failure.finding.message,
                    "family": failure.finding.family, "key": failure.finding.key},
        "reproduced": failure.reproduced,
        "steps": [step.to_json() for step in failure.program],
        # For people: every step's bytes, escaped (the "steps" are what replay sends).
        "steps_text": [f"{step.family}: {step.data!r}" + (f" + {step.extra!r}"
                                                          if step.extra else "")
                       for step in failure.program],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read_replay(path: Path) -> tuple[str, Program, dict[str, Any]]:
    """(protocol, program, the whole document) from a replay file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("schema") != REPLAY_SCHEMA:
        raise ValueError(f"{path}: not a wire fuzzer replay file (schema "
                         f"{document.get('schema')!r})")
    program = [Step.from_json(step) for step in document["steps"]]
    return document["protocol"], program, document
