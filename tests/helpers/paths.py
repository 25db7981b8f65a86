"""The paths the tests share: the repository, its example specs, and the demo bot most tests talk to."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_specs"
DEMO_BOT = EXAMPLES / "bot"
