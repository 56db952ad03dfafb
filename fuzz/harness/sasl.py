"""Harness for ``fuzz.targets.sasl``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.sasl fuzz/corpus/sasl -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import sasl

if __name__ == "__main__":
    main(sasl)
