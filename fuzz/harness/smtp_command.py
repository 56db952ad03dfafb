"""Harness for ``fuzz.targets.smtp_command``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.smtp_command fuzz/corpus/smtp_command -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import smtp_command

if __name__ == "__main__":
    main(smtp_command)
