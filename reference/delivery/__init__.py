"""Local delivery (aliases, subaddresses, catch-all) and, later, the outbound queue."""
