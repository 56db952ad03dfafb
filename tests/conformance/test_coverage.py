"""``rfcmail report coverage`` (conformance/coverage.py): exact counts on a small fake
index and suite, the CLI's text and JSON forms, and the real suites against the real
index and not-observable list."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance import coverage
from conformance.coverage import Citation, collect_citations, compute, load_not_observable
from conformance.requirements import Requirement, RequirementIndex, load_index

CHECKOUT = Path(__file__).resolve().parents[2]


def _requirement(rid: str, level: str, text: str = "") -> Requirement:
    _, section, _ = rid.split("-")
    return Requirement(id=rid, rfc=int(rid[3:7]), section=section, title=f"Section {section}",
                       level=level, text=text or f"The server {level} do {rid}.")


# RFC 9999: §1 has two MUSTs and a SHOULD, §2 one MUST NOT and one MUST, §3 one MUST;
# RFC 9998 one MUST.
FAKE = RequirementIndex([
    _requirement("RFC9999-1-1", "MUST"),
    _requirement("RFC9999-1-2", "MUST"),
    _requirement("RFC9999-1-3", "SHOULD"),
    _requirement("RFC9999-2-1", "MUST NOT"),
    _requirement("RFC9999-2-2", "MUST"),
    _requirement("RFC9999-3-1", "MUST", "A client MUST send something no server can see, "
                 "and this sentence is long enough that the report has to trim it well "
                 "before its end."),
    _requirement("RFC9998-1-1", "MUST"),
])

FAKE_SUITE = textwrap.dedent('''
    import pytest

    @pytest.mark.requirement(rfc=9999, section="1", level="MUST", ids=("RFC9999-1-1",))
    def test_by_id():
        pass

    @pytest.mark.requirement(rfc=9999, section="2", level="MUST NOT")
    def test_by_section_unambiguous():
        pass

    @pytest.mark.requirement(rfc=9999, section="1", level="MUST")
    def test_by_section_ambiguous():
        pass

    @pytest.mark.informational
    @pytest.mark.requirement(rfc=9999, section="2", level="MUST", ids=("RFC9999-2-2",))
    def test_informational():
        pass

    @pytest.mark.requirement(rfc=9999, section="1", level="SHOULD", ids=("RFC9999-1-3",))
    @pytest.mark.parametrize("n", [1, 2])
    def test_should_only(n):
        pass

    @pytest.mark.requirement(rfc=9999, section="1", level="SHOULD", ids=("RFC9999-1-2",))
    def test_the_should_half_of_a_must_sentence():
        pass

    def test_without_marker():
        pass
''')

NOT_OBSERVABLE = textwrap.dedent('''
    [not_observable]
    "RFC9999-3-1" = "a rule for clients"
''')


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "test_fake_suite.py"
    path.write_text(FAKE_SUITE)
    (tmp_path / "not_observable.toml").write_text(NOT_OBSERVABLE)
    return path


def test_collect_citations_reads_markers_through_pytest_collection(suite: Path) -> None:
    citations = collect_citations([suite])
    by_test = {(c.test.rpartition("::")[2], c.level): c for c in citations}
    assert set(by_test) == {("test_by_id", "MUST"), ("test_by_section_unambiguous", "MUST NOT"),
                            ("test_by_section_ambiguous", "MUST"),
                            ("test_informational", "MUST"), ("test_should_only[1]", "SHOULD"),
                            ("test_should_only[2]", "SHOULD"),
                            ("test_the_should_half_of_a_must_sentence", "SHOULD")}
    assert by_test["test_by_id", "MUST"].ids == ("RFC9999-1-1",)
    assert by_test["test_by_section_unambiguous", "MUST NOT"].ids == ()
    assert by_test["test_by_section_unambiguous", "MUST NOT"].section == "2"
    assert by_test["test_informational", "MUST"].informational
    assert not by_test["test_by_id", "MUST"].informational


def test_a_suite_that_does_not_import_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "test_broken.py"
    broken.write_text("import no_such_module_for_coverage\n")
    with pytest.raises(coverage.CoverageError, match="no_such_module_for_coverage"):
        collect_citations([broken])


def test_counts_on_the_fake_suite(suite: Path) -> None:
    result = compute(FAKE, collect_citations([suite]),
                     load_not_observable(suite.parent / "not_observable.toml"))
    rfc = result.rfc(9999)
    # MUST-level: 1-1, 1-2, 2-1, 2-2, 3-1 (1-3 is a SHOULD).
    assert rfc.total == 5
    # 1-1 by id; 2-1 by the only MUST NOT of §2. Not 1-2 (§1 has two MUSTs: the section
    # marker cannot say which; the marker naming it is SHOULD-level), not 2-2
    # (informational only).
    assert {r.requirement.id for r in rfc.requirements if r.covered} == {"RFC9999-1-1",
                                                                         "RFC9999-2-1"}
    assert rfc.covered == 2
    assert [r.requirement.id for r in rfc.not_observable] == ["RFC9999-3-1"]
    assert rfc.observable == 4
    uncovered = {r.requirement.id: r for r in rfc.uncovered}
    assert set(uncovered) == {"RFC9999-1-2", "RFC9999-2-2"}
    assert uncovered["RFC9999-1-2"].flags == ["section marker", "SHOULD-level test only"]
    assert uncovered["RFC9999-1-2"].section_tests[0].endswith("::test_by_section_ambiguous")
    assert uncovered["RFC9999-2-2"].flags == ["informational only"]
    assert result.rfc(9998).covered == 0 and result.rfc(9998).total == 1
    assert result.problems == []


def test_problems_name_unknown_ids_and_stale_exclusions() -> None:
    citations = [Citation("t.py::a", 9999, "1", "MUST", ("RFC9999-1-1", "RFC9999-1-9")),
                 Citation("t.py::b", 9999, "3", "MUST", ("RFC9999-3-1",))]
    result = compute(FAKE, citations, {"RFC9999-3-1": "client", "RFC9999-1-3": "should",
                                       "RFC9999-7-1": "gone"})
    assert result.problems == [
        "t.py::a: no requirement RFC9999-1-9",
        "not_observable: RFC9999-3-1 is checked by t.py::b: remove the entry",
        "not_observable: RFC9999-1-3 is SHOULD, not a MUST-level requirement",
        "not_observable: no requirement RFC9999-7-1 in the index",
    ]
    rfc = result.rfc(9999)
    assert rfc.covered == 2 and rfc.not_observable == [] and rfc.observable == 5


def test_the_text_report(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = coverage.main(["--suite", str(suite), "--not-observable-file",
                            str(suite.parent / "not_observable.toml"), "--not-observable"],
                           index=FAKE)
    assert status == 0
    assert capsys.readouterr().out == textwrap.dedent('''\
        MUST-level requirements (MUST, MUST NOT, SHALL) checked by 7 conformance tests

           RFC        covered  not observable  observable covered
          9998      0/1     0%               0           0/1     0%
          9999      2/5    40%               1           2/4    50%
           all      2/6    33%               1           2/5    40%

        RFC 9998: 1 not covered
          RFC9998-1-1            §1          MUST     The server MUST do RFC9998-1-1.

        RFC 9999: 2 not covered
          RFC9999-1-2            §1          MUST     The server MUST do RFC9999-1-2. [section marker] [SHOULD-level test only]
          RFC9999-2-2            §2          MUST     The server MUST do RFC9999-2-2. [informational only]

        RFC 9999: 1 not observable by a client
          RFC9999-3-1            §3          MUST     A client MUST send something no server can see, and this sentence is long enough that ...
                                  why: a rule for clients
        ''')  # noqa: E501


def test_the_json_report_of_one_rfc(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = coverage.main(["--suite", str(suite), "--rfc", "9999", "--json",
                            "--not-observable-file", str(suite.parent / "not_observable.toml")],
                           index=FAKE)
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 1 and data["levels"] == ["MUST", "MUST NOT"]
    [rfc] = data["rfcs"]
    assert (rfc["rfc"], rfc["total"], rfc["covered"], rfc["not_observable"],
            rfc["observable"]) == (9999, 5, 2, 1, 4)
    assert [r["id"] for r in rfc["uncovered"]] == ["RFC9999-1-2", "RFC9999-2-2"]
    assert rfc["uncovered"][0]["section_tests"][0].endswith("::test_by_section_ambiguous")
    assert rfc["not_observable_requirements"][0]["not_observable"] == "a rule for clients"


def test_an_rfc_that_is_not_indexed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert coverage.main(["--rfc", "1234"], index=FAKE) == 2
    assert "RFC 1234 is not indexed" in capsys.readouterr().err


# --- the real suites, index and list -------------------------------------------------------


def test_the_not_observable_list_is_consistent_with_the_index_and_suites() -> None:
    """Every listed id exists, is MUST-level, has a reason, and no test checks it."""
    listed = load_not_observable()
    assert listed, "conformance/not_observable.toml lists nothing"
    result = compute(load_index(), collect_citations(), listed)
    assert result.problems == []
    assert all(reason.strip() for reason in listed.values())


def test_rfcmail_report_coverage_on_the_real_suites() -> None:
    """Through the command line: RFC5321-4.1.1.10-1 (QUIT gets 221, test_session.py) is
    covered, so it is not listed; RFC5321-4.1.4-15 ("The last command in a session MUST
    be the QUIT command": the client's rule) is not observable, so it is not listed as
    uncovered either."""
    done = subprocess.run([sys.executable, "-m", "reference.cli", "report", "coverage",
                           "--rfc", "5321", "--json"], cwd=CHECKOUT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [rfc] = json.loads(done.stdout)["rfcs"]
    assert rfc["rfc"] == 5321 and rfc["total"] == len(
        [r for r in load_index().select(rfc=5321) if r.level in ("MUST", "MUST NOT")])
    uncovered = {r["id"] for r in rfc["uncovered"]}
    not_observable = {r["id"] for r in rfc["not_observable_requirements"]}
    assert "RFC5321-4.1.1.10-1" not in uncovered | not_observable
    assert "RFC5321-4.1.4-15" in not_observable
    assert rfc["covered"] + len(uncovered) + len(not_observable) == rfc["total"]
