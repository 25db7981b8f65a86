"""pytest hooks of pytest-flowai: options, collection entry, session start and stop. Hooks only.

pytest imports this module in every run where the package is installed: it imports nothing heavy (httpx,
websockets, yaml, jsonschema, the spec model, the runner, the emulator load once a spec file is collected or
the fixture is used; see tests/test_lazy_imports.py).
"""

from __future__ import annotations

import fnmatch
import math
import os
import warnings
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_flowai import nodes, secret
from pytest_flowai.errors import ConfigurationError, EmulatorError, FlowaiError, display_path
from pytest_flowai.fixtures import CHATS, attach_transcripts, flowai
from pytest_flowai.nodes import COVERAGE
from pytest_flowai.options import CoverageOptions, Options
from pytest_flowai.report.scrub import scrub_report, scrub_warning
from pytest_flowai.report.terminal import FailureSummary, FlowaiReporter, header_lines
from pytest_flowai.secret import Secret, secret_or_none
from pytest_flowai.transports import TRANSPORT_KINDS

if TYPE_CHECKING:
    # What only a spec, the fixture, coverage, record mode or the HTML report needs loads in that hook.
    from pytest_flowai.preflight import Need
    from pytest_flowai.report.html_reporter import HtmlReporter

DEFAULT_SPEC_GLOBS = ["test_*.flowai.yaml", "test_*.flowai.yml"]
REPORTER: pytest.StashKey[FlowaiReporter] = pytest.StashKey()
HTML_REPORTER: pytest.StashKey[HtmlReporter] = pytest.StashKey()
# Whether test reports carry the data of the HTML report (ours, or pytest-html's extras); workers too.
HTML_DATA: pytest.StashKey[bool] = pytest.StashKey()
PYTEST_HTML: pytest.StashKey[bool] = pytest.StashKey()
SECRETS: pytest.StashKey[tuple[Secret, ...]] = pytest.StashKey()

__all__ = ["flowai"]  # the fixture, found by pytest in this plugin module

# name: (default, help); each is an ini option `flowai_<name>` and a flag `--flowai-<name>`.
_SETTINGS: dict[str, tuple[str, str]] = {
    "url": ("", "Flow.ai API base URL; unset: start the embedded emulator"),
    "client_id": ("", "client id for the Web socket API (socket.info)"),
    "transport": ("socket", f"transport of specs that name none: {', '.join(TRANSPORT_KINDS)}"),
    "timeout": ("10", "seconds a turn may wait for its replies"),
    "settle": ("0.25", "seconds without a new reply that end a matched turn (0 allowed)"),
    "silence": ("1", "seconds `expect: none` listens for a reply"),
    "patience": ("2", "seconds an unmatched socket turn waits after the bot's last (announced) reply"),
    "concurrency": ("1", "conversations run at once in each pytest process"),
    "max_reply_bytes": (
        "4194304",
        "bytes a socket frame or an HTTP answer may have; a larger one fails the turn",
    ),
    "emulator_flows": (
        "",
        "bot flows (file or folder) for the embedded emulator; in an ini file, relative to it",
    ),
    "emulator_seed": ("0", "seed of the embedded emulator's reply variants: the same seed, the same replies"),
    "cov_fail_under": ("", "fail the run when flow coverage (--flowai-coverage) is under this percentage"),
    "coverage_flows": (
        "",
        "flow files (file or folder) coverage measures against; in an ini file, relative to it",
    ),
    "management_url": (
        "",
        "Management API base URL coverage reads the bot's flows from (default: flowai_url)",
    ),
    "html": (
        "",
        "write a self-contained HTML report of the conversations to this path (needs the html extra)",
    ),
    "max_spec_bytes": ("1048576", "largest spec file read, in bytes; a larger one is a collection error"),
    "webhook_url": (
        "",
        "public URL Flow.ai calls for transports webhook and messaging, forwarding to flowai_webhook_bind",
    ),
    "webhook_bind": ("", "host:port the webhook receiver listens on (default: 127.0.0.1, any free port)"),
    "webhook_verify_key": (
        "",
        "verify key of the REST API webhook set in the Flow.ai dashboard; better FLOWAI_WEBHOOK_VERIFY_KEY",
    ),
    "max_expansions": (
        "20",
        "most tests one conversation's one_of_file utterances expand to (a seeded sample beyond)",
    ),
}


