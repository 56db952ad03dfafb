"""A deterministic measure of the work a parser does: Python lines executed plus calls
made (Python and C), counted with ``sys.settrace`` and ``sys.setprofile``.

Wall time varies with the machine and its load; this count does not, so "never more than
linear time" (issue 5) becomes an exact, repeatable property: for an input grown by
repeating a fragment k and then 4k times, the work grows by at most a constant factor
over 4 (``linear_enough``).

What it cannot see: work inside one C call (a regular expression that backtracks, a
``bytes.find`` over a long buffer) counts as one. The parsers' regular expressions are
anchored and applied to bounded slices; a backtracking one would still need a separate
test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["linear_enough", "linear_in", "pumped", "work"]


def work(action: Callable[[], object]) -> int:
    """Lines executed and calls made while ``action()`` runs (its exceptions propagate)."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        return local

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event == "c_call":
            count += 1

    old_trace, old_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(local)
    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.settrace(old_trace)
        sys.setprofile(old_profile)
    return count


def pumped(prefix: bytes, fragment: bytes, suffix: bytes, times: int) -> bytes:
    return prefix + fragment * times + suffix


def linear_enough(target: Callable[[bytes], object], prefix: bytes, fragment: bytes,
                  suffix: bytes, *, times: int, factor: float = 8.0,
                  slack: int = 2_000) -> tuple[int, int]:
    """The work of ``target`` on the input pumped ``times`` and ``4 * times`` times; a
    linear parser stays within ``factor`` (4 plus room for constant costs that grow in
    steps, such as buffer compaction) of the smaller one, plus ``slack``. A quadratic
    one grows by 16."""
    return linear_in(target, lambda n: pumped(prefix, fragment, suffix, n), times=times,
                     factor=factor, slack=slack,
                     what=f"{len(fragment)}-octet fragment x{times}")


def linear_in(target: Callable[[bytes], object], make: Callable[[int], bytes], *,
              times: int, factor: float = 8.0, slack: int = 2_000,
              what: str = "") -> tuple[int, int]:
    """``linear_enough`` for inputs that are not one fragment repeated: ``make(n)`` builds
    the input of size parameter ``n`` (say, a sequence set of ``n`` distinct ranges)."""
    small = work(lambda: target(make(times)))
    large = work(lambda: target(make(4 * times)))
    assert large <= factor * small + slack, (
        f"work {small} -> {large} when the input grew 4x ({what or f'n={times}'}): "
        "superlinear")
    return small, large
