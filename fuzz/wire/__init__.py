"""The wire fuzzer: stateful sessions of valid and hostile commands against a live SMTP or
IMAP server, every reply judged by the conformance drivers' grammar and by the session
state; hangs, crashes and violations are shrunk to a replayable program.

``rfcmail fuzz --target URL|NAME --protocol smtp|imap`` (``fuzz.wire.run``); the rules per
protocol are in ``fuzz.wire.smtp`` and ``fuzz.wire.imap``, programs and findings in
``fuzz.wire.model``.
"""
