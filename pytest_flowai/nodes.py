"""The pytest collection nodes: a spec file (`FlowFile`) and one conversation in it (`FlowItem`), and the
run's places in `config.stash`. Light at import (the plugin imports it in every run): the spec loader, the
runner and the report text load on first use.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_flowai.errors import FlowaiError, SpecError, SpecRunError

if TYPE_CHECKING:
    # Annotations only: each loads when a spec, the fixture or a report needs it.
    from pytest_flowai.options import Options
    from pytest_flowai.record.capture import RecordOptions
    from pytest_flowai.report.coverage import CoverageCollector
    from pytest_flowai.secret import Secret
    from pytest_flowai.session import FlowaiSession, Job, Outcome
    from pytest_flowai.spec.model import Conversation, Mark
    from pytest_flowai.transcript import Transcript

OPTIONS: pytest.StashKey[Options] = pytest.StashKey()
SESSION: pytest.StashKey[FlowaiSession] = pytest.StashKey()
TRANSCRIPT: pytest.StashKey[Transcript] = pytest.StashKey()
# The coverage plugin (--flowai-coverage) when coverage is on; here, so a run without it never loads it.
COVERAGE: pytest.StashKey[CoverageCollector] = pytest.StashKey()
# Record mode (--flowai-record): its options on the config, and on each item what it recorded.
RECORD: pytest.StashKey[RecordOptions] = pytest.StashKey()
RECORDED: pytest.StashKey[dict[str, Any]] = pytest.StashKey()
# The conversation's own duration, reported as the call's (not the wait for its turn to be reported).
DURATION: pytest.StashKey[float] = pytest.StashKey()
# Reruns (pytest-rerunfailures call runtest again): the attempt number, and the last attempt's text.
ATTEMPT: pytest.StashKey[int] = pytest.StashKey()
_LAST_ATTEMPT: pytest.StashKey[str] = pytest.StashKey()
_PER_ATTEMPT = ("flowai_transcript", "flowai_thread_id")
# Where each item stands in session.items, for the look-ahead of the concurrent scheduler.
POSITIONS: pytest.StashKey[dict[str, int]] = pytest.StashKey()
# The bot-check warnings already given: a turn of a file that several specs include is warned about once.
_BOT_WARNED: pytest.StashKey[set[str]] = pytest.StashKey()
# xdist's worker plugin (or None without one), found once per run for the look-ahead.
WORKER_PLUGIN: pytest.StashKey[object] = pytest.StashKey()
_UNSET = object()
# Flow files of a real bot that specs are checked against at collection (flowai_coverage_flows).
BOT_FLOWS: pytest.StashKey[Path | None] = pytest.StashKey()
# Against a flowai_url without flow files: the Management API (its URL, the management key) the checks at
# collection read the bot's flows from; None when no management key was given.
BOT_MANAGEMENT: pytest.StashKey[tuple[str, Secret] | None] = pytest.StashKey()
# Marks pytest evaluates in setup: an item carrying one may be skipped, so it never starts ahead of its turn.
_SETUP_MARKS = ("skip", "skipif", "xfail")
# Marks that a plugin registers: the hint says which one to install.
_MARK_PLUGINS = {"flaky": "install pytest-rerunfailures (pip install 'pytest-flowai[rerun]')"}
_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), *range(127, 160))} | {10: "\\n", 13: "\\r", 9: "\\t"}


def session_of(config: pytest.Config) -> FlowaiSession:
    """The run's FlowaiSession, made on first use (a spec collected, the fixture used)."""
    session = config.stash.get(SESSION, None)
    if session is None:
        from pytest_flowai.session import FlowaiSession

        options = config.stash.get(OPTIONS, None)
        if options is None:
            raise FlowaiError("the flowai plugin's options were not read; is the plugin disabled?")
        session = FlowaiSession(options=options)
        config.stash[SESSION] = session
    return session


