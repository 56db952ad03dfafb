"""Harness for ``fuzz.targets.imap_response``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.imap_response fuzz/corpus/imap_response -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import imap_response

if __name__ == "__main__":
    main(imap_response)
