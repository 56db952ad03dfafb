"""The client side of SCRAM-SHA-256 / -PLUS (RFC 5802 §5), for tests, conformance drivers
and load users.

See the package docstring (``reference.directory.sasl``) for the implementation notes.
"""

from __future__ import annotations

import hmac
import re
import secrets

from reference.directory.passwords import (
    client_key_from,
    hmac_sha256,
    salted_password,
    server_key_from,
    stored_key_from,
)
from reference.directory.sasl.scram import (
    _PRINTABLE,
    _check_extensions,
    _decode_scram_base64,
    _decode_scram_message,
    _encode_base64,
    _encode_saslname,
    _xor,
)
from reference.directory.sasl.steps import ChannelBinding, _Rejected
from reference.directory.saslprep import saslprep
from reference.errors import LocalProtocolError, RemoteProtocolError

# --- the client side of SCRAM-SHA-256 ----------------------------------------------------


class ClientScram:
    """The client half of SCRAM-SHA-256 / -PLUS (RFC 5802 §5), strict about what the server
    sends: for tests, conformance drivers and load users.

        client = ClientScram("user", "pencil")
        first = client.client_first()
        final = client.client_final(server_first)    # RemoteProtocolError if it is invalid
        client.verify_server_final(server_final)     # RemoteProtocolError unless verified

    ``channel_binding`` makes it use "p=<type>" (for -PLUS); without it the flag is "n".
    ``max_iterations`` bounds the count a server may ask for (RFC 5802 §9: "A hostile server
    can perform a computational denial-of-service attack on clients by sending a big
    iteration count value").
    """

    def __init__(self, username: str, password: str, *, authzid: str | None = None,
                 client_nonce: str | None = None,
                 channel_binding: ChannelBinding | None = None,
                 max_iterations: int = 600_000) -> None:
        # RFC 5802 §5.1 n: "the client SHOULD prepare the username using the "SASLprep"
        # profile ... treating it as a query string".
        self.username = saslprep(username, allow_unassigned=True)
        # RFC 5802 §2.2 Normalize(): the password is a "stored" string.
        self._normalized_password = saslprep(password, allow_unassigned=False)
        self.authzid = authzid
        if client_nonce is not None and _PRINTABLE.fullmatch(client_nonce) is None:
            raise ValueError("client_nonce must be printable ASCII without ','")
        self.client_nonce = client_nonce or secrets.token_urlsafe(18)
        self.channel_binding = channel_binding
        self.max_iterations = max_iterations
        self._client_first_bare: str | None = None
        self._server_signature: bytes | None = None

    @property
    def gs2_header(self) -> str:
        # gs2-header = gs2-cbind-flag "," [ authzid ] ","                    (RFC 5802 §7)
        flag = "n" if self.channel_binding is None else f"p={self.channel_binding.cb_type}"
        authzid = "" if self.authzid is None else "a=" + _encode_saslname(self.authzid)
        return f"{flag},{authzid},"

    def client_first(self) -> bytes:
        """client-first-message = gs2-header client-first-message-bare (RFC 5802 §7)."""
        if self._client_first_bare is not None:
            raise LocalProtocolError("client_first() was already called")
        self._client_first_bare = f"n={_encode_saslname(self.username)},r={self.client_nonce}"
        return (self.gs2_header + self._client_first_bare).encode("utf-8")

    def client_final(self, server_first: bytes) -> bytes:
        """Check the server-first-message and answer with the client-final-message."""
        if self._client_first_bare is None or self._server_signature is not None:
            raise LocalProtocolError("client_final() must follow client_first(), once")
        text = _server_text(server_first, "server-first-message")
        attributes = text.split(",")
        # RFC 5802 §5.1 m: presence "MUST cause authentication failure".
        if attributes[0].startswith("m="):
            raise RemoteProtocolError("the server-first-message has a mandatory extension "
                                      "m= (RFC 5802 §5.1)")
        # server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
        #                        ["," extensions]                             (RFC 5802 §7)
        if (len(attributes) < 3 or not attributes[0].startswith("r=")
                or not attributes[1].startswith("s=") or not attributes[2].startswith("i=")):
            raise RemoteProtocolError(f"the server-first-message {text[:200]!r} is not "
                                      "r=...,s=...,i=... (RFC 5802 §7)")
        nonce = attributes[0][2:]
        # RFC 5802 §5.1 r: "The client MUST verify that the initial part of the nonce used
        # in subsequent messages is the same as the nonce it initially specified."
        if (not nonce.startswith(self.client_nonce) or len(nonce) == len(self.client_nonce)
                or _PRINTABLE.fullmatch(nonce) is None):
            raise RemoteProtocolError("the server nonce does not extend the client nonce "
                                      "with printable characters (RFC 5802 §5.1)")
        salt = _server_base64(attributes[1][2:], "s=")
        if not salt:
            raise RemoteProtocolError("the salt is empty (RFC 5802 §5.1 s)")
        iterations_text = attributes[2][2:]
        # RFC 5802 §7: iteration-count = "i=" posit-number
        if re.fullmatch(r"[1-9][0-9]*", iterations_text) is None:
            raise RemoteProtocolError(f"i={iterations_text[:20]!r} is not a positive number "
                                      "(RFC 5802 §7 posit-number)")
        if len(iterations_text) > 10 or int(iterations_text) > self.max_iterations:
            raise RemoteProtocolError(f"iteration count {iterations_text[:20]} exceeds our "
                                      f"limit of {self.max_iterations} (RFC 5802 §9)")
        iterations = int(iterations_text)
        self._check_server_extensions(attributes[3:], "server-first-message")
        # RFC 5802 §7 cbind-input = gs2-header [ cbind-data ]; channel-binding = "c=" base64
        cbind_input = self.gs2_header.encode("utf-8")
        if self.channel_binding is not None:
            cbind_input += self.channel_binding.data
        without_proof = f"c={_encode_base64(cbind_input)},r={nonce}"
        auth_message = ",".join((self._client_first_bare, text, without_proof)).encode("utf-8")
        # RFC 5802 §3: SaltedPassword, ClientKey, StoredKey, ClientSignature, ClientProof,
        # ServerKey, ServerSignature.
        salted = salted_password(self._normalized_password, salt, iterations)
        client_key = client_key_from(salted)
        client_signature = hmac_sha256(stored_key_from(client_key), auth_message)
        proof = _xor(client_key, client_signature)
        self._server_signature = hmac_sha256(server_key_from(salted), auth_message)
        return f"{without_proof},p={_encode_base64(proof)}".encode("ascii")

    def verify_server_final(self, server_final: bytes) -> None:
        """Check the server-final-message; raise ``RemoteProtocolError`` unless it carries
        the ServerSignature we expect (RFC 5802 §3: this proves "that the server had access
        to the user's ServerKey")."""
        if self._server_signature is None:
            raise LocalProtocolError("verify_server_final() must follow client_final()")
        text = _server_text(server_final, "server-final-message")
        # server-final-message = (server-error / verifier) ["," extensions]  (RFC 5802 §7)
        attributes = text.split(",")
        if attributes[0].startswith("e="):
            raise RemoteProtocolError(f"the server reported {attributes[0][2:200]!r} "
                                      "(RFC 5802 §7 server-error)")
        if not attributes[0].startswith("v="):
            raise RemoteProtocolError(f"the server-final-message {text[:200]!r} is not "
                                      "v=... or e=... (RFC 5802 §7)")
        self._check_server_extensions(attributes[1:], "server-final-message")
        signature = _server_base64(attributes[0][2:], "v=")
        if not hmac.compare_digest(signature, self._server_signature):
            raise RemoteProtocolError("the ServerSignature does not verify: the server does "
                                      "not know this user's ServerKey (RFC 5802 §3)")

    @staticmethod
    def _check_server_extensions(attributes: list[str], where: str) -> None:
        try:
            _check_extensions(attributes, where)
        except _Rejected as rejection:
            raise RemoteProtocolError(rejection.failed.message) from rejection


def _server_text(message: bytes, what: str) -> str:
    try:
        return _decode_scram_message(message, what)
    except _Rejected as rejection:
        raise RemoteProtocolError(rejection.failed.message) from rejection


def _server_base64(value: str, what: str) -> bytes:
    try:
        return _decode_scram_base64(value, what)
    except _Rejected as rejection:
        raise RemoteProtocolError(rejection.failed.message) from rejection
