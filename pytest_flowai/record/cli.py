"""`flowai-record`: start a spec from nothing. Sends the given turns (or one turn per line of standard
input) to the embedded emulator's flows or a Flow.ai URL, then writes what the bot answered as a spec.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.bridge import run_sync
from pytest_flowai.errors import FlowaiError, Span
from pytest_flowai.options import Options
from pytest_flowai.record.entries import RecordedTurn, expectations, responses_of
from pytest_flowai.record.volatile import Namer
from pytest_flowai.spec.model import Conversation, Event, Say, Turn
from pytest_flowai.transcript import Received, Transcript
from pytest_flowai.transports import TRANSPORT_KINDS

if TYPE_CHECKING:
    import httpx

    from pytest_flowai.conversation import ConversationRunner


def _say(value: str) -> tuple[str, str]:
    return ("say", value)


def _event(value: str) -> tuple[str, str]:
    return ("event", value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowai-record",
        description="Talk to a bot and write the conversation as a pytest-flowai spec. Without --say and"
        " --event, each line of standard input is a turn; a line `event NAME key=value ...` is an event.",
    )
    parser.add_argument("--out", required=True, type=Path, help="the spec file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--name", default="recorded conversation", help="the conversation's name")
    parser.add_argument("--transport", choices=TRANSPORT_KINDS, default="socket", help="default: socket")
    parser.add_argument("--say", dest="turns", action="append", type=_say, metavar="TEXT", help="a text turn")
    parser.add_argument(
        "--event",
        dest="turns",
        action="append",
        type=_event,
        metavar="'NAME [k=v ...]'",
        help="an event turn",
    )
    parser.add_argument("--flows", type=Path, help="bot flows (file or folder) for the embedded emulator")
    parser.add_argument("--url", help="a Flow.ai API base URL (the key from FLOWAI_API_KEY)")
    parser.add_argument("--client-id", help="client id for the Web socket API")
    parser.add_argument("--runs", type=int, default=1, help="conversations to run: variants become one_of")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a turn may wait for replies")
    parser.add_argument("--settle", type=float, default=0.25, help="quiet seconds that end a turn's replies")
    return parser


def parse_line(line: str) -> tuple[str, str] | None:
    """A terminal line as a turn: `event NAME k=v` is an event, anything else is said; blank is none."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("event "):
        return ("event", text[len("event ") :].strip())
    return ("say", text)


def _turn(index: int, kind: str, value: str) -> tuple[Turn, JSONObject]:
    """The model turn the runner sends, and the spec's YAML form of it."""
    params: dict[str, JSON] = {}
    if kind == "event":
        name, *pairs = value.split()
        for pair in pairs:
            key, sep, item = pair.partition("=")
            if not sep or not key:
                raise ValueError(f"event parameter {pair!r} must be key=value")
            params[key] = item
        value = name
    turn = Turn.adhoc(
        index=index,
        action=Event(name=value) if kind == "event" else Say(text=value),
        span=Span("<flowai-record>", index),
        params=params,
    )
    written: JSONObject = {kind: value}
    if params:
        written["params"] = params
    return turn, written


class _Recorder:
    """Runs the turns over fresh threads with the same session and runner as the `flowai` fixture."""

    def __init__(self, args: argparse.Namespace) -> None:
        from pytest_flowai.secret import secret_or_none
        from pytest_flowai.session import FlowaiSession

        self.transport = str(args.transport)
        options = Options(
            url=args.url or None,
            client_id=args.client_id or None,
            api_key=secret_or_none(os.environ.get("FLOWAI_API_KEY") or None),
            transport=self.transport,
            timeout=args.timeout,
            settle=args.settle,
            silence=1.0,
            emulator_flows=args.flows,
        )
        self.session = FlowaiSession(options=options)
        self.conversation = Conversation.adhoc(
            name=args.name, transport=self.transport, path="<flowai-record>"
        )

    def open(self, key: str) -> tuple[_Thread, Transcript]:
        from pytest_flowai.conversation import ConversationRunner

        session = self.session
        transcript = Transcript(
            name=self.conversation.name, thread_id=session.thread_id(key), transport=self.transport
        )
        http = session.http_client()
        runner = ConversationRunner(
            self.conversation,
            session.settings(),
            thread_id=transcript.thread_id,
            transcript=transcript,
            http=http,
        )
        return _Thread(runner=runner, http=http), transcript

    def send(self, thread: _Thread, turn: Turn) -> None:
        run_sync(self.session.runner, thread.runner.run_turn, turn)

    def close(self, thread: _Thread) -> None:
        try:
            run_sync(self.session.runner, thread.runner.aclose)
        finally:
            run_sync(self.session.runner, thread.http.aclose)


@dataclass(frozen=True, slots=True)
class _Thread:
    runner: ConversationRunner
    http: httpx.AsyncClient


def _replies(transcript: Transcript, index: int) -> list[JSONObject]:
    return [e.payload for e in transcript.events if isinstance(e, Received) and e.turn == index]


def _show(transcript: Transcript, index: int) -> None:
    for response in responses_of(_replies(transcript, index)):
        print(f"  bot ({response.type}): {response.text or ''}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from pytest_flowai.record.yamledit import check_available, new_spec

        check_available()
    except FlowaiError as exc:
        print(f"flowai-record: {exc}", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("flowai-record: --runs must be >= 1", file=sys.stderr)
        return 2
    if args.out.exists() and not args.force:
        print(f"flowai-record: {args.out} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    if not args.url and args.flows is None:
        print(
            "flowai-record: give --flows PATH (embedded emulator) or --url URL (a Flow.ai bot)",
            file=sys.stderr,
        )
        return 2
    recorder = _Recorder(args)
    try:
        recorder.session.check()
        written: list[JSONObject] = []
        turns: list[Turn] = []
        handle, first = recorder.open("flowai-record")
        try:
            source: Iterable[tuple[str, str]] = args.turns or (
                _Interactive() if sys.stdin.isatty() else [t for t in map(parse_line, sys.stdin) if t]
            )
            for kind, value in source:
                turn, form = _turn(len(turns) + 1, kind, value)
                turns.append(turn)
                written.append(form)
                recorder.send(handle, turn)
                _show(first, turn.index)
        finally:
            recorder.close(handle)
        runs = [first]
        for number in range(2, args.runs + 1):
            handle, transcript = recorder.open(f"flowai-record#record-{number}")
            try:
                for turn in turns:
                    recorder.send(handle, turn)
            finally:
                recorder.close(handle)
            runs.append(transcript)
    except (FlowaiError, ValueError) as exc:
        print(f"flowai-record: {exc}", file=sys.stderr)
        return 1
    finally:
        recorder.session.close()
    if not turns:
        print("flowai-record: no turns given; nothing written", file=sys.stderr)
        return 2
    namer = Namer()
    recorded: list[RecordedTurn] = []
    for turn in turns:
        replies = [responses_of(_replies(run, turn.index)) for run in runs]
        recorded.append(expectations([r for r in replies if r], namer))
    args.out.write_text(new_spec(args.name, args.transport, written, recorded), encoding="utf-8")
    print(f"wrote {args.out} ({len(turns)} turn(s))")
    return 0


class _Interactive:
    """Lines typed at a terminal, read one at a time so each reply shows before the next prompt."""

    def __iter__(self) -> _Interactive:
        return self

    def __next__(self) -> tuple[str, str]:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print()
                raise StopIteration from None
            turn = parse_line(line)
            if turn is not None:
                return turn


if __name__ == "__main__":
    sys.exit(main())
