"""The settings the collected tests need (a client id, an API key, a webhook verify key), checked once before
any of them runs, so a missing one is one configuration error rather than a failure of every test. Pure: no
pytest, no I/O; imports only options, errors and the report's wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pytest_flowai.errors import ConfigurationError
from pytest_flowai.options import Options
from pytest_flowai.report.wording import CREDENTIAL_HINTS

_SETTING = {"client id": "flowai_client_id", "API key": "FLOWAI_API_KEY"}
_ARTICLE = {"client id": "a client id", "API key": "an API key"}
_TRANSPORT_NEEDS = {"socket": "client id", "rest": "API key", "webhook": "API key", "messaging": "API key"}
_VERIFY_KEY_HINT = (
    "set FLOWAI_WEBHOOK_VERIFY_KEY in the environment, or flowai_webhook_verify_key in the ini file"
    " or --flowai-webhook-verify-key: the verify key of the REST API webhook in the Flow.ai dashboard"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """What one test will use: its transport and whether it has control turns; ``where`` names the test."""

    where: str
    transport: str
    controls: bool = False


def check_settings(options: Options, needs: Iterable[Need]) -> None:
    """Raise one ``ConfigurationError`` naming every setting the tests need that is not set.

    Only against ``flowai_url``: the embedded emulator gets a client id and a key from the plugin.
    """
    if not options.url:
        return
    missing: dict[tuple[str, str], list[str]] = {}
    for need in needs:
        credential = _TRANSPORT_NEEDS.get(need.transport)
        if credential is not None and not _given(options, credential):
            missing.setdefault((credential, f"transport {need.transport!r}"), []).append(need.where)
        if need.controls and not options.api_key:
            missing.setdefault(("API key", "control turns (pause, resume, handover)"), []).append(need.where)
        if need.transport == "webhook" and not options.webhook_verify_key:
            missing.setdefault(("verify key", "transport 'webhook' against Flow.ai"), []).append(need.where)
    if not missing:
        return
    problems = []
    for (credential, user), where in missing.items():
        if credential == "verify key":
            what = f"flowai_webhook_verify_key is not set: {user} needs it ({_tests(where)})"
            hint = _VERIFY_KEY_HINT
        else:
            verb = "need" if user.startswith("control") else "needs"
            needed = f"{user} {verb} {_ARTICLE[credential]}"
            what = f"{_SETTING[credential]} is not set: {needed} ({_tests(where)})"
            hint = CREDENTIAL_HINTS[credential]
        problems.append((what, hint))
    *earlier, (last, last_hint) = problems
    text = "".join(f"{what}\n  hint: {hint}\n" for what, hint in earlier) + last
    raise ConfigurationError(text, hint=last_hint)


def _given(options: Options, credential: str) -> bool:
    return bool(options.client_id if credential == "client id" else options.api_key)


def _tests(where: list[str]) -> str:
    unique = list(dict.fromkeys(where))
    more = f" and {len(unique) - 1} more" if len(unique) > 1 else ""
    return f"{unique[0]}{more}"


__all__ = ["Need", "check_settings"]
