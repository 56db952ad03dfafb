"""Hypothesis strategies for SASL client messages (RFC 4422), valid and hostile: the
payloads SMTP AUTH (RFC 4954), IMAP AUTHENTICATE and ManageSieve carry once their base64
is decoded, composed like the ABNF of each mechanism.

- ``passwords()``: passwords SASLprep leaves unchanged;
- PLAIN (RFC 4616 §2): ``plain_messages()``, ``message = [authzid] UTF8NUL authcid
  UTF8NUL passwd``;
- LOGIN (draft-murchison-sasl-login): ``login_fields()``, the user name or the password,
  each one message;
- SCRAM-SHA-256 (RFC 5802 §7, RFC 7677): ``saslnames()``, ``scram_client_first_messages()``
  and ``scram_client_final_messages()`` (whose proof is well formed, not right: it takes
  the password to compute one);
- ``hostile_sasl_messages()``: near misses of all of them (missing or extra NULs and
  commas, empty and overlong fields past the 255 octets RFC 4616 §2 asks servers to take,
  ill-formed UTF-8, NUL inside SCRAM, "=" not followed by 2C or 3D, mandatory "m="
  extensions, attributes out of place, broken base64, proofs of the wrong length) and
  random octets.

Values never contain LF, so a sequence of messages can travel LF-separated (the form
``fuzz.targets.sasl`` reads). Example::

    from hypothesis import given
    from fuzz.strategies import sasl
    from reference.directory.sasl import PlainServer

    @given(sasl.plain_messages())
    def test_plain_asks_for_credentials(message):
        PlainServer().start(message)
"""

from __future__ import annotations

import base64

from hypothesis import strategies as st

from fuzz.strategies.smtp import _cached, _check_bool

__all__ = [
    "hostile_sasl_messages",
    "login_fields",
    "passwords",
    "plain_messages",
    "saslnames",
    "scram_client_final_messages",
    "scram_client_first_messages",
]

# Letters that survive SASLprep unchanged (RFC 4013 §2: no mapping, no prohibited
# output), ASCII and not, without NUL, LF, "," and "=".
_NAME_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@+!"
               "éüßøñλжЯ中文")


def _utf8_text(*, min_size: int, max_octets: int,
               alphabet: str = _NAME_CHARS) -> st.SearchStrategy[str]:
    return (st.text(alphabet, min_size=min_size, max_size=max_octets)
            .filter(lambda text: len(text.encode()) <= max_octets))


@_cached
def passwords() -> st.SearchStrategy[str]:
    """Passwords that SASLprep leaves as they are (RFC 4013 §2 as a stored string: no
    mapping, no prohibited output), with spaces and the characters SCRAM escapes in
    names; 1 to 255 octets (RFC 4616 §2)."""
    return _utf8_text(min_size=1, max_octets=255, alphabet=_NAME_CHARS + " ,=:;")


@_cached
def plain_messages(*, authzid: bool = True) -> st.SearchStrategy[bytes]:
    """RFC 4616 §2 ``message = [authzid] UTF8NUL authcid UTF8NUL passwd``; ``authcid`` and
    ``passwd`` are ``1*SAFE``, each at most 255 octets ("Servers MUST be capable of
    accepting authzid, authcid, and passwd productions up to and including 255
    octets"). With ``authzid`` the authorization identity may be present."""
    _check_bool("authzid", authzid)
    field = _utf8_text(min_size=1, max_octets=255)
    zid = st.one_of(st.just(""), field) if authzid else st.just("")
    return st.builds(lambda z, c, p: f"{z}\x00{c}\x00{p}".encode(), zid, field, passwords())


@_cached
def login_fields() -> st.SearchStrategy[bytes]:
    """One LOGIN answer: a user name or a password (UTF-8, 1 to 255 octets)."""
    return _utf8_text(min_size=1, max_octets=255).map(str.encode)


@_cached
def saslnames() -> st.SearchStrategy[str]:
    """RFC 5802 §7 ``saslname = 1*(value-safe-char / "=2C" / "=3D")`` as wire text: a
    name whose "," and "=" are sent as "=2C" and "=3D" (§5.1)."""
    return (_utf8_text(min_size=1, max_octets=80, alphabet=_NAME_CHARS + ",=")
            .map(lambda name: name.replace("=", "=3D").replace(",", "=2C")))


# RFC 5802 §7: printable = %x21-2B / %x2D-7E  ; Printable ASCII except ","
_NONCE_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if c != 0x2C)
# attr-val = ALPHA "=" value, as extensions: any letter SCRAM does not define (§7
# "unrecognized attributes not defined in this document MUST be ignored")
_EXTENSION_LETTERS = "bdfghjklotuwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@_cached
def _extensions() -> st.SearchStrategy[str]:
    value = st.text(_NONCE_CHARS + "é", min_size=1, max_size=12)
    attribute = st.builds(lambda name, v: f"{name}={v}", st.sampled_from(_EXTENSION_LETTERS),
                          value)
    return st.lists(attribute, max_size=3).map(lambda items: "".join("," + i for i in items))


