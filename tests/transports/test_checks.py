"""The pure checks of what a server sends: JSON nesting and Retry-After reading."""

from __future__ import annotations

import email.utils
import time

import pytest

from pytest_flowai.transports.checks import MAX_DEPTH, TooDeep, parse_json
from pytest_flowai.transports.rest import retry_after_seconds


def nested(depth: int) -> str:
    """Arrays nested ``depth`` deep."""
    return "[" * depth + "]" * depth


def test_json_at_the_nesting_limit_parses() -> None:
    """A value exactly MAX_DEPTH deep is fine."""
    value = parse_json(nested(MAX_DEPTH))
    assert isinstance(value, list)


@pytest.mark.parametrize("text", [nested(MAX_DEPTH + 1), nested(100_000), '{"a":' * 5000 + "1" + "}" * 5000])
def test_json_past_the_nesting_limit_is_too_deep(text: str) -> None:
    """Past the limit, arrays or objects, shallow or far too deep, raise TooDeep, never RecursionError."""
    with pytest.raises(TooDeep, match="nested deeper than 64 levels"):
        parse_json(text)


def test_text_that_is_not_json_is_a_value_error() -> None:
    """Not JSON at all is a plain ValueError, not TooDeep."""
    with pytest.raises(ValueError, match="Expecting value") as caught:
        parse_json("<html>")
    assert not isinstance(caught.value, TooDeep)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("0.1", 0.1), ("5", 5.0), (" 2 ", 2.0), ("-3", 0.0), (None, None), ("soon", None), ("inf", None)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    """Retry-After in seconds is read as given (never negative); a missing or unreadable one is None."""
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    """An HTTP-date Retry-After is the time from now until then."""
    header = email.utils.formatdate(time.time() + 60, usegmt=True)
    wait = retry_after_seconds(header)
    assert wait is not None
    assert 50 < wait <= 60