def close_session(config: pytest.Config) -> None:
    """Close the run's FlowaiSession, if one was made."""
    session = config.stash.get(SESSION, None)
    if session is not None:
        del config.stash[SESSION]
        session.close()
        # Said as pytest warnings (in the warnings summary; xdist relays a worker's), never dropped.
        for text in session.warnings:
            warnings.warn(pytest.PytestWarning(f"flowai: {text}"), stacklevel=1)


def stop_scheduling(config: pytest.Config) -> None:
    """pytest stops early (-x, --maxfail): start no further conversation, cancel those in flight."""
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.stop_scheduling()


class FlowaiBotWarning(pytest.PytestWarning):
    """A spec expects something the bot's flows do not say: a text it never sends, an unknown type."""


class FlowFile(pytest.File):
    """A `test_*.flowai.yaml` file: one item per conversation (YAML document)."""

    def collect(self) -> Iterator[FlowItem]:
        from pytest_flowai.spec import load_spec
        from pytest_flowai.spec.limits import SpecLimits

        options = self.config.stash.get(OPTIONS, None)
        limits = (
            SpecLimits(max_bytes=options.max_spec_bytes, max_expansions=options.max_expansions)
            if options
            else SpecLimits()
        )
        try:
            spec = load_spec(self.path, limits)
        except SpecError as err:
            raise self.CollectError(str(err)) from err
        self._check_against_bot(spec.conversations)
        for conversation in spec.conversations:
            item = FlowItem.from_parent(self, name=node_name(conversation.name), conversation=conversation)
            for mark in conversation.marks:
                item.add_marker(_marker(mark, conversation, self))
            yield item

    def _check_against_bot(self, conversations: Sequence[Conversation]) -> None:
        """Names the bot lacks fail collection; texts it never says and unknown types warn."""
        if OPTIONS not in self.config.stash:
            return
        bot = session_of(self.config).bot_shape(
            self.config.stash.get(BOT_FLOWS, None), self.config.stash.get(BOT_MANAGEMENT, None)
        )
        if bot is None:
            return
        from pytest_flowai.botcheck import check

        errors: dict[str, None] = {}
        warned = self.config.stash.setdefault(_BOT_WARNED, set())
        for conversation in conversations:
            for finding in check(conversation, bot):
                if finding.error:
                    errors[str(finding)] = None
                    continue
                if str(finding) in warned:
                    continue
                try:
                    warnings.warn_explicit(
                        str(finding), FlowaiBotWarning, filename=finding.span.path, lineno=finding.span.line
                    )
                except FlowaiBotWarning:
                    # `-W error::...FlowaiBotWarning` makes it an error: said like one, without a traceback.
                    errors[str(finding)] = None
                else:
                    warned.add(str(finding))
        if errors:
            # Parametrized conversations share their turns: each finding is said once.
            raise self.CollectError("\n".join(errors))


def node_name(name: str) -> str:
    """A conversation name as a node name: control characters escaped, `::` split, so the node id prints
    safely and `pytest FILE::NAME` selects it."""
    return name.translate(_CONTROL).replace("::", ": :")


def _marker(mark: Mark, conversation: Conversation, parent: FlowFile) -> pytest.MarkDecorator:
    name = mark.name
    if name.startswith("_"):
        # pytest reserves such names (its MarkGenerator refuses them with a bare AttributeError).
        raise parent.CollectError(f"{conversation.span}: mark {name!r}: mark names must not start with '_'")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pytest.PytestUnknownMarkWarning)
            decorator: pytest.MarkDecorator = getattr(pytest.mark, name)
    # Under --strict-markers pytest fails (it does not raise AttributeError) for an unregistered mark.
    except pytest.fail.Exception as err:
        # Say which spec used the unregistered mark, not pytest's internals.
        hint = _MARK_PLUGINS.get(name, f"add '{name}: <description>' to the `markers` ini option")
        raise parent.CollectError(
            f"{conversation.span}: mark {name!r} is not registered (strict markers are on)\n  hint: {hint}"
        ) from err
    if caught:
        # pytest's warning would point at this file; point it at the spec instead.
        warnings.warn_explicit(
            f"unknown mark {name!r} in {conversation.name!r}; register it in the `markers` ini option",
            pytest.PytestUnknownMarkWarning,
            filename=conversation.span.path,
            lineno=conversation.span.line,
        )
    # The arguments go to the mark as the spec wrote them; the plugin that reads the mark checks them.
    return decorator(*mark.args, **mark.kwargs) if mark.args or mark.kwargs else decorator


