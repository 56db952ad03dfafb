"""``rfcmail conform`` (also ``python -m conformance.run``): the suites against targets.

    rfcmail conform --target reference --target dovecot [--rfc 9051] [--section 6.3]
                    [--level MUST] [--account user:pw] [--expectations FILE]
                    [--report-dir reports/runs] [--suite PATH] [--snapshot DIR]
                    [-- PYTEST-ARGS...]

One pytest process per target (each starts and stops its own named target, and a crash
in one does not take the others down), all under one run id:
``<report-dir>/<run-id>/<target>/{results.json,report.html,junit.xml}``; with several
targets also ``<report-dir>/<run-id>/{matrix.json,matrix.html}``. ``--snapshot DIR``
copies what is worth checking in (matrix.html, and each target's results.json and
report.html) to DIR, e.g. reports/snapshot.

Exit status: 0 when no target had an unexpected FAIL or ERROR (expectations, NON-STRICT,
UNSUPPORTED and INFORMATIONAL never fail a run); 1 when one did, or a target could not be
started or produced no results; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import report
from conformance.targets import NAMED_TARGETS, TargetError, target_name, target_protocols

CHECKOUT = Path(__file__).resolve().parents[1]
SUITES = CHECKOUT / "conformance" / "suites"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rfcmail conform",
        description="Run the RFC conformance suites against one or more targets.",
        epilog="Targets: a URL (smtp://host:port, smtps://, submission://user:pw@host:port, "
               "imap://user:pw@host:port, imaps://) or a name started for the run: "
               + ", ".join(f"{n} ({t.description})" for n, t in NAMED_TARGETS.items())
               + ". Arguments after -- go to pytest.")
    p.add_argument("--target", action="append", required=True, metavar="URL|NAME",
                   help="a target (repeatable: one column each in the matrix)")
    p.add_argument("--account", action="append", default=[], metavar="USER:PASSWORD",
                   help="an account on the targets (repeatable)")
    p.add_argument("--domain", help="local recipient domain for SMTP")
    p.add_argument("--protocol", choices=("smtp", "imap"),
                   help="only tests of this protocol (default: every protocol a target offers)")
    p.add_argument("--rfc", action="append", default=[], type=int, metavar="N",
                   help="only requirements of RFC N (repeatable)")
    p.add_argument("--section", metavar="S", help="only requirements in section S (and below)")
    p.add_argument("--level", type=str.upper,
                   choices=["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"],
                   help="only requirements of exactly this level")
    p.add_argument("--requirement", action="append", default=[], metavar="ID",
                   help="only this requirement id (repeatable)")
    p.add_argument("--expectations", metavar="FILE", help="TOML file of expected verdicts")
    p.add_argument("--report-dir", default="reports/runs", metavar="DIR",
                   help="reports go to DIR/<run-id>/ (default: reports/runs, which git "
                        "ignores; snapshots are copied to reports/ on purpose)")
    p.add_argument("--run-id", metavar="ID", help="default: the date and time")
    p.add_argument("--io-timeout", type=float, metavar="SECONDS",
                   help="bound of every socket operation (default: 10)")
    p.add_argument("--verify-tls", action="store_true", help="verify TLS certificates")
    p.add_argument("--suite", action="append", default=[], metavar="PATH",
                   help=f"test files or directories (default: {SUITES.relative_to(CHECKOUT)})")
    p.add_argument("--snapshot", metavar="DIR",
                   help="also copy matrix.html and each target's results.json and "
                        "report.html to DIR (e.g. reports/snapshot, which git tracks)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    options = parser().parse_args(argv)
    try:
        for target in options.target:
            target_protocols(target)
    except TargetError as exc:
        print(f"rfcmail conform: {exc}", file=sys.stderr)
        return 2
    options.run_id = options.run_id or report.new_run_id()
    run_dir = Path(options.report_dir).resolve() / options.run_id
    documents: list[dict[str, Any]] = []
    failed = False
    for target in options.target:
        status = _run_pytest(target, options, pytest_args)
        results = run_dir / report.safe_name(target_name(target)) / "results.json"
        if not results.exists():
            print(f"rfcmail conform: {target}: no results (pytest exit status {status})",
                  file=sys.stderr)
            failed = True
            continue
        document = report.load_results(results)
        documents.append(document)
        failed = failed or bool(document["unexpected"] or document["unavailable"])
        print(_summary_line(document, results.parent / "report.html"))
    if len(options.target) > 1 and documents:
        print(f"matrix: {report.write_matrix(run_dir, documents)}")
    if options.snapshot:
        print(f"snapshot: {_snapshot(run_dir, Path(options.snapshot), documents)}")
    return 1 if failed else 0


def _snapshot(run_dir: Path, snapshot: Path, documents: list[dict[str, Any]]) -> Path:
    """Copy the run's matrix.html and each target's results.json and report.html to
    ``snapshot`` (other files there, such as a README, are left alone)."""
    snapshot.mkdir(parents=True, exist_ok=True)
    if (run_dir / "matrix.html").exists():
        shutil.copyfile(run_dir / "matrix.html", snapshot / "matrix.html")
    for document in documents:
        name = report.safe_name(document["target"]["name"])
        (snapshot / name).mkdir(exist_ok=True)
        for file in ("results.json", "report.html"):
            shutil.copyfile(run_dir / name / file, snapshot / name / file)
    return snapshot


def _run_pytest(target: str, options: argparse.Namespace, extra: list[str]) -> int:
    suites = [str(Path(path).resolve()) for path in options.suite] or [str(SUITES)]
    args = [sys.executable, "-m", "pytest", *suites,
            "-p", "conformance.plugin", "-p", "no:cacheprovider",
            "--target", target, "--run-id", options.run_id,
            "--report-dir", str(Path(options.report_dir).resolve()),
            "-v" if options.verbose else "-q"]
    for account in options.account:
        args += ["--account", account]
    for rfc in options.rfc:
        args += ["--rfc", str(rfc)]
    for requirement in options.requirement:
        args += ["--requirement", requirement]
    for name in ("domain", "protocol", "section", "level", "io_timeout"):
        value = getattr(options, name)
        if value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    if options.expectations:
        args += ["--expectations", str(Path(options.expectations).resolve())]
    if options.verify_tls:
        args.append("--verify-tls")
    args += extra
    # The checkout's packages (conformance, interop) importable wherever we are started.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT),
                                                      env.get("PYTHONPATH")]))
    print(f"== {target}", flush=True)
    return subprocess.call(args, cwd=CHECKOUT, env=env)


def _summary_line(document: dict[str, Any], html: Path) -> str:
    name = document["target"]["name"]
    if document["unavailable"]:
        return f"{name}: UNAVAILABLE: {document['unavailable']}"
    counts = ", ".join(f"{verdict} {count}" for verdict, count in document["summary"].items()
                       if count)
    return (f"{name}: {counts or 'no tests'}; unexpected FAIL/ERROR: "
            f"{document['unexpected']} -> {html}")


if __name__ == "__main__":
    sys.exit(main())
