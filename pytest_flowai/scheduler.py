"""Runs up to N conversations at once as tasks on the session's one loop, in the order pytest reports them.

The caller (the plugin) asks for one result at a time, in collection order; while it waits, the conversations
planned after it run too. Knows nothing of pytest, and the runner knows nothing of it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

from pytest_flowai.bridge import run_sync, start_task

Result = TypeVar("Result")
Start = Callable[[str], Coroutine[Any, Any, Result]]


class Scheduler(Generic[Result]):
    """A window of at most ``limit`` running tasks over a planned order of keys (node ids).

    ``result(key)`` starts ``key`` if it is not running yet, fills the window with the keys planned after
    it, and runs the loop until ``key`` is done. Keys that nobody asks for are never started unless planned;
    ``stop()`` starts nothing more and cancels what runs.
    """

    def __init__(self, runner: asyncio.Runner, start: Start[Result], *, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        self._runner = runner
        self._start = start
        self._limit = limit
        self._tasks: dict[str, asyncio.Task[Result]] = {}
        self._ahead: deque[str] = deque()
        self._stopped = False

    @property
    def running(self) -> int:
        """How many conversations are in flight now."""
        return sum(1 for task in self._tasks.values() if not task.done())

    def result(self, key: str, ahead: Sequence[str] = ()) -> Result:
        """Run ``key`` to its end (the keys in ``ahead`` may start meanwhile) and return its result.

        ``ahead`` is what the caller will ask for next, in order (the next ``limit`` keys are enough); it
        replaces the previous plan. A conversation started ahead that left the plan was taken away (xdist's
        worksteal hands it to another worker): it is cancelled, so only one worker reports it.
        """
        self._ahead = deque(k for k in ahead if k != key)
        planned = {key, *self._ahead}
        for stale in [k for k in self._tasks if k not in planned]:
            self._tasks.pop(stale).cancel()
        task = self._tasks.get(key) or self._spawn(key)
        self._fill()
        try:
            return run_sync(self._runner, _finished, task)
        finally:
            self._tasks.pop(key, None)

    def stop(self) -> None:
        """Start no further conversation and cancel the ones in flight (pytest's -x or --maxfail)."""
        self._stopped = True
        self._ahead.clear()
        self._cancel_all()

    def close(self) -> None:
        """Cancel whatever still runs (Ctrl-C, an early end) and wait for it to wind down."""
        self._stopped = True
        self._cancel_all()

    def _cancel_all(self) -> None:
        tasks = [task for task in self._tasks.values() if not task.done()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            run_sync(self._runner, _gathered, tasks)

    def _spawn(self, key: str) -> asyncio.Task[Result]:
        loop = self._runner.get_loop()
        task = start_task(loop, f"flowai {key}", self._start, key)
        task.add_done_callback(lambda _: self._fill())
        self._tasks[key] = task
        return task

    def _fill(self) -> None:
        # Called on every finished task too, so the window stays full while the caller waits for one.
        if self._stopped or not self._ahead:
            return
        # Counted once per fill and kept up as tasks start (counting again for every key planned was
        # O(limit²) per fill: at concurrency 100 a quarter of the run's CPU).
        running = self.running
        while not self._stopped and self._ahead and running < self._limit:
            key = self._ahead.popleft()
            if key not in self._tasks:
                self._spawn(key)
                running += 1


async def _finished(task: asyncio.Task[Result]) -> Result:
    # Awaited directly (no shield): Ctrl-C cancels the runner's main task and with it this conversation.
    return await task


async def _gathered(tasks: Sequence[asyncio.Task[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["Scheduler"]
