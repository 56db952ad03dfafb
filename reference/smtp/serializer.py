"""Typed SMTP values to bytes: replies (server side) and commands (client side)."""

from __future__ import annotations

import functools
import re

from reference.errors import LocalProtocolError
from reference.smtp.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    DsnNotify,
    Ehlo,
    Expn,
    Helo,
    Help,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
)
from reference.smtp.grammar import encode_base64, write_path, write_xtext
from reference.smtp.replies import Reply

_CONTROL = re.compile("[\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=1024)
def write_reply(reply: Reply, *, enhanced: bool) -> bytes:
    """RFC 5321 §4.2.1: every line but the last is "code-text", the last "code SP text".

    Cached: most replies are the same few constants (replies are immutable values).

    With ``enhanced`` (RFC 2034 §4) the status code prefaces the text of every line
    ("the same status code must appear at the beginning of the text in each line").
    """
    code = str(reply.code)
    prefix = ""
    if enhanced and reply.status is not None:
        prefix = reply.status.with_class(reply.code) + " "
    last = len(reply.lines) - 1
    out = []
    for index, text in enumerate(reply.lines):
        body = prefix + text
        if index < last:
            out.append(f"{code}-{body}\r\n")
        elif body or reply.code == 334:
            # RFC 4954 §4: an empty challenge is "334 " (the space is still sent)
            out.append(f"{code} {body}\r\n")
        else:
            out.append(f"{code}\r\n")   # Reply-code [ SP textstring ]: textstring is 1*
    return "".join(out).encode("utf-8")


def write_command(command: Command) -> bytes:
    """The client's command line for ``command`` (BDAT includes its chunk)."""
    match command:
        case Ehlo(domain=domain):
            line = f"EHLO {domain}"
        case Helo(domain=domain):
            line = f"HELO {domain}"
        case MailFrom():
            line = "MAIL FROM:" + write_path(command.reverse_path) + _mail_params(command)
        case RcptTo():
            path = command.forward_path
            line = "RCPT TO:" + (f"<{path.local_part}>" if path.domain is None
                                 else write_path(path)) + _rcpt_params(command)
        case Data():
            line = "DATA"
        case Bdat(chunk_size=size, last=last, chunk=chunk):
            return f"BDAT {size}{' LAST' if last else ''}\r\n".encode() + chunk
        case Rset():
            line = "RSET"
        case Vrfy(string=string, smtputf8=utf8):
            line = f"VRFY {string}" + (" SMTPUTF8" if utf8 else "")
        case Expn(string=string, smtputf8=utf8):
            line = f"EXPN {string}" + (" SMTPUTF8" if utf8 else "")
        case Help(topic=topic):
            line = "HELP" + (f" {topic}" if topic else "")
        case Noop(string=string):
            line = "NOOP" + (f" {string}" if string else "")
        case Quit():
            line = "QUIT"
        case StartTls():
            line = "STARTTLS"
        case Auth(mechanism=mechanism, initial_response=initial):
            line = f"AUTH {mechanism}"
            if initial is not None:
                # RFC 4954 §4: a zero-length initial response "MUST instead" be "="
                line += " " + (encode_base64(initial) if initial else "=")
    if _CONTROL.search(line):
        # RFC 5321 §4.1.1: a command is one line ending in CRLF, and §4.1.2 keeps control
        # characters out of it: a CR or LF in a value would write a second command.
        raise LocalProtocolError(f"control character in a command: {line!r}")
    return line.encode("utf-8") + b"\r\n"


def _mail_params(command: MailFrom) -> str:
    params = []
    if command.size is not None:
        params.append(f"SIZE={command.size}")
    if command.body is not None:
        params.append(f"BODY={command.body.value}")
    if command.smtputf8:
        params.append("SMTPUTF8")
    if command.ret is not None:
        params.append(f"RET={command.ret.value}")
    if command.envid is not None:
        params.append(f"ENVID={write_xtext(command.envid)}")
    if command.auth is not None:
        params.append(f"AUTH={write_xtext(command.auth)}")
    return "".join(" " + p for p in params)


def _rcpt_params(command: RcptTo) -> str:
    params = []
    if command.notify is not None:
        order = [DsnNotify.NEVER, DsnNotify.SUCCESS, DsnNotify.FAILURE, DsnNotify.DELAY]
        params.append("NOTIFY=" + ",".join(n.value for n in order if n in command.notify))
    if command.orcpt is not None:
        params.append(f"ORCPT={command.orcpt.addr_type};{write_xtext(command.orcpt.address)}")
    return "".join(" " + p for p in params)
