"""The SMTP and IMAP conformance suites against the reference server, as CI runs them
(issue 4: "The default test run (CI) runs the full SMTP and IMAP suites against the
reference server"): no FAIL or ERROR beyond conformance/expectations/reference.toml, and
no entry there for a test that passes now."""

from __future__ import annotations

import json
from pathlib import Path

from conformance import report, run, verdicts

EXPECTATIONS = Path(run.CHECKOUT) / "conformance" / "expectations" / "reference.toml"


def test_the_suites_pass_against_the_reference(tmp_path: Path) -> None:
    status = run.main(["--target", "reference", "--expectations", str(EXPECTATIONS),
                       "--report-dir", str(tmp_path), "--run-id", "ci"])
    results = json.loads((tmp_path / "ci" / "reference" / "results.json").read_text())
    assert results["unavailable"] is None, results["unavailable"]
    unexpected = [r for r in results["results"] if report.unexpected(r)]
    assert not unexpected, "\n\n".join(
        f"{r['test']}: {r['verdict']}\n{r['message']}\n{r['transcript']}" for r in unexpected)
    stale = [r["test"] for r in results["results"]
             if r["expected"] in verdicts.FAILING and r["verdict"] == verdicts.PASS]
    assert not stale, (f"these pass now: remove their entries from {EXPECTATIONS}: "
                       + ", ".join(stale))
    assert status == 0
