"""Wire-level helpers shared by the line-oriented protocols (SMTP, IMAP, ManageSieve)."""
