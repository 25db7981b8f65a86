"""`--flowai-concurrency`: conversations run at once, yet pytest reports each spec as before, in order, and
stops, is interrupted and selects as it always does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY, StartEmulator
from tests.helpers.paths import EXAMPLES
from tests.helpers.plugin import FlowaiTester, output

# A quick passing conversation over REST (REST answers in the response: no settle to wait).
QUICK = """
name: {name}
transport: rest
steps:
  - say: hello
    expect:
      - step: hello
"""
# A conversation that fails at once: the greeting does not come from the Order flow.
WRONG = """
name: {name}
transport: rest
steps:
  - say: hello
    expect:
      - flow: Order
"""
# A socket conversation that stays open a while (listening for silence): in flight when another one fails.
LISTENING = """
name: {name}
silence: {silence}
steps:
  - say: hello
    expect:
      - step: hello
  - event: no step takes this
    expect: none
"""
# What must never show after a run that stopped early, however it stopped.
UNCLEAN = (
    "Task was destroyed but it is pending",
    "was never awaited",
    "ResourceWarning",
    "Exception ignored",
    "unclosed",
    "Traceback",
)


def _turns(document: str, more: int) -> str:
    """``document`` with ``more`` further hello turns."""
    return document + "  - say: hello\n    expect:\n      - step: hello\n" * more


def _suite(flowai: FlowaiTester, *documents: str, name: str = "test_x") -> None:
    flowai.spec("---\n".join(textwrap.dedent(d).lstrip("\n") for d in documents), name=name)


def _cases(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))


def _property(case: ET.Element, name: str) -> str:
    found = [p.attrib["value"] for p in case.iter("property") if p.attrib["name"] == name]
    assert found, f"{case.attrib['name']} has no {name} property"
    return found[0]


def _verdict(case: ET.Element) -> str:
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            return kind
    return "passed"


def _threads(emulator: EmulatorThread) -> list[str]:
    """The thread ids the emulator has seen, in creation order (every page of GET rest/v1/threads)."""
    ids: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        response = httpx.get(
            f"{emulator.url}/rest/v1/threads",
            params={"sync": "true", "page": str(page)},
            headers={"Authorization": API_KEY},
            timeout=10,
        )
        response.raise_for_status()
        result = response.json()["result"]
        ids += result["threads"]
        page, pages = page + 1, int(result["pages"])
    return ids


def _assert_clean(result: pytest.RunResult) -> None:
    text = output(result)
    assert [word for word in UNCLEAN if word in text] == [], text


def _strict_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Child pytest runs in development mode: unclosed sockets and forgotten tasks warn, and warnings fail."""
    monkeypatch.setenv("PYTHONDEVMODE", "1")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")


# -- the example suite --


_TIMING = re.compile(r"\+\s*\d+\.\d+s")
_THREAD = re.compile(r"pytest-flowai-[0-9a-f]+~\S+")


def _example_run(pytester: pytest.Pytester, transport: str, concurrency: int) -> dict[str, tuple[str, str]]:
    junit = pytester.path / f"junit-{concurrency}.xml"
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--flowai-transport",
        transport,
        "--flowai-concurrency",
        str(concurrency),
        # Shorter than the ini defaults, so the serial run takes seconds; the specs that set theirs keep them.
        "--flowai-settle",
        "0.1",
        "--flowai-silence",
        "0.2",
        f"--junitxml={junit}",
    )
    assert result.ret == 0, output(result)
    runs: dict[str, tuple[str, str]] = {}
    for case in _cases(junit):
        transcript = _property(case, "flowai_transcript")
        thread = _property(case, "flowai_thread_id")
        assert thread in transcript
        plain = _THREAD.sub("<thread>", _TIMING.sub("+<t>", transcript))
        runs[f"{case.attrib['classname']}::{case.attrib['name']}"] = (_verdict(case), plain)
    return runs


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_example_suite_reads_the_same_at_concurrency_1_and_8(
    pytester: pytest.Pytester, transport: str
) -> None:
    """The example suite gets the same verdicts and transcripts (timings and thread ids aside) at 1 and 8."""
    shutil.copytree(EXAMPLES, pytester.path, dirs_exist_ok=True)
    serial = _example_run(pytester, transport, 1)
    concurrent = _example_run(pytester, transport, 8)
    assert len(serial) >= 14
    assert list(concurrent) == list(serial)  # the same tests, reported in the same order
    changed = [name for name in serial if concurrent[name] != serial[name]]
    assert changed == [], "\n\n".join(f"{serial[n][1]}\n-- at 8:\n{concurrent[n][1]}" for n in changed)


