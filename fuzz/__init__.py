"""Fuzzing for rfcmail: hypothesis strategies per grammar, property tests, wire fuzzers."""
