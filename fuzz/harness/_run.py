"""The one main of every harness: atheris when it is installed (``pip install
'.[fuzz]'``), otherwise a bounded random mutation loop over the same corpus that takes
the libFuzzer options it needs (``-runs=N``, ``-seed=N``, ``-max_total_time=S``,
``-max_len=N``) and writes a failing input to ``crash-<sha1>`` like libFuzzer does.

Usage: ``python -m fuzz.harness.<name> [corpus directory ...] [-runs=N] [-seed=N]``.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

Target = Callable[[bytes], None]

# Tokens worth inserting, shared by all harnesses (libFuzzer's -dict does this for atheris).
TOKENS = [b"\r\n", b"\r", b"\n", b"\x00", b"\xff", b" ", b"{", b"}", b"{5}\r\n", b"{5+}\r\n",
          b"(", b")", b"\"", b"\\", b"<", b">", b":", b";", b"--", b"\r\n.\r\n", b"=?",
          b"?=", b"*", b"BDAT 5\r\n", b"DATA\r\n", b"STARTTLS\r\n", b"boundary=", b"\r\n\r\n"]


def main(target: Target, argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    try:
        import atheris
    except ImportError:
        _loop(target, argv)
        return
    atheris.instrument_all()
    atheris.Setup(argv, target)
    atheris.Fuzz()


def _options(argv: list[str]) -> tuple[list[Path], dict[str, str]]:
    paths = [Path(a) for a in argv[1:] if not a.startswith("-")]
    options = dict(a[1:].split("=", 1) for a in argv[1:] if a.startswith("-") and "=" in a)
    return paths, options


def _corpus(paths: list[Path]) -> list[bytes]:
    inputs: list[bytes] = []
    for path in paths:
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        inputs += [f.read_bytes() for f in files if f.is_file()]
    return inputs or [b""]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes], max_len: int) -> bytes:
    """A few random edits: insert a token or random octets, delete, duplicate, flip,
    splice with another corpus input."""
    wire = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(wire))
        operation = rng.randrange(6)
        if operation == 0:
            wire[at:at] = rng.choice(TOKENS)
        elif operation == 1:
            wire[at:at] = rng.randbytes(rng.randint(1, 4))
        elif operation == 2:
            del wire[at:at + rng.randint(1, 16)]
        elif operation == 3:
            wire[at:at] = wire[at:at + rng.randint(1, 64)]
        elif operation == 4 and at < len(wire):
            wire[at] ^= 1 << rng.randrange(8)
        else:
            other = rng.choice(corpus)
            cut = rng.randint(0, len(other))
            wire[at:] = other[cut:]
    return bytes(wire[:max_len])


def _loop(target: Target, argv: list[str]) -> None:
    paths, options = _options(argv)
    corpus = _corpus(paths)
    runs = int(options.get("runs", "10000"))
    seed = int(options.get("seed", "0"))
    max_time = float(options.get("max_total_time", "0")) or float("inf")
    max_len = int(options.get("max_len", "65536"))
    rng = random.Random(seed)
    start = time.monotonic()
    done = 0
    for data in corpus:                           # every seed as it is, first
        _one(target, data)
        done += 1
    while done < runs and time.monotonic() - start < max_time:
        _one(target, mutate(rng, rng.choice(corpus), corpus, max_len))
        done += 1
    elapsed = time.monotonic() - start
    print(f"#{done} DONE (no atheris: random mutation loop) seed={seed} "
          f"{done / max(elapsed, 1e-9):.0f} exec/s in {elapsed:.1f}s", file=sys.stderr)


def _one(target: Target, data: bytes) -> None:
    try:
        target(data)
    except BaseException:
        name = f"crash-{hashlib.sha1(data).hexdigest()}"
        Path(name).write_bytes(data)
        print(f"== failing input written to {name}", file=sys.stderr)
        raise
