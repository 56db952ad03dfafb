"""The conformance framework end to end: target URLs, the strict drivers against fake
servers that say exactly the wrong thing, the plugin's verdicts and reports (pytester runs
of throwaway suites), ``rfcmail conform`` with a matrix, and the reference target started
and stopped for a run."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from conformance import report, run
from conformance.drivers import GrammarViolation, TargetClosed, TargetTimeout
from conformance.drivers.imap import ImapDriver
from conformance.drivers.smtp import SmtpDriver
from conformance.targets import (
    Account,
    TargetError,
    TargetSpec,
    parse_account,
    parse_target,
    target_protocols,
)
from tests.conformance.fakes import FakeServer, imap_handler, smtp_handler

pytest_plugins = ["pytester"]

# The plugin as `rfcmail conform` loads it; no cache, and no pytest-asyncio (which would
# warn about its unset options in the throwaway suites' ini-less directories).
PLUGIN_ARGS = ("-p", "conformance.plugin", "-p", "no:cacheprovider", "-p", "no:asyncio")


def _spec(server: FakeServer, protocol: str = "smtp") -> TargetSpec:
    return parse_target(f"{protocol}://u:p@{server.url_host}")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- target URLs -----------------------------------------------------------------------


def test_target_urls() -> None:
    spec = parse_target("imaps://alice%40example.test:p%3Ass@[::1]:1993")
    assert (spec.protocol, spec.host, spec.port, spec.tls) == ("imap", "::1", 1993, "implicit")
    assert spec.accounts == (Account("alice@example.test", "p:ss"),)
    assert spec.domain == "example.test"
    assert "p%3Ass" not in spec.url and "p:ss" not in spec.url
    assert parse_target("smtp://mx.example.test").port == 25
    submission = parse_target("submission://bob:pw@127.0.0.1")
    assert (submission.protocol, submission.port, submission.submission) == ("smtp", 587, True)
    assert submission.address(submission.accounts[0]) == "bob"
    assert parse_target("imap://127.0.0.1:143").accounts == ()
    assert target_protocols("reference") == ("smtp", "imap")
    assert target_protocols("cyrus") == target_protocols("dovecot") == ("imap",)
    assert target_protocols("smtps://h") == ("smtp",)
    assert parse_account("carol@x.test:a:b") == Account("carol@x.test", "a:b")
    spec = parse_target("smtp://127.0.0.1:2525").with_options(
        accounts=[Account("dave", "pw")], domain="d.test")
    assert spec.address(spec.accounts[0]) == "dave@d.test"


@pytest.mark.parametrize("bad", ["http://h", "imap://", "imap://h:notaport", "imap://h/INBOX",
                                 "reference2"])
def test_bad_target_urls(bad: str) -> None:
    with pytest.raises(TargetError):
        parse_target(bad)


def test_bad_account() -> None:
    with pytest.raises(TargetError):
        parse_account("nocolon")


# --- drivers: strict and byte-exact ------------------------------------------------------


@pytest.mark.parametrize("wire", [
    b"25O not a code\r\n",                  # RFC 5321 §4.2 Reply-code
    b"250 bare LF\n",                       # §2.3.8
    b"250-first\r\n251 second\r\n",         # §4.2.1 same code on every line
    b"250 control \x01 char\r\n",           # §4.2 textstring
    b"250 " + b"x" * 600 + b"\r\n",         # §4.5.3.1.5 512 octets
])
def test_smtp_driver_refuses_malformed_replies(wire: bytes) -> None:
    with FakeServer(smtp_handler(special={b"NOOP": wire})) as server:
        driver = SmtpDriver.connect(_spec(server), timeout=5)
        with pytest.raises(GrammarViolation) as raised:
            driver.command("NOOP")
        driver.close()
    assert raised.value.raw.startswith(wire[:20])
    assert driver.transcript[-1] == ("S", raised.value.raw)


def test_smtp_driver_refuses_a_malformed_ehlo_line() -> None:
    with FakeServer(smtp_handler(extensions=("AUTH=LOGIN PLAIN",))) as server:
        driver = SmtpDriver.connect(_spec(server), timeout=5)
        with pytest.raises(GrammarViolation, match="ehlo-line"):
            driver.ehlo()
        driver.close()


def test_smtp_driver_is_byte_exact() -> None:
    with FakeServer(smtp_handler(extensions=("ENHANCEDSTATUSCODES", "SIZE 1000"))) as server:
        driver = SmtpDriver.connect(_spec(server), timeout=5)
        assert driver.greeting is not None and driver.greeting.code == 220
        assert driver.ehlo().code == 250
        assert driver.extensions == {"ENHANCEDSTATUSCODES": "", "SIZE": "1000"}
        reply = driver.command("NOOP")
        assert (reply.code, reply.enhanced, reply.lines) == (250, "2.0.0", ["2.0.0 <b>ok</b>"])
        assert driver.data(b".leading dot\r\nmiddle\r\n.\r\nlast").code == 250
        assert driver.quit().code == 221
        driver.close()
    # RFC 5321 §4.5.2: each line starting with "." gets one more; CRLF added at the end.
    assert bytes(server.received).endswith(
        b"DATA\r\n..leading dot\r\nmiddle\r\n..\r\nlast\r\n.\r\nQUIT\r\n")
    sent = b"".join(data for direction, data in driver.transcript if direction == "C")
    assert sent == bytes(server.received)


def test_drivers_bound_every_wait() -> None:
    async def silent(reader: Any, writer: Any, server: FakeServer) -> None:
        await reader.read()

    with FakeServer(silent) as server, pytest.raises(TargetTimeout):
        SmtpDriver.connect(_spec(server), timeout=0.3)
    with pytest.raises(TargetClosed):
        ImapDriver.connect(parse_target(f"imap://127.0.0.1:{_closed_port()}"), timeout=2)


@pytest.mark.parametrize("greeting", [
    b"* OK [CAPABILITY IMAP4rev2 fake\r\n",     # unclosed response code
    b"A1 OK tagged greeting\r\n",               # RFC 9051 §9 greeting is untagged
    b"* OK fine\n",                             # §2.2 CRLF
])
def test_imap_driver_refuses_malformed_greetings(greeting: bytes) -> None:
    with FakeServer(imap_handler(greeting=greeting)) as server, \
            pytest.raises(GrammarViolation):
        ImapDriver.connect(_spec(server, "imap"), timeout=5)


def test_imap_driver_refuses_an_unknown_tag() -> None:
    special = {b"NOOP": b"Z999 OK not yours\r\nTAG OK done\r\n"}
    with FakeServer(imap_handler(special=special)) as server:
        driver = ImapDriver.connect(_spec(server, "imap"), timeout=5)
        with pytest.raises(GrammarViolation, match="Z999"):
            driver.command("NOOP")
        driver.close()


def test_imap_driver_allows_expunge_during_the_uid_forms_only() -> None:
    """RFC 9051 §7.5.1: "An EXPUNGE response MUST NOT be sent ... while responding to a
    FETCH, STORE, or SEARCH command"; the UID forms may carry one."""
    answer = b"* 2 EXPUNGE\r\nTAG OK done\r\n"
    special = {b"UID FETCH 1:* (FLAGS)": answer, b"FETCH 1:* (FLAGS)": answer}
    with FakeServer(imap_handler(special=special)) as server:
        driver = ImapDriver.connect(_spec(server, "imap"), timeout=5)
        assert driver.command("UID FETCH 1:* (FLAGS)").ok
        with pytest.raises(GrammarViolation, match=r"7\.5\.1"):
            driver.command("FETCH 1:* (FLAGS)")
        driver.close()


