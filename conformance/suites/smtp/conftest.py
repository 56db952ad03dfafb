"""Fixtures of the SMTP suite (the plugin's own are in conformance/plugin.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.suites.smtp.support import Mailstore, mailstore_for
from conformance.targets import Account, TargetSpec


@pytest.fixture
def recipient(target: TargetSpec, accounts: list[Account]) -> str:
    """The mail address of the first account: a local recipient of the target."""
    address = target.address(accounts[0])
    if "@" not in address:
        pytest.skip("the first account has no mail domain: give one with --domain")
    return address


@pytest.fixture
def domain(recipient: str) -> str:
    """The local recipient domain."""
    return recipient.rpartition("@")[2]


@pytest.fixture
def mailstore(request: pytest.FixtureRequest) -> Iterator[Mailstore]:
    """Reads delivered messages back over IMAP when the target offers it, and deletes
    every message the test announced (``mailstore.expect``/``fetch``) afterwards."""
    with mailstore_for(request, float(request.config.getoption("io_timeout"))) as store:
        yield store

