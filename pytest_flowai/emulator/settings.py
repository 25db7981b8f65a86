"""The emulator's knobs: one frozen settings value, the fault kinds, and the defaults they start from.
Imports nothing of ours but the bot type, so the CLI, the server and the app share one description."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_flowai.errors import EmulatorError

if TYPE_CHECKING:
    from pytest_flowai._json import JSON
    from pytest_flowai.emulator.flows import Bot

KIB = 1024
MIB = 1024 * KIB


class Fault(StrEnum):
    """A failure the emulator produces on purpose, so clients can test their failure paths without mocks."""

    # Every reply message carries a response that breaks its template schema (an image without url).
    INVALID_REPLY = "invalid-reply"
    # Socket: a non-JSON text frame instead of message.received; sync REST: a 200 with a non-JSON body.
    GARBAGE = "garbage"
    # Socket: the TCP connection is cut (no close frame) right after the reply to its first message.send.
    DROP = "drop"
    # Socket: message.delivered but never a reply; sync REST: the request is held until the client gives up.
    HANG = "hang"
    # Socket: an error frame instead of the reply; REST: a 503 JSON error.
    ERROR = "error"
    # The first reply to each conversation (thread ids alike but for the run tag after their last `~`) has
    # every text replaced; the next thread of that conversation gets the right answer (a flaky bot).
    WRONG_ONCE = "wrong-once"


# The documented shape of GET rest/v1/businesshours (003_*.txt), with one plausible entry.
DEFAULT_BUSINESS_HOURS: tuple[JSON, ...] = (
    {
        "weekdays": [
            {"weekday": day, "content": [{"from": "9:00", "to": "17:00"}]}
            for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
        ],
        "holidays": [{"holiday": "New Year", "date": "2025-01-01T00:00:00.000Z"}],
        "label": "Office hours",
        "timezone": "(UTC+01:00) Amsterdam",
    },
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorSettings:
    """Everything that configures one emulator; ``api_key=None`` means "generate one" (see ``resolved``)."""

    flows: str | Path | Bot
    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = "flowai-emulator"
    api_key: str | None = None
    db: str = ":memory:"
    latency_ms: float = 0
    seed: int = 0
    fault: Fault | None = None
    organisation_id: str = "emulator-organisation"
    business_hours: tuple[JSON, ...] = DEFAULT_BUSINESS_HOURS
    # Limits (the documented ones: 255 characters of text, 1 MiB socket frames, 50 s idle, 60 s endpoints).
    max_body: int = 64 * KIB
    max_frame: int = 1 * MIB
    max_speech: int = 255
    idle_timeout: float = 50.0
    endpoint_ttl: float = 60.0
    page_size: int = 20
    # Frames a socket client may send per second (bursts up to the same number); more get an error frame.
    max_frames_per_second: float = 100.0
    # WebSocket connections open at once (all share the one client id); more are closed with 1013.
    max_sockets: int = 1000
    # Seconds a client has to send a request's headers, from connecting or from its last answer; a slower
    # one is disconnected (uvicorn closes idle kept-alive connections after 5 s anyway).
    header_timeout: float = 10.0
    # Webhook delivery: attempts in all, first backoff doubling up to the cap, and the per-request timeout.
    webhook_attempts: int = 6
    webhook_backoff: float = 0.5
    webhook_backoff_max: float = 30.0
    webhook_timeout: float = 10.0
    # Registering a loopback webhook GETs its URL first, as Flow.ai does; False skips that check.
    verify_webhooks: bool = True
    # uvicorn's own logging; access logs are off unless asked for.
    log_level: str = "warning"
    access_log: bool = False

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}, got {getattr(self, name)!r}"
            for name, rule, ok in (
                ("port", "between 0 and 65535", 0 <= self.port <= 65535),
                ("latency_ms", ">= 0", self.latency_ms >= 0),
                ("max_body", "> 0", self.max_body > 0),
                ("max_frame", "> 0", self.max_frame > 0),
                ("max_speech", "> 0", self.max_speech > 0),
                ("idle_timeout", "> 0", self.idle_timeout > 0),
                ("endpoint_ttl", "> 0", self.endpoint_ttl > 0),
                ("page_size", "> 0", self.page_size > 0),
                ("max_frames_per_second", ">= 1", self.max_frames_per_second >= 1),
                ("max_sockets", ">= 1", self.max_sockets >= 1),
                ("header_timeout", "> 0", self.header_timeout > 0),
                ("webhook_attempts", ">= 1", self.webhook_attempts >= 1),
                ("webhook_backoff", ">= 0", self.webhook_backoff >= 0),
                ("webhook_backoff_max", ">= 0", self.webhook_backoff_max >= 0),
                ("webhook_timeout", "> 0", self.webhook_timeout > 0),
                ("client_id", "a non-empty string", bool(self.client_id)),
                ("api_key", "a non-empty string or None", self.api_key is None or bool(self.api_key)),
            )
            if not ok
        ]
        if isinstance(self.fault, str) and not isinstance(self.fault, Fault) and self.fault in set(Fault):
            # A fault may be named as on the command line ("drop"); keep the enum from here on.
            object.__setattr__(self, "fault", Fault(self.fault))
        if self.fault is not None and not isinstance(self.fault, Fault):
            problems.append(f"fault must be one of {', '.join(Fault)}, got {self.fault!r}")
        if problems:
            raise EmulatorError("invalid emulator settings: " + "; ".join(problems))

    def resolved(self) -> EmulatorSettings:
        """These settings with a random API key filled in when none was given."""
        if self.api_key is not None:
            return self
        return dataclasses.replace(self, api_key=secrets.token_urlsafe(24))


def parse_fault(value: str | Fault | None) -> Fault | None:
    """A fault from its name; ``EmulatorError`` listing the valid names for anything else."""
    if value is None or isinstance(value, Fault):
        return value
    try:
        return Fault(value)
    except ValueError:
        raise EmulatorError(f"unknown fault {value!r}; choose one of: {', '.join(Fault)}") from None


__all__ = ["DEFAULT_BUSINESS_HOURS", "EmulatorSettings", "Fault", "parse_fault"]
