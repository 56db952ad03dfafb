"""Fixtures of the IMAP tests: the store's own (a fresh store of each backend, an account
with its mailboxes), for what the session keeps beside the store (mailbox_views)."""

from tests.store.conftest import alice, store, store_url  # noqa: F401
