"""RFC 5322 + MIME message model. Parsed once on arrival (DESIGN.md principle 6)."""
