"""What every benchmark shares: the emulator in a process of its own, child processes timed, result lines.

The emulator runs as `flowai-emulator` in a separate process so the bot's CPU is not the measured client's.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "example_specs" / "bot"
CLIENT_ID = "bench"
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True, slots=True)
class Bot:
    """A running emulator: where it listens and its credentials."""

    url: str
    api_key: str
    client_id: str = CLIENT_ID


@contextlib.contextmanager
def emulator(latency_ms: float = 0) -> Iterator[Bot]:
    """`flowai-emulator` on a free loopback port with `--latency`, stopped on exit."""
    key = secrets.token_urlsafe(12)
    args = [sys.executable, "-m", "pytest_flowai.emulator.cli", "--flows", str(BOT), "--port", "0"]
    args += ["--client-id", CLIENT_ID, f"--api-key={key}", "--latency", str(latency_ms)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = _LISTENING.search(line)
            if found:
                break
        else:
            sys.exit(f"flowai-emulator did not start (exit {proc.wait()})")
        yield Bot(url=found.group(1), api_key=key)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True, slots=True)
class Child:
    """A finished child process: its wall time, its CPU time, its peak RSS and what it printed."""

    wall: float
    cpu: float
    max_rss_mb: float
    returncode: int
    stdout: str


def run_child(args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Child:
    """Run a process to its end, measured by `os.wait4` (its own rusage, not all children's)."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp"), f"bench-{os.getpid()}-{time.monotonic_ns()}.out")
    with out_path.open("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    out_path.unlink()
    return Child(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        stdout=text,
    )


def checked(child: Child, what: str) -> Child:
    """The child, or exit showing its output when it failed."""
    if child.returncode != 0:
        sys.exit(f"{what} failed (exit {child.returncode}):\n{child.stdout[-4000:]}")
    return child


def pytest_args(*args: str | Path) -> list[str]:
    """`python -m pytest` without the cache plugin (it writes files and is not what we measure)."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *map(str, args)]


def plugin_only_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a whole run measured against a bare loop: pytest loads pytest-flowai alone (with
    `PLUGIN_ONLY`), not the other plugins a development install has (Hypothesis's alone takes ~0.8 s to
    import), and Python keeps its bytecode cache, as on a user's machine (PYTHONDONTWRITEBYTECODE would
    compile the plugin anew, and pytest rewrite its asserts, in every run)."""
    base = dict(os.environ if env is None else env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    return base


# With `plugin_only_env`: the one plugin pytest loads.
PLUGIN_ONLY = ("-p", "pytest_flowai.plugin")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def line(name: str, value: float, target: str, unit: str = "", detail: str = "") -> None:
    """One result line: `name: value (target)`, then what it was computed from."""
    shown = f"{value:.2f}{unit}"
    print(f"{name}: {shown} ({target})" + (f"  [{detail}]" if detail else ""), flush=True)


def note(text: str) -> None:
    print(f"  # {text}", flush=True)


def peak_rss_mb() -> float:
    """This process's own peak RSS."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
