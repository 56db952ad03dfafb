"""Conformance suites (conformance/DESIGN.md)."""
