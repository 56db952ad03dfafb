"""Field-by-field comparison of ENVELOPE and BODY/BODYSTRUCTURE values (RFC 9051 §7.5.2)
with what the known messages require. Each difference is reported with its position
(e.g. "part 3 envelope subject") so a failure says exactly which field is wrong.

Case: media types, subtypes, encodings and parameter names are case-insensitive (RFC
2045 §5.1, §6.1; RFC 2183 §2 for dispositions); parameter values are compared exactly
except those the ``Leaf`` lists (charset). Envelope strings are compared exactly.
"""

from __future__ import annotations

from conformance.suites.imap.messages import Leaf, Multi
from reference.imap.values import Value

ENVELOPE_FIELDS = ("date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
                   "in-reply-to", "message-id")
ADDRESS_FIELDS = ("name", "adl", "mailbox", "host")


def compare_envelope(got: Value, expected: tuple[object, ...], where: str) -> list[str]:
    if not isinstance(got, tuple) or len(got) != len(ENVELOPE_FIELDS):
        return [f"{where}: expected a 10-field envelope, got {got!r}"]
    problems = []
    for field_name, value, want in zip(ENVELOPE_FIELDS, got, expected, strict=True):
        if field_name in ("date", "subject", "in-reply-to", "message-id"):
            if value != want:
                problems.append(f"{where} {field_name}: expected {_show(want)}, got "
                                f"{_show(value)}")
            continue
        problems += _compare_addresses(value, want, f"{where} {field_name}")
    return problems


def _compare_addresses(got: Value, expected: object, where: str) -> list[str]:
    if expected is None:
        return [] if got is None else [f"{where}: expected NIL, got {_show(got)}"]
    assert isinstance(expected, tuple)
    if not isinstance(got, tuple):
        return [f"{where}: expected {len(expected)} address structure(s), got {_show(got)}"]
    if len(got) != len(expected):
        return [f"{where}: expected {len(expected)} address structure(s) "
                f"{_show(expected)}, got {len(got)}: {_show(got)}"]
    problems = []
    for index, (address, want) in enumerate(zip(got, expected, strict=True), 1):
        if not isinstance(address, tuple) or len(address) != 4:
            problems.append(f"{where} address {index}: expected (name adl mailbox host), "
                            f"got {_show(address)}")
            continue
        assert isinstance(want, tuple)
        for name, value, wanted in zip(ADDRESS_FIELDS, address, want, strict=True):
            if value != wanted:
                problems.append(f"{where} address {index} {name}: expected {_show(wanted)}, "
                                f"got {_show(value)}")
    return problems


def compare_body(got: Value, expected: Leaf | Multi, *, extensible: bool,
                 where: str = "message") -> list[str]:
    """``got`` is BODYSTRUCTURE (``extensible``) or BODY; ``expected`` the known shape."""
    if isinstance(expected, Multi):
        return _compare_multi(got, expected, extensible, where)
    return _compare_leaf(got, expected, extensible, where)


def _compare_multi(got: Value, expected: Multi, extensible: bool, where: str) -> list[str]:
    if not isinstance(got, tuple) or not got or not isinstance(got[0], tuple):
        return [f"{where}: expected a multipart body ((part)(part)... \"{expected.subtype}\" "
                f"...), got {_show(got)}"]
    count = 0
    while count < len(got) and isinstance(got[count], tuple):
        count += 1
    problems = []
    if count != len(expected.parts):
        problems.append(f"{where}: expected {len(expected.parts)} body parts, got {count}")
    for number, (part, want) in enumerate(zip(got[:count], expected.parts, strict=False), 1):
        inner = f"part {number}" if where == "message" else f"{where}.{number}"
        problems += compare_body(part, want, extensible=extensible, where=inner)
    rest = got[count:]
    if not rest:
        return [*problems, f"{where}: no multipart subtype after the parts"]
    subtype = rest[0]
    if not isinstance(subtype, str) or subtype.upper() != expected.subtype:
        problems.append(f"{where} subtype: expected {expected.subtype!r} (any case), got "
                        f"{_show(subtype)}")
    extension = rest[1:]
    if not extensible and extension:
        problems.append(f"{where}: BODY carries extension data {_show(extension)} (RFC 9051 "
                        "§7.5.2: \"Extension data is never returned with the BODY fetch\")")
    if extensible and extension:
        # body-ext-mpart = body-fld-param [SP body-fld-dsp SP body-fld-lang [SP body-fld-loc
        # *(SP body-extension)]]: the first is the parameter list.
        problems += _compare_params(extension[0], expected.params, frozenset(),
                                    f"{where} multipart parameters (first extension field)")
    return problems


