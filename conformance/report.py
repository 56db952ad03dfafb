"""Reports of conformance runs: results.json, report.html, junit.xml per target, and
matrix.json / matrix.html across targets.

Layout: ``<report-dir>/<run-id>/<target>/{results.json,report.html,junit.xml}`` and, for
several targets, ``<report-dir>/<run-id>/{matrix.json,matrix.html}``.

results.json, ``"schema": 1`` (fields are only ever added, never renamed or removed)::

    {
      "schema": 1,
      "run_id": "20250101-120000",
      "target": {"name": "reference", "argument": "reference",
                 "url": "smtp://127.0.0.1:2525 imap://127.0.0.1:1143",
                 "protocol": "imap smtp"},
      "started": "2025-01-01T12:00:00Z", "finished": "2025-01-01T12:00:09Z",
      "unavailable": null,              # or why the target could not be started
      "summary": {"PASS": 10, "FAIL": 1, ...},   # every verdict, 0 when none
      "unexpected": 1,                  # FAIL/ERROR results not matching an expectation
      "results": [{
        "test": "conformance/suites/smtp/test_smoke.py::test_greeting",
        "requirements": [{"id": "RFC5321-4.2-1" | null, "rfc": 5321, "section": "4.2",
                          "title": "SMTP Replies", "level": "MUST", "text": "..."}],
        "verdict": "PASS" | "FAIL" | "NON-STRICT" | "INFORMATIONAL" | "UNSUPPORTED"
                   | "SKIPPED" | "ERROR",
        "expected": null | a verdict,  "expected_reason": "",
        "message": "",                  # the assertion, violation or error
        "transcript": "",               # C:/S: lines; for verdicts other than PASS,
                                        # UNSUPPORTED and SKIPPED
        "observations": {},             # informational findings (observe fixture)
        "seconds": 0.012
      }]
    }

matrix.json, ``"schema": 1``: ``{schema, run_id, targets: [name], rows: [{key,
requirement: {id, rfc, section, title, level, text}, verdicts: {target: verdict | null},
tests: {target: [test]}, agree: bool}]}``: one row per requirement (by id, or RFC and
section when a test names no id); a target's verdict for a row is the worst of its tests
(ERROR, FAIL, NON-STRICT, PASS, INFORMATIONAL, UNSUPPORTED, SKIPPED, in that order).
``agree`` compares the verdicts that judge the target (``JUDGED``): a target that does not
advertise the capability (UNSUPPORTED), was not asked (SKIPPED), was only observed
(INFORMATIONAL) or does not speak the protocol (null) does not disagree with the others.
"""

from __future__ import annotations

import html
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from conformance.verdicts import FAILING, VERDICTS

SCHEMA = 1
# Worst first: what a matrix cell shows when a requirement has several tests.
SEVERITY = ("ERROR", "FAIL", "NON-STRICT", "PASS", "INFORMATIONAL", "UNSUPPORTED",
            "SKIPPED")
# The verdicts that say something about the target; the rest say it was not judged.
JUDGED = frozenset({"ERROR", "FAIL", "NON-STRICT", "PASS"})
_COLOURS = {"PASS": "#2e7d32", "FAIL": "#c62828", "ERROR": "#6a1b9a",
            "NON-STRICT": "#ef6c00", "INFORMATIONAL": "#1565c0", "UNSUPPORTED": "#757575",
            "SKIPPED": "#9e9e9e", None: "#bdbdbd"}


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def unexpected(result: dict[str, Any]) -> bool:
    """A FAIL or ERROR that no expectation announced: what fails a run."""
    return result["verdict"] in FAILING and result.get("expected") != result["verdict"]


def build_results(*, run_id: str, target: dict[str, Any], started: float,
                  results: Sequence[dict[str, Any]],
                  unavailable: str | None = None) -> dict[str, Any]:
    counts = Counter(r["verdict"] for r in results)
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "target": target,
        "started": _iso(started),
        "finished": _iso(time.time()),
        "unavailable": unavailable,
        "summary": {verdict: counts.get(verdict, 0) for verdict in VERDICTS},
        "unexpected": sum(1 for r in results if unexpected(r)),
        "results": list(results),
    }


def write_target_reports(report_dir: Path, *, run_id: str | None, target: dict[str, Any],
                         started: float, results: Sequence[dict[str, Any]],
                         unavailable: str | None = None) -> Path:
    """Write results.json, report.html and junit.xml; return their directory."""
    run_id = run_id or new_run_id()
    document = build_results(run_id=run_id, target=target, started=started,
                             results=results, unavailable=unavailable)
    directory = report_dir / run_id / safe_name(str(target["name"]))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(document, indent=1) + "\n")
    (directory / "report.html").write_text(render_html(document))
    (directory / "junit.xml").write_bytes(render_junit(document))
    return directory


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "target"


# --- report.html -----------------------------------------------------------------------


def _requirement_key(requirement: dict[str, Any]) -> tuple[Any, ...]:
    return (requirement.get("rfc") or 0, _section_key(requirement.get("section")),
            requirement.get("id") or "")


