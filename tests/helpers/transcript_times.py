"""Reading a failed turn's duration from the transcript in the failure output: the runner's own clock."""

from __future__ import annotations

import re

ROUNDING = 0.01


def failed_turn_seconds(output: str) -> float:
    """Seconds from the failed turn's first sent line to its failure line, as the transcript stamps them
    (to within ROUNDING: it shows hundredths)."""
    marker = output.find(">>turn ")
    assert marker >= 0, output
    block = output[marker:]
    sent = re.search(r"\+\s*([\d.]+)s > ", block)
    failed = re.search(r"\+\s*([\d.]+)s x turn \d+ failed", block)
    assert sent, output
    assert failed, output
    return float(failed.group(1)) - float(sent.group(1))
