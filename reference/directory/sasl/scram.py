"""The server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), and the
SCRAM grammar helpers the client side (``scram_client``) shares.

See the package docstring (``reference.directory.sasl``) for the implementation notes.
"""

from __future__ import annotations

import binascii
import hmac
import re
import secrets
from enum import Enum

from reference.directory.passwords import KEY_OCTETS, ScramCredentials, hmac_sha256, sha256
from reference.directory.sasl.base import (
    _BAD_CREDENTIALS_MESSAGE,
    ServerMechanism,
    _prepare_authcid,
    _prepare_authzid,
)
from reference.directory.sasl.steps import (
    Challenge,
    ChannelBinding,
    CredentialsRequested,
    Failed,
    FailureReason,
    SaslLimits,
    Step,
    Succeeded,
    _malformed,
    _Rejected,
)

# --- SCRAM-SHA-256 (RFC 5802, RFC 7677) -----------------------------------------------------

# RFC 5802 §7: printable = %x21-2B / %x2D-7E ("Printable ASCII except ","")
_PRINTABLE = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
# RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char is any
# UTF-8 character except NUL, "=" and ",". (§5.1 spells the escapes in upper case.)
_SASLNAME = re.compile(r"(?:[^\x00=,]|=2C|=3D)+")
# RFC 5802 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-")
_CB_NAME = re.compile(r"[A-Za-z0-9.\-]+")
# RFC 5802 §7: attr-val = ALPHA "=" value; value = 1*value-char (UTF-8 except NUL and ",")
_ATTR_VAL = re.compile(r"([A-Za-z])=[^\x00,]+")
# RFC 5802 §7: base64 = *base64-4 [base64-3 / base64-2]
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?")
# RFC 5802 §5.1: the attributes SCRAM defines; in an extension position they are misplaced.
_SCRAM_ATTRIBUTES = frozenset("acenimprsv")


def _decode_scram_message(message: bytes, what: str) -> str:
    # RFC 5802 §7: values are UTF-8 (value-safe-char includes UTF8-2/3/4), NUL excluded.
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the {what} is not valid UTF-8 (octet {exc.start})") from exc
    if "\x00" in text:
        raise _malformed(f"the {what} contains NUL (RFC 5802 §7 value-char)")
    return text


def _decode_saslname(value: str, what: str) -> str:
    # RFC 5802 §5.1: "If the server receives a username that contains '=' not followed by
    # either '2C' or '3D', then the server MUST fail the authentication."
    if _SASLNAME.fullmatch(value) is None:
        raise _malformed(f"the {what} {value[:64]!r} is not a saslname: empty, or '=' not "
                         "followed by 2C or 3D (RFC 5802 §5.1)")
    return value.replace("=2C", ",").replace("=3D", "=")


def _encode_saslname(name: str) -> str:
    # RFC 5802 §5.1: "The characters ',' or '=' in usernames are sent as '=2C' and '=3D'"
    return name.replace("=", "=3D").replace(",", "=2C")


def _decode_scram_base64(value: str, what: str) -> bytes:
    if _BASE64.fullmatch(value) is None:
        raise _malformed(f"{what} is not base64 (RFC 5802 §7)")
    return binascii.a2b_base64(value.encode("ascii"))


def _encode_base64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _check_extensions(attributes: list[str], where: str) -> None:
    for attribute in attributes:
        match = _ATTR_VAL.fullmatch(attribute)
        if match is None:
            raise _malformed(f"{attribute[:64]!r} in the {where} is not an attribute "
                             "(RFC 5802 §7 attr-val)")
        name = match.group(1)
        # RFC 5802 §5.1 m: "its presence in a client or a server message MUST cause
        # authentication failure when the attribute is parsed by the other end."
        if name == "m":
            raise _Rejected(FailureReason.EXTENSION_NOT_SUPPORTED,
                            f"mandatory extension {attribute[:64]!r} is not supported "
                            "(RFC 5802 §5.1)")
        if name in _SCRAM_ATTRIBUTES:
            raise _malformed(f"attribute {name}= is out of place in the {where} "
                             "(RFC 5802 §7)")
        # RFC 5802 §7 extensions: "unrecognized attributes not defined in this document
        # MUST be ignored."


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


