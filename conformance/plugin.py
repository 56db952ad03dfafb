"""The conformance pytest plugin: options, markers, fixtures, verdicts and results.

Registered by ``conformance/conftest.py``; ``pytest conformance --target URL|NAME`` runs
the suites against one target (``rfcmail conform`` runs one pytest per target). Without
``--target`` every conformance test is skipped, saying so.

Verdicts (see ``verdicts.py``): PASS, FAIL (an assertion or GrammarViolation in a test
whose strongest requirement is MUST / MUST NOT), NON-STRICT (the same at SHOULD / SHOULD NOT
/ MAY), INFORMATIONAL, UNSUPPORTED (``needs`` not advertised), SKIPPED (e.g. too few
accounts), ERROR (connection refused or reset, timeout, any other exception). Only an
unexpected FAIL or ERROR fails the pytest run; the rest are reported under their own
names in the terminal summary.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import verdicts
from conformance.drivers import DriverError, GrammarViolation, _wire
from conformance.drivers.imap import ImapDriver
from conformance.drivers.smtp import SmtpDriver
from conformance.targets import (
    NAMED_TARGETS,
    Account,
    StartedTarget,
    TargetError,
    TargetSpec,
    TargetUnavailable,
    open_target,
    parse_account,
    target_name,
    target_protocols,
)

LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")

_RUN = pytest.StashKey["ConformanceRun"]()
_TEST = pytest.StashKey["TestState"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "RFC conformance (conformance/DESIGN.md)")
    group.addoption("--target", action="append", default=[], metavar="URL|NAME",
                    help="the server under test: a URL (smtp://, smtps://, submission://, "
                         "imap://, imaps://) or a name started for the run "
                         f"({', '.join(NAMED_TARGETS)})")
    group.addoption("--account", action="append", default=[], metavar="USER:PASSWORD",
                    help="an account on the target (repeatable; after the URL's own)")
    group.addoption("--domain", default=None,
                    help="local recipient domain for SMTP (default: the account's)")
    group.addoption("--protocol", default=None, choices=("smtp", "imap"),
                    help="only tests of this protocol (default: every protocol the "
                         "target offers)")
    group.addoption("--rfc", action="append", default=[], type=int, metavar="N",
                    help="only tests of requirements of RFC N (repeatable)")
    group.addoption("--section", default=None, metavar="S",
                    help="only tests of requirements in section S or its subsections")
    group.addoption("--level", default=None, choices=LEVELS, type=str.upper,
                    help="only tests of requirements of exactly this level")
    group.addoption("--requirement", action="append", default=[], metavar="ID",
                    help="only tests of this requirement id (repeatable)")
    group.addoption("--expectations", default=None, metavar="FILE",
                    help="TOML file of expected verdicts (see conformance/DESIGN.md)")
    group.addoption("--report-dir", default="reports/runs", metavar="DIR",
                    help="where reports go: DIR/<run-id>/<target>/ (default: reports/runs, "
                         "which git ignores); '' writes none")
    group.addoption("--run-id", default=None, metavar="ID",
                    help="the run's directory name (default: date and time)")
    group.addoption("--io-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="bound of every connect, read and write (default: 10)")
    group.addoption("--verify-tls", action="store_true", default=False,
                    help="verify the target's TLS certificates (off: self-signed ones)")


MARKERS = (
    "requirement(rfc, section, level, ids=()): the RFC requirement(s) a conformance "
    "test checks (repeatable)",
    "protocol(name): run only against targets of this protocol (smtp, imap)",
    "needs(*capabilities): UNSUPPORTED unless the target advertises these IMAP "
    "capabilities or EHLO keywords; \"A|B\" is satisfied by either",
    "informational: records what the target does (observe), never fails on it",
    "accounts(n): needs at least n accounts on the target (SKIPPED otherwise)",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    targets: list[str] = config.getoption("target")
    if not targets:
        return
    if len(targets) > 1:
        raise pytest.UsageError("pytest runs one --target at a time; `rfcmail conform "
                                "--target A --target B` runs several and a matrix")
    try:
        target_protocols(targets[0])
        accounts = [parse_account(a) for a in config.getoption("account")]
        expectations = verdicts.load_expectations(config.getoption("expectations"))
    except (TargetError, verdicts.ExpectationsError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_RUN] = ConformanceRun(config, targets[0], accounts, expectations)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.stop()


# --- the run ---------------------------------------------------------------------------


@dataclass
class ConformanceRun:
    """One pytest run against one target."""

    config: pytest.Config
    target: str
    accounts: list[Account]
    expectations: verdicts.Expectations
    started: StartedTarget | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    unavailable: str | None = None
    _probes: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.started.name if self.started else target_name(self.target)

    @property
    def protocols(self) -> tuple[str, ...]:
        return target_protocols(self.target)

    def start(self) -> StartedTarget:
        if self.started is None:
            if self.unavailable is not None:
                raise TargetUnavailable(self.unavailable)
            try:
                self.started = open_target(
                    self.target, accounts=self.accounts,
                    domain=self.config.getoption("domain"),
                    verify_tls=self.config.getoption("verify_tls"))
            except TargetUnavailable as exc:
                self.unavailable = str(exc)
                raise
        return self.started

    def stop(self) -> None:
        started, self.started = self.started, None
        if started is not None:
            started.stop()

    def spec(self, protocol: str) -> TargetSpec:
        spec = self.start().spec(protocol)
        if spec is None:
            raise TargetUnavailable(f"target {self.name} offers no {protocol}")
        return spec

    @property
    def timeout(self) -> float:
        return float(self.config.getoption("io_timeout"))

    def advertised(self, protocol: str) -> frozenset[str]:
        """What the target advertises (IMAP capabilities before and after login; EHLO
        keywords, "KEYWORD PARAM" for each parameter too, before and after STARTTLS),
        asked once per run on a connection of its own."""
        if protocol not in self._probes:
            with _wire.observers_paused():
                self._probes[protocol] = _probe(self.spec(protocol), self.timeout)
        return self._probes[protocol]


def _probe(spec: TargetSpec, timeout: float) -> frozenset[str]:
    found: set[str] = set()
    if spec.protocol == "imap":
        imap = ImapDriver.connect(spec, timeout)
        try:
            if not imap.capabilities:
                imap.capability()
            found |= imap.capabilities
            if spec.accounts and imap.login(spec.accounts[0].user,
                                            spec.accounts[0].password).ok:
                found |= imap.capabilities
            with contextlib.suppress(DriverError, GrammarViolation):
                imap.logout()
        finally:
            imap.close()
        return frozenset(found)
    smtp = SmtpDriver.connect(spec, timeout)
    try:
        for step in range(2):
            if smtp.ehlo().code != 250:
                break
            for keyword, params in smtp.extensions.items():
                found.add(keyword)
                found.update(f"{keyword} {p.upper()}" for p in params.split())
            if step or "STARTTLS" not in smtp.extensions or smtp.tls:
                break
            if smtp.starttls().code != 220:
                break
        with contextlib.suppress(DriverError, GrammarViolation):
            smtp.quit()
    finally:
        smtp.close()
    return frozenset(found)


# --- collection: what runs ---------------------------------------------------------------


def item_protocol(item: pytest.Item) -> str | None:
    """The ``protocol`` marker, else the suite directory (suites/smtp, suites/imap)."""
    marker = item.get_closest_marker("protocol")
    if marker is not None and marker.args:
        return str(marker.args[0]).lower()
    parts = Path(str(item.path)).parts
    for protocol in ("smtp", "imap"):
        if protocol in parts:
            return protocol
    return None


def requirement_markers(item: pytest.Item) -> list[dict[str, Any]]:
    """The ``requirement`` markers: {rfc, section, level, ids}."""
    found = []
    for marker in item.iter_markers("requirement"):
        args = dict(zip(("rfc", "section", "level", "ids"), marker.args, strict=False))
        args.update(marker.kwargs)
        ids = args.get("ids", ())
        found.append({"rfc": int(args["rfc"]) if args.get("rfc") is not None else None,
                      "section": str(args["section"]) if args.get("section") else None,
                      "level": str(args.get("level") or "MUST").upper(),
                      "ids": (ids,) if isinstance(ids, str) else tuple(ids)})
    return found


def _selected(item: pytest.Item, config: pytest.Config) -> bool:
    rfcs: list[int] = config.getoption("rfc")
    section: str | None = config.getoption("section")
    level: str | None = config.getoption("level")
    wanted_ids: list[str] = config.getoption("requirement")
    if not (rfcs or section or level or wanted_ids):
        return True
    for marker in requirement_markers(item):
        if rfcs and marker["rfc"] not in rfcs:
            continue
        if section and not (marker["section"] == section
                            or str(marker["section"]).startswith(section + ".")):
            continue
        if level and marker["level"] != level:
            continue
        if wanted_ids and not set(marker["ids"]) & set(wanted_ids):
            continue
        return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash.get(_RUN, None)
    if run is None:
        skip = pytest.mark.skip(reason="conformance tests need --target URL|NAME")
        for item in items:
            item.add_marker(skip)
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    wanted = config.getoption("protocol")
    for item in items:
        protocol = item_protocol(item)
        offered = protocol is None or protocol in run.protocols
        if wanted is not None:
            offered = offered and (protocol or run.protocols[0]) == wanted
        (keep if offered and _selected(item, config) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start a named target once, before the first test (not for --collect-only)."""
    run = session.config.stash.get(_RUN, None)
    if run is None or session.config.option.collectonly or not session.items:
        return
    try:
        run.start()
    except TargetUnavailable as exc:
        pytest.exit(f"UNAVAILABLE: {exc}", returncode=verdicts.EXIT_UNAVAILABLE)