@pytest.mark.parametrize(("capabilities", "header"), [
    ("IMAP4rev2", b"{5}"), ("IMAP4rev2 LITERAL+", b"{5+}")])
def test_imap_driver_sends_literals_exactly(capabilities: str, header: bytes) -> None:
    greeting = f"* OK [CAPABILITY {capabilities}] hi\r\n".encode()
    with FakeServer(imap_handler(greeting=greeting, capabilities=capabilities)) as server:
        driver = ImapDriver.connect(_spec(server, "imap"), timeout=5)
        assert "IMAP4REV2" in driver.capabilities
        done = driver.append("INBOX", b"hello", flags=("\\Seen",))
        assert done.ok and done.raw == b"C001 OK done\r\n"
        assert driver.login("a b", "p\"w").ok
        driver.close()
    assert bytes(server.received) == (b'C001 APPEND "INBOX" (\\Seen) ' + header + b"\r\nhello\r\n"
                                      b'C002 LOGIN "a b" "p\\"w"\r\nC003 CAPABILITY\r\n')


@pytest.mark.parametrize(("capabilities", "prefix"), [
    ("IMAP4rev1 NAMESPACE", "INBOX."), ("IMAP4rev2", "INBOX."), ("IMAP4rev1", "")])
def test_imap_driver_personal_prefix(capabilities: str, prefix: str) -> None:
    """RFC 9051 §6.3.10: the first personal namespace's prefix, asked only when NAMESPACE
    (or IMAP4rev2, which includes it) is advertised."""
    greeting = f"* OK [CAPABILITY {capabilities}] hi\r\n".encode()
    special = {b"NAMESPACE": b'* NAMESPACE (("INBOX." ".")) NIL NIL\r\nTAG OK done\r\n'}
    with FakeServer(imap_handler(greeting=greeting, capabilities=capabilities,
                                 special=special)) as server:
        driver = ImapDriver.connect(_spec(server, "imap"), timeout=5)
        assert driver.personal_prefix() == prefix
        driver.close()


