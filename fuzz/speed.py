"""Examples per second per parser, in-process: each target of ``fuzz.targets`` run over
its seed corpus (fuzz/corpus/<target>) and over random mutations of it, for a few
seconds each. Run: ``.venv/bin/python -m fuzz.speed [seconds]``."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from fuzz.harness._run import mutate
from fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parent / "corpus"


def measure(name: str, seconds: float) -> tuple[float, float, int]:
    target = TARGETS[name]
    corpus = [f.read_bytes() for f in sorted((CORPUS / name).iterdir())]
    rng = random.Random(1)
    inputs = [mutate(rng, rng.choice(corpus), corpus, 65_536) for _ in range(2_000)]
    rates = []
    for batch in (corpus, inputs):
        done, octets, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 2:
            for data in batch:
                target(data)
                done += 1
                octets += len(data)
        elapsed = time.perf_counter() - start
        rates.append((done / elapsed, octets / elapsed))
    return rates[0][0], rates[1][0], int(rates[1][1])


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    print(f"{'parser':15} {'seeds/s':>9} {'mutants/s':>10} {'octets/s':>11}")
    for name in TARGETS:
        seeds, mutants, octets = measure(name, seconds)
        print(f"{name:15} {seeds:9.0f} {mutants:10.0f} {octets:11,d}")


if __name__ == "__main__":
    main()
