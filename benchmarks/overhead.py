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
import gc
import json
import statistics
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


def marginal_rounds(
    sides: tuple[tuple[Callable[[], object], Callable[[], object]], ...], rounds: int
) -> list[list[tuple[float, float]]]:
    """For each round and side (its short and its long run), the marginal wall and CPU seconds per turn: the
    long run less the short run, over the extra turns. The sides run one after the other within a round, so
    the runs compared in a round met the same load of the machine."""
    extra = CONVERSATIONS * (LONG - SHORT)
    per_round = []
    for number in range(rounds):
        marginals: dict[int, tuple[float, float]] = {}
        # Every other round the sides swap places, so neither always meets the machine as the other left it.
        order = range(len(sides)) if number % 2 == 0 else reversed(range(len(sides)))
        for side in order:
            run_short, run_long = sides[side]
            (short_wall, short_cpu), (long_wall, long_cpu) = timed(run_short), timed(run_long)
            marginals[side] = ((long_wall - short_wall) / extra, (long_cpu - short_cpu) / extra)
        per_round.append([marginals[side] for side in range(len(sides))])
    return per_round


def measure(bot: Bot, transport: str, rounds: int) -> None:
    """Print the marginal wall and CPU ratios of one transport."""
    shorts, longs = fresh(SHORT, rounds), fresh(LONG, rounds + 1)
    gc.collect()  # the loaded specs are old objects by the time they run, as after a suite's collection
    bare = bare_rest if transport == "rest" else bare_socket
    session = session_for(bot, transport)
    count = iter(range(10**6))

    def tag(side: str) -> str:
        return f"{side}{next(count)}"

    try:
        # Warm up both sides (imports, schema compilation, the first connections).
        asyncio.run(bare(bot, 2, "warm"))
        plugin(session, next(longs), transport, "warm")
        per_round = marginal_rounds(
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
    # The median round's ratio: a round disturbed by the machine's other work moves it little.
    wall = statistics.median(ours[0] / base[0] for base, ours in per_round)
    cpu = statistics.median(ours[1] / base[1] for base, ours in per_round)
    base_wall, ours_wall = (statistics.median(r[side][0] for r in per_round) for side in (0, 1))
    base_cpu, ours_cpu = (statistics.median(r[side][1] for r in per_round) for side in (0, 1))
    line(
        f"overhead {transport} marginal wall per turn",
        wall,
        TARGET,
        "x",
        f"median of {rounds} rounds; plugin {ours_wall * 1000:.2f} ms, bare {base_wall * 1000:.2f} ms",
    )
    line(
        f"overhead {transport} marginal client CPU per turn",
        cpu,
        "informative",
        "x",
        f"plugin {ours_cpu * 1000:.2f} ms, bare {base_cpu * 1000:.2f} ms",
    )


def main(rounds: int = 31) -> None:
    with emulator() as bot:
        for transport in ("rest", "socket"):
            measure(bot, transport, rounds)
    note(
        f"{CONVERSATIONS} conversations x {SHORT} and x {LONG} turns; socket with settle 0 on the plugin side"
    )


if __name__ == "__main__":
    main()
