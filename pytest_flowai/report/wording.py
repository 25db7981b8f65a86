"""The wording of failures, pure: why a turn failed and the hint that goes with it, as the runner says it.

Imports no pytest (the runner, which never imports pytest, says these) and nothing of the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai.spec.interpolate import ENV_PREFIX

if TYPE_CHECKING:
    from pytest_flowai.expect import TurnResult

# Which setting gives the server the credential it asked for (a `TransportError`'s `credential`).
CREDENTIAL_HINTS = {
    "client id": "set flowai_client_id in the ini file or pass --flowai-client-id",
    "API key": "set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
}

PATIENCE_HINT = (
    "if the bot is still typing, raise patience"
    " (turn key, spec key, ini flowai_patience or --flowai-patience)"
)


def failure_reason(
    result: TurnResult, streaming: bool, *, timeout: float, patience: float, fell_quiet: bool
) -> str:
    """Why a turn whose replies did not match failed, after ``timeout`` (or ``patience`` of quiet)."""
    if result.failures:
        unmet = len(result.failures)
        if streaming:
            arrived = len(result.received)
            what = f"{unmet} expectations without a matching reply" if unmet > 1 else "no matching reply"
            if fell_quiet:
                came = f"{arrived} bubble{'s' if arrived != 1 else ''} arrived"
                return f"the bot replied and then said nothing for {patience:g}s ({came}; {what})"
            if not arrived:
                return f"no reply within {timeout:g}s"
            # Say that something did come: the transcript below shows what, the diff why it is not it.
            came = f"{arrived} bubble{'s' if arrived > 1 else ''} arrived"
            return f"{what} within {timeout:g}s ({came})"
        # Nothing more will come: the replies are all there, they just do not match.
        what = f"{unmet} expected replies are" if unmet > 1 else "an expected reply is"
        return f"{what} not in the answer (sync REST: the HTTP answer is the whole reply)"
    return f"{len(result.extras)} unexpected reply bubble(s) (extra: fail)"


def undefined_reason(name: str) -> str:
    """Why a turn that names an unset `{variable}` (or `{env.NAME}`) could not be sent."""
    if name.startswith(ENV_PREFIX):
        return f"environment variable {name.removeprefix(ENV_PREFIX)!r} is not set"
    return f"variable {name!r} is not set"


def undefined_hint(name: str) -> str:
    """How to set the variable ``undefined_reason`` names."""
    if name.startswith(ENV_PREFIX):
        return f"set the environment variable {name.removeprefix(ENV_PREFIX)} before running pytest"
    return "it is set by `vars`, or by a `save` or regex group of an earlier turn, and that did not happen"


__all__ = ["CREDENTIAL_HINTS", "PATIENCE_HINT", "failure_reason", "undefined_hint", "undefined_reason"]
