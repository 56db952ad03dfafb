"""Accounts and authentication: password storage, SASLprep and the SASL mechanisms.

- ``passwords``: the one stored form, SCRAM-SHA-256 credentials in RFC 5803 style, and
  verification of a presented password against it (for PLAIN and LOGIN).
- ``saslprep``: RFC 4013 SASLprep over the standard library's RFC 3454 tables.
- ``sasl``: sans-IO server mechanisms (PLAIN, LOGIN, SCRAM-SHA-256[-PLUS]) shared by SMTP
  AUTH, IMAP AUTHENTICATE and ManageSieve, and the SCRAM client for drivers and tests.

Auth backends (internal, SQL, LDAP) will live beside these; the mechanisms never call them,
they ask for credentials with a ``CredentialsRequested`` step.
"""
