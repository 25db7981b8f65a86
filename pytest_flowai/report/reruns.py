"""Flaky specs: the attempts of specs pytest-rerunfailures ran again, to list those that passed only after
a rerun (`--flowai-flaky-report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


class RerunTracker:
    """Remembers the attempts of rerun specs (pytest-rerunfailures), to list those that passed only after
    a rerun (`--flowai-flaky-report`)."""

    def __init__(self) -> None:
        self.failed_attempts: dict[str, list[str]] = {}
        self.flaky: list[tuple[str, list[str]]] = []

    def add(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        # pytest-rerunfailures marks a failed attempt that it runs again with this outcome.
        if str(report.outcome) == "rerun":
            row = getattr(report, "flowai_failure", None)
            why = row.get("headline", "") if isinstance(row, dict) else ""
            self.failed_attempts.setdefault(report.nodeid, []).append(str(why) or "failed")
        elif report.passed and report.nodeid in self.failed_attempts:
            self.flaky.append((report.nodeid, self.failed_attempts[report.nodeid]))

    def lines(self) -> list[str]:
        if not self.flaky:
            return ["no spec needed a rerun to pass"]
        out = []
        for nodeid, failures in self.flaky:
            out.append(f"{nodeid}: passed on attempt {len(failures) + 1}")
            out.extend(f"  attempt {n}: {why}" for n, why in enumerate(failures, start=1))
        return out


__all__ = ["RerunTracker"]
