"""Tests of the sans-IO SMTP core (reference/smtp, reference/wire)."""
