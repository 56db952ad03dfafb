"""Interoperability: real peers (Dovecot, aiosmtpd, Postfix's tools) and rfcmail itself,
started on loopback with their own temporary configuration, for side-by-side runs."""
