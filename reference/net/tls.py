"""TLS for every listener: server contexts, and a self-signed certificate on first start.

RFC 8314 §4.1 asks for TLS 1.2 or later for mail submission and access; RFC 7525 is the
source of the cipher choices (Python's defaults for a server context follow it).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("rfcmail.tls")

CERTIFICATE_FILE = "tls/certificate.pem"
PRIVATE_KEY_FILE = "tls/private-key.pem"


@dataclass(frozen=True, slots=True)
class CertificatePaths:
    certificate: Path
    private_key: Path


def ensure_certificate(data_dir: Path, hostname: str) -> CertificatePaths:
    """The data directory's certificate, generated (self-signed) when there is none."""
    paths = CertificatePaths(data_dir / CERTIFICATE_FILE, data_dir / PRIVATE_KEY_FILE)
    if paths.certificate.exists() and paths.private_key.exists():
        return paths
    write_self_signed(paths, hostname)
    log.info("generated a self-signed certificate for %s in %s", hostname,
             paths.certificate)
    return paths


def write_self_signed(paths: CertificatePaths, hostname: str, *, days: int = 825) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    # RFC 7817 §3: clients check the name in subjectAltName, so every name we answer to
    # goes there: the configured hostname, localhost and the loopback addresses.
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        alt_names.append(x509.DNSName("localhost"))
    alt_names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                  x509.IPAddress(ipaddress.ip_address("::1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths.certificate.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    # The key is written owner-only before it has content.
    fd = os.open(paths.private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    paths.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def server_context(paths: CertificatePaths) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # RFC 8314 §4.1: "TLS 1.2 or later"
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths.certificate, paths.private_key)
    return context


def describe(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """"TLSv1.3 TLS_AES_256_GCM_SHA384" for logs and the Received header comment."""
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return f"{ssl_object.version()} {cipher[0] if cipher else '?'}"
