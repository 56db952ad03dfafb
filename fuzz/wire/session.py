"""What the SMTP and IMAP executors share: the connection of the moment, the transcripts
of the connections before it, findings with the whole transcript, and telling a crash
(the target greets no new connection) from a mere close."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers._wire import WireDriver
from conformance.targets import TargetSpec
from fuzz.wire.model import Finding, FindingKind, Program, Step

D = TypeVar("D", bound=WireDriver)


class _Connects(Protocol):
    """A driver class: ``SmtpDriver.connect(spec, timeout=...)``."""

    def connect(self, spec: TargetSpec, timeout: float = ...) -> WireDriver: ...


class WireSession(Generic[D]):
    """Runs one program on fresh connections; subclasses send and judge."""

    # The driver class, to probe whether the target still greets a new connection.
    driver_type: ClassVar[_Connects]
    # Why a close where a response was due breaks the protocol (its RFC's words).
    unannounced_close: ClassVar[str]

    def __init__(self, spec: TargetSpec, *, hang_timeout: float, quiet: float) -> None:
        self.spec = spec
        self.hang_timeout = hang_timeout
        self.quiet = quiet
        self.driver: D | None = None
        self.transcripts: list[str] = []

    # what subclasses provide ------------------------------------------------------------

    def connect(self) -> object:
        raise NotImplementedError

    def end(self) -> None:
        """Say goodbye at the end of a program (not judged), and close."""
        raise NotImplementedError

    def connected(self) -> bool:
        return self.driver is not None

    def step(self, step: Step) -> bool | None:
        """Send one step and judge the answers; False when the target lacks what it
        needs (nothing was sent)."""
        return bool(getattr(self, f"step_{step.family}")(step) is not False)

    def after(self) -> None:
        """Checks made once the program's connections are closed."""

    # running ----------------------------------------------------------------------------

    def run(self, program: Program,
            on_step: Callable[[Step, bool], None] | None = None) -> None:
        """Run ``program`` (raises ``Finding``, with the family of the step that broke
        a rule); ``on_step(step, sent)`` after each step."""
        self.connect()
        try:
            for step in program:
                sent: bool | None = True
                try:
                    if not self.connected():
                        self.connect()
                    sent = self.step(step)
                except Finding as finding:
                    finding.family = step.family
                    raise
                finally:
                    if on_step is not None:
                        on_step(step, sent is not False)
        finally:
            self.end()
        self.after()

    def transcript(self) -> str:
        current = [self.driver.transcript_text()] if self.driver else []
        return "\n-- reconnect --\n".join([*self.transcripts, *current])

    def _finding(self, kind: FindingKind, message: str) -> Finding:
        return Finding(kind, message, self.transcript())

    def close(self) -> None:
        if self.driver is not None:
            self.transcripts.append(self.driver.transcript_text())
            self.driver.close()
            self.driver = None

    def crashed_or_closed(self, why: str) -> Finding:
        """The connection ended where a response was due: a crash when the target does
        not greet a new connection either, else a close without the goodbye."""
        self.close()
        try:
            probe = self.driver_type.connect(self.spec, timeout=self.hang_timeout)
            probe.close()
        except (TargetTimeout, TargetClosed, GrammarViolation) as exc:
            return self._finding("crash", f"{why}; then no greeting on reconnect: {exc}")
        return self._finding("closed", f"{why}: {self.unannounced_close}")


def is_base64(text: bytes) -> bool:
    """Strict BASE64, as SASL exchanges must be read: RFC 4954 §4 (SMTP) "MUST reject (and
    not ignore) any character not explicitly allowed by the BASE64 alphabet, and MUST
    reject any sequence of BASE64 characters that contains the pad character ('=')
    anywhere other than the end"; RFC 9051 §6.2.2 (IMAP) the same in its words."""
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