@_cached
def scram_client_first_messages() -> st.SearchStrategy[bytes]:
    """RFC 5802 §7 ``client-first-message = gs2-header client-first-message-bare``:
    ``gs2-cbind-flag "," [ authzid ] ","`` (flag "n" or "y": no channel binding) then
    ``"n=" saslname "," "r=" c-nonce ["," extensions]``."""
    flag = st.sampled_from(["n", "y"])
    authzid = st.one_of(st.just(""), saslnames().map(lambda name: "a=" + name))
    nonce = st.text(_NONCE_CHARS, min_size=1, max_size=40)
    return st.builds(lambda f, a, n, r, x: f"{f},{a},n={n},r={r}{x}".encode(),
                     flag, authzid, saslnames(), nonce, _extensions())


@_cached
def scram_client_final_messages(*, nonce: str = "NONCE",
                                gs2_header: str = "n,,") -> st.SearchStrategy[bytes]:
    """RFC 5802 §7 ``client-final-message = channel-binding "," nonce ["," extensions]
    "," proof``: ``c=`` the base64 of ``gs2_header`` (no binding data), ``r=nonce``, and
    a proof of 32 octets (SHA-256, RFC 7677 §3), well formed but not computed from a
    password. ``nonce`` defaults to the placeholder ``fuzz.targets.sasl`` replaces."""
    binding = base64.b64encode(gs2_header.encode()).decode()
    proof = st.binary(min_size=32, max_size=32).map(lambda p: base64.b64encode(p).decode())
    return st.builds(lambda x, p: f"c={binding},r={nonce}{x},p={p}".encode(),
                     _extensions(), proof)


_HOSTILE_SASL = (
    b"", b"\x00", b"\x00\x00", b"\x00\x00\x00", b"a\x00b", b"\x00user\x00", b"\x00\x00pw",
    b"\x00" + b"u" * 256 + b"\x00pw", b"\x00user\x00" + b"p" * 256, b"\x00\xff\x00pw",
    b"\x00us\xc3er\x00pw", b"\x00\xe2\x80\x8b\x00pw",          # a name SASLprep maps away
    b"\x00\xef\xbf\xbe\x00pw", b"\x00a\xd8\xb1\x00pw",          # prohibited, bidi mix
    b"n", b"n,", b"n,,", b"n,,n=", b"n,,n=user", b"n,,n=user,r=", b"n,,n=user,r=a,b",
    b"x,,n=user,r=abc", b"p=,,n=user,r=abc", b"p=tls-unique,,n=user,r=abc",
    b"n,a,n=user,r=abc", b"n,a=,n=user,r=abc", b"n,,n=us=er,r=abc", b"n,,n=us=2c,r=abc",
    b"n,,m=ext,n=user,r=abc", b"n,,n=user,r=abc,m=x", b"n,,n=user,r=abc,p=x",
    b"n,,n=user,r=abc,=x", b"n,,n=user,r=abc,1=x", b"n,,n=user,r=a\x00c", b"n,,r=abc,n=user",
    b"n,,n=user,r=abc\xff", b"n,,n=" + b"u" * 300 + b",r=abc",
    b"c=biws", b"c=biws,r=NONCE", b"c=biws,r=NONCE,p=", b"c=biws,r=NONCE,p=AAAA",
    b"c=biws,r=NONCE,p=" + b"A" * 43, b"c=biws,r=NONCE,p=" + b"A" * 42 + b"==",
    b"c=biws,r=NONCE,p=" + b"A" * 43 + b"=,x=y", b"c=bi,r=NONCE,p=" + b"A" * 43 + b"=",
    b"c=eSws,r=NONCE,p=" + b"A" * 43 + b"=", b"c=biws,r=other,p=" + b"A" * 43 + b"=",
    b"c=biws,r=NONCE,m=x,p=" + b"A" * 43 + b"=", b"r=NONCE,c=biws,p=" + b"A" * 43 + b"=",
    b"c=biws,r=NONCE,s=x,p=" + b"A" * 43 + b"=", b"c=biws,r=NONCE,p=" + b"!" * 44,
    b"r=cliX,s=QUJD,i=4096", b"r=cli,s=,i=1", b"r=cliX,s=QUJD,i=0", b"r=cliX,s=QUJD",
    b"r=cliX,s=QUJD,i=99999999999", b"e=other-error", b"r=cliX,s=Q,i=4096",
)


@_cached
def hostile_sasl_messages() -> st.SearchStrategy[bytes]:
    """Near misses of every mechanism's messages (see the module notes), valid messages
    with one octet changed, and random octets; never an LF."""
    valid = st.one_of(plain_messages(), login_fields(), scram_client_first_messages(),
                      scram_client_final_messages())

    def one_off(message: bytes, at: int, octet: int) -> bytes:
        at %= len(message) + 1
        return message[:at] + bytes([octet]) + message[at + 1:]

    octets = st.integers(0, 255).filter(lambda o: o != 0x0A)
    return st.one_of(
        st.sampled_from(_HOSTILE_SASL),
        st.builds(one_off, valid, st.integers(0, 400), octets),
        st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"")),
    )
