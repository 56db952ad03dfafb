"""The wire fuzzer: stateful sessions of valid and hostile commands against a live SMTP or
IMAP server, every reply judged by the conformance drivers' grammar and by the session
state; hangs, crashes and violations are shrunk to a replayable program.

``rfcmail fuzz --target URL|NAME --protocol smtp|imap`` (``fuzz.wire.run``); the steps per
protocol are drawn in ``fuzz.wire.smtp_steps`` and ``fuzz.wire.imap_steps`` and run and
judged by ``fuzz.wire.smtp`` and ``fuzz.wire.imap``; programs and findings are in
``fuzz.wire.model``, the mailbox check (acknowledged vs stored) in ``fuzz.wire.mailbox``.
"""