def _add_flag(group: pytest.OptionGroup, flag: str, **attrs: Any) -> None:
    # With its dest given, pytest adds a flag without looking through every option of every group for one
    # with the same dest (a scan of all options for each flag); ours all start with --flowai-.
    group.addoption(flag, dest=flag.removeprefix("--").replace("-", "_"), **attrs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowai", "Flow.ai conversation specs")
    for name, (default, text) in _SETTINGS.items():
        shown = f"(default: {default})" if default else "(default: unset)"
        flag = "--flowai-" + name.replace("_", "-")
        if name == "transport":
            _add_flag(group, flag, choices=TRANSPORT_KINDS, help=f"{text} {shown}")
        else:
            _add_flag(group, flag, help=f"{text} {shown}")
        parser.addini(f"flowai_{name}", f"{text} {shown}", default=default)
    _add_flag(
        group,
        "--flowai-api-key",
        help="REST API key; better set FLOWAI_API_KEY in the environment (a key on a command line leaks)",
    )
    _add_flag(
        group,
        "--flowai-management-key",
        help="Management API key for coverage against flowai_url (default: the API key) and, given, for"
        " checking specs against the bot's flows at collection; better set FLOWAI_MANAGEMENT_KEY",
    )
    _add_flag(
        group,
        "--flowai-coverage",
        action="store_true",
        help="report which steps of the bot's flows the replies came from",
    )
    _add_flag(
        group,
        "--flowai-cov-report",
        action="append",
        metavar="KIND",
        help="coverage report: term (default), json:PATH or html:PATH; may be repeated (turns coverage on)",
    )
    _add_flag(
        group,
        "--flowai-record",
        action="store_true",
        help="write what the bot answered into each spec turn that has no `expect` (needs the record extra)",
    )
    _add_flag(
        group,
        "--flowai-record-update",
        action="store_true",
        help="with --flowai-record (implied): also rewrite the expectations of failing turns",
    )
    _add_flag(
        group,
        "--flowai-record-runs",
        type=int,
        default=1,
        metavar="N",
        help="record each conversation in N fresh threads: text variants become one_of (default: 1)",
    )
    _add_flag(
        group,
        "--flowai-flaky-report",
        action="store_true",
        help="list, at the end, the specs that passed only after a rerun (pytest-rerunfailures)",
    )
    parser.addini(
        "flowai_coverage_ignore",
        "step types (NOTHING) or titles (`*` wildcards) coverage leaves out, one a line",
        type="linelist",
        default=[],
    )
    parser.addini(
        "flowai_summary",
        "print the table of failed specs before pytest's short test summary (default: true)",
        type="bool",
        default=True,
    )
    parser.addini(
        "flowai_spec_glob",
        f"file name patterns of conversation specs (default: {' '.join(DEFAULT_SPEC_GLOBS)})",
        type="args",
        default=DEFAULT_SPEC_GLOBS,
    )


def pytest_configure(config: pytest.Config) -> None:
    # Known from here on, so every text this run shows hides them (see secret.redact and scrub).
    config.stash[SECRETS] = _configured_secrets(config)
    secret.register(*config.stash[SECRETS])
    config.addinivalue_line("markers", "flowai: a Flow.ai conversation spec (added to every spec item)")
    reporter = FlowaiReporter(config)
    config.stash[REPORTER] = reporter
    config.pluginmanager.register(reporter, "flowai-reporter")
    if config.getini("flowai_summary"):
        # Its own plugin, so `-p no:flowai-summary` turns it off.
        config.pluginmanager.register(FailureSummary(config), "flowai-summary")
    coverage = _coverage_options(config)
    if coverage is not None:
        from pytest_flowai.report.coverage import CoverageCollector

        collector = CoverageCollector(config, coverage)
        config.stash[COVERAGE] = collector
        config.pluginmanager.register(collector, "flowai-coverage")
    _configure_record(config)
    html_path = _html_path(config)
    # pytest-html is on when its --html is given (installed alone, it writes nothing).
    config.stash[PYTEST_HTML] = bool(config.getoption("htmlpath", None))
    config.stash[HTML_DATA] = html_path is not None or config.stash[PYTEST_HTML]
    if html_path is not None:
        from pytest_flowai.report import html_page
        from pytest_flowai.report.html_reporter import HtmlReporter

        try:
            html_page.check_available()
        except html_page.JinjaMissing as exc:
            raise pytest.UsageError(f"flowai_html: {exc}") from None
        # Written by the process that sees every report: the xdist controller, or the only process.
        if not hasattr(config, "workerinput"):
            config.stash[HTML_REPORTER] = html_reporter = HtmlReporter(config, html_path)
            config.pluginmanager.register(html_reporter, "flowai-html-reporter")


def _configure_record(config: pytest.Config) -> None:
    """Record mode: its options for the items, and on the process that sees every report, the writer."""
    if not (config.getoption("flowai_record") or config.getoption("flowai_record_update")):
        return
    runs = config.getoption("flowai_record_runs")
    if runs < 1:
        raise pytest.UsageError(f"--flowai-record-runs must be >= 1, got {runs}")
    from pytest_flowai.record.capture import RecordOptions
    from pytest_flowai.record.yamledit import check_available

    try:
        check_available()
    except ConfigurationError as exc:
        raise pytest.UsageError(f"--flowai-record: {exc}") from None
    config.stash[nodes.RECORD] = RecordOptions(
        update=bool(config.getoption("flowai_record_update")), runs=runs
    )
    if not hasattr(config, "workerinput"):
        from pytest_flowai.report.records import RecordWriter

        config.pluginmanager.register(RecordWriter(), "flowai-record-writer")


def pytest_unconfigure(config: pytest.Config) -> None:
    secret.forget(*config.stash.get(SECRETS, ()))
    reporter = config.stash.get(REPORTER, None)
    if reporter is not None:
        del config.stash[REPORTER]
        config.pluginmanager.unregister(reporter)
    collector = config.stash.get(COVERAGE, None)
    if collector is not None:
        del config.stash[COVERAGE]
        config.pluginmanager.unregister(collector)
    summary = config.pluginmanager.get_plugin("flowai-summary")
    if summary is not None:
        config.pluginmanager.unregister(summary)
    html_reporter = config.stash.get(HTML_REPORTER, None)
    if html_reporter is not None:
        del config.stash[HTML_REPORTER]
        config.pluginmanager.unregister(html_reporter)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns: list[str] = parent.config.getini("flowai_spec_glob")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return nodes.FlowFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    # Bad settings are said once, here, before anything is collected (exit status 4).
    session.config.stash[nodes.OPTIONS] = _options(session.config)
    session.config.stash[nodes.BOT_FLOWS] = _path_setting(session.config, "flowai_coverage_flows")
    session.config.stash[nodes.BOT_MANAGEMENT] = _management_source(session.config)
    _redact_logs(session.config)


def _redact_logs(config: pytest.Config) -> None:
    """Log records leave through pytest's handlers (live log, captured log, log file): hide keys there."""
    logging_plugin = config.pluginmanager.get_plugin("logging-plugin")
    for name in ("log_cli_handler", "log_file_handler", "caplog_handler", "report_handler"):
        handler = getattr(logging_plugin, name, None)
        if handler is not None and not any(isinstance(f, secret.RedactingFilter) for f in handler.filters):
            handler.addFilter(secret.RedactingFilter())


def pytest_collection_finish(session: pytest.Session) -> None:
    """With spec items collected: check the target and the settings they need once, then start the target
    (the fixture starts it when used)."""
    if not any(isinstance(item, nodes.FlowItem) for item in session.items):
        return
    from pytest_flowai.preflight import check_settings

    flowai_session = nodes.session_of(session.config)
    try:
        flowai_session.check()
        if not hasattr(session.config, "workerinput"):
            # Not on an xdist worker: a usage error there stops xdist with an internal error; the tests
            # of a worker fail each with the configuration error instead.
            check_settings(flowai_session.options, _needs(session.items, flowai_session.options.transport))
        if not session.config.option.collectonly:
            # Started here, so its start-up is counted in no test's duration.
            flowai_session.settings()
    except (ConfigurationError, EmulatorError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _needs(items: Sequence[pytest.Item], default_transport: str) -> list[Need]:
    """What each spec and each test using the `flowai` fixture will use: its transport, its control turns."""
    from pytest_flowai.preflight import Need

    needs = []
    for item in items:
        if isinstance(item, nodes.FlowItem):
            conversation = item.conversation
            where = f"{display_path(conversation.span.path)}:{conversation.span.line}: {conversation.name!r}"
            controls = any(turn.action.kind.is_control for turn in conversation.turns)
            needs.append(Need(where=where, transport=item.job.transport, controls=controls))
        elif "flowai" in getattr(item, "fixturenames", ()):
            marker = item.get_closest_marker("flowai")
            transport = marker.kwargs.get("transport") if marker is not None else None
            needs.append(Need(where=item.nodeid, transport=str(transport or default_transport)))
    return needs


def pytest_sessionfinish(session: pytest.Session) -> None:
    nodes.close_session(session.config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = config.stash.get(nodes.OPTIONS, None) or _options(config)
    # pytest-xdist's option, "no" without it or without `-n`.
    dist = str(getattr(config.option, "dist", "no"))
    globs = config.getini("flowai_spec_glob")
    return header_lines(options.target, options.transport, globs, concurrency=options.concurrency, dist=dist)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    if call.when == "call":
        attach_transcripts(item)
    test_report = yield
    if call.when == "call":
        _carry_results(item, call, test_report)
    if item.config.stash.get(HTML_DATA, False):
        from pytest_flowai.report.html_reporter import attach_html_data

        attach_html_data(item, call, test_report, pytest_html=item.config.stash[PYTEST_HTML])
    duration = item.stash.get(nodes.DURATION, None)
    if call.when == "call" and duration is not None:
        # The conversation's own time, not the time it waited for its turn to be reported.
        test_report.duration = duration
    scrub_report(test_report)
    return test_report


@pytest.hookimpl(tryfirst=True)
def pytest_warning_recorded(warning_message: warnings.WarningMessage) -> None:
    # First of all implementations: the terminal summary and xdist's relay read the text after us.
    scrub_warning(warning_message)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    collect_report = yield
    scrub_report(collect_report)
    return collect_report


def _configured_secrets(config: pytest.Config) -> tuple[Secret, ...]:
    """The keys given by option or environment, before any option is checked."""
    values = (
        config.getoption("flowai_api_key", None) or os.environ.get("FLOWAI_API_KEY"),
        _management_key(config),
    )
    return tuple(Secret(value) for value in values if value)


def _management_key(config: pytest.Config) -> str | None:
    """The management key given by option or environment (FLOWAI_MANAGEMENT_KEY)."""
    key: str | None = config.getoption("flowai_management_key", None) or os.environ.get(
        "FLOWAI_MANAGEMENT_KEY"
    )
    return key


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    result = yield
    if item.session.shouldfail or item.session.shouldstop:
        # -x / --maxfail reached: pytest starts no further test, so no further conversation starts either.
        nodes.stop_scheduling(item.config)
    return result


def pytest_itemcollected(item: pytest.Item) -> None:
    if isinstance(item, nodes.FlowItem):
        item.add_marker(pytest.mark.flowai)


def _carry_results(item: pytest.Item, call: pytest.CallInfo[None], test_report: pytest.TestReport) -> None:
    """Put what the controller summarises on the report as plain data (pytest-xdist sends report attributes
    along): the steps that answered, for coverage, and a failed spec's summary row."""
    if COVERAGE in item.config.stash:
        transcripts = [chat.transcript for chat in item.stash.get(CHATS, [])]
        if isinstance(item, nodes.FlowItem) and nodes.TRANSCRIPT in item.stash:
            transcripts.insert(0, item.stash[nodes.TRANSCRIPT])
        from pytest_flowai.coverage import hits_of_transcripts

        test_report.flowai_steps = [hit.to_json() for hit in hits_of_transcripts(transcripts)]  # type: ignore[attr-defined]
    if nodes.RECORDED in item.stash:
        test_report.flowai_record = item.stash[nodes.RECORDED]  # type: ignore[attr-defined]
    if isinstance(item, nodes.FlowItem) and test_report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        if isinstance(exc, FlowaiError):
            from pytest_flowai.report.text import failure_row, redact

            secrets = item.flowai.secrets()
            row = failure_row(exc, item.conversation, item.stash.get(nodes.TRANSCRIPT, None))
            crash = getattr(test_report.longrepr, "reprcrash", None)
            row["headline"] = str(getattr(crash, "message", "") or row["closest"])
            test_report.flowai_failure = {k: redact(v, secrets) for k, v in row.items()}  # type: ignore[attr-defined]


def _coverage_options(config: pytest.Config) -> CoverageOptions | None:
    """Coverage settings, or None when coverage is off (a --flowai-cov-* flag turns it on, too)."""
    reports: list[str] = config.getoption("flowai_cov_report") or []
    flag_threshold = config.getoption("flowai_cov_fail_under")
    if not (config.getoption("flowai_coverage") or reports or flag_threshold):
        return None
    parsed: list[tuple[str, Path | None]] = []
    for spec in reports or ["term"]:
        kind, _, path = spec.partition(":")
        if (kind == "term" and not path) or (kind in ("json", "html") and path):
            parsed.append((kind, Path(path) if path else None))
        else:
            raise pytest.UsageError(f"--flowai-cov-report must be term, json:PATH or html:PATH, got {spec!r}")
    threshold_text = str(flag_threshold or config.getini("flowai_cov_fail_under") or "")
    threshold: float | None = None
    if threshold_text:
        try:
            threshold = float(threshold_text)
        except ValueError:
            threshold = math.nan
        if not 0 <= threshold <= 100:
            raise pytest.UsageError(
                f"flowai_cov_fail_under must be a percentage from 0 to 100, got {threshold_text!r}"
            )
    return CoverageOptions(
        reports=tuple(parsed),
        fail_under=threshold,
        flows=_path_setting(config, "flowai_coverage_flows"),
        ignore=tuple(str(entry) for entry in config.getini("flowai_coverage_ignore")),
        management_url=_pick(config, "flowai_management_url") or None,
        management_key=secret_or_none(_management_key(config)),
    )


def _management_source(config: pytest.Config) -> tuple[str, Secret] | None:
    """Where the checks at collection read a real bot's flows without flow files: the Management API at
    flowai_management_url (else flowai_url), only when a management key is given, so a run against a real
    bot makes no request at collection that nobody asked for."""
    url = config.stash[nodes.OPTIONS].url
    key = secret_or_none(_management_key(config))
    if not url or key is None:
        return None
    return (_pick(config, "flowai_management_url") or url, key)


def _pick(config: pytest.Config, name: str) -> str:
    # Each option's command-line dest and ini key are spelled the same; the command line wins.
    value = config.getoption(name)
    return str(value) if value not in (None, "") else str(config.getini(name) or "")


def _path_setting(config: pytest.Config, name: str) -> Path | None:
    """A path option: relative to the ini file when it comes from there, else to the working directory."""
    value = _pick(config, name)
    if not value:
        return None
    from_ini = not config.getoption(name)
    base = config.inipath.parent if from_ini and config.inipath is not None else None
    return (base / value) if base and not Path(value).is_absolute() else Path(value)


def _options(config: pytest.Config) -> Options:
    def pick(name: str) -> str:
        return _pick(config, name)

    flows_path = _path_setting(config, "flowai_emulator_flows")
    transport = pick("flowai_transport") or "socket"
    if transport not in TRANSPORT_KINDS:
        raise pytest.UsageError(
            f"flowai_transport must be one of {', '.join(TRANSPORT_KINDS)}, got {transport!r}"
        )
    url = pick("flowai_url") or None
    if url is not None and not url.startswith(("http://", "https://")):
        # Said once, before any test runs, rather than as the same failure of every conversation.
        raise pytest.UsageError(f"flowai_url must start with http:// or https://, got {url!r}")
    webhook_url = pick("flowai_webhook_url") or None
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise pytest.UsageError(
            f"flowai_webhook_url must start with http:// or https://, got {webhook_url!r}"
        )
    webhook_bind = pick("flowai_webhook_bind") or None
    if webhook_bind is not None:
        from pytest_flowai.transports.hub import parse_bind

        try:
            parse_bind(webhook_bind)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    return Options(
        url=url,
        client_id=pick("flowai_client_id") or None,
        api_key=secret_or_none(config.getoption("flowai_api_key") or os.environ.get("FLOWAI_API_KEY")),
        transport=transport,
        timeout=_seconds(pick("flowai_timeout"), "flowai_timeout"),
        # settle may be 0, as a spec's `settle:` may; the other timings must be > 0, as in a spec.
        settle=_seconds(pick("flowai_settle"), "flowai_settle", allow_zero=True),
        silence=_seconds(pick("flowai_silence"), "flowai_silence"),
        patience=_seconds(pick("flowai_patience"), "flowai_patience"),
        emulator_flows=flows_path,
        emulator_seed=_whole(pick("flowai_emulator_seed"), "flowai_emulator_seed", minimum=0),
        concurrency=_whole(pick("flowai_concurrency"), "flowai_concurrency", minimum=1),
        max_reply_bytes=_whole(pick("flowai_max_reply_bytes"), "flowai_max_reply_bytes", minimum=1),
        max_spec_bytes=_whole(pick("flowai_max_spec_bytes"), "flowai_max_spec_bytes", minimum=1),
        max_expansions=_whole(pick("flowai_max_expansions"), "flowai_max_expansions", minimum=1),
        worker=_xdist_worker(config),
        html=_html_path(config),
        webhook_url=webhook_url,
        webhook_bind=webhook_bind,
        webhook_verify_key=os.environ.get("FLOWAI_WEBHOOK_VERIFY_KEY")
        or pick("flowai_webhook_verify_key")
        or None,
    )


def _html_path(config: pytest.Config) -> Path | None:
    # As junitxml's path: relative to the working directory, from the command line or the ini file.
    value = config.getoption("flowai_html") or config.getini("flowai_html")
    return Path(str(value)).expanduser().absolute() if value else None


def _xdist_worker(config: pytest.Config) -> str:
    # xdist's documented `config.workerinput`, not PYTEST_XDIST_WORKER: that variable is inherited by any
    # pytest started from a worker (pytester runs, subprocesses), which are not workers themselves.
    workerinput = getattr(config, "workerinput", None)
    worker = workerinput.get("workerid") if isinstance(workerinput, dict) else None
    return str(worker) if worker else "main"


def _seconds(value: str, name: str, *, allow_zero: bool = False) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise pytest.UsageError(f"{name} must be a number of seconds, got {value!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise pytest.UsageError(f"{name} must be {'>=' if allow_zero else '>'} 0, got {value!r}")
    return seconds


def _whole(value: str, name: str, *, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise pytest.UsageError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise pytest.UsageError(f"{name} must be >= {minimum}, got {value!r}")
    return number
