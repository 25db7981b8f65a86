"""A whole pytest run of many conversations: YAML specs against hand-written Python tests doing the same.

Generates N conversations (3 turns each, over sync REST so no settle wait is involved), runs them once as
spec files and once as plain pytest functions that post the same messages with httpx and assert on the
texts, both against the same emulator, and prints the wall times and their ratio. A ratio near 1 means
the plugin's collection, validation, matching and reporting cost little next to the protocol itself.

    python benchmarks/bench_suite.py [--conversations N] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pytest_flowai.emulator import EmulatorThread

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
---
name: order {n}
steps:
  - say: hello
    expect:
      - text: {{contains: "Pizza Bella"}}
  - say: I want to order a pizza
    expect:
      - text: {{contains: "Which size"}}
        quickReplies: [Small, Medium, Large]
  - say: large
    expect:
      - text: {{contains: "large pizza"}}
"""

PYTHON = """\
import os
import httpx
import pytest

URL = os.environ["BENCH_URL"]
KEY = os.environ["BENCH_KEY"]
TURNS = [("hello", "Pizza Bella"), ("I want to order a pizza", "Which size"), ("large", "large pizza")]


@pytest.fixture(scope="session")
def http():
    with httpx.Client(headers={{"Authorization": KEY}}) as client:
        yield client


@pytest.mark.parametrize("n", range({count}))
def test_order(http, n):
    for speech, expected in TURNS:
        body = {{"payload": {{"type": "text", "speech": speech}}}}
        answer = http.post(f"{{URL}}/rest/v1/messages/py-{{n}}?sync=true", json=body).json()
        texts = [r["payload"]["text"] for m in answer["result"]["messages"] for r in m["responses"]]
        assert any(expected in t for t in texts)
"""


def run_pytest(folder: Path, env: dict[str, str], workers: int) -> float:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)]
    if workers > 1:
        args += ["-n", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"pytest failed in {folder}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorThread(flows=ROOT / "example_specs" / "bot") as emu:
        specs, python = Path(tmp, "specs"), Path(tmp, "python")
        specs.mkdir()
        python.mkdir()
        per_file = 50
        for first in range(0, args.conversations, per_file):
            docs = "".join(SPEC.format(n=n) for n in range(first, min(first + per_file, args.conversations)))
            (specs / f"test_orders_{first}.flowai.yaml").write_text(docs)
        ini = f"[pytest]\nflowai_url = {emu.url}\nflowai_transport = rest\n"
        (specs / "pytest.ini").write_text(ini)
        (python / "pytest.ini").write_text("[pytest]\n")
        (python / "test_orders.py").write_text(textwrap.dedent(PYTHON.format(count=args.conversations)))
        env = dict(os.environ, FLOWAI_API_KEY=emu.api_key, BENCH_URL=emu.url, BENCH_KEY=emu.api_key)
        baseline = run_pytest(python, env, args.workers)
        ours = run_pytest(specs, env, args.workers)
    n = args.conversations
    print(f"{n} conversations x 3 turns over sync REST, {args.workers} worker(s)")
    print(f"python tests (baseline): {baseline:6.2f}s  ({baseline / n * 1000:5.1f} ms per conversation)")
    print(f"yaml specs (plugin):     {ours:6.2f}s  ({ours / n * 1000:5.1f} ms per conversation)")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
