"""The pytest collection nodes: a spec file (`FlowFile`) and one conversation in it (`FlowItem`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from pytest_flowai import report
from pytest_flowai.conversation import Transcript
from pytest_flowai.errors import FlowaiError, SpecError
from pytest_flowai.session import FlowaiSession
from pytest_flowai.spec import load_spec
from pytest_flowai.spec.model import Conversation

SESSION = pytest.StashKey[FlowaiSession]()
TRANSCRIPT = pytest.StashKey[Transcript]()


class FlowFile(pytest.File):
    """A `test_*.flowai.yaml` file: one item per conversation (YAML document)."""

    def collect(self) -> Iterator[FlowItem]:
        try:
            spec = load_spec(self.path)
        except SpecError as err:
            raise self.CollectError(str(err)) from err
        for conversation in spec.conversations:
            item = FlowItem.from_parent(self, name=conversation.name, conversation=conversation)
            for mark in conversation.marks:
                item.add_marker(_marker(mark, conversation, self))
            yield item


def _marker(name: str, conversation: Conversation, parent: FlowFile) -> pytest.MarkDecorator:
    if name.startswith("_"):
        # pytest reserves such names (its MarkGenerator refuses them with a bare AttributeError).
        raise parent.CollectError(f"{conversation.span}: mark {name!r}: mark names must not start with '_'")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pytest.PytestUnknownMarkWarning)
            mark: pytest.MarkDecorator = getattr(pytest.mark, name)
    # Under --strict-markers pytest fails (it does not raise AttributeError) for an unregistered mark.
    except pytest.fail.Exception as err:
        # Say which spec used the unregistered mark, not pytest's internals.
        raise parent.CollectError(
            f"{conversation.span}: mark {name!r} is not registered (strict markers are on)\n"
            f"  hint: add '{name}: <description>' to the `markers` ini option"
        ) from err
    if caught:
        # pytest's warning would point at this file; point it at the spec instead.
        warnings.warn_explicit(
            f"unknown mark {name!r} in {conversation.name!r}; register it in the `markers` ini option",
            pytest.PytestUnknownMarkWarning,
            filename=conversation.span.path,
            lineno=conversation.span.line,
        )
    return mark


class _Writer(Protocol):
    def line(self, s: str = "") -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash:
    """A failure in one line: what `--tb=line`, the short summary and JUnit's `message` show."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return self.message  # the headline starts with the spec's file:line already


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureRepr:
    """A spec failure as pytest prints it: the whole report, plus its headline as the `reprcrash`.

    Without a `reprcrash` pytest sums a text report up by its first 50 characters.
    """

    text: str
    reprcrash: Crash
    one_line: bool

    def toterminal(self, tw: _Writer) -> None:
        if self.one_line:
            return  # pytest prints the reprcrash line itself
        for line in self.text.split("\n"):
            tw.line(line)

    def __str__(self) -> str:
        # What xdist sends to the controller and JUnit stores as the failure's body.
        return self.reprcrash.message if self.one_line else self.text


class FlowItem(pytest.Item):
    """One conversation: runs its turns against the bot and fails with a readable transcript."""

    def __init__(self, *, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation

    @property
    def flowai(self) -> FlowaiSession:
        return self.config.stash[SESSION]

    def runtest(self) -> None:
        session = self.flowai
        transport = self.conversation.transport or session.options.transport
        transcript = Transcript(
            name=self.conversation.name, thread_id=session.next_thread_id(), transport=str(transport)
        )
        self.stash[TRANSCRIPT] = transcript
        try:
            session.run(self.conversation, transcript)
        finally:
            self._attach_transcript(transcript, session)

    def _attach_transcript(self, transcript: Transcript, session: FlowaiSession) -> None:
        # A failure's report already shows the transcript (repr_failure); a report section would repeat it.
        text = report.redact(report.render_transcript(transcript), session.secrets())
        # JUnit XML writes user properties for every test case, whatever junit_logging says.
        self.user_properties.append(("flowai_transcript", text))
        self.user_properties.append(("flowai_thread_id", transcript.thread_id))
        self.user_properties.append(("flowai_transport", transcript.transport))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        exc = excinfo.value
        if isinstance(exc, SpecError):
            text = str(exc)
        elif isinstance(exc, FlowaiError):
            text = report.render_failure(exc, self.conversation, self.stash.get(TRANSCRIPT, None))
        else:
            return super().repr_failure(excinfo, style=style)
        text = report.redact(text, self.flowai.secrets())
        headline = text.split("\n", 1)[0]
        return FailureRepr(
            text=text,
            reprcrash=Crash(path=str(self.path), lineno=self.conversation.span.line, message=headline),
            # --tb=line asks for one line per failure: the headline already says where and why.
            one_line=self.config.getoption("tbstyle", "auto") == "line",
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.conversation.span.line - 1, f"flowai: {self.name}"
