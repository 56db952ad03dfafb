"""Listeners, TLS contexts and certificates, protocol traces: the I/O shared by protocols."""