class _ScramPhase(Enum):
    CLIENT_FIRST = "client-first-message"
    CLIENT_FINAL = "client-final-message"
    ACKNOWLEDGEMENT = "empty response to server-final-message"


class ScramSha256Server(ServerMechanism):
    """SCRAM-SHA-256 (RFC 7677 §3, RFC 5802 §5) without channel binding.

    ``channel_binding`` is the connection's binding data when the server offers
    SCRAM-SHA-256-PLUS beside this mechanism: a client that says "y" (it supports channel
    binding but thinks the server does not) is then failed (RFC 5802 §6).
    ``server_nonce`` fixes our part of the nonce, for tests; by default it is random.
    """

    name = "SCRAM-SHA-256"
    sends_password_in_clear = False

    def __init__(self, *, channel_binding: ChannelBinding | None = None,
                 success_with_additional_data: bool = False,
                 limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None,
                 server_nonce: str | None = None) -> None:
        super().__init__(limits=limits, fake_credentials_key=fake_credentials_key)
        if server_nonce is not None and _PRINTABLE.fullmatch(server_nonce) is None:
            raise ValueError("server_nonce must be printable ASCII without ',' "
                             "(RFC 5802 §7 printable)")
        self.channel_binding = channel_binding
        self.success_with_additional_data = success_with_additional_data
        # RFC 5802 §5.1 r: "It is important that this value be different for each
        # authentication (see [RFC4086] ...)": 18 random octets, URL-safe base64 (no ",").
        self._server_nonce = server_nonce or secrets.token_urlsafe(18)
        self._phase = _ScramPhase.CLIENT_FIRST
        self._gs2_header = ""
        self._channel_binding_data = b""
        self._client_first_bare = ""
        self._nonce = ""
        self._authcid = ""
        self._authzid: str | None = None
        self._server_first = ""
        self._credentials: ScramCredentials | None = None
        self._server_final = b""

    def _on_start(self, initial_response: bytes | None) -> Step:
        # RFC 5802 §5: "SCRAM is a client-first SASL mechanism"; RFC 4422 §5 item 2a.
        if initial_response is None:
            return Challenge(b"")
        return self._on_response(initial_response)

    def _on_response(self, response: bytes) -> Step:
        if self._phase is _ScramPhase.CLIENT_FIRST:
            return self._on_client_first(response)
        if self._phase is _ScramPhase.CLIENT_FINAL:
            return self._on_client_final(response)
        # RFC 4422 §5 item 2b: the response to a success-data challenge "is an empty
        # response".
        if response:
            raise _malformed("expected an empty response after the server-final-message "
                             "(RFC 4422 §5 item 2b)")
        return Succeeded(self._authcid, self._authzid)

    # client-first-message = gs2-header client-first-message-bare          (RFC 5802 §7)
    # gs2-header = gs2-cbind-flag "," [ authzid ] ","
    # client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    def _on_client_first(self, message: bytes) -> Step:
        text = _decode_scram_message(message, "client-first-message")
        cbind_flag, comma, rest = text.partition(",")
        authzid_field, comma_2, bare = rest.partition(",")
        if not (comma and comma_2):
            raise _malformed("the client-first-message lacks a gs2-header "
                             "(gs2-cbind-flag \",\" [authzid] \",\", RFC 5802 §7)")
        self._check_cbind_flag(cbind_flag)
        if authzid_field:
            if not authzid_field.startswith("a="):
                raise _malformed(f"{authzid_field[:64]!r} in the gs2-header is not "
                                 "\"a=\" saslname (RFC 5802 §7 authzid)")
            self._authzid = _prepare_authzid(self._limited(
                _decode_saslname(authzid_field[2:], "authorization identity"),
                "authorization identity"))
        self._gs2_header = text[:len(text) - len(bare)]
        attributes = bare.split(",")
        # RFC 5802 §5.1 m: "its presence ... MUST cause authentication failure".
        if attributes[0].startswith("m="):
            raise _Rejected(FailureReason.EXTENSION_NOT_SUPPORTED,
                            f"mandatory extension {attributes[0][:64]!r} is not supported "
                            "(RFC 5802 §5.1)")
        if len(attributes) < 2 or not attributes[0].startswith("n="):
            raise _malformed("client-first-message-bare must begin with n=username "
                             "(RFC 5802 §5.1: \"A client MUST include it\")")
        if not attributes[1].startswith("r="):
            raise _malformed("the username must be followed by r=nonce (RFC 5802 §7)")
        username = self._limited(_decode_saslname(attributes[0][2:], "username"), "username")
        client_nonce = attributes[1][2:]
        if _PRINTABLE.fullmatch(client_nonce) is None:
            raise _malformed("the client nonce is empty or not printable ASCII without ',' "
                             "(RFC 5802 §7 c-nonce)")
        _check_extensions(attributes[2:], "client-first-message")
        # RFC 5802 §5.1 n: the server "MUST either prepare it using the "SASLprep" profile
        # ... treating it as a query string" and "MUST use it as received in hash
        # calculations" (client_first_bare keeps it as received).
        self._authcid = _prepare_authcid(username)
        self._client_first_bare = bare
        self._nonce = client_nonce + self._server_nonce
        self._phase = _ScramPhase.CLIENT_FINAL
        return CredentialsRequested(self._authcid)

    def _check_cbind_flag(self, cbind_flag: str) -> None:
        # RFC 5802 §5: "the client's first message will always start with "n", "y", or "p";
        # otherwise, the message is invalid and authentication MUST fail."
        # gs2-cbind-flag = ("p=" cb-name) / "n" / "y"                        (RFC 5802 §7)
        if cbind_flag == "n":
            return
        if cbind_flag == "y":
            # RFC 5802 §6: 'If the flag is set to "y" and the server supports channel
            # binding, the server MUST fail authentication.'
            if self.channel_binding is not None:
                raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                                "the client thinks the server lacks channel binding, but it "
                                "offers it: possible downgrade (RFC 5802 §6)")
            return
        if cbind_flag.startswith("p=") and _CB_NAME.fullmatch(cbind_flag[2:]):
            # RFC 5802 §6: 'If the channel binding flag was "p" and the server does not
            # support the indicated channel binding type, then the server MUST fail
            # authentication.' Without -PLUS no type is supported (RFC 5802 §4).
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            f"channel binding {cbind_flag[2:]!r} is not supported by "
                            f"{self.name}; it needs the -PLUS mechanism (RFC 5802 §4, §6)")
        raise _malformed(f"gs2-cbind-flag {cbind_flag[:64]!r} is not n, y or p=cb-name "
                         "(RFC 5802 §5)")

    def _limited(self, value: str, what: str) -> str:
        if len(value.encode("utf-8")) > self.limits.field_octets:
            raise _malformed(f"the {what} exceeds {self.limits.field_octets} octets")
        return value

    def _on_credentials(self, stored: str | None) -> Step:
        credentials = self._credentials_or_fake(self._authcid, stored)
        self._credentials = credentials
        # server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
        #                        ["," extensions]                             (RFC 5802 §7)
        self._server_first = (f"r={self._nonce},s={_encode_base64(credentials.salt)},"
                              f"i={credentials.iterations}")
        return Challenge(self._server_first.encode("utf-8"))

    # client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    # client-final-message = client-final-message-without-proof "," proof (RFC 5802 §7)
    def _on_client_final(self, message: bytes) -> Step:
        assert self._credentials is not None
        text = _decode_scram_message(message, "client-final-message")
        attributes = text.split(",")
        if len(attributes) < 3 or not attributes[0].startswith("c="):
            raise _malformed("the client-final-message must be c=...,r=...,p=... "
                             "(RFC 5802 §7)")
        if not attributes[1].startswith("r="):
            raise _malformed("c= must be followed by r=nonce (RFC 5802 §7)")
        if not attributes[-1].startswith("p="):
            raise _malformed("the client-final-message must end with p=proof (RFC 5802 §7)")
        _check_extensions(attributes[2:-1], "client-final-message")
        channel_binding = _decode_scram_base64(attributes[0][2:], "c=")
        # RFC 5802 §6: "The server MUST always validate the client's "c=" field." It holds
        # the gs2-header, followed by the binding data when "p" was used (§7 cbind-input).
        if channel_binding != self._gs2_header.encode("utf-8") + self._channel_binding_data:
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            "c= does not match the gs2-header and channel binding data "
                            "(RFC 5802 §6)")
        # RFC 5802 §5.1 r: "The server MUST verify that the nonce sent by the client in the
        # second message is the same as the one sent by the server in its first message."
        if attributes[1][2:] != self._nonce:
            raise _malformed("the nonce differs from the one in the server-first-message "
                             "(RFC 5802 §5.1)")
        proof = _decode_scram_base64(attributes[-1][2:], "p=")
        if len(proof) != KEY_OCTETS:
            raise _malformed(f"the ClientProof has {len(proof)} octets; SHA-256 gives "
                             f"{KEY_OCTETS} (RFC 5802 §2.2)")
        without_proof = text[:len(text) - len(attributes[-1]) - 1]
        # RFC 5802 §3: AuthMessage := client-first-message-bare + "," +
        #     server-first-message + "," + client-final-message-without-proof
        auth_message = ",".join(
            (self._client_first_bare, self._server_first, without_proof)).encode("utf-8")
        credentials = self._credentials
        # RFC 5802 §3: ClientSignature := HMAC(StoredKey, AuthMessage); the server recovers
        # ClientKey := ClientProof XOR ClientSignature and compares H(ClientKey) to StoredKey.
        client_key = _xor(proof, hmac_sha256(credentials.stored_key, auth_message))
        if not hmac.compare_digest(sha256(client_key), credentials.stored_key):
            return Failed(FailureReason.BAD_CREDENTIALS, _BAD_CREDENTIALS_MESSAGE)
        # RFC 5802 §3: ServerSignature := HMAC(ServerKey, AuthMessage)
        server_signature = hmac_sha256(credentials.server_key, auth_message)
        # server-final-message = (server-error / verifier) ["," extensions]  (RFC 5802 §7)
        self._server_final = b"v=" + _encode_base64(server_signature).encode("ascii")
        if self.success_with_additional_data:
            return Succeeded(self._authcid, self._authzid, additional_data=self._server_final)
        # RFC 4954 §4: SMTP "doesn't support the SASL feature of returning additional data
        # with a successful outcome": server-final goes out as a challenge.
        self._phase = _ScramPhase.ACKNOWLEDGEMENT
        return Challenge(self._server_final)

    def _forget_secrets(self) -> None:
        self._credentials = None