# --- per test --------------------------------------------------------------------------


@dataclass
class TestState:
    """What the plugin knows about one test while it runs."""

    __test__ = False                    # not a test class, whatever pytest thinks

    verdict: str | None = None
    message: str = ""
    wires: list[_wire.Wire] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    expected: str | None = None
    reason: str = ""


def _state(item: pytest.Item) -> TestState:
    if _TEST not in item.stash:
        item.stash[_TEST] = TestState()
    return item.stash[_TEST]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = item.config.stash.get(_RUN, None)
    if run is None:
        return
    state = _state(item)
    _wire.set_observer(state.wires.append)
    needs = [str(n) for marker in item.iter_markers("needs") for n in marker.args]
    if needs:
        protocol = item_protocol(item) or run.protocols[0]
        advertised = {a.upper() for a in run.advertised(protocol)}
        # "ESEARCH|IMAP4rev2": any one of the alternatives will do.
        missing = [n for n in needs
                   if not any(alt.strip().upper() in advertised for alt in n.split("|"))]
        if missing:
            state.verdict = verdicts.UNSUPPORTED
            pytest.skip(f"UNSUPPORTED: the target does not advertise {', '.join(missing)}")


def pytest_runtest_teardown(item: pytest.Item) -> None:
    _wire.set_observer(None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    run = item.config.stash.get(_RUN, None)
    if run is None:
        return report
    state = _state(item)
    state.seconds += report.duration
    # The verdict comes from the call, or from a setup that did not pass (no call then),
    # or from a failed teardown after a call that did not fail.
    decides = (report.when == "call" or (report.when == "setup" and not report.passed)
               or (report.when == "teardown" and report.failed
                   and state.verdict not in verdicts.FAILING))
    if decides:
        levels = [m["level"] for m in requirement_markers(item)]
        informational = item.get_closest_marker("informational") is not None
        verdict, message = verdicts.classify(report, call.excinfo, levels, informational)
        if report.when == "teardown":
            verdict, message = verdicts.ERROR, f"teardown: {message}"
        if verdict == verdicts.SKIPPED and state.verdict == verdicts.UNSUPPORTED:
            verdict = verdicts.UNSUPPORTED
        state.verdict, state.message = verdict, message
        state.expected, state.reason = run.expectations.lookup(item.nodeid, _ids(item))
        verdicts.shape_report(report, verdict, state.expected, message)
    if report.when == "teardown":
        run.results.append(_result(item, run, state))
    return report


def _ids(item: pytest.Item) -> list[str]:
    return [i for m in requirement_markers(item) for i in m["ids"]]


def _result(item: pytest.Item, run: ConformanceRun, state: TestState) -> dict[str, Any]:
    verdict = state.verdict or verdicts.PASS
    transcript = ""
    if verdict not in (verdicts.PASS, verdicts.UNSUPPORTED, verdicts.SKIPPED):
        transcript = "\n".join(
            (f"--- connection {n} ---\n" if len(state.wires) > 1 else "")
            + w.format() for n, w in enumerate(state.wires, 1))
    return {
        "test": item.nodeid,
        "requirements": verdicts.expand_requirements(requirement_markers(item)),
        "verdict": verdict,
        "expected": state.expected,
        "expected_reason": state.reason,
        "message": state.message,
        "transcript": transcript,
        "observations": state.observations,
        "seconds": round(state.seconds, 3),
    }


def pytest_report_teststatus(report: pytest.TestReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    verdict = getattr(report, "conformance_verdict", None)
    if verdict is None:
        return None
    return verdicts.teststatus(verdict, getattr(report, "conformance_expected", None))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    report_dir = session.config.getoption("report_dir")
    if report_dir:
        from conformance import report

        started = run.started
        specs = list(started.specs.values()) if started else []
        written = report.write_target_reports(
            Path(report_dir), run_id=session.config.getoption("run_id"),
            target={"name": run.name, "argument": run.target,
                    "url": " ".join(s.url for s in specs),
                    "protocol": " ".join(sorted({s.protocol for s in specs}))
                    or " ".join(run.protocols)},
            started=run.started_at, results=run.results, unavailable=run.unavailable)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"conformance report: {written / 'report.html'}")
    run.stop()


# --- fixtures --------------------------------------------------------------------------


def _run(request: pytest.FixtureRequest) -> ConformanceRun:
    run = request.config.stash.get(_RUN, None)
    if run is None:
        pytest.skip("conformance tests need --target URL|NAME")
    return run


@pytest.fixture
def target(request: pytest.FixtureRequest) -> TargetSpec:
    """The TargetSpec of this test's protocol."""
    run = _run(request)
    protocol = item_protocol(request.node) or run.protocols[0]
    return run.spec(protocol)


@pytest.fixture
def accounts(request: pytest.FixtureRequest, target: TargetSpec) -> list[Account]:
    """The target's accounts; SKIPPED when there are fewer than ``accounts(n)`` asks
    (at least one)."""
    marker = request.node.get_closest_marker("accounts")
    wanted = int(marker.args[0]) if marker is not None and marker.args else 1
    if len(target.accounts) < wanted:
        pytest.skip(f"needs {wanted} account(s) on the target, has {len(target.accounts)}: "
                    "give them with --account user:password")
    return list(target.accounts)


@pytest.fixture
def smtp_factory(request: pytest.FixtureRequest,
                 target: TargetSpec) -> Iterator[Callable[..., SmtpDriver]]:
    """``smtp_factory()``: another connected SmtpDriver (greeting read); all closed after
    the test. ``smtp_factory(read_greeting=False)`` leaves the greeting unread."""
    run = _run(request)
    drivers: list[SmtpDriver] = []

    def connect(*, read_greeting: bool = True) -> SmtpDriver:
        driver = SmtpDriver.connect(target, run.timeout, read_greeting=read_greeting)
        drivers.append(driver)
        return driver

    yield connect
    for driver in drivers:
        driver.close()


@pytest.fixture
def smtp(smtp_factory: Callable[..., SmtpDriver]) -> SmtpDriver:
    """A connected SmtpDriver, its greeting read (``smtp.greeting``)."""
    return smtp_factory()


@pytest.fixture
def submission_target(request: pytest.FixtureRequest, target: TargetSpec) -> TargetSpec:
    """The target's message submission listener (RFC 6409): the target itself when it
    was given as submission://, else the one a named target offers; UNSUPPORTED when
    there is none."""
    if target.submission:
        return target
    spec = _run(request).start().spec("submission")
    if spec is None:
        pytest.skip("UNSUPPORTED: the target has no submission listener")
    return spec


@pytest.fixture
def submission(request: pytest.FixtureRequest,
               submission_target: TargetSpec) -> Iterator[SmtpDriver]:
    """A connected SmtpDriver on the submission listener, its greeting read."""
    driver = SmtpDriver.connect(submission_target, _run(request).timeout)
    yield driver
    driver.close()


@pytest.fixture
def imap_factory(request: pytest.FixtureRequest,
                 target: TargetSpec) -> Iterator[Callable[..., ImapDriver]]:
    """``imap_factory(login=False, account=None)``: another connected ImapDriver (greeting
    read; logged in as ``account``, default the first, with ``login=True``)."""
    run = _run(request)
    drivers: list[ImapDriver] = []

    def connect(*, login: bool = False, account: Account | None = None,
                read_greeting: bool = True) -> ImapDriver:
        driver = ImapDriver.connect(target, run.timeout, read_greeting=read_greeting)
        drivers.append(driver)
        if login or account is not None:
            account = account or _first_account(target)
            done = driver.login(account.user, account.password)
            if not done.ok:
                raise verdicts.SetupFailed(f"LOGIN as {account.user} failed: {done.tagged}")
        return driver

    yield connect
    for driver in drivers:
        driver.close()


def _first_account(target: TargetSpec) -> Account:
    if not target.accounts:
        pytest.skip("needs an account on the target: give one with --account user:password")
    return target.accounts[0]


@pytest.fixture
def imap(imap_factory: Callable[..., ImapDriver]) -> ImapDriver:
    """A connected ImapDriver, not logged in (``imap.greeting``)."""
    return imap_factory()


@pytest.fixture
def imap_login(imap_factory: Callable[..., ImapDriver]) -> ImapDriver:
    """A connected ImapDriver logged in as the first account."""
    return imap_factory(login=True)


@pytest.fixture
def scratch_mailbox(imap_factory: Callable[..., ImapDriver]) -> Iterator[str]:
    """A new mailbox's name in the first personal namespace (e.g. "INBOX.conformance-..."
    on a server whose personal mailboxes live under INBOX), created through IMAP (CREATE)
    on a connection of its own and deleted (DELETE) on another after the test."""
    creator = imap_factory(login=True)
    name = f"{creator.personal_prefix()}conformance-{uuid.uuid4().hex[:12]}"
    done = creator.create(name)
    if not done.ok:
        raise verdicts.SetupFailed(f"CREATE {name} failed: {done.tagged}")
    creator.logout()
    yield name
    cleaner = imap_factory(login=True)
    cleaner.delete(name)
    cleaner.logout()


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """``observe(key, value)``: record a finding of an informational test (JSON value)."""
    state = _state(request.node)

    def record(key: str, value: Any) -> None:
        state.observations[key] = value

    return record
