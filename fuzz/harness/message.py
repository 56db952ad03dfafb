"""Harness for ``fuzz.targets.message``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.message fuzz/corpus/message -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import message

if __name__ == "__main__":
    main(message)
