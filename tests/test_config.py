"""The configuration file: defaults, the example file, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.config import Config, ConfigError, Endpoint, load_config
from reference.limits import SmtpLimits

EXAMPLE = Path(__file__).resolve().parent.parent / "rfcmail.example.toml"


def test_no_file_gives_the_defaults() -> None:
    assert load_config(None) == Config()


def test_the_example_file_writes_out_exactly_the_defaults() -> None:
    # The example is documentation: it must not drift from the code's defaults.
    assert load_config(EXAMPLE) == Config()


def test_the_example_file_names_every_key() -> None:
    text = EXAMPLE.read_text()
    import dataclasses

    def keys(obj: object) -> list[str]:
        found = []
        for field in dataclasses.fields(obj):  # type: ignore[arg-type]
            value = getattr(obj, field.name)
            found += keys(value) if dataclasses.is_dataclass(value) else [field.name]
        return found

    missing = [key for key in keys(Config()) if f"\n{key} =" not in text]
    assert missing == []


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nhostname = "mx.example.test"\n[smtp.limits]\nrecipients = 500\n')
    config = load_config(path)
    assert config.server.hostname == "mx.example.test"
    assert config.smtp.limits == SmtpLimits(recipients=500)
    assert config.smtp.listen == "127.0.0.1:2525"


@pytest.mark.parametrize("text, message", [
    ("[server]\nhostnme = 'x'\n", "unknown configuration key 'server.hostnme'"),
    ("[smtp.limits]\nrecipients = 'many'\n", "'smtp.limits.recipients' must be a int"),
    ("[log]\ntrace = 1\n", "'log.trace' must be true or false"),
    ("[smtp]\nlimits = 3\n", "'smtp.limits' must be a table"),
    ("[server\n", "c.toml"),
    ("[server]\npassword_cache_seconds = -1.0\n", "must not be negative"),
    ("[server]\npassword_cache_entries = 0\n", "must be positive"),
])
def test_a_wrong_file_is_refused_with_the_key_named(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_limits_below_the_rfc_minimums_are_refused(tmp_path: Path) -> None:
    # RFC 5321 §4.5.3.1.8: "The minimum total number of recipients that MUST be buffered
    # is 100 recipients."
    path = tmp_path / "c.toml"
    path.write_text("[smtp.limits]\nrecipients = 99\n")
    with pytest.raises(ConfigError, match="below the RFC minimum 100"):
        load_config(path)


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:2525", Endpoint("127.0.0.1", 2525)),
    ("[::1]:2525", Endpoint("::1", 2525)),
    ("localhost:25", Endpoint("localhost", 25)),
])
def test_listener_addresses_parse(text: str, expected: Endpoint) -> None:
    assert Endpoint.parse(text) == expected


@pytest.mark.parametrize("text", ["2525", "host:", "host:99999", "host:x"])
def test_bad_listener_addresses_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        Endpoint.parse(text)
