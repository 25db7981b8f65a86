"""`import` and `collection`: what the plugin costs a pytest run before any conversation (child processes)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from common import checked, line, note, pytest_args, run_child

SPEC = "name: c{n}\nsteps:\n  - say: hello\n    expect:\n      - text: {{contains: Pizza}}\n"
PYTHON = "def test_c{n}():\n    assert {n} >= 0\n"


def import_cost(tmp: Path, *, rounds: int = 15) -> None:
    folder = tmp / "import"
    folder.mkdir()
    (folder / "test_one.py").write_text("def test_one():\n    assert True\n")
    (folder / "pytest.ini").write_text("[pytest]\n")
    with_plugin, without = [], []
    for _ in range(rounds):  # interleaved, so a busy moment of the machine hits both
        with_plugin.append(checked(run_child(pytest_args("-q", folder), cwd=folder), "pytest").wall)
        without.append(
            checked(run_child(pytest_args("-q", "-p", "no:flowai", folder), cwd=folder), "pytest").wall
        )
    ours, base = statistics.median(with_plugin), statistics.median(without)
    line(
        "import pytest with plugin over -p no:flowai",
        ours / base,
        "target <= 1.05",
        "x",
        f"median of {rounds}: {ours * 1000:.0f} ms vs {base * 1000:.0f} ms",
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
        {"import": import_cost, "collection": collection}[which](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
