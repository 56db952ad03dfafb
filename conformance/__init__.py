"""RFC-indexed conformance suites that run against any mail server (a *target*).

The contract between the parts is conformance/DESIGN.md. Run them with
``pytest conformance --target URL|NAME`` or ``rfcmail conform --target URL|NAME``.
"""
