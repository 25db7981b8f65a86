"""The plugin's configuration once ini options, the command line and the environment are merged.

A leaf (dataclasses only): pytest imports it in every run, spec files or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_flowai.secret import Secret


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The plugin's configuration after ini, CLI and environment were merged."""

    url: str | None
    client_id: str | None
    api_key: Secret | None = field(repr=False)
    transport: str
    timeout: float
    settle: float
    silence: float
    patience: float = 2.0
    emulator_flows: Path | None
    emulator_seed: int = 0
    concurrency: int = 1
    max_reply_bytes: int = 4 * 2**20
    max_spec_bytes: int = 1_048_576
    max_expansions: int = 20  # one_of_file runs of one conversation (flowai_max_expansions)
    worker: str = "main"
    html: Path | None = None  # where the HTML report goes (--flowai-html)
    # The webhook receiver (transports webhook and messaging): the public URL Flow.ai calls, the
    # host:port to listen on, and the verify key of a webhook configured in the Flow.ai dashboard.
    webhook_url: str | None = None
    webhook_bind: str | None = None
    webhook_verify_key: str | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """Where the specs talk to, for the report header."""
        if self.url:
            return self.url
        flows = self.emulator_flows
        where = f"flows: {flows}" if flows else "no flows configured"
        return f"embedded emulator ({where}, seed {self.emulator_seed})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageOptions:
    """What `--flowai-coverage` measures against and reports; None in the plugin when coverage is off."""

    # ("term", None), ("json", path), ("html", path), in the order asked for.
    reports: tuple[tuple[str, Path | None], ...] = (("term", None),)
    fail_under: float | None = None
    flows: Path | None = None
    ignore: tuple[str, ...] = ()
    management_url: str | None = None
    management_key: Secret | None = field(default=None, repr=False)


__all__ = ["CoverageOptions", "Options"]
