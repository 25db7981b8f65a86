"""Concurrency across processes and jobs: pytest-xdist workers and pytest-split groups, with
`--flowai-concurrency` inside each, and the JUnit files of split jobs merged by junitparser.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY, StartEmulator
from tests.helpers.paths import DEMO_BOT
from tests.helpers.plugin import FlowaiTester

QUICK = """
name: {name}
transport: rest
steps:
  - say: hello
    expect:
      - step: hello
"""
# A socket conversation that listens a little after its reply, so the ones after it start meanwhile.
LISTENING = """
name: {name}
settle: 0.02
silence: 0.3
steps:
  - say: hello
    expect:
      - step: hello
  - event: no step takes this
    expect: none
"""
MORE_TURNS = "  - say: hello\n    expect:\n      - step: hello\n"


def _spec(pytester: pytest.Pytester, name: str, *documents: str) -> None:
    text = "---\n".join(textwrap.dedent(d).lstrip("\n") for d in documents)
    pytester.makefile(".flowai.yaml", **{name: text})


def _cases(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))


def _nodeid(case: ET.Element) -> str:
    """The node id of a test case (JUnit's classname is the spec file without its suffix)."""
    return f"{case.attrib['classname']}.flowai.yaml::{case.attrib['name']}"


def _thread(case: ET.Element) -> str:
    return next(p.attrib["value"] for p in case.iter("property") if p.attrib["name"] == "flowai_thread_id")


def _threads(emulator: EmulatorThread) -> list[str]:
    """The thread ids the emulator has seen, in creation order (the test suites here stay under a page)."""
    response = httpx.get(
        f"{emulator.url}/rest/v1/threads",
        params={"sync": "true"},
        headers={"Authorization": API_KEY},
        timeout=10,
    )
    response.raise_for_status()
    result = response.json()["result"]
    assert result["pages"] == 1
    return list(result["threads"])


# -- pytest-xdist --


def test_xdist_workers_each_run_concurrently_on_their_own_emulator(pytester: pytest.Pytester) -> None:
    """`-n 2 --flowai-concurrency 4` with the embedded emulator: all pass, one thread id each, two workers."""
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {DEMO_BOT}\n")
    for n in range(4):
        _spec(pytester, f"test_{n}", LISTENING.format(name=f"listening {n}"), QUICK.format(name=f"quick {n}"))
    result = pytester.runpytest_subprocess(
        "-n", "2", "--flowai-concurrency", "4", "--junitxml=junit.xml", timeout=60
    )
    result.assert_outcomes(passed=8)
    # xdist's default `--dist load` starves each worker's window; the header says what to use instead.
    result.stdout.fnmatch_lines(["flowai: --flowai-concurrency 4 under --dist load: *; use --dist worksteal"])
    threads = [_thread(case) for case in _cases(pytester.path / "junit.xml")]
    assert len(set(threads)) == 8
    assert {thread.split(".")[1] for thread in threads} == {"gw0", "gw1"}


def test_xdist_workers_run_ahead_only_what_they_were_handed(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """Under `-n 2 --dist loadfile` a worker starts its file's later items ahead, an xfail one in its turn."""
    emulator = start_emulator()
    flowai.url = emulator.url
    xfail = QUICK.format(name="xfail").replace("transport:", "marks: [xfail]\ntransport:")
    xfail = xfail.replace("step: hello", "flow: Order")
    for n in range(2):
        documents = [
            LISTENING.format(name="first"),
            xfail,
            QUICK.format(name="later 0"),
            QUICK.format(name="later 1"),
        ]
        flowai.spec("---\n".join(textwrap.dedent(d).lstrip("\n") for d in documents), name=f"test_{n}")
    result = flowai.run_subprocess(
        "-n", "2", "--dist", "loadfile", "--flowai-concurrency", "8", "--junitxml=junit.xml"
    )
    result.assert_outcomes(passed=6, xfailed=2)
    result.stdout.no_fnmatch_line("*under --dist*")
    seen = _threads(emulator)
    cases = _cases(flowai.pytester.path / "junit.xml")
    assert sorted(seen) == sorted(_thread(case) for case in cases)
    for n in range(2):
        mine = {
            case.attrib["name"]: _thread(case) for case in cases if case.attrib["classname"] == f"test_{n}"
        }
        order = [thread for thread in seen if thread in mine.values()]
        # The later ones started with the first; the xfail one only when its worker reached it.
        assert order[-1] == mine["xfail"], (order, mine)


def test_xdist_workers_share_a_configured_service(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """`-n 2` with `flowai_url` and concurrency: both workers talk to one server, each thread its own."""
    emulator = start_emulator()
    flowai.url = emulator.url
    for n in range(3):
        flowai.spec(
            "---\n".join(textwrap.dedent(QUICK.format(name=f"quick {n}.{m}")).lstrip("\n") for m in range(3)),
            name=f"test_{n}",
        )
    result = flowai.run_subprocess("-n", "2", "--flowai-concurrency", "4", "--junitxml=junit.xml")
    result.assert_outcomes(passed=9)
    threads = [_thread(case) for case in _cases(flowai.pytester.path / "junit.xml")]
    assert sorted(_threads(emulator)) == sorted(threads)
    assert len(set(threads)) == 9


# -- pytest-split --


def _selected(flowai: FlowaiTester, *args: str) -> list[str]:
    """The node ids a run with ``args`` selects (collected only, nothing runs)."""
    result = flowai.run("--collect-only", "-q", *args)
    assert result.ret == 0, result.stdout.str()
    return [line for line in result.outlines if "::" in line]


def _split_suite(flowai: FlowaiTester) -> list[str]:
    """One long conversation and eight quick ones in three files; returns their node ids."""
    flowai.spec(QUICK.format(name="long") + MORE_TURNS * 7, name="test_a")
    for name in ("test_b", "test_c"):
        flowai.spec(
            "---\n".join(textwrap.dedent(QUICK.format(name=f"quick {m}")).lstrip("\n") for m in range(4)),
            name=name,
        )
    return ["test_a.flowai.yaml::long"] + [
        f"{f}.flowai.yaml::quick {m}" for f in ("test_b", "test_c") for m in range(4)
    ]


def test_split_groups_cover_the_suite_once_balanced_by_stored_durations(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """`--store-durations` keeps each conversation's own time; `--splits 3 --group K` cover the suite once."""
    latency = 0.05
    flowai.url = start_emulator(latency_ms=latency * 1000).url
    every = _split_suite(flowai)
    flowai.run("--store-durations", "--flowai-concurrency", "8").assert_outcomes(passed=9)
    durations = json.loads((flowai.pytester.path / ".test_durations").read_text(encoding="utf-8"))
    assert sorted(durations) == sorted(every)
    # The long one's eight turns each wait the latency; each quick one's single turn waits it once.
    assert durations["test_a.flowai.yaml::long"] >= 8 * latency
    assert all(latency <= durations[n] < durations["test_a.flowai.yaml::long"] for n in every[1:]), durations

    groups: list[list[str]] = []
    for group in (1, 2, 3):
        junit = f"junit-{group}.xml"
        flowai.run("--splits", "3", "--group", str(group), "--flowai-concurrency", "8", f"--junitxml={junit}")
        groups.append([_nodeid(case) for case in _cases(flowai.pytester.path / junit)])
    assert sorted(n for group in groups for n in group) == sorted(every)  # all of them, none twice
    # By duration the long conversation weighs as several quick ones: its group gets fewer conversations.
    split = [
        _selected(flowai, "--splits", "2", "--group", str(g), "--splitting-algorithm", "least_duration")
        for g in (1, 2)
    ]
    long, other = sorted(split, key=lambda group: "test_a.flowai.yaml::long" not in group)
    assert len(long) < len(other), split

    merged = flowai.pytester.path / "merged.xml"
    command = [sys.executable, "-m", "junitparser", "merge", "--glob", "junit-*.xml", str(merged)]
    done = subprocess.run(
        command, cwd=flowai.pytester.path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(_nodeid(case) for case in _cases(merged)) == sorted(every)
    verify = [sys.executable, "-m", "junitparser", "verify", str(merged)]
    assert subprocess.run(verify, capture_output=True, timeout=60, check=False).returncode == 0
