"""`http`: one httpx client shared by 100 concurrent conversations, or one client each sharing an SSL context.

Each of 100 tasks sends 10 sync REST messages on a thread of its own, all at once, against the emulator (its
own process); the figure is this process's CPU per request, the part the strategy changes. The session uses
the cheaper one (see `FlowaiSession.http_client`).
"""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
from common import Bot, emulator, line, note

TASKS, TURNS = 100, 10


async def conversation(http: httpx.AsyncClient, bot: Bot, thread: str) -> None:
    for _ in range(TURNS):
        body = {"payload": {"type": "text", "speech": "hello", "originator": {"name": "bench"}}}
        answer = await http.post(f"{bot.url}/rest/v1/messages/{thread}?sync=true", json=body)
        answer.raise_for_status()


async def shared(bot: Bot, tag: str) -> None:
    async with httpx.AsyncClient(headers={"Authorization": bot.api_key}, timeout=None) as http:
        await asyncio.gather(*(conversation(http, bot, f"{tag}-{n}") for n in range(TASKS)))


async def per_conversation(bot: Bot, tag: str, context: ssl.SSLContext) -> None:
    async def one(n: int) -> None:
        headers = {"Authorization": bot.api_key}
        async with httpx.AsyncClient(headers=headers, timeout=None, verify=context) as http:
            await conversation(http, bot, f"{tag}-{n}")

    await asyncio.gather(*(one(n) for n in range(TASKS)))


def cpu_per_request(run: object, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        asyncio.run(run())  # type: ignore[operator]
        best = min(best, (time.process_time() - started) / (TASKS * TURNS))
    return best


def main(rounds: int = 3) -> None:
    context = ssl.create_default_context()
    count = iter(range(10**6))
    with emulator() as bot:
        asyncio.run(shared(bot, "warm"))
        one = cpu_per_request(lambda: shared(bot, f"s{next(count)}"), rounds)
        each = cpu_per_request(lambda: per_conversation(bot, f"p{next(count)}", context), rounds)
    line("http shared client, CPU per request at 100 concurrent", one * 1000, "informative", " ms")
    line("http client per conversation, CPU per request at 100 concurrent", each * 1000, "informative", " ms")
    line("http per-conversation over shared", each / one, "lower is better", "x")
    note(f"{TASKS} conversations x {TURNS} sync REST turns at once; best of {rounds}")


if __name__ == "__main__":
    main()
