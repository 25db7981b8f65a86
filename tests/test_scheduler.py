"""The scheduler runs a window of conversations ahead, in plan order, and gives each result to its caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from pytest_flowai.scheduler import Scheduler


class Recorder:
    """A stand-in conversation: records when each key starts and ends, and waits until released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def run(self, key: str) -> str:
        self.started.append(key)
        event = self.release.setdefault(key, asyncio.Event())
        try:
            await event.wait()
        except asyncio.CancelledError:
            self.cancelled.append(key)
            raise
        return f"result of {key}"


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    """A fresh event loop, closed after the test."""
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def _release_all_soon(runner: asyncio.Runner, recorder: Recorder, keys: list[str]) -> None:
    loop = runner.get_loop()
    for key in keys:
        event = recorder.release.setdefault(key, asyncio.Event())
        loop.call_soon(event.set)


def test_a_window_of_planned_keys_starts_with_the_first(runner: asyncio.Runner) -> None:
    """Asking for `a` with `b, c, d` ahead and a limit of 3 starts a, b and c, in that order."""
    recorder = Recorder()
    scheduler = Scheduler(runner, recorder.run, limit=3)
    _release_all_soon(runner, recorder, ["a"])
    assert scheduler.result("a", ["b", "c", "d"]) == "result of a"
    assert recorder.started[:3] == ["a", "b", "c"]
    scheduler.close()


def test_a_finished_conversation_frees_its_place_for_the_next(runner: asyncio.Runner) -> None:
    """When b ends while the caller waits for a, d starts in b's place."""
    recorder = Recorder()
    scheduler = Scheduler(runner, recorder.run, limit=3)
    loop = runner.get_loop()
    for key in "abcd":
        recorder.release[key] = asyncio.Event()
    loop.call_soon(recorder.release["b"].set)
    loop.call_later(0.01, recorder.release["a"].set)
    scheduler.result("a", ["b", "c", "d"])
    assert recorder.started == ["a", "b", "c", "d"]
    scheduler.close()
    assert set(recorder.cancelled) == {"c", "d"}


def test_a_key_that_left_the_plan_is_cancelled(runner: asyncio.Runner) -> None:
    """A conversation started ahead and then dropped from the plan (stolen by another worker) is cancelled."""
    recorder = Recorder()
    scheduler = Scheduler(runner, recorder.run, limit=3)
    _release_all_soon(runner, recorder, ["a"])
    scheduler.result("a", ["b", "c"])
    _release_all_soon(runner, recorder, ["b"])
    assert scheduler.result("b", ["d"]) == "result of b"
    assert "c" in recorder.cancelled
    scheduler.close()


def test_stop_cancels_what_runs_and_starts_nothing_more(runner: asyncio.Runner) -> None:
    """After stop() (pytest's -x) the conversations in flight are cancelled and none is started."""
    recorder = Recorder()
    scheduler = Scheduler(runner, recorder.run, limit=2)
    _release_all_soon(runner, recorder, ["a"])
    scheduler.result("a", ["b", "c"])
    scheduler.stop()
    assert recorder.cancelled == ["b"]
    assert "c" not in recorder.started
    assert scheduler.running == 0


def test_a_limit_below_one_is_refused(runner: asyncio.Runner) -> None:
    """A concurrency limit of 0 is a programming error, said at once."""
    with pytest.raises(ValueError, match="limit must be >= 1"):
        Scheduler(runner, Recorder().run, limit=0)
