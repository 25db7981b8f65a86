"""Runs every hostile-server case through pytest in a child process and prints the fault matrix (Markdown).

Usage, from the repository root: python -m tests.hostile.matrix [--details]. A run that outlives its
bound counts as a hang.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from tests.helpers.hostile_cases import API_KEY, CASES, Case, expected_lines, files, ini
from tests.helpers.hostile_server import HostileThread

BOUND = 60.0  # seconds a run of two one-turn specs may take before it counts as a hang


def run_case(case: Case, url: str) -> dict[str, object]:
    """Run the case's two specs; what came out of it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text(ini(url), encoding="utf-8")
        for name, text in files(case).items():
            (folder / f"{name}.flowai.yaml").write_text(text, encoding="utf-8")
        env = {**os.environ, "FLOWAI_API_KEY": API_KEY}
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=junit.xml", "-rA"]
        try:
            done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=BOUND)
        except subprocess.TimeoutExpired:
            return {"hang": True, "ok": False, "traceback": False, "junit": 0, "headline": ""}
        out = done.stdout + done.stderr
        junit = folder / "junit.xml"
        entries = len(list(ET.parse(junit).getroot().iter("testcase"))) if junit.exists() else 0
        lines = out.splitlines()
        ok = all(any(fnmatch.fnmatch(line, pattern) for line in lines) for pattern in expected_lines(case))
        passed = "2 passed" in out if case.outcome != "clear failure" else "1 failed, 1 passed" in out
        headline = next((line for line in lines if "turn 1 of 'fault' failed:" in line), "")
        return {
            "hang": False,
            "ok": ok and passed,
            "traceback": "Traceback" in out or "INTERNALERROR" in out,
            "junit": entries,
            "headline": headline.split("failed: ", 1)[-1],
        }


def main() -> None:
    details = "--details" in sys.argv
    rows: dict[str, list[tuple[Case, dict[str, object]]]] = defaultdict(list)
    with HostileThread() as server:
        for case in CASES:
            rows[case.kind].append((case, run_case(case, server.url)))
    print("| fault / input class | cases | outcome | hangs | tracebacks | JUnit entries |")
    print("|---|---|---|---|---|---|")
    for kind, results in rows.items():
        names = ", ".join(f"`{case.fault}` ({case.transport})" for case, _ in results)
        outcomes = sorted({case.outcome if result["ok"] else "UNEXPECTED" for case, result in results})
        hangs = sum(1 for _, result in results if result["hang"])
        tracebacks = sum(1 for _, result in results if result["traceback"])
        entries = sum(int(str(result["junit"])) for _, result in results)
        print(
            f"| {kind} | {names} | {', '.join(outcomes)} | {hangs} | {tracebacks} | "
            f"{entries} for {2 * len(results)} tests |"
        )
    if details:
        print()
        print("| case | transport | what the failure says |")
        print("|---|---|---|")
        for results in rows.values():
            for case, result in results:
                said = str(result["headline"]) or "(passed; the transcript notes the retry)"
                print(f"| `{case.fault}` | {case.transport} | {said.replace('|', chr(92) + '|')} |")


if __name__ == "__main__":
    main()