# --- the plugin: verdicts, expectations, reports -----------------------------------------

VERDICT_SUITE = '''
import pytest

pytestmark = pytest.mark.protocol("smtp")


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST", ids=("RFC5321-4.2-1",))
def test_pass(smtp):
    assert smtp.greeting.code == 220


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST")
def test_fail(smtp):
    reply = smtp.command("NOOP")
    assert reply.code == 252, f"NOOP answered {reply}"


@pytest.mark.requirement(rfc=5321, section="4.1.1", level="SHOULD")
def test_non_strict(smtp):
    assert smtp.command("NOOP").code == 252


@pytest.mark.requirement(rfc=5321, section="4.2", level="MUST")
def test_grammar(smtp):
    smtp.command("BROKEN")


@pytest.mark.needs("CHUNKING")
@pytest.mark.requirement(rfc=3030, section="2", level="MUST")
def test_unsupported(smtp):
    raise AssertionError("never runs")


@pytest.mark.needs("CHUNKING|PIPELINING")
@pytest.mark.requirement(rfc=3030, section="2", level="MUST")
def test_either_capability(smtp):
    assert smtp.greeting.code == 220


@pytest.mark.informational
@pytest.mark.requirement(rfc=5321, section="4.1.1.1", level="MAY")
def test_informational(smtp, observe):
    smtp.ehlo()
    observe("extensions", sorted(smtp.extensions))
    assert False, "informational tests never fail"


@pytest.mark.accounts(5)
@pytest.mark.requirement(rfc=5321, section="3.3", level="MUST")
def test_skipped(smtp, accounts):
    pass


def test_other_protocol_is_deselected(imap):
    pass


test_other_protocol_is_deselected = pytest.mark.protocol("imap")(
    test_other_protocol_is_deselected)
'''


def _run_suite(pytester: pytest.Pytester, target: str, *args: str) -> tuple[int, dict[str, Any]]:
    pytester.makepyfile(test_verdicts=VERDICT_SUITE)
    reports = pytester.path / "reports"
    result = pytester.runpytest(*PLUGIN_ARGS,
                                "--target", target, "--report-dir", str(reports),
                                "--run-id", "r1", "--io-timeout", "5", *args)
    directory = next((reports / "r1").iterdir())
    document: dict[str, Any] = json.loads((directory / "results.json").read_text())
    document["_html"] = (directory / "report.html").read_text()
    document["_junit"] = (directory / "junit.xml").read_text()
    return int(result.ret), document


def _verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {r["test"].rpartition("::")[2]: r["verdict"] for r in document["results"]}


FAKE_SPECIAL = {b"BROKEN": b"2500 five digits\r\n"}


