"""Shared values of the plugin's end-to-end tests: the demo bot, the secret key, and the pytester runner."""

from __future__ import annotations

import glob
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.emulators import CLIENT_ID

GREETINGS = (
    "Hi there! Welcome to Pizza Bella. What can I do for you?",
    "Hello! This is Pizza Bella. How can I help you today?",
)
# A passing socket spec and a failing REST spec that both send the key (and see it echoed in the transcript).
LEAKY_KEY_SPEC = """
name: leaky socket
settle: 0.05
steps:
  - say: "my key is {env.FLOWAI_API_KEY}"
    expect:
      - fallback: true
---
name: leaky rest
transport: rest
steps:
  - say: "my key is {env.FLOWAI_API_KEY}"
    expect:
      - text: "my key is {env.FLOWAI_API_KEY}"
"""
# Timings for specs that are meant to fail or stay silent: nothing waits the 10 s default.
FAST = "timeout: 1\nsettle: 0.05\nsilence: 0.3\n"


@dataclass(slots=True)
class FlowaiTester:
    """Writes spec files into a pytester directory and runs pytest on them against one emulator."""

    pytester: pytest.Pytester
    url: str

    def spec(self, text: str, name: str = "test_x") -> Path:
        """Write `<name>.flowai.yaml` from dedented text and return its path."""
        return self.pytester.makefile(".flowai.yaml", **{name: textwrap.dedent(text).lstrip("\n")})

    def target(self) -> list[str]:
        """The command-line options that point a run at the emulator."""
        return ["--flowai-url", self.url, "--flowai-client-id", CLIENT_ID]

    def run(self, *args: str) -> pytest.RunResult:
        """pytest in-process against the emulator (the API key comes from FLOWAI_API_KEY)."""
        return self.pytester.runpytest(*self.target(), *args)

    def run_subprocess(self, *args: str) -> pytest.RunResult:
        """pytest in a child process (needed for xdist), bounded so a hang cannot stall the suite."""
        return self.pytester.runpytest_subprocess(*self.target(), *args, timeout=60)


def output(result: pytest.RunResult) -> str:
    """Everything a run printed, stdout and stderr."""
    return "\n".join([*result.outlines, *result.errlines])


def lit(text: str) -> str:
    """`text` as an fnmatch pattern matching itself (brackets, `*` and `?` escaped)."""
    return glob.escape(text)
