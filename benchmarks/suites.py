"""Whole pytest runs of generated spec suites against the emulator (its own process): `concurrency`, `xdist`,
`table` (100 conversations x 2 turns against bare loops, Tavern and Botium) and `fail_fast` (patience).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from botium import BOTIUM_CLI, run_botium, write_botium
from common import (
    PLUGIN_ONLY,
    Bot,
    checked,
    emulator,
    line,
    note,
    plugin_only_env,
    pytest_args,
    run_child,
)

TURNS = [
    ("hello", "Pizza Bella"),
    ("I want to order a pizza", "Which size"),
    ("large", "large pizza"),
]
PER_FILE = 50
# A Python that has Tavern, from a throwaway venv (Tavern is no dependency of the project).
TAVERN = Path(os.environ.get("BENCH_TAVERN_PYTHON", "/nonexistent"))
# The reply's text, as a YAML string (quoted: brackets end a plain scalar inside a flow mapping).
TAVERN_TEXT = '"result.messages[0].responses[0].payload.text"'


def write_suite(
    folder: Path, bot: Bot, *, conversations: int, turns: int, transport: str, settle: float
) -> Path:
    """A folder of spec files (50 conversations a file) and a pytest.ini aimed at ``bot``."""
    folder.mkdir(parents=True)
    steps = "".join(
        f'  - say: {speech}\n    expect:\n      - text: {{contains: "{expected}"}}\n'
        for speech, expected in TURNS[:turns]
    )
    for first in range(0, conversations, PER_FILE):
        docs = [
            f"---\nname: c{n}\nsteps:\n{steps}" for n in range(first, min(first + PER_FILE, conversations))
        ]
        (folder / f"test_c{first}.flowai.yaml").write_text("".join(docs))
    ini = (
        f"[pytest]\nflowai_url = {bot.url}\nflowai_client_id = {bot.client_id}\n"
        f"flowai_transport = {transport}\nflowai_settle = {settle}\n"
    )
    (folder / "pytest.ini").write_text(ini)
    return folder


def run_suite(folder: Path, bot: Bot, *extra: str, plugin_only: bool = True) -> float:
    """Wall seconds of `pytest -q` on the suite; exits when a test failed. ``plugin_only``: pytest loads
    pytest-flowai alone and keeps its bytecode cache (see `plugin_only_env`); xdist's runs need autoload."""
    env = dict(os.environ, FLOWAI_API_KEY=bot.api_key)
    args = pytest_args("-q", "-x", *extra, folder)
    if plugin_only:
        env, args = plugin_only_env(env), [*args, *PLUGIN_ONLY]
    child = run_child(args, env=env, cwd=folder)
    return checked(child, f"pytest {folder.name} {' '.join(extra)}").wall


def collect_only(folder: Path, bot: Bot) -> float:
    env = plugin_only_env(dict(os.environ, FLOWAI_API_KEY=bot.api_key))
    args = [*pytest_args("-q", "--collect-only", folder), *PLUGIN_ONLY]
    return checked(run_child(args, env=env, cwd=folder), "collect").wall


BARE_REST = """\
import asyncio, sys, httpx
url, key, conversations, turns = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
async def main():
    async with httpx.AsyncClient(headers={"Authorization": key}) as http:
        for n in range(conversations):
            for speech in turns:
                body = {"payload": {"type": "text", "speech": speech, "originator": {"name": "bench"}}}
                answer = await http.post(f"{url}/rest/v1/messages/bare-{n}?sync=true", json=body)
                answer.raise_for_status()
asyncio.run(main())
"""

BARE_SOCKET = """\
import asyncio, json, sys, httpx, websockets
url, client, conversations, turns = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
async def main():
    async with httpx.AsyncClient() as http:
        for n in range(conversations):
            info = await http.get(f"{url}/socket.info", params={"clientId": client, "sessionId": f"s{n}"})
            async with websockets.connect(info.json()["payload"]["endpoint"], compression=None) as ws:
                for trace, speech in enumerate(turns, 1):
                    frame = {"threadId": f"bare-{n}", "traceId": trace, "speech": speech}
                    await ws.send(json.dumps({"type": "message.send", "payload": frame}))
                    while json.loads(await ws.recv())["type"] != "message.received":
                        pass
asyncio.run(main())
"""


def bare(kind: str, bot: Bot, conversations: int, turns: int) -> float:
    """Wall seconds of a whole bare-client process doing the conversations one after another."""
    script, who = (BARE_REST, bot.api_key) if kind == "rest" else (BARE_SOCKET, bot.client_id)
    speeches = [speech for speech, _ in TURNS[:turns]]
    args = [sys.executable, "-c", script, bot.url, who, str(conversations), *speeches]
    return checked(run_child(args, env=plugin_only_env()), f"bare {kind} loop").wall


