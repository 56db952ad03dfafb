"""Byte-exact protocol drivers with transcripts (conformance/DESIGN.md "Drivers").

Every response is parsed strictly by the reference sans-IO client cores; what their
grammar refuses raises ``GrammarViolation``; a hang raises ``TargetTimeout`` and a closed
connection ``TargetClosed`` (both ``DriverError``).
"""

from conformance.drivers._wire import (
    DriverError,
    GrammarViolation,
    TargetClosed,
    TargetTimeout,
    format_transcript,
)

__all__ = ["DriverError", "GrammarViolation", "TargetClosed", "TargetTimeout",
           "format_transcript"]
