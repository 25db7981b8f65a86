"""Starting and stopping the emulator: in-process, in a thread, and as the flowai-emulator command."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_flowai.emulator import Emulator, EmulatorSettings, EmulatorThread, Fault
from pytest_flowai.errors import EmulatorError
from tests.helpers.dig import dig
from tests.helpers.emulator import client, run, valid
from tests.helpers.emulators import API_KEY
from tests.helpers.paths import DEMO_BOT

ROOT = Path(__file__).parents[2]
URL_LINE = re.compile(
    r"^Flow\.ai emulator listening on (http://127\.0\.0\.1:(\d+)) \(client id (\S+), (\d+) flows\)$"
)


def test_async_emulator_serves_and_stops() -> None:
    """``async with Emulator(...)`` serves on a free loopback port and is gone afterwards."""

    async def scenario() -> tuple[str, int]:
        async with Emulator(flows=DEMO_BOT, api_key=API_KEY) as emu:
            url = emu.url
            async with client(url) as http:
                status = (await http.get("/flows/list")).status_code
        return url, status

    url, status = run(scenario())
    assert url.startswith("http://127.0.0.1:")
    assert status == 200
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_generated_key_is_exposed() -> None:
    """Without an api_key the emulator makes one up, exposes it, and only that key is accepted."""

    async def scenario() -> tuple[str, int, int]:
        async with Emulator(flows=DEMO_BOT) as emu:
            async with client(emu.url, key=emu.api_key) as http:
                good = (await http.get("/flows/list")).status_code
            async with client(emu.url, key="guess") as http:
                bad = (await http.get("/flows/list")).status_code
            return emu.api_key, good, bad

    key, good, bad = run(scenario())
    assert len(key) >= 20
    assert (good, bad) == (200, 401)


def test_settings_object_and_overrides() -> None:
    """An EmulatorSettings value can be given whole, with keyword overrides on top."""
    settings = EmulatorSettings(flows=DEMO_BOT, api_key="a", client_id="widget")
    emulator = Emulator(settings, client_id="other")
    assert (emulator.client_id, emulator.api_key) == ("other", "a")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"flows": ROOT / "no-such-bot"}, "no such file or folder"),
        ({"flows": DEMO_BOT, "port": 70000}, "port"),
        ({"flows": DEMO_BOT, "latency_ms": -1}, "latency_ms"),
        ({"flows": DEMO_BOT, "db": "/no/such/dir/emulator.db"}, "database"),
    ],
)
def test_thread_start_failures_are_emulator_errors(kwargs: dict[str, object], words: str) -> None:
    """EmulatorThread.start raises EmulatorError with the reason (bad flows, settings or database)."""
    with pytest.raises(EmulatorError, match=words):
        EmulatorThread(**kwargs).start()


def test_port_in_use_is_an_emulator_error() -> None:
    """Starting on a port another socket listens on raises EmulatorError naming the address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmulatorError, match=f"cannot listen on 127.0.0.1:{port}"):
            EmulatorThread(flows=DEMO_BOT, port=port).start()


def test_thread_stops_cleanly() -> None:
    """Stopping an EmulatorThread ends its thread and frees its port; stop() twice is harmless."""
    before = {t.name for t in threading.enumerate()}
    emu = EmulatorThread(flows=DEMO_BOT, api_key=API_KEY).start()
    port = emu.port
    assert (
        httpx.get(f"{emu.url}/flows/list", headers={"Authorization": API_KEY}, trust_env=False).status_code
        == 200
    )
    emu.stop()
    emu.stop()
    assert {t.name for t in threading.enumerate()} <= before
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_file_database_keeps_threads_across_restarts(tmp_path: Path) -> None:
    """With --db FILE, threads and history survive a restart."""
    db = str(tmp_path / "emulator.db")
    with EmulatorThread(flows=DEMO_BOT, api_key=API_KEY, db=db) as emu:
        httpx.post(
            f"{emu.url}/rest/v1/messages/kept?sync=true",
            json={"payload": {"type": "text", "speech": "hello"}},
            headers={"Authorization": API_KEY},
            trust_env=False,
        )
    with EmulatorThread(flows=DEMO_BOT, api_key=API_KEY, db=db) as emu:
        answer = httpx.get(
            f"{emu.url}/rest/v1/threads?sync=true", headers={"Authorization": API_KEY}, trust_env=False
        )
    assert dig(valid(answer.json(), "rest.threads"), "result", "threads") == ["kept"]


