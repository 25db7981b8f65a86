"""Where flow coverage finds the bot's flows: flow files (`flowai_coverage_flows`, else the embedded
emulator's) or, against a real bot, its Management API. No pytest; never imports the emulator.
"""

from __future__ import annotations

from pathlib import Path

from pytest_flowai._json import JSONObject
from pytest_flowai.errors import ConfigurationError, TransportError, display_path
from pytest_flowai.options import CoverageOptions, Options
from pytest_flowai.schemas import flowfiles


def coverage_flows(coverage: CoverageOptions, options: Options) -> tuple[str, list[JSONObject]]:
    """The flow objects to measure against and where they came from (for the report's first line).

    Raises:
        ConfigurationError: there are no flows to read, or they cannot be read.
    """
    if coverage.flows is not None:
        return display_path(coverage.flows), _files(coverage.flows, "flowai_coverage_flows")
    if options.url:
        url = coverage.management_url or options.url
        key = coverage.management_key or options.api_key
        if not key:
            raise ConfigurationError(
                "flowai coverage needs the bot's flows: no management key to read them with",
                hint="set FLOWAI_MANAGEMENT_KEY (or FLOWAI_API_KEY), or give flow files in"
                " flowai_coverage_flows",
            )
        from pytest_flowai.transports.management import fetch_flows

        try:
            return f"Management API {url}", fetch_flows(url, key, timeout=options.timeout)
        except TransportError as exc:
            raise ConfigurationError(
                f"flowai coverage cannot read the bot's flows: {exc}",
                hint="check flowai_management_url and FLOWAI_MANAGEMENT_KEY, or give flow files in"
                " flowai_coverage_flows",
            ) from None
    if options.emulator_flows is not None:
        return display_path(options.emulator_flows), _files(options.emulator_flows, "flowai_emulator_flows")
    raise ConfigurationError(
        "flowai coverage needs the bot's flows, and none is configured",
        hint="set flowai_coverage_flows, flowai_emulator_flows or flowai_url",
    )


def _files(path: Path, setting: str) -> list[JSONObject]:
    try:
        checked = flowfiles.check_path(path)
    except flowfiles.BotPathError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None
    if checked.problems:
        listing = "\n".join(f"  {problem}" for problem in checked.problems)
        raise ConfigurationError(f"{setting}: invalid bot definition:\n{listing}")
    return list(checked.flows)


__all__ = ["coverage_flows"]
