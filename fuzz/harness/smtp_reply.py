"""Harness for ``fuzz.targets.smtp_reply``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.smtp_reply fuzz/corpus/smtp_reply -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import smtp_reply

if __name__ == "__main__":
    main(smtp_reply)