class ScramSha256PlusServer(ScramSha256Server):
    """SCRAM-SHA-256-PLUS: SCRAM-SHA-256 bound to the TLS channel (RFC 5802 §6, RFC 7677)."""

    name = "SCRAM-SHA-256-PLUS"

    def __init__(self, *, channel_binding: ChannelBinding | None = None,
                 success_with_additional_data: bool = False,
                 limits: SaslLimits | None = None,
                 fake_credentials_key: bytes | None = None,
                 server_nonce: str | None = None) -> None:
        if channel_binding is None:
            raise ValueError("SCRAM-SHA-256-PLUS needs the connection's channel binding")
        super().__init__(channel_binding=channel_binding,
                         success_with_additional_data=success_with_additional_data,
                         limits=limits, fake_credentials_key=fake_credentials_key,
                         server_nonce=server_nonce)

    def _check_cbind_flag(self, cbind_flag: str) -> None:
        assert self.channel_binding is not None
        if cbind_flag.startswith("p=") and _CB_NAME.fullmatch(cbind_flag[2:]):
            # RFC 5802 §6.1: "Servers MUST choose the channel binding type indicated by the
            # client, or fail authentication if they don't support it."
            if cbind_flag[2:] != self.channel_binding.cb_type:
                raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                                f"channel binding type {cbind_flag[2:]!r} is not supported; "
                                f"this connection offers {self.channel_binding.cb_type!r} "
                                "(RFC 5802 §6.1)")
            self._channel_binding_data = self.channel_binding.data
            return
        if cbind_flag in ("n", "y"):
            # RFC 5802 §6: "if the client requires the use of channel binding then it MUST
            # use a "p" gs2-cbind-flag"; choosing -PLUS is requiring it (RFC 5802 §4).
            raise _Rejected(FailureReason.CHANNEL_BINDING_FAILED,
                            f"{self.name} requires channel binding, but the gs2-cbind-flag "
                            f"is {cbind_flag!r} (RFC 5802 §4, §6)")
        raise _malformed(f"gs2-cbind-flag {cbind_flag[:64]!r} is not n, y or p=cb-name "
                         "(RFC 5802 §5)")