def write_tavern(folder: Path, bot: Bot, conversations: int, turns: int) -> Path:
    """The same conversations as Tavern tests (one YAML document, one test each, a stage per turn whose
    reply text must match the expected text as a regex, like the specs' `contains`)."""
    folder.mkdir(parents=True)
    docs = []
    for n in range(conversations):
        stages = "".join(
            f"  - name: t{i}\n    request:\n      url: {bot.url}/rest/v1/messages/tav-{n}?sync=true\n"
            f"      method: POST\n      headers: {{Authorization: {bot.api_key}}}\n"
            f"      json: {{payload: {{type: text, speech: {speech}}}}}\n"
            f"    response:\n      status_code: 200\n      verify_response_with:\n"
            f"        function: tavern.helpers:validate_regex\n"
            f"        extra_kwargs: {{expression: {json.dumps(re.escape(expected))},"
            f" in_jmespath: {TAVERN_TEXT}}}\n"
            for i, (speech, expected) in enumerate(TURNS[:turns])
        )
        docs.append(f"---\ntest_name: c{n}\nstages:\n{stages}")
    (folder / "test_c.tavern.yaml").write_text("".join(docs))
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


def concurrency(tmp: Path, *, conversations: int = 500, sequential: int = 50, limit: int = 100) -> None:
    latency, turns, settle = 0.2, 3, 0.1
    for kind in ("rest", "socket"):
        wait = latency + (settle if kind == "socket" else 0.0)
        with emulator(latency_ms=0) as fast:
            if kind == "rest":
                warm_up(tmp, fast)
            floor_suite = write_suite(
                tmp / f"floor-{kind}",
                fast,
                conversations=conversations,
                turns=turns,
                transport=kind,
                settle=0,
            )
            floor = collect_only(floor_suite, fast) + bare(kind, fast, conversations, turns)
        with emulator(latency_ms=latency * 1000) as bot:
            suite = write_suite(
                tmp / f"conc-{kind}",
                bot,
                conversations=conversations,
                turns=turns,
                transport=kind,
                settle=settle,
            )
            small = write_suite(
                tmp / f"seq-{kind}", bot, conversations=sequential, turns=turns, transport=kind, settle=settle
            )
            concurrent = run_suite(suite, bot, f"--flowai-concurrency={limit}")
            one_by_one = run_suite(small, bot, "--flowai-concurrency=1") * conversations / sequential
        ideal = math.ceil(conversations / limit) * turns * wait + floor
        line(
            f"concurrency {kind} wall at {limit} over ideal",
            concurrent / ideal,
            "target <= 1.5",
            "x",
            f"{concurrent:.2f}s vs ideal {ideal:.2f}s = {conversations // limit} x {turns} x {wait:g}s"
            f" + floor {floor:.2f}s (collection + bare loop at latency 0)",
        )
        line(
            f"concurrency {kind} sequential over concurrent",
            one_by_one / concurrent,
            "target >= 50",
            "x",
            f"sequential {one_by_one:.1f}s ({sequential} conversations x {conversations // sequential})",
        )
    note(f"{conversations} conversations x {turns} turns, emulator --latency 200, socket settle {settle}s")


def xdist(tmp: Path, *, conversations: int = 500, limit: int = 100) -> None:
    # xdist's default `--dist load` hands a worker more tests only once it has fewer than two left (when
    # tests take 0.1 s or more), so the worker's window drains before each refill; the other two do not.
    for kind in ("rest", "socket"):
        with emulator(latency_ms=200) as bot:
            suite = write_suite(
                tmp / f"xdist-{kind}", bot, conversations=conversations, turns=3, transport=kind, settle=0.1
            )
            single = run_suite(suite, bot, f"--flowai-concurrency={limit}", "-n", "0", plugin_only=False)
            for dist in ("load", "worksteal", "loadfile"):
                double = run_suite(
                    suite, bot, f"--flowai-concurrency={limit}", "-n", "2", "--dist", dist, plugin_only=False
                )
                line(
                    f"xdist {kind} -n 2 --dist {dist} over -n 0",
                    double / single,
                    "informative",
                    "x",
                    f"-n 2 {double:.2f}s, -n 0 {single:.2f}s",
                )
    note(f"{conversations} conversations x 3 turns at --flowai-concurrency {limit}, emulator --latency 200")


def warm_up(tmp: Path, bot: Bot) -> None:
    """One small unmeasured run per transport, so the measured ones find the bytecode cache written."""
    for kind in ("rest", "socket"):
        suite = write_suite(tmp / f"warm-{kind}", bot, conversations=2, turns=2, transport=kind, settle=0)
        run_suite(suite, bot)
        run_suite(suite, bot, "--flowai-concurrency=2")


def tavern_run(folder: Path) -> float:
    args = [str(TAVERN), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)]
    return checked(run_child(args, cwd=folder), "tavern").wall


