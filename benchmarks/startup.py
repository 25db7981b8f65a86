"""`import` and `collection`: what the plugin costs a pytest run before any conversation (child processes)."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import PLUGIN_ONLY, Child, checked, line, note, plugin_only_env, pytest_args, run_child

SPEC = "name: c{n}\nsteps:\n  - say: hello\n    expect:\n      - text: {{contains: Pizza}}\n"
PYTHON = "def test_c{n}():\n    assert {n} >= 0\n"


def import_cost(tmp: Path, *, rounds: int = 51, informative_rounds: int = 25) -> None:
    folder = tmp / "import"
    folder.mkdir()
    (folder / "test_one.py").write_text("def test_one():\n    assert True\n")
    (folder / "pytest.ini").write_text("[pytest]\n")
    # As on a user's machine, Python keeps its bytecode cache (and pytest its rewritten plugin modules):
    # under PYTHONDONTWRITEBYTECODE every run would compile the plugin anew, a cost no user pays.
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with_plugin, without = pytest_args("-q", folder), pytest_args("-q", "-p", "no:flowai", folder)
    name = "import pytest with plugin over -p no:flowai"
    _compare(name, with_plugin, without, env=env, cwd=folder, rounds=rounds, target="target <= 1.05")
    _instructions(f"{name}, instructions", with_plugin, without, env=env, cwd=folder)
    # The same with no other plugin: pytest-flowai's cost over the smallest pytest run there is. The baseline
    # loads a plugin without hooks by `-p` too, since `-p` alone costs pytest a look through every
    # distribution's entry points, which is not the plugin's doing.
    (folder / "no_hooks.py").write_text('"""A pytest plugin without hooks."""\n')
    _compare(
        "import pytest-flowai alone over bare pytest",
        pytest_args("-q", *PLUGIN_ONLY, folder),
        pytest_args("-q", "-p", "no_hooks", folder),
        env=plugin_only_env(),
        cwd=folder,
        rounds=informative_rounds,
        # The target is the line above (pytest as installed); this one shows the plugin's own cost.
        target="informative",
    )
    note("wall medians of interleaved runs; CPU is the child's user + system time (os.wait4)")


def _compare(
    name: str,
    ours_args: list[str],
    base_args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    rounds: int,
    target: str,
) -> None:
    """One result line: the wall ratio of the two commands' medians, with their CPU ratio and best runs."""
    for args in (ours_args, base_args):  # unmeasured: writes the bytecode caches
        checked(run_child(args, env=env, cwd=cwd), "pytest")
    ours: list[Child] = []
    base: list[Child] = []
    # Interleaved, so a busy moment of the machine hits both; every other round the baseline goes first,
    # so neither always runs just after the other (whose files the page cache then holds).
    for number in range(rounds):
        pair = ((ours, ours_args), (base, base_args))
        for runs, args in pair if number % 2 == 0 else reversed(pair):
            runs.append(checked(run_child(args, env=env, cwd=cwd), "pytest"))
    wall = statistics.median(c.wall for c in ours), statistics.median(c.wall for c in base)
    cpu = statistics.median(c.cpu for c in ours), statistics.median(c.cpu for c in base)
    best = min(c.wall for c in ours), min(c.wall for c in base)
    line(
        name,
        wall[0] / wall[1],
        target,
        "x",
        f"median of {rounds}: {wall[0] * 1000:.0f} ms vs {wall[1] * 1000:.0f} ms;"
        f" CPU {cpu[0] / cpu[1]:.2f}x ({cpu[0] * 1000:.0f} vs {cpu[1] * 1000:.0f} ms);"
        f" best {best[0] * 1000:.0f} vs {best[1] * 1000:.0f} ms",
    )


_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _instructions(
    name: str, ours_args: list[str], base_args: list[str], *, env: dict[str, str], cwd: Path
) -> None:
    """The two commands' instruction counts under valgrind, which no other work of the machine changes (on a
    shared machine the wall medians move by several per cent from run to run); informative, and left out
    where valgrind is not installed."""
    if shutil.which("valgrind") is None:
        note(
            "install valgrind for the instruction counts of the import runs (they do not depend on the load)"
        )
        return
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    runs = [
        subprocess.Popen(
            [*command, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for args in (ours_args, base_args)
    ]  # side by side: the counts do not depend on what else runs
    counts = []
    for run in runs:
        _, err = run.communicate()
        found = _REFS.search(err)
        if run.returncode != 0 or found is None:
            note(f"valgrind failed (exit {run.returncode}): no instruction counts")
            return
        counts.append(int(found.group(1).replace(",", "")))
    line(
        name,
        counts[0] / counts[1],
        "informative",
        "x",
        f"valgrind: {counts[0] / 1e6:.0f}M vs {counts[1] / 1e6:.0f}M instructions",
    )


def collection(tmp: Path, *, files: int = 10_000) -> None:
    specs, python = tmp / "specs", tmp / "python"
    for folder, name, text in ((specs, "test_c{n}.flowai.yaml", SPEC), (python, "test_c{n}.py", PYTHON)):
        folder.mkdir()
        (folder / "pytest.ini").write_text(
            "[pytest]\nflowai_url = http://127.0.0.1:9\nflowai_client_id = x\n"
        )
        for n in range(files):
            (folder / name.format(n=n)).write_text(text.format(n=n))
    ours = checked(run_child(pytest_args("--collect-only", "-q", specs), cwd=specs), "collect specs")
    base = checked(run_child(pytest_args("--collect-only", "-q", python), cwd=python), "collect python")
    line(
        f"collection of {files} spec files over {files} python files",
        ours.wall / base.wall,
        "target <= 1.0",
        "x",
        f"{ours.wall:.2f}s vs {base.wall:.2f}s",
    )
    line(
        f"collection of {files} spec files, peak RSS",
        ours.max_rss_mb,
        "target <= 200 MB",
        " MB",
        f"python files: {base.max_rss_mb:.0f} MB",
    )
    note("one conversation per file; peak RSS from os.wait4 of the child")


def main(which: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="flowai-bench-"))
    try:
        benchmarks: dict[str, Callable[[Path], None]] = {"import": import_cost, "collection": collection}
        benchmarks[which](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
