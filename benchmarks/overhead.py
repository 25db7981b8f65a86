"""`overhead`: the marginal cost of one turn through the plugin's session against a bare protocol client.

Both sides send the same turns to the same emulator (its own process, no latency) in this process; each
runs 20 conversations of 1 turn and of 10 turns, and the marginal cost of a turn is the difference over the
180 extra turns, so opening a socket or a thread counts once on both sides and drops out. Over the socket the
bare client stops at the first `message.received` frame; the plugin runs with `settle: 0`, so it too stops
once its expectation is met (the settle wait is a spec's choice, not the code's cost). The bare client sends
the body the plugin sends (its default originator; over the socket its empty metadata too), so both ask the
server for the same work. The two sides take turns round by round, so a change in the machine's load
during the run falls on both. Every plugin conversation is a spec loaded afresh (before the clock starts), as
in a suite, where each turn runs once: nothing the runner prepares for a turn serves a later run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import httpx
import websockets
from common import CLIENT_ID, Bot, emulator, line, note

from pytest_flowai.options import Options
from pytest_flowai.secret import secret_or_none
from pytest_flowai.session import FlowaiSession, Job
from pytest_flowai.spec import load_spec_text
from pytest_flowai.spec.model import Conversation

CONVERSATIONS = 20
SHORT, LONG = 1, 10
SPEECH = "hello"
TURN = """\
  - say: hello
    expect:
      - text: {regex: "Pizza Bella"}
        quickReplies: {subset: ["Order pizza"]}
        step: hello
"""
TARGET = "target <= 1.15"
# What the plugin sends as the originator of a turn that names none (the SDK's anonymous external user).
ORIGINATOR = {"name": "pytest-flowai", "role": "external", "profile": {}}


def spec(turns: int) -> Conversation:
    text = f"name: overhead\nsettle: 0\nsteps:\n{TURN * turns}"
    return load_spec_text(text, "overhead.flowai.yaml").conversations[0]


async def bare_rest(bot: Bot, turns: int, tag: str) -> None:
    async with httpx.AsyncClient(headers={"Authorization": bot.api_key}) as http:
        for n in range(CONVERSATIONS):
            for _ in range(turns):
                body = {"payload": {"type": "text", "speech": SPEECH, "originator": ORIGINATOR}}
                answer = await http.post(f"{bot.url}/rest/v1/messages/{tag}-{n}?sync=true", json=body)
                answer.raise_for_status()
                answer.json()


async def bare_socket(bot: Bot, turns: int, tag: str) -> None:
    async with httpx.AsyncClient() as http:
        for n in range(CONVERSATIONS):
            params = {"clientId": CLIENT_ID, "sessionId": f"{tag}-{n}"}
            endpoint = (await http.get(f"{bot.url}/socket.info", params=params)).json()["payload"]["endpoint"]
            async with websockets.connect(endpoint, compression=None) as ws:
                for trace in range(1, turns + 1):
                    frame = {
                        "threadId": f"{tag}-{n}",
                        "traceId": trace,
                        "speech": SPEECH,
                        "originator": ORIGINATOR,
                        "metadata": {},
                    }
                    await ws.send(json.dumps({"type": "message.send", "payload": frame}))
                    while json.loads(await ws.recv())["type"] != "message.received":
                        pass


def session_for(bot: Bot, transport: str) -> FlowaiSession:
    options = Options(
        url=bot.url,
        client_id=CLIENT_ID,
        api_key=secret_or_none(bot.api_key),
        transport=transport,
        timeout=10.0,
        settle=0.0,
        silence=1.0,
        emulator_flows=None,
    )
    return FlowaiSession(options=options)


def fresh(turns: int, runs: int) -> Iterator[list[Conversation]]:
    """For each of ``runs`` runs, ``CONVERSATIONS`` conversations of ``turns`` turns, each loaded afresh."""
    return iter([[spec(turns) for _ in range(CONVERSATIONS)] for _ in range(runs)])


def plugin(session: FlowaiSession, conversations: list[Conversation], transport: str, tag: str) -> None:
    for n, conversation in enumerate(conversations):
        outcome = session.result(Job(key=f"{tag}-{n}", conversation=conversation, transport=transport))
        if outcome.error is not None:
            raise outcome.error


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def marginal_pair(
    sides: tuple[tuple[Callable[[], object], Callable[[], object]], ...], rounds: int
) -> list[tuple[float, float]]:
    """For each side (its short and its long run), the marginal wall and CPU seconds per turn: the best long
    run less the best short run, over the extra turns (the best of each is the one least disturbed; the best
    difference would favour a round whose short run happened to be slow). The sides run one after the other
    within every round."""
    extra = CONVERSATIONS * (LONG - SHORT)
    # runs[side][0 short, 1 long]: (wall, cpu) of every round.
    runs: list[tuple[list[tuple[float, float]], list[tuple[float, float]]]] = [([], []) for _ in sides]
    for _ in range(rounds):
        for index, (run_short, run_long) in enumerate(sides):
            runs[index][0].append(timed(run_short))
            runs[index][1].append(timed(run_long))
    marginals = []
    for short, long in runs:
        wall = (min(w for w, _ in long) - min(w for w, _ in short)) / extra
        cpu = (min(c for _, c in long) - min(c for _, c in short)) / extra
        marginals.append((wall, cpu))
    return marginals


def measure(bot: Bot, transport: str, rounds: int) -> None:
    """Print the marginal wall and CPU ratios of one transport."""
    shorts, longs = fresh(SHORT, rounds), fresh(LONG, rounds + 1)
    bare = bare_rest if transport == "rest" else bare_socket
    session = session_for(bot, transport)
    count = iter(range(10**6))

    def tag(side: str) -> str:
        return f"{side}{next(count)}"

    try:
        # Warm up both sides (imports, schema compilation, the first connections).
        asyncio.run(bare(bot, 2, "warm"))
        plugin(session, next(longs), transport, "warm")
        (base_wall, base_cpu), (ours_wall, ours_cpu) = marginal_pair(
            (
                (
                    lambda: asyncio.run(bare(bot, SHORT, tag("b"))),
                    lambda: asyncio.run(bare(bot, LONG, tag("b"))),
                ),
                (
                    lambda: plugin(session, next(shorts), transport, tag("p")),
                    lambda: plugin(session, next(longs), transport, tag("p")),
                ),
            ),
            rounds,
        )
    finally:
        session.close()
    line(
        f"overhead {transport} marginal wall per turn",
        ours_wall / base_wall,
        TARGET,
        "x",
        f"plugin {ours_wall * 1000:.2f} ms, bare {base_wall * 1000:.2f} ms",
    )
    line(
        f"overhead {transport} marginal client CPU per turn",
        ours_cpu / base_cpu,
        "informative",
        "x",
        f"plugin {ours_cpu * 1000:.2f} ms, bare {base_cpu * 1000:.2f} ms",
    )


def main(rounds: int = 9) -> None:
    with emulator() as bot:
        for transport in ("rest", "socket"):
            measure(bot, transport, rounds)
    note(
        f"{CONVERSATIONS} conversations x {SHORT} and x {LONG} turns; socket with settle 0 on the plugin side"
    )


if __name__ == "__main__":
    main()