def table_runs(
    tmp: Path, bot: Bot, latency: int, conversations: int, turns: int
) -> dict[str, Callable[[], float]]:
    """Each row's name and a call that makes one timed run of it."""
    runs: dict[str, Callable[[], float]] = {}
    for kind in ("rest", "socket"):
        client = "httpx" if kind == "rest" else "websockets"
        runs[f"bare {client} loop ({kind})"] = partial(bare, kind, bot, conversations, turns)
        suite = write_suite(
            tmp / f"t{latency}-{kind}",
            bot,
            conversations=conversations,
            turns=turns,
            transport=kind,
            settle=0,
        )
        runs[f"pytest-flowai {kind} sequential"] = partial(run_suite, suite, bot)
        runs[f"pytest-flowai {kind} concurrency 100"] = partial(
            run_suite, suite, bot, "--flowai-concurrency=100"
        )
    if TAVERN.exists():
        runs["Tavern (rest)"] = partial(
            tavern_run, write_tavern(tmp / f"tavern{latency}", bot, conversations, turns)
        )
    if BOTIUM_CLI.exists():
        folder = write_botium(tmp / f"botium{latency}", bot, conversations, TURNS[:turns])
        runs["Botium cli (rest)"] = partial(run_botium, folder)
    return runs


def table(tmp: Path, *, conversations: int = 100, turns: int = 2, rounds: int = 5) -> None:
    rows: dict[str, dict[int, float]] = {}
    for latency in (0, 50):
        # At latency 0 each cell is the best of `rounds` (a second or two each, easily disturbed).
        times = rounds if latency == 0 else 1
        with emulator(latency_ms=latency) as bot:
            if latency == 0:
                warm_up(tmp, bot)
            runs = table_runs(tmp, bot, latency, conversations, turns)
            # Round by round every row runs once, so each row's best comes from the same stretch of time
            # as the others' (a machine whose speed changes within minutes would otherwise favour a row).
            measured: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(times):
                for name, run in runs.items():
                    measured[name].append(run())
            for name, walls in measured.items():
                rows.setdefault(name, {})[latency] = min(walls)
    print(f"table: {conversations} conversations x {turns} turns, whole process, seconds (settle 0)")
    print("| run | bot latency 0 | bot latency 50 ms |")
    print("| --- | --- | --- |")
    for name, cells in rows.items():
        print(f"| {name} | {cells[0]:.2f} | {cells[50]:.2f} |")
    ours = rows["pytest-flowai rest sequential"]
    line(
        "table rest sequential over bare loop at latency 0",
        ours[0] / rows["bare httpx loop (rest)"][0],
        "target <= 2.0",
        "x",
    )
    for other, variable, what in (
        ("Tavern (rest)", "BENCH_TAVERN_PYTHON", "a Python that has Tavern"),
        ("Botium cli (rest)", "BENCH_BOTIUM_CLI", "the botium-cli executable"),
    ):
        if other in rows:
            theirs = rows[other]
            line(
                f"table rest sequential over {other} at latency 0",
                ours[0] / theirs[0],
                "target < 1.0",
                "x",
                f"at latency 50 ms: {ours[50] / theirs[50]:.2f}x",
            )
        else:
            note(f"{other} not measured: set {variable} to {what}")


FAIL_SPEC = """\
name: wrong expectation
patience: {patience}
steps:
  - say: hello
    expect:
      - text: {{contains: "this is not what the bot says"}}
"""


def fail_fast(tmp: Path, *, patience: float = 1.0, rounds: int = 5) -> None:
    from overhead import session_for

    from pytest_flowai.errors import TurnFailed
    from pytest_flowai.session import Job
    from pytest_flowai.spec import load_spec_text

    conversation = load_spec_text(FAIL_SPEC.format(patience=patience), "fail.flowai.yaml").conversations[0]
    times = []
    with emulator() as bot:
        session = session_for(bot, "socket")
        try:
            for n in range(rounds):
                started = time.perf_counter()
                outcome = session.result(Job(key=f"fail-{n}", conversation=conversation, transport="socket"))
                times.append(time.perf_counter() - started)
                if not isinstance(outcome.error, TurnFailed):
                    sys.exit(f"fail_fast: expected a failed turn, got {outcome.error!r}")
        finally:
            session.close()
    took = statistics.median(times)
    line(
        "fail_fast socket time to fail over patience",
        took / patience,
        "target <= 1.2",
        "x",
        f"median {took:.3f}s of {rounds}, patience {patience:g}s",
    )


def main(which: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="flowai-bench-"))
    try:
        benchmarks: dict[str, Callable[[Path], None]] = {
            "concurrency": concurrency,
            "xdist": xdist,
            "table": table,
            "fail_fast": fail_fast,
        }
        benchmarks[which](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1])