def _section_key(section: str | None) -> tuple[Any, ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in (section or "").split("."))


def _badge(verdict: str | None, extra: str = "") -> str:
    colour = _COLOURS.get(verdict, "#bdbdbd")
    return (f'<span class="badge" style="background:{colour}">'
            f"{html.escape(verdict or '—')}{html.escape(extra)}</span>")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em} h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.badge{color:#fff;border-radius:3px;padding:0 .4em;font-size:.85em;white-space:nowrap}
.req{margin:.5em 0 .5em 1em} .text{color:#444;font-style:italic}
.test{margin:.2em 0 .2em 2em} pre{background:#f6f6f6;padding:.6em;overflow-x:auto;
font-size:.85em} table{border-collapse:collapse} td,th{border:1px solid #ddd;
padding:.2em .5em;text-align:left;vertical-align:top} .disagree{background:#fff8e1}
"""


def render_html(document: dict[str, Any]) -> str:
    """One page: the summary, then per RFC, section and requirement the tests with their
    verdicts; each FAIL, NON-STRICT and ERROR with its message and transcript inline."""
    e = html.escape
    target = document["target"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Conformance: "
             f"{e(target['name'])}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Conformance of {e(target['name'])}</h1>",
             f"<p>{e(target.get('url') or '')} — run {e(document['run_id'])}, "
             f"{e(document['started'])} to {e(document['finished'])}</p>"]
    if document.get("unavailable"):
        parts.append(f"<p><strong>Target unavailable:</strong> "
                     f"{e(document['unavailable'])}</p>")
    parts.append("<p>" + " ".join(_badge(v, f" {n}") for v, n in document["summary"].items()
                                  if n) + f" — unexpected: {document['unexpected']}</p>")
    # RFC -> section -> requirement key -> (requirement, [results])
    tree: dict[Any, dict[Any, dict[Any, tuple[dict[str, Any], list[dict[str, Any]]]]]] = {}
    for result in document["results"]:
        requirements = result["requirements"] or [{"id": None, "rfc": None, "section": None,
                                                   "title": "", "level": "", "text": ""}]
        for requirement in requirements:
            sections = tree.setdefault(requirement.get("rfc"), {})
            entries = sections.setdefault(requirement.get("section"), {})
            key = _requirement_key(requirement)
            entries.setdefault(key, (requirement, []))[1].append(result)
    for rfc in sorted(tree, key=lambda r: r or 0):
        parts.append(f"<h2>{'RFC ' + str(rfc) if rfc else 'No requirement named'}</h2>")
        for section in sorted(tree[rfc], key=_section_key):
            entries = tree[rfc][section]
            title = next((r["title"] for r, _ in entries.values() if r.get("title")), "")
            if section:
                parts.append(f"<h3>§{e(section)} {e(title)}</h3>")
            for key in sorted(entries):
                requirement, results = entries[key]
                parts.append("<div class='req'>"
                             f"<strong>{e(requirement.get('id') or '')}</strong> "
                             f"{e(requirement.get('level') or '')} "
                             f"<span class='text'>{e(requirement.get('text') or '')}</span>")
                parts.extend(_render_result(result) for result in results)
                parts.append("</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _render_result(result: dict[str, Any]) -> str:
    e = html.escape
    expected = result.get("expected")
    note = ""
    if expected:
        note = (" (expected" + (f": {result.get('expected_reason')}"
                                if result.get("expected_reason") else "") + ")"
                if expected == result["verdict"] else f" (expected {expected})")
    out = [f"<div class='test'>{_badge(result['verdict'])} <code>{e(result['test'])}</code>"
           f"{e(note)} <small>{result.get('seconds', 0):.2f} s</small>"]
    if result["verdict"] in ("FAIL", "NON-STRICT", "ERROR", "INFORMATIONAL", "UNSUPPORTED",
                             "SKIPPED") and result.get("message"):
        out.append(f"<pre>{e(result['message'])}</pre>")
    if result.get("observations"):
        out.append(f"<pre>{e(json.dumps(result['observations'], indent=1))}</pre>")
    if result["verdict"] in ("FAIL", "NON-STRICT", "ERROR") and result.get("transcript"):
        out.append(f"<details open><summary>transcript</summary>"
                   f"<pre>{e(result['transcript'])}</pre></details>")
    out.append("</div>")
    return "\n".join(out)


# --- junit.xml -------------------------------------------------------------------------


def render_junit(document: dict[str, Any]) -> bytes:
    """JUnit XML for CI: an unexpected FAIL is a <failure>, an unexpected ERROR an
    <error>, UNSUPPORTED and SKIPPED are <skipped>; the verdict is a property."""
    results = document["results"]
    suite = ET.Element("testsuite", {
        "name": f"conformance:{document['target']['name']}",
        "tests": str(len(results)),
        "failures": str(sum(1 for r in results if unexpected(r) and r["verdict"] == "FAIL")),
        "errors": str(sum(1 for r in results if unexpected(r) and r["verdict"] == "ERROR")),
        "skipped": str(sum(1 for r in results if r["verdict"] in ("UNSUPPORTED", "SKIPPED"))),
        "time": f"{sum(r.get('seconds', 0) for r in results):.3f}",
        "timestamp": document["started"],
    })
    for result in results:
        path, _, name = result["test"].rpartition("::")
        case = ET.SubElement(suite, "testcase", {
            "classname": path.removesuffix(".py").replace("/", "."), "name": name,
            "time": f"{result.get('seconds', 0):.3f}"})
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", {"name": "verdict", "value": result["verdict"]})
        for requirement in result["requirements"]:
            ET.SubElement(properties, "property", {
                "name": "requirement",
                "value": requirement.get("id") or
                f"RFC{requirement.get('rfc')} §{requirement.get('section')}"})
        if unexpected(result):
            tag = "failure" if result["verdict"] == "FAIL" else "error"
            element = ET.SubElement(case, tag, {"message": result["message"][:500]})
            element.text = result["message"] + "\n\n" + result.get("transcript", "")
        elif result["verdict"] in ("UNSUPPORTED", "SKIPPED"):
            ET.SubElement(case, "skipped", {"message": result["message"][:500]})
        if result["verdict"] in ("NON-STRICT", "INFORMATIONAL") or result.get("expected"):
            out = ET.SubElement(case, "system-out")
            out.text = f"{result['verdict']}: {result['message']}"
    xml: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return xml


# --- matrix ----------------------------------------------------------------------------


def _row_key(requirement: dict[str, Any]) -> str:
    if requirement.get("id"):
        return str(requirement["id"])
    return f"RFC{requirement.get('rfc')}-{requirement.get('section')}"


def build_matrix(run_id: str, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    documents = list(documents)
    targets = [d["target"]["name"] for d in documents]
    rows: dict[str, dict[str, Any]] = {}
    for document in documents:
        name = document["target"]["name"]
        for result in document["results"]:
            for requirement in result["requirements"] or [{"id": None, "rfc": None,
                                                           "section": None}]:
                key = _row_key(requirement)
                row = rows.setdefault(key, {"key": key, "requirement": requirement,
                                            "verdicts": dict.fromkeys(targets),
                                            "tests": {t: [] for t in targets}})
                row["tests"][name].append(result["test"])
                current = row["verdicts"][name]
                if current is None or SEVERITY.index(result["verdict"]) < SEVERITY.index(
                        current):
                    row["verdicts"][name] = result["verdict"]
    ordered = sorted(rows.values(), key=lambda r: _requirement_key(r["requirement"]))
    for row in ordered:
        seen = {v for v in row["verdicts"].values() if v in JUDGED}
        row["agree"] = len(seen) <= 1
    return {"schema": SCHEMA, "run_id": run_id, "targets": targets, "rows": ordered,
            "unavailable": {d["target"]["name"]: d["unavailable"]
                            for d in documents if d.get("unavailable")}}


def render_matrix_html(matrix: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Conformance matrix "
             f"{e(matrix['run_id'])}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Conformance matrix — run {e(matrix['run_id'])}</h1>"]
    for name, why in matrix.get("unavailable", {}).items():
        parts.append(f"<p><strong>{e(name)} unavailable:</strong> {e(why)}</p>")
    disagreeing = [row for row in matrix["rows"] if not row["agree"]]
    parts.append(f"<p>{len(matrix['rows'])} requirements, {len(disagreeing)} where the "
                 "targets disagree (UNSUPPORTED, SKIPPED and INFORMATIONAL do not count): "
                 "those first, then every requirement (disagreements highlighted).</p>")
    for title, rows in (("Where the targets disagree", disagreeing),
                        ("Every requirement", matrix["rows"])):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(_matrix_table(matrix["targets"], rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _matrix_table(targets: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    e = html.escape
    parts = ["<table><tr><th>requirement</th><th>level</th>"
             + "".join(f"<th><a href='{e(safe_name(t))}/report.html'>{e(t)}</a></th>"
                       for t in targets) + "<th>text</th></tr>"]
    for row in rows:
        requirement = row["requirement"]
        text = requirement.get("text") or requirement.get("title") or ""
        parts.append(f"<tr class='{'' if row['agree'] else 'disagree'}'>"
                     f"<td>{e(row['key'])}</td><td>{e(requirement.get('level') or '')}</td>"
                     + "".join(f"<td>{_badge(row['verdicts'][t])}</td>" for t in targets)
                     + f"<td class='text'>{e(text)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def write_matrix(run_dir: Path, documents: Iterable[dict[str, Any]]) -> Path:
    """matrix.json and matrix.html in ``run_dir``; returns matrix.html's path."""
    matrix = build_matrix(run_dir.name, documents)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "matrix.json").write_text(json.dumps(matrix, indent=1) + "\n")
    path = run_dir / "matrix.html"
    path.write_text(render_matrix_html(matrix))
    return path


def load_results(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document