# -- verdicts and reports --


def test_one_failing_conversation_among_many_fails_alone(flowai: FlowaiTester) -> None:
    """Of ten conversations run eight at a time, the failing one is the only failure, with its own report."""
    names = [f"quick {n}" for n in range(10)]
    _suite(flowai, *((WRONG if n == 4 else QUICK).format(name=name) for n, name in enumerate(names)))
    result = flowai.run("--flowai-concurrency", "8", "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines(
        ["*= FAILURES =*", "*_ flowai: quick 4 _*", "test_x.flowai.yaml:*: turn 1 of 'quick 4' failed*"]
    )
    assert result.stdout.str().count("_ flowai: ") == 1
    failures = [case for case in _cases(flowai.pytester.path / "junit.xml") if _verdict(case) != "passed"]
    assert [case.attrib["name"] for case in failures] == ["quick 4"]
    failure = failures[0].find("failure")
    assert failure is not None
    assert "'quick 4' failed" in failure.attrib["message"]
    assert _property(failures[0], "flowai_thread_id") in (failure.text or "")
    assert "quick 3" not in (failure.text or "")


def test_reports_come_in_collection_order(flowai: FlowaiTester, start_emulator: StartEmulator) -> None:
    """A long conversation first and quick ones after: -v and JUnit list them in collection order."""
    flowai.url = start_emulator(latency_ms=50).url
    long = _turns(QUICK.format(name="long"), 4)
    names = ["long", *(f"quick {n}" for n in range(5))]
    _suite(flowai, long, *(QUICK.format(name=name) for name in names[1:]))
    result = flowai.run("--flowai-concurrency", "8", "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([f"test_x.flowai.yaml::{name} PASSED*" for name in names])
    assert [case.attrib["name"] for case in _cases(flowai.pytester.path / "junit.xml")] == names


def test_junit_time_is_each_conversations_own(flowai: FlowaiTester, start_emulator: StartEmulator) -> None:
    """A quick conversation reported after a long one gets its own short time, not its wait to be reported."""
    latency = 0.1
    flowai.url = start_emulator(latency_ms=latency * 1000).url
    long = _turns(QUICK.format(name="long"), 4)
    _suite(flowai, long, QUICK.format(name="quick"))
    result = flowai.run("--flowai-concurrency", "2", "--junitxml=junit.xml")
    result.assert_outcomes(passed=2)
    times = {
        case.attrib["name"]: float(case.attrib["time"]) for case in _cases(flowai.pytester.path / "junit.xml")
    }
    # Each of the long one's five turns waits the latency; the quick one's single turn waits it once.
    assert times["long"] >= 5 * latency
    assert latency <= times["quick"] < times["long"] - 2 * latency, times


def test_every_conversation_has_its_own_thread(flowai: FlowaiTester, start_emulator: StartEmulator) -> None:
    """Twelve conversations, eight at a time, over both transports: twelve thread ids, all seen by the bot."""
    emulator = start_emulator()
    flowai.url = emulator.url
    documents = [QUICK.format(name=f"rest {n}") for n in range(6)]
    documents += [LISTENING.format(name=f"socket {n}", silence=0.05) for n in range(6)]
    _suite(flowai, *documents)
    result = flowai.run("--flowai-concurrency", "8", "--junitxml=junit.xml")
    result.assert_outcomes(passed=12)
    threads = [_property(case, "flowai_thread_id") for case in _cases(flowai.pytester.path / "junit.xml")]
    assert len(set(threads)) == 12
    assert sorted(_threads(emulator)) == sorted(threads)


# -- stopping early --


def _stopping_suite(flowai: FlowaiTester, failing: int) -> None:
    """``failing`` conversations that fail at once, then ten that listen for half a second over the socket."""
    documents = [WRONG.format(name=f"wrong {n}") for n in range(failing)]
    documents += [LISTENING.format(name=f"listening {n}", silence=0.5) for n in range(10)]
    _suite(flowai, *documents)


@pytest.mark.parametrize(("option", "failing"), [("-x", 1), ("--maxfail=2", 2)])
def test_x_and_maxfail_stop_scheduling_and_cancel_cleanly(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch, option: str, failing: int
) -> None:
    """-x and --maxfail report only what ran; the conversations in flight are cancelled without a warning."""
    _stopping_suite(flowai, failing)
    _strict_env(monkeypatch)
    result = flowai.run_subprocess(option, "-W", "error", "--flowai-concurrency", "8", "--junitxml=junit.xml")
    result.assert_outcomes(failed=failing)
    result.stdout.fnmatch_lines([f"*stopping after {failing} failures*"])
    cases = _cases(flowai.pytester.path / "junit.xml")
    assert [case.attrib["name"] for case in cases] == [f"wrong {n}" for n in range(failing)]
    _assert_clean(result)


def test_an_interrupt_from_a_hook_ends_a_concurrent_run_cleanly(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt raised after the second report ends the run with status 2, cancelling cleanly."""
    flowai.pytester.makeconftest(
        """
        reports = []

        def pytest_runtest_logreport(report):
            if report.when == "call":
                reports.append(report)
                if len(reports) == 2:
                    raise KeyboardInterrupt
        """
    )
    _suite(flowai, *(QUICK.format(name=f"quick {n}") for n in range(2)))
    _suite(flowai, *(LISTENING.format(name=f"listening {n}", silence=0.5) for n in range(8)), name="test_y")
    _strict_env(monkeypatch)
    result = flowai.run_subprocess("-W", "error", "--flowai-concurrency", "8")
    assert result.ret == pytest.ExitCode.INTERRUPTED, output(result)
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*", "*= 2 passed in *"])
    assert "pytest_flowai" not in output(result)
    _assert_clean(result)


def test_ctrl_c_during_a_concurrent_run_exits_cleanly(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT while eight conversations listen ends pytest with status 2, no traceback of ours, no warning."""
    _suite(
        flowai,
        QUICK.format(name="quick"),
        *(LISTENING.format(name=f"listening {n}", silence=5) for n in range(8)),
    )
    _strict_env(monkeypatch)
    # pytest-flowai alone: a SIGINT that lands inside another plugin's old-style hookwrapper (pytest-html's,
    # Hypothesis's) makes pluggy warn, and -W error turns that warning into an INTERNALERROR of theirs.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    command = [sys.executable, "-m", "pytest", "-p", "pytest_flowai.plugin", "-p", "no:cacheprovider"]
    command += ["-v", "-W", "error"]
    command += [*flowai.target(), "--flowai-concurrency", "8"]
    with subprocess.Popen(
        command,
        cwd=flowai.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
    ) as child:
        assert child.stdout is not None
        seen: list[str] = []
        # Wait for the first report: by then the eight listening conversations are in flight.
        for line in child.stdout:
            seen.append(line)
            if "quick PASSED" in line:
                break
        child.send_signal(signal.SIGINT)
        rest, _ = child.communicate(timeout=30)
    text = "".join(seen) + rest
    assert child.returncode == pytest.ExitCode.INTERRUPTED, text
    assert "KeyboardInterrupt" in text
    assert "1 passed" in text
    assert "pytest_flowai" not in text
    assert [word for word in UNCLEAN if word in text] == [], text


# -- what runs, and when --


def _selection_suite(flowai: FlowaiTester) -> None:
    flowai.pytester.makeini("[pytest]\nmarkers =\n    smoke: the first conversations to run\n")
    alphas = [
        QUICK.format(name=f"alpha {n}").replace("transport:", "marks: [smoke]\ntransport:") for n in range(3)
    ]
    _suite(flowai, *alphas, *(WRONG.format(name=f"beta {n}") for n in range(3)))


@pytest.mark.parametrize("selection", [["-k", "alpha"], ["-m", "smoke"]], ids=["k", "m"])
def test_deselected_conversations_never_start(
    flowai: FlowaiTester, start_emulator: StartEmulator, selection: list[str]
) -> None:
    """-k and -m leave the other conversations unstarted: the bot sees only the selected ones' threads."""
    emulator = start_emulator()
    flowai.url = emulator.url
    _selection_suite(flowai)
    result = flowai.run(*selection, "--flowai-concurrency", "8", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, deselected=3)
    threads = [_property(case, "flowai_thread_id") for case in _cases(flowai.pytester.path / "junit.xml")]
    assert sorted(_threads(emulator)) == sorted(threads)


def test_lf_starts_only_the_last_failures(flowai: FlowaiTester, start_emulator: StartEmulator) -> None:
    """--lf at concurrency 8 starts the three failed conversations again, and no passed one."""
    emulator = start_emulator()
    flowai.url = emulator.url
    _selection_suite(flowai)
    flowai.run("--flowai-concurrency", "8").assert_outcomes(passed=3, failed=3)
    assert len(_threads(emulator)) == 6
    result = flowai.run("--lf", "--flowai-concurrency", "8", "--junitxml=junit.xml")
    result.assert_outcomes(failed=3)
    cases = _cases(flowai.pytester.path / "junit.xml")
    assert [case.attrib["name"] for case in cases] == ["beta 0", "beta 1", "beta 2"]
    # Started at once, they reach the emulator in any order: the same three threads, and no others.
    assert sorted(_threads(emulator)[6:]) == sorted(_property(case, "flowai_thread_id") for case in cases)


def test_marked_conversations_are_not_started_ahead(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """A skip-marked conversation never starts; an xfail-marked one starts only when pytest reaches it."""
    emulator = start_emulator()
    flowai.url = emulator.url
    skipped = QUICK.format(name="skipped").replace("transport:", "marks: [skip]\ntransport:")
    expected_to_fail = WRONG.format(name="xfail").replace("transport:", "marks: [xfail]\ntransport:")
    _suite(
        flowai,
        LISTENING.format(name="first", silence=0.3),
        skipped,
        expected_to_fail,
        QUICK.format(name="later 0"),
        QUICK.format(name="later 1"),
    )
    result = flowai.run("--flowai-concurrency", "8", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, skipped=1, xfailed=1)
    threads = {
        case.attrib["name"]: _property(case, "flowai_thread_id")
        for case in _cases(flowai.pytester.path / "junit.xml")
        if case.attrib["name"] != "skipped"
    }
    seen = _threads(emulator)
    assert sorted(seen) == sorted(threads.values())
    # The later ones started with the first; the xfail one only once the first was reported.
    assert seen[-1] == threads["xfail"]


def test_python_tests_between_specs_run_on_their_own(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """A Python test using the `flowai` fixture between spec files runs after the specs before it, alone."""
    emulator = start_emulator()
    flowai.url = emulator.url
    _suite(flowai, *(LISTENING.format(name=f"before {n}", silence=0.1) for n in range(3)), name="test_a")
    flowai.pytester.makepyfile(
        test_b="""
        def test_between(flowai, record_property):
            record_property("flowai_thread_id", flowai.thread_id)
            reply = flowai.say("hello", expect=[{"step": "hello"}], settle=0.05)
            assert "Pizza Bella" in reply.texts[0]
        """
    )
    _suite(flowai, *(QUICK.format(name=f"after {n}") for n in range(3)), name="test_c")
    result = flowai.run("--flowai-concurrency", "8", "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=7)
    names = [*(f"test_a.flowai.yaml::before {n}" for n in range(3)), "test_b.py::test_between"]
    names += [f"test_c.flowai.yaml::after {n}" for n in range(3)]
    result.stdout.fnmatch_lines([f"{name} PASSED*" for name in names])
    threads = [_property(case, "flowai_thread_id") for case in _cases(flowai.pytester.path / "junit.xml")]
    seen = _threads(emulator)
    assert sorted(seen) == sorted(threads)
    # Every conversation before the Python test started before its thread, every one after it after.
    assert set(seen[:3]) == set(threads[:3])
    assert seen[3] == threads[3]


def test_forty_socket_conversations_at_once_each_get_their_own_endpoint(flowai: FlowaiTester) -> None:
    """40 socket conversations connecting at once all pass: no one's pending endpoint evicts another's."""
    flowai.spec(
        "\n---\n".join(
            f"name: c{n}\nsettle: 0.01\nsteps:\n  - say: hello\n    expect: [{{step: hello}}]\n"
            for n in range(40)
        )
    )
    flowai.run("--flowai-concurrency", "40").assert_outcomes(passed=40)
