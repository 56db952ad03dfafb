"""The harnesses of fuzz/harness run without atheris too (a bounded random mutation loop),
and every checked-in seed passes its target."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.harness._run import _loop
from fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_seed_corpus_and_a_short_random_campaign_pass(name: str) -> None:
    folder = CORPUS / name
    assert len(list(folder.iterdir())) >= 15
    _loop(TARGETS[name], ["harness", str(folder), "-runs=300", "-seed=5"])
