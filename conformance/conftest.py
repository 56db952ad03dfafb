"""Registers the conformance plugin for ``pytest conformance --target ...``."""

pytest_plugins = ["conformance.plugin"]