def test_plugin_verdicts_and_reports(pytester: pytest.Pytester) -> None:
    with FakeServer(smtp_handler(special=FAKE_SPECIAL)) as server:
        status, document = _run_suite(pytester, f"smtp://alice@example.test:pw@{server.url_host}")
    assert _verdicts(document) == {
        "test_pass": "PASS", "test_fail": "FAIL", "test_non_strict": "NON-STRICT",
        "test_grammar": "FAIL", "test_unsupported": "UNSUPPORTED",
        "test_either_capability": "PASS",
        "test_informational": "INFORMATIONAL", "test_skipped": "SKIPPED"}
    assert status == 1                                    # two unexpected FAILs
    assert document["schema"] == 1 and document["run_id"] == "r1"
    assert set(document) >= {"target", "started", "finished", "summary", "unexpected",
                             "results", "unavailable"}
    assert document["summary"]["FAIL"] == 2 and document["unexpected"] == 2
    assert document["target"]["protocol"] == "smtp"
    by_test = {r["test"].rpartition("::")[2]: r for r in document["results"]}
    for result in by_test.values():
        assert set(result) >= {"test", "requirements", "verdict", "expected", "message",
                               "transcript", "seconds"}
        for requirement in result["requirements"]:
            assert set(requirement) == {"id", "rfc", "section", "title", "level", "text"}
    failed = by_test["test_fail"]
    assert "NOOP answered 250 2.0.0 <b>ok</b>" in failed["message"]
    assert "C: NOOP\nS: 250 2.0.0 <b>ok</b>" in failed["transcript"]
    assert "2500 five digits" in by_test["test_grammar"]["transcript"]
    assert "GrammarViolation" in by_test["test_grammar"]["message"]
    assert by_test["test_informational"]["observations"] == {
        "extensions": ["8BITMIME", "PIPELINING", "SIZE"]}
    assert by_test["test_unsupported"]["message"].startswith("UNSUPPORTED")
    html = document["_html"]
    assert "RFC 5321" in html and "§4.2" in html and "RFC 3030" in html
    assert "S: 250 2.0.0 &lt;b&gt;ok&lt;/b&gt;" in html and "<b>ok</b>" not in html
    assert '<testcase classname="test_verdicts" name="test_fail"' in document["_junit"]
    assert document["_junit"].count("<failure") == 2


def test_plugin_expectations(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", expectations='[expected]\n'
                      '"test_verdicts.py::test_fail" = { verdict = "FAIL", reason = "known" }\n'
                      '"test_verdicts.py::test_grammar" = "FAIL"\n'
                      '"RFC5321-4.2-1" = "FAIL"\n')
    with FakeServer(smtp_handler(special=FAKE_SPECIAL)) as server:
        status, document = _run_suite(pytester, f"smtp://{server.url_host}",
                                      "--expectations", "expectations.toml")
    by_test = {r["test"].rpartition("::")[2]: r for r in document["results"]}
    assert (by_test["test_fail"]["verdict"], by_test["test_fail"]["expected"]) == ("FAIL", "FAIL")
    assert by_test["test_fail"]["expected_reason"] == "known"
    # test_pass was expected to FAIL (by its requirement id) and passed: not a failure.
    assert by_test["test_pass"]["expected"] == "FAIL"
    assert document["unexpected"] == 0 and status == 0
    assert "(expected: known)" in document["_html"]


def test_plugin_error_when_the_target_is_down(pytester: pytest.Pytester) -> None:
    status, document = _run_suite(pytester, f"smtp://127.0.0.1:{_closed_port()}",
                                  "-k", "test_pass or test_fail")
    assert _verdicts(document) == {"test_pass": "ERROR", "test_fail": "ERROR"}
    assert status == 1
    error = document["results"][0]
    assert "TargetClosed" in error["message"]
    assert "-- connect to 127.0.0.1" in error["transcript"]


def test_plugin_selection(pytester: pytest.Pytester) -> None:
    with FakeServer(smtp_handler(special=FAKE_SPECIAL)) as server:
        _, document = _run_suite(pytester, f"smtp://{server.url_host}",
                                 "--rfc", "5321", "--level", "SHOULD")
    assert _verdicts(document) == {"test_non_strict": "NON-STRICT"}


def test_without_target_everything_skips(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_verdicts=VERDICT_SUITE)
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(skipped=9)


# --- rfcmail conform: several targets, the matrix -----------------------------------------


