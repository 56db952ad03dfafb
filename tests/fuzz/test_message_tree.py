"""Issue 5, the message model round trip tree → bytes → tree: for every tree
``fuzz.strategies.messages.rendered_messages()`` renders, the reference parser
(``reference.message.mime.parse_message``) recovers exactly that tree, and every part's
byte offsets slice back to the octets rendered for it (DESIGN.md principle 6: IMAP
sections and JMAP blobs are served from those offsets, never from a re-render).

What is compared, per entity: the media type after the RFC 2045 §5.2 / RFC 2046 §5.1.5
defaults, Content-Type and Content-Disposition parameters RFC 2231-decoded, the transfer
encoding, Content-ID, -Description, -Language and -Location as written, the header and
body octets, the blank line between them (RFC 5322 §2.1), the body parts of a multipart
and the encapsulated message of message/rfc822 and message/global (RFC 2046 §5.2.1, RFC
6532 §3.7), with its header field names in order.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from fuzz.strategies import messages
from reference.message.mime import parse_message
from reference.message.model import BodyPart, ParsedMessage

TREES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_content(part: BodyPart) -> messages.ContentFields:
    """The Content-* values of a parsed part, in the strategy's terms."""
    return messages.ContentFields(
        content_type=part.content_type,
        parameters=tuple((p.name, p.value) for p in part.parameters),
        transfer_encoding=part.transfer_encoding,
        disposition=part.disposition,
        disposition_parameters=tuple((p.name, p.value) for p in part.disposition_parameters),
        content_id=part.content_id,
        description=part.description,
        languages=part.languages,
        location=part.location,
    )


def assert_same_tree(raw: bytes, part: BodyPart, expected: messages.ExpectedPart,
                     path: str = "root") -> None:
    assert read_content(part) == expected.content, path
    assert raw[part.header_start:part.header_end] == expected.header, path
    assert raw[part.header_end:part.body_start] == b"\r\n", path
    assert raw[part.body_start:part.body_end] == expected.body, path
    assert part.opaque is None and part.notes == (), path
    assert len(part.children) == len(expected.children), path
    for number, (child, expected_child) in enumerate(zip(part.children, expected.children,
                                                         strict=True), start=1):
        assert_same_tree(raw, child, expected_child, f"{path}.{number}")
    assert (part.message is None) == (expected.message is None), path
    if part.message is not None and expected.message is not None:
        assert_same_message(raw, part.message, expected.message, f"{path}.message")


def assert_same_message(raw: bytes, message: ParsedMessage, root: messages.ExpectedPart,
                        path: str = "root") -> None:
    assert tuple(field.name for field in message.fields) == root.field_names, path
    assert_same_tree(raw, message.body, root, path)


@TREES
@given(messages.rendered_messages(max_leaves=8))
def test_the_parser_recovers_the_rendered_tree_and_its_octets(
        rendered: messages.RenderedMessage) -> None:
    """RFC 2045/2046: structure, fields and octets of every entity, as rendered."""
    parsed = parse_message(rendered.raw)
    assert rendered.raw == rendered.root.header + b"\r\n" + rendered.root.body
    assert_same_message(rendered.raw, parsed, rendered.root)
    assert len(list(parsed.walk())) == len(list(rendered.root.walk()))


@TREES
@given(messages.rendered_messages(utf8=True, max_leaves=6))
def test_the_tree_survives_utf8_headers_and_message_global(
        rendered: messages.RenderedMessage) -> None:
    """RFC 6532 §3.2 UTF-8 header fields, §3.7 message/global parts: the same round trip."""
    assert_same_message(rendered.raw, parse_message(rendered.raw), rendered.root)
