"""Coroutines run from sync code end awaited or never made: a Ctrl-C at any moment leaves none to warn."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_flowai.bridge import Deferred, run_sync, start_task
from pytest_flowai.scheduler import Scheduler


class Body:
    """A conversation stand-in that records whether its code ran, and waits until released."""

    def __init__(self) -> None:
        self.begun: list[str] = []
        self.release = asyncio.Event()

    async def run(self, key: str) -> str:
        self.begun.append(key)
        await self.release.wait()
        return f"result of {key}"


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner
        loop_runner.get_loop().set_task_factory(None)  # the runner's own closing makes tasks too


def _unawaited(action: Callable[[], object], raises: type[BaseException]) -> list[str]:
    """The "never awaited" warnings Python gives for what `action` (which raises) leaves, once collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(raises):
            action()
        gc.collect()
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


def _interrupt_at(loop: asyncio.AbstractEventLoop, task_number: int) -> None:
    """Make the loop's task number `task_number` (from 0) raise KeyboardInterrupt, as a Ctrl-C in it would."""
    made = 0

    def factory(loop: asyncio.AbstractEventLoop, coroutine: Any, /, **kw: Any) -> Any:
        nonlocal made
        made, number = made + 1, made
        if number == task_number:
            raise KeyboardInterrupt
        return asyncio.Task(coroutine, loop=loop, **kw)

    loop.set_task_factory(factory)


NEVER_AWAITED = ["coroutine 'Body.run' was never awaited"]


def test_a_closed_runner_leaves_nothing_unawaited() -> None:
    """Run on a runner an earlier Ctrl-C closed: refused with RuntimeError, the conversation never made."""
    body = Body()
    closed = asyncio.Runner()
    closed.get_loop()  # a runner never started ignores close()
    closed.close()
    # What the bridge prevents: the same call made plainly leaves a coroutine to warn.
    assert _unawaited(lambda: closed.run(body.run("plain")), RuntimeError) == NEVER_AWAITED
    assert _unawaited(lambda: run_sync(closed, body.run, "bridged"), RuntimeError) == []
    assert body.begun == []


def test_a_ctrl_c_inside_create_task_leaves_nothing_unawaited(runner: asyncio.Runner) -> None:
    """KeyboardInterrupt raised while the loop makes the task goes on, and leaves no coroutine to warn."""
    body = Body()
    loop = runner.get_loop()
    _interrupt_at(loop, 0)
    assert _unawaited(lambda: loop.create_task(body.run("plain")), KeyboardInterrupt) == NEVER_AWAITED
    _interrupt_at(loop, 0)
    assert _unawaited(lambda: start_task(loop, "flowai a", body.run, "a"), KeyboardInterrupt) == []
    assert body.begun == []


def test_a_ctrl_c_as_the_scheduler_fills_its_window_leaves_nothing_unawaited(
    runner: asyncio.Runner,
) -> None:
    """Ctrl-C as the third conversation starts: it reaches the caller; close() cancels the two made."""
    body = Body()
    _interrupt_at(runner.get_loop(), 2)
    scheduler = Scheduler(runner, body.run, limit=3)

    def interrupted_run() -> None:
        try:
            scheduler.result("a", ["b", "c"])
        finally:
            scheduler.close()

    assert _unawaited(interrupted_run, KeyboardInterrupt) == []
    assert scheduler.running == 0
    assert body.begun == []  # cancelled before their first step


def test_a_task_cancelled_before_its_first_step_runs_no_code(runner: asyncio.Runner) -> None:
    """Cancelled before the loop ran it (a stop right after a start): it ends cancelled, none of it run."""
    body = Body()
    task = start_task(runner.get_loop(), "flowai a", body.run, "a")
    task.cancel()

    async def settle() -> None:
        await asyncio.gather(task, return_exceptions=True)

    runner.run(settle())
    assert task.cancelled()
    assert body.begun == []


def test_a_bridged_coroutine_returns_its_result_and_raises_its_errors(runner: asyncio.Runner) -> None:
    """Uninterrupted, the bridge changes nothing: the value comes back, an error goes on as it was."""
    body = Body()
    runner.get_loop().call_soon(body.release.set)
    assert run_sync(runner, body.run, "a") == "result of a"

    async def broken(reason: str) -> None:
        raise ValueError(reason)

    with pytest.raises(ValueError, match="the bot's reply"):
        run_sync(runner, broken, "the bot's reply")


def test_a_bridged_coroutine_can_be_awaited(runner: asyncio.Runner) -> None:
    """Awaited from another coroutine (not run as a task), it runs to its result the same."""
    body = Body()
    runner.get_loop().call_soon(body.release.set)

    async def outer() -> str:
        return await Deferred(lambda: body.run("a"))

    assert runner.run(outer()) == "result of a"
