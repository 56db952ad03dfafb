"""Harness for ``fuzz.targets.sequence_set``; see fuzz/README.md.

    .venv/bin/python -m fuzz.harness.sequence_set fuzz/corpus/sequence_set -runs=100000
"""

from __future__ import annotations

from fuzz.harness._run import main
from fuzz.targets import sequence_set

if __name__ == "__main__":
    main(sequence_set)