def _compare_leaf(got: Value, expected: Leaf, extensible: bool, where: str) -> list[str]:
    if not isinstance(got, tuple) or len(got) < 7 or not isinstance(got[0], str):
        return [f"{where}: expected a {expected.type}/{expected.subtype} body part "
                f"(type subtype params id description encoding size ...), got {_show(got)}"]
    problems = []
    for label, value, want in (("type", got[0], expected.type),
                               ("subtype", got[1], expected.subtype),
                               ("encoding", got[5], expected.encoding)):
        if not isinstance(value, str) or value.upper() != want:
            problems.append(f"{where} {label}: expected {want!r} (any case), got {_show(value)}")
    problems += _compare_params(got[2], expected.params, expected.ci_values,
                                f"{where} parameters")
    for label, value, wanted in (("id", got[3], expected.id),
                                 ("description", got[4], expected.description)):
        if value != wanted:
            problems.append(f"{where} {label}: expected {_show(wanted)}, got {_show(value)}")
    if got[6] != expected.size:
        problems.append(f"{where} size: expected {expected.size} octets (the part's body as "
                        f"transfer-encoded), got {_show(got[6])}")
    rest = got[7:]
    if expected.envelope is not None:
        # MESSAGE/RFC822: envelope, body, lines
        if len(rest) < 3:
            return [*problems, f"{where}: MESSAGE/RFC822 needs envelope, body structure and "
                    f"line count after the basic fields, got {_show(rest)}"]
        problems += compare_envelope(rest[0], expected.envelope, f"{where} envelope")
        assert expected.inner is not None
        problems += compare_body(rest[1], expected.inner, extensible=extensible,
                                 where=f"{where} (encapsulated message)")
        if rest[2] != expected.lines:
            problems.append(f"{where} lines: expected {expected.lines}, got {_show(rest[2])}")
        extension = rest[3:]
    elif expected.lines is not None:
        if not rest:
            return [*problems, f"{where}: TEXT needs the size in lines after the basic fields"]
        if rest[0] != expected.lines:
            problems.append(f"{where} lines: expected {expected.lines}, got {_show(rest[0])}")
        extension = rest[1:]
    else:
        extension = rest
    if not extensible and extension:
        problems.append(f"{where}: BODY carries extension data {_show(extension)} (RFC 9051 "
                        "§7.5.2: \"Extension data is never returned with the BODY fetch\")")
    if extensible and len(extension) >= 2 and expected.disposition is not None:
        # body-ext-1part = body-fld-md5 [SP body-fld-dsp ...]
        problems += _compare_disposition(extension[1], expected.disposition,
                                         f"{where} disposition (second extension field)")
    return problems


def _compare_params(got: Value, expected: tuple[tuple[str, str], ...],
                    ci_values: frozenset[str], where: str) -> list[str]:
    if not expected:
        return [] if got is None else [f"{where}: expected NIL, got {_show(got)}"]
    if not isinstance(got, tuple) or len(got) % 2:
        return [f"{where}: expected attribute/value pairs {_show(expected)}, got {_show(got)}"]
    pairs: dict[str, Value] = {}
    for index in range(0, len(got), 2):
        name = got[index]
        if not isinstance(name, str):
            return [f"{where}: parameter name {_show(name)} is not a string"]
        pairs[name.upper()] = got[index + 1]
    problems = []
    for name, value in expected:
        if name not in pairs:
            problems.append(f"{where}: parameter {name} missing (got {_show(got)})")
            continue
        found = pairs.pop(name)
        same = (isinstance(found, str) and found.upper() == value.upper()) if name in ci_values \
            else found == value
        if not same:
            problems.append(f"{where}: {name} expected {value!r}, got {_show(found)}")
    if pairs:
        problems.append(f"{where}: parameters the message does not have: {sorted(pairs)}")
    return problems


def _compare_disposition(got: Value, expected: tuple[str, tuple[tuple[str, str], ...]],
                         where: str) -> list[str]:
    if not isinstance(got, tuple) or len(got) != 2 or not isinstance(got[0], str):
        return [f"{where}: expected (\"{expected[0]}\" (...)), got {_show(got)}"]
    problems = []
    if got[0].upper() != expected[0]:
        problems.append(f"{where}: expected {expected[0]!r} (any case), got {_show(got[0])}")
    problems += _compare_params(got[1], expected[1], frozenset(), f"{where} parameters")
    return problems


def _show(value: object) -> str:
    if value is None:
        return "NIL"
    if isinstance(value, tuple):
        return "(" + " ".join(_show(v) for v in value) + ")"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)
