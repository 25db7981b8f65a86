"""The Secret type and the one redaction function: every form of a key hidden, short keys only as tokens."""

from __future__ import annotations

import base64
import json
import pickle
from urllib.parse import quote, quote_plus

import pytest

from pytest_flowai.secret import Secret, SecretEnv, forget, redact, register
from pytest_flowai.transports.base import TransportConfig

KEY = 'sk-FLOWAI-7c1e/9+Q "quoted" \\ tail=0042'


def spellings(key: str) -> list[str]:
    """The forms a key can take in a text: raw, base64 (both alphabets, padded or not), URL, JSON."""
    raw = key.encode()
    encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return [
        key,
        *encoded,
        *(e.rstrip("=") for e in encoded),
        quote(key),
        quote(key, safe=""),
        quote_plus(key),
        json.dumps(key)[1:-1],
    ]


def test_secret_repr_and_str_are_masked() -> None:
    """Neither repr, str nor an f-string of a Secret shows the key; reveal() does."""
    secret = Secret(KEY)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('***')"
    assert secret.reveal() == KEY
    assert KEY not in repr(TransportConfig(url="http://127.0.0.1:1", api_key=secret))


def test_secret_equals_only_a_secret_and_survives_pickling() -> None:
    """A Secret never equals the plain key (no assertion diff of it), equals its copy, and pickles."""
    assert Secret(KEY) != KEY
    assert Secret(KEY) == pickle.loads(pickle.dumps(Secret(KEY)))
    assert len({Secret(KEY), Secret(KEY)}) == 1


def test_empty_secret_is_refused() -> None:
    """An empty key is not a secret."""
    with pytest.raises(ValueError, match="non-empty"):
        Secret("")


@pytest.mark.parametrize("form", spellings(KEY))
def test_every_form_is_hidden(form: str) -> None:
    """Each spelling of the key, inside other text, becomes ***."""
    assert redact(f"before {form} after", [Secret(KEY)]) == "before *** after"


def test_longest_key_first() -> None:
    """A key that contains another key is hidden whole, leaving no tail."""
    assert redact("x abcdefghij-long x", ["abcdefghij", "abcdefghij-long"]) == "x *** x"


def test_short_key_is_hidden_only_as_a_whole_token() -> None:
    """A key under 8 characters leaves words and file names that merely contain it."""
    text = "test_menu.flowai.yaml tests/ contest test: Pizza Bella"
    assert redact(text, ["test"]) == "test_menu.flowai.yaml tests/ contest ***: Pizza Bella"
    assert redact(text, ["Pizza"]) == "test_menu.flowai.yaml tests/ contest test: *** Bella"


def test_registered_secrets_are_hidden_everywhere_until_forgotten() -> None:
    """A registered key is hidden by redact() without being passed, until forget()."""
    register(Secret(KEY))
    try:
        assert redact(f"key={KEY}") == "key=***"
    finally:
        forget(Secret(KEY))
    assert redact(f"key={KEY}") == f"key={KEY}"


def test_cut_hides_the_key_before_cutting() -> None:
    """A long text cut short never shows the start of a registered key."""
    from pytest_flowai.errors import cut

    register(KEY)
    try:
        shown = cut("x" * 20 + KEY, 30)
    finally:
        forget(KEY)
    assert KEY[:12] not in shown
    assert shown.startswith("x" * 20 + "***")


def test_secret_env_looks_up_but_hides_values() -> None:
    """The environment mapping gives values for {env.NAME} but its repr lists no value."""
    env = SecretEnv({"FLOWAI_API_KEY": KEY})
    assert env["FLOWAI_API_KEY"] == KEY
    assert KEY not in repr(env)
    assert KEY not in str({"env": env})