def test_conform_matrix_for_two_targets(tmp_path: Path) -> None:
    suite = tmp_path / "suite" / "test_verdicts.py"
    suite.parent.mkdir()
    suite.write_text(VERDICT_SUITE)
    strict = {b"NOOP": b"252 2.0.0 fine\r\n", b"BROKEN": b"250 fine\r\n"}
    with FakeServer(smtp_handler(special=FAKE_SPECIAL)) as one, \
            FakeServer(smtp_handler(special=strict)) as two:
        status = run.main(["--target", f"smtp://{one.url_host}",
                           "--target", f"smtp://{two.url_host}",
                           "--suite", str(suite), "--report-dir", str(tmp_path / "reports"),
                           "--run-id", "m", "--snapshot", str(tmp_path / "snapshot")])
    assert status == 1
    matrix = json.loads((tmp_path / "reports" / "m" / "matrix.json").read_text())
    assert matrix["schema"] == 1 and len(matrix["targets"]) == 2
    rows = {row["key"]: row for row in matrix["rows"]}
    first, second = matrix["targets"]
    # RFC 5321 §4.2 has test_pass, test_fail and test_grammar: the worst verdict shows.
    assert rows["RFC5321-4.2"]["verdicts"] == {first: "FAIL", second: "PASS"}
    assert not rows["RFC5321-4.2"]["agree"]
    assert rows["RFC5321-4.2-1"]["agree"]
    html = (tmp_path / "reports" / "m" / "matrix.html").read_text()
    assert "class='disagree'" in html
    assert html.index("Where the targets disagree") < html.index("Every requirement")
    for target in matrix["targets"]:
        assert (tmp_path / "reports" / "m" / report.safe_name(target) / "report.html").exists()
        assert (tmp_path / "snapshot" / report.safe_name(target) / "results.json").exists()
    assert (tmp_path / "snapshot" / "matrix.html").read_text() == html


# --- the reference target, started and stopped for the run --------------------------------


def test_smoke_suites_against_the_reference(pytester: pytest.Pytester) -> None:
    suites = Path(__file__).resolve().parents[2] / "conformance" / "suites"
    result = pytester.runpytest(*PLUGIN_ARGS,
                                str(suites / "smtp" / "test_smoke.py"),
                                str(suites / "imap" / "test_smoke.py"),
                                "--target", "reference", "--report-dir", "reports",
                                "--run-id", "ref")
    result.assert_outcomes(passed=7)
    document = json.loads((pytester.path / "reports" / "ref" / "reference" /
                           "results.json").read_text())
    assert document["target"]["protocol"] == "imap smtp"
    assert {r["verdict"] for r in document["results"]} == {"PASS"}


def _document(name: str, verdicts: dict[str, str]) -> dict[str, Any]:
    """A results.json document of ``name`` with one test per requirement id."""
    return {"target": {"name": name}, "unavailable": None, "results": [
        {"test": f"t::{key}", "verdict": verdict,
         "requirements": [{"id": key, "rfc": 9051, "section": "6.3.1", "level": "MUST"}]}
        for key, verdict in verdicts.items()]}


def test_matrix_agreement_counts_only_judged_verdicts() -> None:
    """UNSUPPORTED, SKIPPED, INFORMATIONAL and a target without the protocol (null) do
    not disagree."""
    matrix = report.build_matrix("m", [
        _document("reference", {"A": "PASS", "B": "PASS", "C": "PASS", "D": "PASS",
                                "E": "PASS"}),
        _document("cyrus", {"A": "UNSUPPORTED", "B": "FAIL", "C": "SKIPPED",
                            "E": "INFORMATIONAL"}),
        _document("dovecot", {"A": "PASS", "B": "PASS", "C": "NON-STRICT"}),
    ])
    rows = {row["key"]: row for row in matrix["rows"]}
    assert rows["A"]["agree"] and rows["D"]["agree"] and rows["E"]["agree"]
    assert not rows["B"]["agree"] and not rows["C"]["agree"]
    assert rows["D"]["verdicts"] == {"reference": "PASS", "cyrus": None, "dovecot": None}


def test_the_snapshot_readme_explains_every_disagreement() -> None:
    """reports/snapshot/README.md names every requirement where the checked-in targets
    disagree (the matrix rebuilt from their results.json)."""
    snapshot = Path(__file__).resolve().parents[2] / "reports" / "snapshot"
    documents = [report.load_results(path)
                 for path in sorted(snapshot.glob("*/results.json"))]
    if len(documents) < 2:
        pytest.skip("no differential snapshot checked in")
    matrix = report.build_matrix("snapshot", documents)
    readme = (snapshot / "README.md").read_text()
    unexplained = [row["key"] for row in matrix["rows"]
                   if not row["agree"] and row["key"] not in readme]
    assert not unexplained, f"disagreements not explained in {snapshot / 'README.md'}"

