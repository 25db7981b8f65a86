"""pytest hooks of pytest-flowai: options, collection entry, session start and stop. Hooks only."""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Generator
from pathlib import Path

import pytest

from pytest_flowai import report
from pytest_flowai.fixtures import attach_transcripts, flowai
from pytest_flowai.session import FlowaiSession, Options
from pytest_flowai.transports.base import TRANSPORT_KINDS

DEFAULT_SPEC_GLOBS = ["test_*.flowai.yaml", "test_*.flowai.yml"]
REPORTER = pytest.StashKey[report.FlowaiReporter]()

__all__ = ["flowai"]  # the fixture, found by pytest in this plugin module


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowai", "Flow.ai conversation specs")
    group.addoption("--flowai-url", help="Flow.ai API base URL; unset: start the embedded emulator")
    group.addoption("--flowai-client-id", help="client id for the Web socket API (socket.info)")
    group.addoption(
        "--flowai-api-key",
        help="REST API key; better set FLOWAI_API_KEY in the environment (a key on a command line leaks)",
    )
    group.addoption("--flowai-transport", choices=TRANSPORT_KINDS, help="transport of specs that name none")
    group.addoption("--flowai-timeout", type=float, help="seconds a turn may wait for its replies")
    group.addoption("--flowai-settle", type=float, help="seconds without a new reply that end a matched turn")
    group.addoption("--flowai-silence", type=float, help="seconds `expect: none` listens for a reply")
    group.addoption(
        "--flowai-patience", type=float, help="seconds an unmatched turn waits after the bot's last reply"
    )
    group.addoption("--flowai-emulator-flows", help="bot flows (file or folder) for the embedded emulator")
    parser.addini("flowai_url", "Flow.ai API base URL; unset: start the embedded emulator", default="")
    parser.addini("flowai_client_id", "client id for the Web socket API", default="")
    parser.addini("flowai_transport", "default transport: socket or rest", default="socket")
    parser.addini("flowai_timeout", "seconds a turn may wait for its replies", default="10")
    parser.addini("flowai_settle", "seconds without a new reply that end a matched turn", default="0.25")
    parser.addini("flowai_silence", "seconds `expect: none` listens for a reply", default="1")
    parser.addini(
        "flowai_patience", "seconds an unmatched turn waits after the bot's last reply", default="2"
    )
    parser.addini(
        "flowai_emulator_flows", "bot flows for the embedded emulator (relative to the ini file)", default=""
    )
    parser.addini(
        "flowai_spec_glob",
        "file name patterns of conversation specs",
        type="args",
        default=DEFAULT_SPEC_GLOBS,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flowai: a Flow.ai conversation spec (added to every spec item)")
    reporter = report.FlowaiReporter(config)
    config.stash[REPORTER] = reporter
    config.pluginmanager.register(reporter, "flowai-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.stash.get(REPORTER, None)
    if reporter is not None:
        del config.stash[REPORTER]
        config.pluginmanager.unregister(reporter)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns: list[str] = parent.config.getini("flowai_spec_glob")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        from pytest_flowai.nodes import FlowFile

        return FlowFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    from pytest_flowai.nodes import SESSION

    session.config.stash[SESSION] = FlowaiSession(options=_options(session.config))


def pytest_sessionfinish(session: pytest.Session) -> None:
    from pytest_flowai.nodes import SESSION

    flowai = session.config.stash.get(SESSION, None)
    if flowai is not None:
        del session.config.stash[SESSION]
        flowai.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = _options(config)
    return report.header_lines(options.target, options.transport, config.getini("flowai_spec_glob"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    if call.when == "call":
        attach_transcripts(item)
    return (yield)


def pytest_itemcollected(item: pytest.Item) -> None:
    from pytest_flowai.nodes import FlowItem

    if isinstance(item, FlowItem):
        item.add_marker(pytest.mark.flowai)


def _options(config: pytest.Config) -> Options:
    def pick(name: str) -> str:
        # Each option's command-line dest and ini key are spelled the same; the command line wins.
        value = config.getoption(name)
        return str(value) if value not in (None, "") else str(config.getini(name) or "")

    flows = pick("flowai_emulator_flows")
    flows_path: Path | None = None
    if flows:
        # Relative to the ini file when it comes from there, else to the working directory.
        from_ini = not config.getoption("flowai_emulator_flows")
        base = config.inipath.parent if from_ini and config.inipath is not None else None
        flows_path = (base / flows) if base and not Path(flows).is_absolute() else Path(flows)
    transport = pick("flowai_transport") or "socket"
    if transport not in TRANSPORT_KINDS:
        raise pytest.UsageError(
            f"flowai_transport must be one of {', '.join(TRANSPORT_KINDS)}, got {transport!r}"
        )
    url = pick("flowai_url") or None
    if url is not None and not url.startswith(("http://", "https://")):
        # Said once, before any test runs, rather than as the same failure of every conversation.
        raise pytest.UsageError(f"flowai_url must start with http:// or https://, got {url!r}")
    return Options(
        url=url,
        client_id=pick("flowai_client_id") or None,
        api_key=config.getoption("flowai_api_key") or os.environ.get("FLOWAI_API_KEY") or None,
        transport=transport,
        timeout=_seconds(pick("flowai_timeout"), "flowai_timeout"),
        # settle may be 0, as a spec's `settle:` may; the other timings must be > 0, as in a spec.
        settle=_seconds(pick("flowai_settle"), "flowai_settle", allow_zero=True),
        silence=_seconds(pick("flowai_silence"), "flowai_silence"),
        patience=_seconds(pick("flowai_patience"), "flowai_patience"),
        emulator_flows=flows_path,
        worker=_xdist_worker(config),
    )


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
