"""Runs coroutines from sync code (pytest's hooks, the fixture) so that a Ctrl-C never leaves one unawaited.

A coroutine made in sync code waits, unawaited, until `asyncio.Runner.run` or `loop.create_task` takes it.
A Ctrl-C in that moment (Python raises KeyboardInterrupt at its next call, and `create_task` makes several),
or a runner that an earlier Ctrl-C closed, drops it, and when it is collected Python prints "coroutine ...
was never awaited" with a traceback: noise after the user's interrupted run, an error under `-W error`.
So the coroutine is made only when the loop first runs it: dropped before that, there is none to warn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from typing import Any, ParamSpec, TypeVar

Result = TypeVar("Result")
Params = ParamSpec("Params")


def run_sync(
    runner: asyncio.Runner,
    start: Callable[Params, Coroutine[Any, Any, Result]],
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> Result:
    """``runner.run(start(*args, **kwargs))``, with the coroutine made on the loop."""
    return runner.run(Deferred(lambda: start(*args, **kwargs)))


def start_task(
    loop: asyncio.AbstractEventLoop,
    name: str,
    start: Callable[Params, Coroutine[Any, Any, Result]],
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> asyncio.Task[Result]:
    """``loop.create_task(start(*args, **kwargs), name=name)``, with the coroutine made on the loop."""
    return loop.create_task(Deferred(lambda: start(*args, **kwargs)), name=name)


class Deferred(Coroutine[Any, Any, Result]):
    """A coroutine that makes the real one when first stepped, and steps it from then on."""

    __slots__ = ("_inner", "_make")

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Result]]) -> None:
        self._make = make
        self._inner: Coroutine[Any, Any, Result] | None = None

    def _coroutine(self) -> Coroutine[Any, Any, Result]:
        if self._inner is None:
            self._inner = self._make()
        return self._inner

    def send(self, value: Any) -> Any:
        return self._coroutine().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
        # A task cancelled before its first step throws here: into a coroutine not yet begun, which ends with
        # the error at once, none of its code run. The one-argument form is the one Python 3.12 keeps.
        if val is None and tb is None:
            return self._coroutine().throw(typ)
        return self._coroutine().throw(typ, val, tb)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def __await__(self) -> Generator[Any, None, Result]:
        return self._coroutine().__await__()

    def __repr__(self) -> str:
        return f"<deferred {self._inner!r}>" if self._inner is not None else "<deferred coroutine, not begun>"


__all__ = ["Deferred", "run_sync", "start_task"]
