"""Tests of the conformance testbed itself (conformance/)."""
