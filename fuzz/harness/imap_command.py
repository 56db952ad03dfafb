"""Harness for ``fuzz.targets.imap_command``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.imap_command fuzz/corpus/imap_command -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import imap_command

if __name__ == "__main__":
    main(imap_command)
