"""Hypothesis strategies, one module per protocol grammar (``from fuzz.strategies import smtp``)."""
