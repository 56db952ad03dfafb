"""Providers: each starts one server as a child process on loopback, in a temporary
directory of its own, and stops it (and everything it forked) again.

    from interop.providers.dovecot import DovecotProvider

    with DovecotProvider() as dovecot:
        host, port = dovecot.endpoints["lmtp"]
        ...

Every provider exposes ``endpoints`` (protocol name → ``Endpoint``), ``pid`` (the root of
the server's process tree, for CPU accounting) and ``stored_messages()`` where the server
keeps what it accepts. The modules are imported one by one, not from here, so that
``python -m interop.providers.aiosmtpd_sink`` runs the sink without importing it twice.

  base.py           Provider, Endpoint, the shared test users, port and process helpers
  aiosmtpd_sink.py  an aiosmtpd server that discards every message (and its provider)
  dovecot.py        a private Dovecot: IMAP, LMTP, ManageSieve; maildir or sdbox
  cyrus.py          a private Cyrus: IMAP, LMTP, JMAP; unpacked from Debian's packages into a
                    cache on first use (installing them would remove dovecot-imapd)
  postfix.py        a private Postfix smtpd with virtual mailboxes
  rfcmail.py        ``rfcmail serve`` on a temporary data directory, provisioned by its CLI
  tools.py          Postfix's smtp-source as load generator; process-tree CPU from /proc
"""