class FlowItem(pytest.Item):
    """One conversation: runs its turns against the bot and fails with a readable transcript."""

    def __init__(self, *, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation

    @property
    def flowai(self) -> FlowaiSession:
        return session_of(self.config)

    # Both are asked of the next `concurrency` items for every item run (the look-ahead): made once each.
    @functools.cached_property
    def job(self) -> Job:
        """What the session's scheduler runs for this item."""
        from pytest_flowai.session import Job

        transport = self.conversation.transport or self.flowai.options.transport
        return Job(key=self.nodeid, conversation=self.conversation, transport=str(transport))

    @functools.cached_property
    def may_run_ahead(self) -> bool:
        """Whether the scheduler may start this conversation before pytest reaches it (its marks are read
        once, at run time, when collection has added them all)."""
        return all(self.get_closest_marker(name) is None for name in _SETUP_MARKS)

    def runtest(self) -> None:
        from pytest_flowai.report.text import redact, render_failure

        session = self.flowai
        attempt = self.stash.get(ATTEMPT, 0) + 1
        self.stash[ATTEMPT] = attempt
        if attempt > 1:
            self._keep_attempt(attempt - 1)
        # A new task (and thread id) every attempt: the scheduler forgets a key once its result is taken.
        outcome = session.result(self.job, [item.job for item in upcoming(self, session.options.concurrency)])
        self.stash[TRANSCRIPT] = outcome.transcript
        self.stash[DURATION] = outcome.duration
        text = self._attach_transcript(outcome.transcript, session)
        if RECORD in self.config.stash:
            self._record(outcome)
        if outcome.error is not None:
            failure = render_failure(outcome.error, self.conversation, None)
            headline = redact(failure.split("\n", 1)[0], session.secrets())
            self.stash[_LAST_ATTEMPT] = f"attempt {attempt} failed: {headline}\n\n{text}"
            raise outcome.error
        self.stash[_LAST_ATTEMPT] = f"attempt {attempt} passed\n\n{text}"
        # A failure's report already shows the transcript (repr_failure); -rP and pytest-html show this one.
        self.add_report_section("call", "flowai transcript", text)

    def _record(self, outcome: Outcome) -> None:
        """Record mode: the replies to the turns to write, from this run and `runs - 1` more on new threads
        (keys of their own, so the emulator's variant picker differs between them)."""
        from dataclasses import replace

        from pytest_flowai.record.capture import record_data, replies_by_turn, turns_to_record

        options = self.config.stash[RECORD]
        turns = turns_to_record(self.conversation, outcome.error, options.update)
        if not turns:
            return
        runs = [replies_by_turn(outcome.transcript, outcome.error)]
        for number in range(2, options.runs + 1):
            job = replace(self.job, key=f"{self.nodeid}#record-{number}")
            again = self.flowai.result(job)
            runs.append(replies_by_turn(again.transcript, again.error))
        self.stash[RECORDED] = record_data(turns, runs)

    def _keep_attempt(self, number: int) -> None:
        """Before a rerun: the earlier attempt's transcript becomes a report section and JUnit properties
        of its own (`flowai_transcript_attempt_N`), so the final report shows every attempt."""
        # A new list: the earlier attempt's report holds the old one and must keep it as it was.
        self.user_properties = [
            (f"{key}_attempt_{number}" if key in _PER_ATTEMPT else key, value)
            for key, value in self.user_properties
            if key != "flowai_transport"
        ]
        self.add_report_section(
            "call", f"flowai transcript (attempt {number})", self.stash.get(_LAST_ATTEMPT, "")
        )

    def _attach_transcript(self, transcript: Transcript, session: FlowaiSession) -> str:
        from pytest_flowai.report.text import redact, render_transcript

        text = redact(render_transcript(transcript), session.secrets())
        # JUnit XML writes user properties for every test case, whatever junit_logging says.
        self.user_properties.append(("flowai_transcript", text))
        self.user_properties.append(("flowai_thread_id", transcript.thread_id))
        self.user_properties.append(("flowai_transport", transcript.transport))
        return text

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        from pytest_flowai.report.text import Crash, FailureRepr, redact, render_failure

        exc = excinfo.value
        if isinstance(exc, SpecError) and not isinstance(exc, SpecRunError):
            text = str(exc)
        elif isinstance(exc, FlowaiError):
            session = self.flowai
            seed = session.options.emulator_seed if session.embedded else None
            text = render_failure(exc, self.conversation, self.stash.get(TRANSCRIPT, None), seed=seed)
        else:
            return super().repr_failure(excinfo, style=style)
        text = redact(text, self.flowai.secrets())
        headline = text.split("\n", 1)[0]
        return FailureRepr(
            text=text,
            reprcrash=Crash(path=str(self.path), lineno=self.conversation.span.line, message=headline),
            # --tb=line asks for one line per failure: the headline already says where and why.
            one_line=self.config.getoption("tbstyle", "auto") == "line",
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.conversation.span.line - 1, f"flowai: {self.name}"


def upcoming(item: FlowItem, limit: int) -> list[FlowItem]:
    """The spec items pytest runs right after ``item`` on this process, up to ``limit``, that may start now.

    The look-ahead stops at the first item that is not a spec (a Python test runs on its own) and skips
    those that setup may skip. Under pytest-xdist it sees only what the controller handed this worker.
    """
    if limit <= 1:
        return []
    items = item.session.items
    pending = _xdist_pending(item, limit) if hasattr(item.config, "workerinput") else None
    following: Sequence[int]
    if pending is not None:
        following = pending
    else:
        positions = item.config.stash.get(POSITIONS, None)
        if positions is None or len(positions) != len(items):
            positions = {each.nodeid: index for index, each in enumerate(items)}
            item.config.stash[POSITIONS] = positions
        start = positions.get(item.nodeid, len(items)) + 1
        following = range(start, min(start + limit - 1, len(items)))
    ahead: list[FlowItem] = []
    for index in following:
        if len(ahead) >= limit - 1 or not 0 <= index < len(items):
            break
        candidate = items[index]
        if not isinstance(candidate, FlowItem):
            break
        if candidate.may_run_ahead:
            ahead.append(candidate)
    return ahead


def _xdist_pending(item: FlowItem, limit: int) -> list[int] | None:
    """The first ``limit`` indexes of session.items this xdist worker was told to run next, or None where they
    can't be read.

    xdist keeps them in its worker plugin (`nextitem_index`, then the `torun` queue), which has no public API:
    read defensively, never written. The plugin is looked up once; only the queue's head is copied, since the
    queue can hold the whole suite and this runs for every item.
    """
    interactor = item.config.stash.get(WORKER_PLUGIN, _UNSET)
    if interactor is _UNSET:
        plugins = item.config.pluginmanager.get_plugins()
        interactor = next((p for p in plugins if type(p).__name__ == "WorkerInteractor"), None)
        item.config.stash[WORKER_PLUGIN] = interactor
    lock = getattr(getattr(interactor, "torun", None), "lock", None)
    if lock is None:
        return None
    first = getattr(interactor, "nextitem_index", None)
    with lock() as pending:
        indexes = [first, *itertools.islice(pending, limit)]
    return [index for index in indexes if isinstance(index, int)]