# --- the command line -----------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWAI_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@pytest.fixture
def cli_process() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _start_cli(started: list[subprocess.Popen[str]], *args: str, **env: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "pytest_flowai.emulator.cli",
        "--flows",
        str(DEMO_BOT),
        "--port",
        "0",
        *args,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env), cwd=ROOT
    )
    started.append(process)
    return process


def _read_line(process: subprocess.Popen[str], deadline: float = 20.0) -> str:
    """The next stdout line, with a deadline (read in a helper thread so a silent process cannot hang us)."""
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else "")
    )
    reader.start()
    reader.join(deadline)
    assert lines, "the emulator printed nothing in time"
    return lines[0].rstrip("\n")


def test_cli_serves_until_sigint(cli_process: list[subprocess.Popen[str]]) -> None:
    """The command prints the bound URL (--port 0 works), serves with the env key, and exits 0 on SIGINT."""
    process = _start_cli(cli_process, "--client-id", "shop", FLOWAI_API_KEY="env-key-7")
    match = URL_LINE.match(_read_line(process))
    assert match, "unexpected first line"
    url, client_id, flows = match.group(1), match.group(3), match.group(4)
    assert (client_id, flows) == ("shop", "4")
    assert _read_line(process) == "api key: from FLOWAI_API_KEY"
    listed = httpx.get(
        f"{url}/flows/list", headers={"Authorization": "env-key-7"}, trust_env=False, timeout=5
    )
    assert listed.status_code == 200
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "env-key-7" not in stdout + stderr
    assert "Traceback" not in stderr


def test_cli_prints_a_generated_key_once_and_stops_on_sigterm(
    cli_process: list[subprocess.Popen[str]],
) -> None:
    """Without a key the command prints the one it generated (no user's secret); SIGTERM exits 0."""
    process = _start_cli(cli_process)
    line = _read_line(process)
    found = URL_LINE.match(line)
    assert found, line
    url = found.group(1)
    key_line = _read_line(process)
    key = key_line.split()[2]
    assert key_line.startswith("api key: ")
    assert "generated" in key_line
    assert (
        httpx.get(f"{url}/flows/list", headers={"Authorization": key}, trust_env=False, timeout=5).status_code
        == 200
    )
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert key not in stdout


def test_cli_never_prints_a_given_key(cli_process: list[subprocess.Popen[str]]) -> None:
    """A key given with --api-key is never printed."""
    process = _start_cli(
        cli_process, "--api-key", "flag-key-9", "--fault", str(Fault.ERROR), "--latency", "5"
    )
    assert URL_LINE.match(_read_line(process))
    assert _read_line(process) == "api key: from --api-key"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "flag-key-9" not in stdout + stderr


def test_cli_bad_flows_exit_2_without_traceback(
    tmp_path: Path, cli_process: list[subprocess.Popen[str]]
) -> None:
    """Invalid flows make the command exit 2 with the loader's message naming the file, and no traceback."""
    bad = tmp_path / "bot.yaml"
    bad.write_text("title: Broken\nsteps:\n  - title: x\n    type: SHOUT\n", encoding="utf-8")
    command = [sys.executable, "-m", "pytest_flowai.emulator.cli", "--flows", str(bad), "--port", "0"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=30, check=False
    )
    assert done.returncode == 2
    assert "bot.yaml" in done.stderr
    assert "steps[0].type" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def _alias_bomb() -> str:
    lines = ["title: F", "steps: []", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "title: F\nsteps: &s [{title: a, type: UNKNOWN, actions: *s}]\n",
            "bot.yaml: steps[0].actions: holds itself",
        ),
        (_alias_bomb(), "bot.yaml: a5: more than 1000000 values once its YAML aliases are expanded"),
    ],
)
def test_cli_yaml_alias_tricks_exit_2_at_once(tmp_path: Path, content: str, words: str) -> None:
    """A flow file whose aliases loop or expand into billions of values exits 2 naming the place, quickly."""
    bad = tmp_path / "bot.yaml"
    bad.write_text(content, encoding="utf-8")
    command = [sys.executable, "-m", "pytest_flowai.emulator.cli", "--flows", str(bad), "--port", "0"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=30, check=False
    )
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_port_in_use_exits_1() -> None:
    """A port that is taken makes the command exit 1 saying it cannot listen there."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [
            sys.executable,
            "-m",
            "pytest_flowai.emulator.cli",
            "--flows",
            str(DEMO_BOT),
            "--port",
            port,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=30, check=False
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
