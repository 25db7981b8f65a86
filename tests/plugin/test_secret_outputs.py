"""No form of the API key in anything a run shows or writes (terminal at -rA -v -l, JUnit, HTML), over
socket and REST, from specs and the fixture; short keys hidden only as whole tokens, data never rewritten.
"""

from __future__ import annotations

import base64
import json
import shutil
from urllib.parse import quote, quote_plus

import pytest

from tests.helpers.emulators import StartEmulator
from tests.helpers.paths import EXAMPLES
from tests.helpers.plugin import LEAKY_KEY_SPEC, FlowaiTester, output

# Spelled so that its base64, URL and JSON forms all differ from it.
KEY = 'sk-FLOWAI-7c1e/9+Q "quoted" \\ tail=0042-long-enough'

FIXTURE_TEST = """
import base64, json, logging, os, urllib.parse

def test_fixture_leaks(flowai):
    key = os.environ["FLOWAI_API_KEY"]
    print(base64.b64encode(key.encode()).decode(), urllib.parse.quote_plus(key))
    logging.getLogger("user").warning("json %s", json.dumps(key))
    reply = flowai.say("my key is " + key, transport="rest")
    assert reply.text == "my key is " + key
"""


def spellings(key: str) -> dict[str, str]:
    """Every form of the key a leak could take, named, plus its first and last 12 characters."""
    raw = key.encode()
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {
        "raw": key,
        "base64": std.rstrip("="),
        "base64url": url.rstrip("="),
        "quote": quote(key, safe=""),
        "quote_plus": quote_plus(key),
        "json": json.dumps(key)[1:-1],
        "head": key[:12],
        "tail": key[-12:],
    }


def test_no_form_of_the_key_in_any_output(
    pytester: pytest.Pytester, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passing and failing specs and a failing fixture test show the key in no form anywhere."""
    emulator = start_emulator(api_key=KEY)
    monkeypatch.setenv("FLOWAI_API_KEY", KEY)
    flowai = FlowaiTester(pytester, emulator.url)
    flowai.spec(LEAKY_KEY_SPEC)
    # A name of its own: a module `test_fixture` is already imported by the project's own tests.
    pytester.makepyfile(test_secret_fixture=FIXTURE_TEST)
    result = flowai.run("-rA", "-v", "-l", "--junitxml=junit.xml", "--flowai-html=report.html")
    result.assert_outcomes(passed=1, failed=2)
    texts = {
        "terminal": output(result),
        "junit": (pytester.path / "junit.xml").read_text(encoding="utf-8"),
        "html": (pytester.path / "report.html").read_text(encoding="utf-8"),
    }
    assert "my key is ***" in texts["terminal"]
    assert "test_fixture_leaks" in texts["terminal"]
    leaks = [
        (where, form) for where, text in texts.items() for form, s in spellings(KEY).items() if s in text
    ]
    assert leaks == []


def test_a_short_key_that_is_a_word_of_the_bot_matches_and_hides_only_tokens(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the key "Pizza" the example suite passes over REST (bodies are not rewritten)."""
    shutil.copytree(EXAMPLES, pytester.path, dirs_exist_ok=True)
    monkeypatch.setenv("FLOWAI_API_KEY", "Pizza")
    result = pytester.runpytest("-o", "flowai_transport=rest", "-o", "flowai_concurrency=4", "-v")
    assert result.ret == 0, output(result)
    assert "Welcome to Pizza" not in output(result)


def test_a_short_key_never_hides_file_names(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the key "test" the file names test_menu.flowai.yaml and the rest are shown whole."""
    shutil.copytree(EXAMPLES, pytester.path, dirs_exist_ok=True)
    monkeypatch.setenv("FLOWAI_API_KEY", "test")
    result = pytester.runpytest("-o", "flowai_transport=rest", "-v", "-k", "menu")
    assert result.ret == 0, output(result)
    assert "test_menu.flowai.yaml" in output(result)


def test_log_records_hide_the_key_in_live_and_captured_logs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log record carrying the key shows `***` in live logging, the captured log and the log file."""
    key = "log-records-Secr3t-9d2f41"
    monkeypatch.setenv("FLOWAI_API_KEY", key)
    pytester.makepyfile(
        test_logging_key=(
            "import logging, os\n"
            "def test_logs_the_key():\n"
            "    logging.getLogger('app').warning('the key is %s', os.environ['FLOWAI_API_KEY'])\n"
            "    assert False\n"
        )
    )
    result = pytester.runpytest_subprocess("--log-cli-level=WARNING", "--log-file=run.log", timeout=60)
    result.assert_outcomes(failed=1)
    out = result.stdout.str() + result.stderr.str() + (pytester.path / "run.log").read_text(encoding="utf-8")
    assert "the key is ***" in out
    assert key not in out


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_warning_carrying_the_key_shows_stars_in_the_warnings_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    """A warning whose text holds the key reads `***` in the warnings summary, in one process and under xdist,
    and keeps its class."""
    key = "warning-Secr3t-5e0c77"
    monkeypatch.setenv("FLOWAI_API_KEY", key)
    pytester.makepyfile(
        test_warning_key=(
            "import os, warnings\n"
            "def test_warns_the_key():\n"
            "    warnings.warn(UserWarning('the key is ' + os.environ['FLOWAI_API_KEY']))\n"
        )
    )
    result = pytester.runpytest_subprocess(*workers, timeout=60)
    result.assert_outcomes(passed=1, warnings=1)
    out = result.stdout.str() + result.stderr.str()
    assert "UserWarning: the key is ***" in out
    assert key not in out
